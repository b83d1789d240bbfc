"""`--share`'s page server as a browser meets it: the token, the Origin check, the follower limit,
the default bind, and a page that loads nothing from outside the machine (real processes, aiohttp as
the client; no TensorFlow: the lab side here is the Share object the lab's launcher starts)."""

from __future__ import annotations

import asyncio
import errno
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from gradtui.stream.address import (
    ShareSpec,
    StreamInfo,
    find_stream,
    parse_host_port,
    running_streams,
    same_lab,
    write_stream_file,
)
from gradtui.stream.publisher import LabFrame
from gradtui.tui.share import Share

from .helpers import SUMMARY, history, wait_for


@pytest.fixture
def share() -> Iterator[Share]:
    shared = Share(ShareSpec("127.0.0.1", 0, max_followers=2)).start()
    shared.publisher.offer(LabFrame(history=history(5), summary=SUMMARY, state="ready"))
    yield shared
    shared.close()


def base(share: Share) -> str:
    return f"http://127.0.0.1:{share.port}"


async def _get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, (await response.read()).decode("utf-8", "replace")


async def _ws_status(url: str, origin: str | None) -> int:
    headers = {"Origin": origin} if origin is not None else {}
    async with aiohttp.ClientSession() as session:
        try:
            ws = await session.ws_connect(url, headers=headers)
        except aiohttp.WSServerHandshakeError as err:
            return err.status
        await ws.close()
        return 101


async def _page_up(share: Share) -> None:
    for _ in range(100):
        try:
            await _get(base(share) + "/")
            return
        except aiohttp.ClientConnectionError:
            await asyncio.sleep(0.05)


def test_the_page_needs_the_token_and_loads_nothing_from_outside(share: Share) -> None:
    asyncio.run(_page_up(share))
    assert asyncio.run(_get(base(share) + "/")) == (
        403,
        "gradtui: this page needs the token from the URL the lab printed\n",
    )
    status, why = asyncio.run(_get(base(share) + "/?token=guess"))  # most often a link from the lab's last start
    assert status == 403 and why.startswith(
        "gradtui: this link's token is not the lab's (a restarted lab prints a new URL)"
    )
    status, page = asyncio.run(_get(share.url))
    assert status == 200
    external = re.findall(r"""(?:src|href)\s*=\s*["']((?:https?:)?//[^"']+)""", page) + re.findall(
        r"url\(\s*['\"]?(?:https?:)?//", page
    )
    assert external == [], external
    for path in ("/static/js/textual.js", "/static/css/xterm.css", "/static/fonts/RobotoMono-VariableFont_wght.ttf"):
        assert asyncio.run(_get(base(share) + path))[0] == 200, path  # served here, not fetched from the internet
    # the follower processes get the stream's token through their environment, never on a command line
    assert share.publisher.token not in " ".join(sys.argv) and share.page_token in share.url


def test_the_websocket_needs_the_token_and_the_pages_own_origin(share: Share) -> None:
    asyncio.run(_page_up(share))
    ws = f"ws://127.0.0.1:{share.port}/ws/"
    own = base(share)
    assert asyncio.run(_ws_status(ws + "guess", own)) == 403
    assert asyncio.run(_ws_status(f"ws://127.0.0.1:{share.port}/ws", own)) == 404  # no token: no such page
    assert asyncio.run(_ws_status(ws + share.page_token, "http://evil.example")) == 403
    assert asyncio.run(_ws_status(ws + share.page_token, None)) == 403
    assert asyncio.run(_ws_status(ws + share.page_token, f"http://localhost:{share.port}")) == 403  # not this Host
    assert asyncio.run(_ws_status(ws + share.page_token, own)) == 101


async def _hold(url: str, origin: str, count: int, page_url: str = "") -> tuple[list[int], tuple[int, str] | None]:
    """Open `count` followers at once (kept open), then one more; the statuses, and the page meanwhile."""
    async with aiohttp.ClientSession() as session:
        held = [await session.ws_connect(url, headers={"Origin": origin}) for _ in range(count)]
        try:
            await session.ws_connect(url, headers={"Origin": origin})
            extra = 101
        except aiohttp.WSServerHandshakeError as err:
            extra = err.status
        page = await _get(page_url) if page_url else None
        for ws in held:
            await ws.close()
        return [101] * len(held) + [extra], page


def test_at_most_share_max_followers(share: Share) -> None:
    asyncio.run(_page_up(share))
    ws = f"ws://127.0.0.1:{share.port}/ws/{share.page_token}"
    statuses, page = asyncio.run(_hold(ws, base(share), 2, share.url))
    assert statuses == [101, 101, 503]
    # the page itself says so (a browser cannot read why its websocket was refused)
    assert page == (503, "gradtui: the class is full (at most 2 followers); try again when a follower leaves\n")
    wait_for(lambda: asyncio.run(_get(share.url))[0] == 200, what="the page to open again once they left")


def test_binds_loopback_unless_a_host_is_given() -> None:
    assert parse_host_port("8000") == ("127.0.0.1", 8000)
    assert parse_host_port("0.0.0.0:8000") == ("0.0.0.0", 8000)
    for bad in ("eight", ":80", "70000"):
        with pytest.raises(ValueError, match="--share"):
            parse_host_port(bad)
    shared = Share(ShareSpec(*parse_host_port("0"))).start()
    try:
        assert shared.bound[0] == "127.0.0.1" and shared.url.startswith("http://127.0.0.1:")
        assert shared.publisher.host == "127.0.0.1"
        found = running_streams()[0]
        assert (found.host, found.port, found.url) == ("127.0.0.1", shared.publisher.port, shared.url)
        # a student pastes the printed URL to `gradtui follow`: the lab behind that page
        assert find_stream(shared.url) == found
    finally:
        shared.close()
    assert running_streams() == []  # the lab's stream file goes with it


def test_a_follower_waits_for_its_own_lab_not_the_newest_one(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    ours = StreamInfo("127.0.0.1", 1111, "a", int(gone.stdout), "http://127.0.0.1:8000/?token=x")  # it quit
    write_stream_file(StreamInfo("127.0.0.1", 2222, "b", os.getppid(), "http://127.0.0.1:8001/?token=y"))
    assert running_streams()[0].port == 2222  # another teacher's lab is the newest on the machine
    assert same_lab(ours) == ours  # but the student keeps waiting for theirs
    back = StreamInfo("127.0.0.1", 3333, "c", os.getpid(), "http://127.0.0.1:8000/?token=z")  # restarted
    write_stream_file(back)
    assert same_lab(ours) == back
    assert same_lab(StreamInfo("127.0.0.1", 4444, "d", 0)) == StreamInfo("127.0.0.1", 4444, "d", 0)  # no page: itself


def test_a_busy_port_is_refused_before_the_lab_opens() -> None:
    holder = Share(ShareSpec("127.0.0.1", 0))
    try:
        with pytest.raises(OSError) as refused:
            Share(ShareSpec("127.0.0.1", holder.port))
        # one line as the docs give it (socket.create_server's own text repeats the address as a tuple)
        busy = os.strerror(errno.EADDRINUSE)
        assert str(refused.value) == f"--share: cannot listen on 127.0.0.1:{holder.port}: {busy}"
    finally:
        holder.close()


def test_the_page_server_stops_with_the_lab(share: Share) -> None:
    server = share._server
    assert server is not None and server.poll() is None
    share.close()
    wait_for(lambda: server.poll() is not None, what="the page server to stop")


def _in_group(pgid: int) -> list[int]:
    """Processes in process group `pgid` (field 5 of /proc/PID/stat, after the parenthesised name)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process groups from /proc")
def test_browser_followers_end_with_the_lab(share: Share) -> None:
    server = share._server
    assert server is not None
    asyncio.run(_page_up(share))

    async def follow_then_quit() -> None:
        async with aiohttp.ClientSession() as session:
            ws = await session.ws_connect(
                f"ws://127.0.0.1:{share.port}/ws/{share.page_token}", headers={"Origin": base(share)}
            )
            try:
                await asyncio.to_thread(wait_for, lambda: len(_in_group(server.pid)) >= 2, 20.0, "a follower process")
                await asyncio.to_thread(share.close)  # the teacher quits while a browser still follows
            finally:
                await ws.close()

    asyncio.run(follow_then_quit())
    wait_for(lambda: _in_group(server.pid) == [], what="the browser followers to end with the lab")


def test_gradtui_follow_never_imports_tensorflow_or_the_engine() -> None:
    code = (
        "import sys; import gradtui.cli, gradtui.follow.app, gradtui.follow.share; "
        "bad = [m for m in ('tensorflow', 'keras', 'gradtui.tui.engine', 'gradtui.tui.app', 'gradtui.lab.session') "
        "if m in sys.modules]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"
