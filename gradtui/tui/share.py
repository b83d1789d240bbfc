"""`gradtui --share [HOST:]PORT`: the lab's side of the classroom.

Starts the stream publisher (gradtui.stream.publisher, a thread on a free 127.0.0.1 port), writes
where it is to the state directory (for `gradtui follow` on this machine), binds the page's port
here (so a port in use is refused before the lab opens) and hands that socket to a child process
that serves the page and starts one `gradtui follow` per browser tab (gradtui.follow.share). The
relaying of 40 terminals' output happens in that child, never on the lab's event loop.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text

from gradtui import logs
from gradtui.presets import Preset
from gradtui.stream import address
from gradtui.stream.address import ShareSpec
from gradtui.stream.publisher import LabFrame, Publisher
from gradtui.tui.widgets.plot_table import tab_names

if TYPE_CHECKING:
    from gradtui.tui.view import EngineView

PAGE_TOKEN_ENV = "GRADTUI_PAGE_TOKEN"
STREAM_ENV = "GRADTUI_STREAM"


class Share:
    """The publisher, the page's socket and the page server process; `offer` is the lab's one call."""

    def __init__(self, spec: ShareSpec) -> None:
        self.spec = spec
        self.page_token = secrets.token_urlsafe(18)
        family = socket.AF_INET6 if ":" in spec.host else socket.AF_INET
        try:
            self._page = socket.create_server((spec.host, spec.port), family=family, backlog=64)
        except OSError as err:
            where = f"{address.url_host(spec.host)}:{spec.port}"
            why = os.strerror(err.errno) if err.errno else str(err)  # create_server's strerror repeats the address
            raise OSError(f"--share: cannot listen on {where}: {why}") from None
        self.bound: tuple[str, int] = self._page.getsockname()[:2]  # the address the page listens on
        self.port = int(self.bound[1])
        self.publisher = Publisher(max_followers=spec.max_followers)
        self.url = f"http://{address.url_host(self._shown_host())}:{self.port}/?token={self.page_token}"
        self._server: subprocess.Popen[bytes] | None = None
        self._stream_file: Path | None = None

    def _shown_host(self) -> str:
        """The host to print: the bound one, or this machine's loopback for a wildcard bind."""
        return "127.0.0.1" if self.spec.host in ("0.0.0.0", "") else "::1" if self.spec.host == "::" else self.spec.host

    @property
    def followers(self) -> int:
        return self.publisher.followers

    def start(self) -> Share:
        self.publisher.start()
        info = address.StreamInfo(self.publisher.host, self.publisher.port, self.publisher.token, os.getpid(), self.url)
        with contextlib.suppress(OSError):
            self._stream_file = address.write_stream_file(info)
        env = {
            **os.environ,
            PAGE_TOKEN_ENV: self.page_token,
            STREAM_ENV: info.address,
            address.TOKEN_ENV: self.publisher.token,
        }
        fd = self._page.fileno()
        output = _log_output()
        try:
            self._server = subprocess.Popen(
                [sys.executable, "-m", "gradtui.follow.share", str(fd), str(self.spec.max_followers)],
                stdin=subprocess.PIPE,  # the server quits when this pipe closes: with the lab, however it ends
                stdout=output,
                stderr=output,
                pass_fds=(fd,),
                env=env,
                start_new_session=True,  # a ctrl+c in the lab's terminal is the lab's to handle
            )
        finally:
            if output is not subprocess.DEVNULL:
                os.close(output)
        self._page.close()  # the server holds it now
        logs.logger().info(
            "sharing: followers open %s (at most %d); `gradtui follow` on this machine finds the stream",
            self.url,
            self.spec.max_followers,
        )
        return self

    def offer(self, view: EngineView, stories: Sequence[Text], preset: Preset | None, device: str, rate: str) -> None:
        """The lab's latest state for the followers: references only (the publisher thread reads them)."""
        self.publisher.offer(
            LabFrame(
                history=view.history,
                summary=view.summary,
                pins=view.pins,
                state=view.state,
                detail=view.detail,
                device=device,
                rate=rate,
                stories=tuple(stories),
                notes=view.notes,
                preset=preset.name if preset is not None else "",
                tabs=tab_names(),
            )
        )

    def close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            with contextlib.suppress(OSError):
                if server.stdin is not None:
                    server.stdin.close()
            try:
                server.wait(3.0)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(1.0)
        self.publisher.close()
        if self._stream_file is not None:
            address.remove_stream_file(self._stream_file)
        with contextlib.suppress(OSError):
            self._page.close()


def _log_output() -> int:
    """The page server's output goes to the lab's log file (the lab's terminal is the lab's screen)."""
    try:
        return os.open(logs.log_file(), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    except OSError:
        return subprocess.DEVNULL
