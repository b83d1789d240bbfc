"""The follower's side of the stream: a reader thread that connects, reads lines and reconnects.

Messages are handed to a callback as dicts, on this thread; the follower app turns them into its
own state on its event loop. A lost stream (the lab quit or restarted) is retried every second,
and each new connection starts with the lab's whole bounded history, so nothing is stitched.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from typing import Any

from gradtui.stream import protocol
from gradtui.stream.address import StreamInfo

RETRY_S = 1.0
READ_BYTES = 1 << 20

OnMessage = Callable[[dict[str, Any]], None]
OnStatus = Callable[[str, str], None]  # (state, what happened): "connected", "waiting", "refused"


class StreamClient:
    def __init__(
        self,
        info: StreamInfo,
        on_message: OnMessage,
        on_status: OnStatus,
        locate: Callable[[], StreamInfo] | None = None,
    ) -> None:
        self.info = info
        self._locate = locate  # asked again after a loss: a restarted lab streams on another port
        self._on_message = on_message
        self._on_status = on_status
        self._stop = threading.Event()
        self._sock: socket.socket | None = None
        self._thread = threading.Thread(target=self._main, name="gradtui-follow-stream", daemon=True)
        self.connections = 0

    def start(self) -> StreamClient:
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        sock = self._sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._thread.join(2.0)

    def _main(self) -> None:
        while not self._stop.is_set():
            why = self._follow_once()
            if self._stop.is_set():
                break
            self._on_status("waiting", why)
            self._stop.wait(RETRY_S)
            if self._locate is not None:
                with contextlib.suppress(ValueError, OSError):
                    self.info = self._locate()

    def _gone(self) -> str:
        return f"the lab at {self.info.address} quit or is restarting; waiting for it (q stops following)"

    def _follow_once(self) -> str:
        """One connection, read to its end; what ended it, for the status line."""
        try:
            sock = socket.create_connection((self.info.host, self.info.port), timeout=3.0)
        except OSError as err:
            if self.connections:  # it was there: say what the student needs to know, not the errno
                return self._gone()
            return f"no lab at {self.info.address} ({err.strerror or err}); retrying every second"
        self._sock = sock
        try:
            sock.settimeout(None)
            sock.sendall(protocol.encode({"v": protocol.VERSION, "token": self.info.token}))
            buffer = bytearray()
            first = True
            while not self._stop.is_set():
                data = sock.recv(READ_BYTES)
                if not data:
                    return self._gone()
                buffer += data
                while (end := buffer.find(b"\n")) >= 0:
                    line = bytes(buffer[:end])
                    del buffer[: end + 1]
                    message = protocol.decode(line)
                    if first:
                        first = False
                        if message.get("t") != "hello":
                            self._on_status("refused", str(message.get("why", "the lab refused this follower")))
                            self._stop.wait(5 * RETRY_S)
                            return str(message.get("why", "refused"))
                        self.connections += 1
                        self._on_status("connected", f"following {self.info.address}")
                        continue
                    self._on_message(message)
                if len(buffer) > protocol.MAX_LINE:
                    return "the lab sent a line longer than any stream message; reconnecting"
            return "closed"
        except protocol.ProtocolError as err:
            return f"the stream sent something unreadable ({err}); reconnecting"
        except OSError as err:
            return f"the lab's stream at {self.info.address} broke ({err.strerror or err}); retrying every second"
        finally:
            self._sock = None
            with contextlib.suppress(OSError):
                sock.close()
