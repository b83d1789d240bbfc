"""The page server behind `gradtui --share`: one `gradtui follow` per browser tab, through textual-serve.

Run by the lab as `python -m gradtui.follow.share FD MAX` on the socket the lab bound (so the lab
refuses a busy port before it opens). textual-serve's Server relays each tab's keys and screen to a
follower process; this subclass adds what a classroom on a shared machine needs: the page and its
websocket require the token from the printed URL, the websocket's Origin must be the page's own, at
most MAX followers at once, and the page loads nothing from outside the machine (its own template:
the fonts, script and stylesheet come from textual-serve's package, served here). It quits when the
lab does (its stdin, a pipe from the lab, closes).
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import os
import secrets
import shlex
import signal
import socket
import sys
from pathlib import Path

from aiohttp import web
from textual_serve.server import Server

from gradtui.stream.address import TOKEN_ENV

PAGE = Path(__file__).resolve().parent / "page.html"
log = logging.getLogger("gradtui.share")

# The page's own rules: scripts, styles, fonts and the websocket from this server only.
CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)


class ClassroomServer(Server):
    """textual-serve's Server with a token, an Origin check, a follower limit and a self-contained page."""

    def __init__(self, command: str, token: str, max_followers: int) -> None:
        super().__init__(command, title="gradtui follow")
        self.token = token
        self.max_followers = max_followers
        self.followers = 0

    async def _make_app(self) -> web.Application:
        app = web.Application()
        app.add_routes(
            [
                web.get("/", self.handle_index, name="index"),
                web.get("/ws/{token}", self.handle_websocket, name="websocket"),
                web.static("/static", self.statics_path, show_index=False, name="static"),
            ]
        )
        return app

    def _token_ok(self, given: str) -> bool:
        return secrets.compare_digest(given.encode(), self.token.encode())

    def _full(self) -> str:
        n = self.max_followers
        return f"the class is full (at most {n} follower{'s' if n != 1 else ''})"

    async def handle_index(self, request: web.Request) -> web.Response:
        given = request.query.get("token", "")
        if not given:
            raise web.HTTPForbidden(text="gradtui: this page needs the token from the URL the lab printed\n")
        if not self._token_ok(given):  # most often an old link: each start of the lab prints a new token
            raise web.HTTPForbidden(
                text="gradtui: this link's token is not the lab's (a restarted lab prints a new URL); "
                "ask for the current one\n"
            )
        if self.followers >= self.max_followers:  # said here: a browser cannot read a refused websocket's why
            raise web.HTTPServiceUnavailable(text=f"gradtui: {self._full()}; try again when a follower leaves\n")
        try:
            font_size = max(6, min(48, int(request.query.get("fontsize", "16"))))
        except ValueError:
            font_size = 16
        page = PAGE.read_text(encoding="utf-8")
        for name, value in (("TOKEN", self.token), ("FONT_SIZE", str(font_size))):
            page = page.replace("{{" + name + "}}", html.escape(value, quote=True))
        return web.Response(
            text=page,
            content_type="text/html",
            headers={
                "Content-Security-Policy": CSP,
                "Referrer-Policy": "no-referrer",
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
            },
        )

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        if not self._token_ok(request.match_info.get("token", "")):
            raise web.HTTPForbidden(text="wrong token\n")
        origin = request.headers.get("Origin", "")
        if origin != f"{request.scheme}://{request.host}":
            log.warning("refused a websocket from origin %r (the page is at %s)", origin, request.host)
            raise web.HTTPForbidden(text="this page's origin may not open a follower\n")
        if self.followers >= self.max_followers:
            raise web.HTTPServiceUnavailable(text=self._full() + "\n")
        self.followers += 1
        log.info("follower joined (%d of at most %d)", self.followers, self.max_followers)
        try:
            return await super().handle_websocket(request)
        finally:
            self.followers -= 1
            log.info("follower left (%d left)", self.followers)

    async def on_startup(self, app: web.Application) -> None:
        return None


async def _serve(server: ClassroomServer, sock: socket.socket) -> None:
    runner = web.AppRunner(await server._make_app(), handle_signals=False, access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    loop = asyncio.get_running_loop()
    closed = asyncio.Event()
    loop.add_reader(sys.stdin.fileno(), lambda: closed.set() if not os.read(sys.stdin.fileno(), 1024) else None)
    await closed.wait()
    _end_followers()  # first: the lab waits a few seconds only, and cleanup waits for their websockets
    await runner.cleanup()


def _end_followers() -> None:
    """Stop the `gradtui follow` processes this server started: a follower whose page server is gone is
    never told to quit (textual-serve's shutdown leaves them), and would wait for the lab forever.
    They are in this server's process group, a session of its own that the lab started it in."""
    if os.getpgrp() != os.getpid():  # not the lab's child (run by hand, or in a test): the group is not ours
        return
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    with contextlib.suppress(OSError):
        os.killpg(0, signal.SIGTERM)


def follower_command(stream: str) -> str:
    return f"{shlex.quote(sys.executable)} -m gradtui follow {shlex.quote(stream)}"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    fd, max_followers = int(args[0]), int(args[1])
    token = os.environ.pop("GRADTUI_PAGE_TOKEN", "")
    stream = os.environ.get("GRADTUI_STREAM", "")
    if not token or not stream or not os.environ.get(TOKEN_ENV):
        print("gradtui.follow.share: started without the lab's tokens; the lab starts this", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    sock = socket.socket(fileno=fd)
    sock.setblocking(False)
    server = ClassroomServer(follower_command(stream), token, max_followers)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(server, sock))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = ["CSP", "ClassroomServer", "follower_command", "main"]
