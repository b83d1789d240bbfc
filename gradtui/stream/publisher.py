"""The lab's side of the stream: a thread that serves followers what the UI already keeps.

The UI hands over a LabFrame (references to the History, summary and pins, and the status texts it
has just drawn) on its own timer; this thread, at most ten times a second, reads the rows appended
since its last send (History is thread-safe) and writes one encoded increment to every follower.
Nothing runs on the engine thread, and the encoding is done once per send whatever the number of
followers. A history that was cut or replaced (undo, reset, restore, a preset, a new model) is sent
again whole after a `reset`; a follower that joins late gets the same, then the increments.
"""

from __future__ import annotations

import collections
import contextlib
import secrets
import selectors
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from rich.text import Text

from gradtui import logs
from gradtui.lab.history import BUCKET_LAST, EXACT, SUMMARY, History
from gradtui.lab.pins import Pin
from gradtui.lab.results import ModelSummary
from gradtui.stream import protocol

PERIOD_S = 0.1  # at most ten sends a second
HANDSHAKE_S = 5.0  # a connection that has not sent its token by then is closed
MAX_PENDING = 64 << 20  # bytes queued for one follower before it is dropped (it reconnects and starts afresh)
LOG_LINES = 500  # the log lines a late joiner gets


@dataclass(frozen=True)
class LabFrame:
    """What the lab's UI shows, by reference: built on the UI's timer, read by the publisher thread."""

    history: History | None = None
    summary: ModelSummary | None = None
    pins: tuple[Pin, ...] = ()
    state: str = "loading"
    detail: str = ""
    device: str = ""
    rate: str = ""
    stories: tuple[Text, ...] = ()
    notes: tuple[str, ...] = ()
    preset: str = ""
    tabs: tuple[str, ...] = ()


@dataclass
class _Client:
    sock: socket.socket
    opened: float
    inbox: bytearray = field(default_factory=bytearray)
    outbox: collections.deque[memoryview] = field(default_factory=collections.deque)
    pending: int = 0
    joined: bool = False  # sent a valid token: receives the stream

    def queue(self, data: bytes) -> None:
        if data:
            self.outbox.append(memoryview(data))
            self.pending += len(data)


class Publisher:
    """Serves the stream on HOST:PORT (127.0.0.1, a free port by default) to at most `max_followers`."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, token: str | None = None, max_followers: int = 40
    ) -> None:
        self.token = token or secrets.token_urlsafe(24)
        self.max_followers = max_followers
        self._listener = socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET)
        self._listener.setblocking(False)
        self.host, self.port = self._listener.getsockname()[:2]
        self._frame = LabFrame()
        self._clients: dict[int, _Client] = {}
        self._selector = selectors.DefaultSelector()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, name="gradtui-stream", daemon=True)
        # what the followers have been sent
        self._history: History | None = None
        self._summary: ModelSummary | None = None
        self._last_step = -1
        self._last_row = b""
        self._pins: tuple[Pin, ...] | None = None
        self._state: dict[str, Any] | None = None
        self._log_serial = 0
        self._log: collections.deque[str] = collections.deque(maxlen=LOG_LINES)
        self._snapshot: tuple[tuple[int, int, bytes], bytes] | None = None  # (key, reset + rows) for joiners
        self._resets = 0
        self.sends = 0  # increments sent (tests and the bench read these)
        self.cpu_s = 0.0  # this thread's CPU time: what the followers cost the lab (the bench reads it)

    # -- the UI's side ----------------------------------------------------------------------------

    def offer(self, frame: LabFrame) -> None:
        """The lab's latest frame (one reference assignment: the UI never waits on the stream)."""
        self._frame = frame

    @property
    def followers(self) -> int:
        return sum(1 for c in list(self._clients.values()) if c.joined)

    def start(self) -> Publisher:
        self._selector.register(self._listener, selectors.EVENT_READ, None)
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(2.0)
        for client in list(self._clients.values()):
            with contextlib.suppress(OSError):
                client.sock.close()
        with contextlib.suppress(OSError):
            self._listener.close()

    # -- the thread -------------------------------------------------------------------------------

    def _main(self) -> None:
        next_send = time.monotonic()
        started = time.thread_time()
        while not self._stop.is_set():
            self.cpu_s = time.thread_time() - started
            timeout = max(0.0, next_send - time.monotonic())
            for key, events in self._selector.select(timeout):
                if key.data is None:
                    self._accept()
                else:
                    self._service(key.data, events)
            now = time.monotonic()
            self._drop_silent(now)
            if now >= next_send:
                next_send = now + PERIOD_S
                try:
                    self._publish()
                except Exception:  # a bad frame must not end the stream; the log has the details
                    logs.logger().exception("the classroom stream could not send")

    def _accept(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            sock, _ = self._listener.accept()
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            client = _Client(sock, time.monotonic())
            self._clients[sock.fileno()] = client
            self._selector.register(sock, selectors.EVENT_READ, client)

    def _service(self, client: _Client, events: int) -> None:
        if events & selectors.EVENT_READ:
            try:
                data = client.sock.recv(4096)
            except (BlockingIOError, InterruptedError):
                data = None
            except OSError:
                data = b""
            if data == b"":
                self._drop(client)
                return
            if data and not client.joined:
                client.inbox += data
                if b"\n" in client.inbox:
                    self._handshake(client, bytes(client.inbox.split(b"\n", 1)[0]))
                elif len(client.inbox) > 4096:
                    self._drop(client)
                return
        if events & selectors.EVENT_WRITE:
            self._flush(client)

    def _handshake(self, client: _Client, line: bytes) -> None:
        try:
            hello = protocol.decode(line)
        except protocol.ProtocolError:
            hello = {}
        given = str(hello.get("token", ""))
        if hello.get("v") != protocol.VERSION:
            why = f"this lab speaks stream version {protocol.VERSION}; update gradtui on one side"
        elif not secrets.compare_digest(given.encode(), self.token.encode()):
            why = "wrong token"
        elif self.followers >= self.max_followers:
            why = f"the lab has its {self.max_followers} followers already"
        else:
            why = ""
        if why:
            with contextlib.suppress(OSError):
                client.sock.setblocking(True)
                client.sock.settimeout(1.0)
                client.sock.sendall(protocol.encode({"t": "refused", "why": why}))
            self._drop(client)
            return
        client.joined = True
        client.queue(protocol.encode({"t": "hello", "v": protocol.VERSION}))
        snapshot = self._joiner_snapshot()
        if snapshot is None:  # the first frame has no session yet: the next reset reaches everyone
            client.queue(b"")
        else:
            client.queue(snapshot)
        if self._pins is not None:
            client.queue(protocol.encode({"t": "pins", "pins": protocol.pack_pins(self._pins)}))
        if self._state is not None:
            client.queue(protocol.encode(self._state))
        if self._log:
            client.queue(protocol.encode({"t": "log", "lines": list(self._log)}))
        self._flush(client)

    def _flush(self, client: _Client) -> None:
        try:
            while client.outbox:
                chunk = client.outbox[0]
                sent = client.sock.send(chunk)
                client.pending -= sent
                if sent < len(chunk):
                    client.outbox[0] = chunk[sent:]
                    break
                client.outbox.popleft()
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            self._drop(client)
            return
        wanted = selectors.EVENT_READ | (selectors.EVENT_WRITE if client.outbox else 0)
        with contextlib.suppress(KeyError, ValueError):
            self._selector.modify(client.sock, wanted, client)

    def _drop(self, client: _Client) -> None:
        for fd, other in list(self._clients.items()):
            if other is client:
                del self._clients[fd]
        with contextlib.suppress(KeyError, ValueError, OSError):
            self._selector.unregister(client.sock)
        with contextlib.suppress(OSError):
            client.sock.close()

    def _drop_silent(self, now: float) -> None:
        for client in list(self._clients.values()):
            if not client.joined and now - client.opened > HANDSHAKE_S:
                self._drop(client)

    def _broadcast(self, data: bytes) -> None:
        for client in list(self._clients.values()):
            if not client.joined:
                continue
            client.queue(data)
            if client.pending > MAX_PENDING:
                logs.logger().info("classroom: a follower fell %d MB behind and was dropped", client.pending >> 20)
                self._drop(client)
                continue
            self._flush(client)

    # -- what to send -----------------------------------------------------------------------------

    def _publish(self) -> None:
        frame = self._frame
        self.sends += 1
        out = bytearray()
        out += self._rows_message(frame)
        if frame.pins is not self._pins:
            self._pins = frame.pins
            out += protocol.encode({"t": "pins", "pins": protocol.pack_pins(frame.pins)})
        state = self._state_message(frame)
        if state != self._state:
            self._state = state
            out += protocol.encode(state)
        lines = logs.TAIL.since(self._log_serial)
        if lines:
            self._log_serial = lines[-1][0]
            texts = [text for _, text in lines]
            self._log.extend(texts)
            out += protocol.encode({"t": "log", "lines": texts})
        if out:
            self._broadcast(bytes(out))

    def _state_message(self, frame: LabFrame) -> dict[str, Any]:
        return {
            "t": "state",
            "state": frame.state,
            "detail": frame.detail,
            "device": frame.device,
            "rate": frame.rate,
            "stories": [protocol.pack_text(text) for text in frame.stories],
            "notes": list(frame.notes),
            "preset": frame.preset,
            "tabs": list(frame.tabs),
            "followers": self.followers,
        }

    def _rows_message(self, frame: LabFrame) -> bytes:
        """The rows appended since the last send, or a reset and the whole history if it was cut or replaced."""
        history, summary = frame.history, frame.summary
        if history is None or summary is None:
            return b""
        if history is not self._history or summary != self._summary or self._last_step < 0:
            return self._reset(history, summary)
        for _ in range(2):  # the engine may summarise old rows between two reads: look again once
            steps, kinds = history.columns("step", SUMMARY)
            at = int(np.searchsorted(steps, self._last_step, side="right")) - 1
            if at < 0 or steps[at] != self._last_step or kinds[at] not in (EXACT, BUCKET_LAST):
                break  # the row last sent is gone: cut by undo, reset or restore
            rows = history.rows(at, len(steps))
            if len(rows["step"]) == 0 or int(rows["step"][0]) != self._last_step:
                continue
            if _row_bytes(rows, 0) != self._last_row:
                break  # the same step with other values: the run went back and took another way
            if len(rows["step"]) == 1:
                return b""
            fresh = {name: values[1:] for name, values in rows.items()}
            self._remember(fresh)
            return protocol.encode({"t": "rows", "columns": protocol.pack_columns(fresh)})
        return self._reset(history, summary)

    def _reset(self, history: History, summary: ModelSummary) -> bytes:
        self._history, self._summary = history, summary
        self._resets += 1
        columns = history.to_dict()
        self._last_step, self._last_row = -1, b""
        if len(columns["step"]):
            self._remember(columns)
        message = protocol.encode(
            {"t": "reset", "dims": protocol.pack_dims(history.dims), "summary": protocol.pack_summary(summary)}
        ) + protocol.encode({"t": "rows", "columns": protocol.pack_columns(columns)})
        self._snapshot = ((self._resets, self._last_step, self._last_row), message)
        return message

    def _remember(self, columns: dict[str, np.ndarray]) -> None:
        self._last_step = int(columns["step"][-1])
        self._last_row = _row_bytes(columns, len(columns["step"]) - 1)

    def _joiner_snapshot(self) -> bytes | None:
        """A reset and every row sent so far (encoded once per moment, shared by joiners arriving together)."""
        history, summary = self._history, self._summary
        if history is None or summary is None:
            return None
        key = (self._resets, self._last_step, self._last_row)
        if self._snapshot is not None and self._snapshot[0] == key:
            return self._snapshot[1]
        columns = history.to_dict()
        steps, kinds = columns["step"], columns[SUMMARY]
        at = int(np.searchsorted(steps, self._last_step, side="right")) - 1
        if at < 0 or steps[at] != self._last_step or kinds[at] not in (EXACT, BUCKET_LAST):
            self._history = None  # cut since the last send: the next send is a reset for everyone
            return None
        cut = {name: values[: at + 1] for name, values in columns.items()}
        message = protocol.encode(
            {"t": "reset", "dims": protocol.pack_dims(history.dims), "summary": protocol.pack_summary(summary)}
        ) + protocol.encode({"t": "rows", "columns": protocol.pack_columns(cut)})
        self._snapshot = (key, message)
        return message


def _row_bytes(columns: dict[str, np.ndarray], index: int) -> bytes:
    """One row's values across every column, as bytes: equal only for the same recorded state (NaN too)."""
    return b"".join(np.ascontiguousarray(columns[name][index]).tobytes() for name in sorted(columns))
