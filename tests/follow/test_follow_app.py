"""`gradtui follow` as a student uses it (Pilot, no TensorFlow): it draws what the stream brought, its
keys change only its own view, and nothing a student presses goes back up the stream."""

from __future__ import annotations

import socket
import threading

from rich.text import Text
from textual.widgets import Markdown, Static, TabbedContent

from gradtui.follow.app import ACTIONS, FollowApp
from gradtui.stream import protocol
from gradtui.stream.address import StreamInfo
from gradtui.stream.publisher import LabFrame, Publisher
from gradtui.tui.widgets.plots_panel import PlotsPanel
from gradtui.tui.widgets.status import StatusLine, StoryLine

from .helpers import SUMMARY, history

LAB_KEYS = ["space", "n", "p", "u", "r", "s", "o", "c", "x", "e", "ctrl+s", "ctrl+o", "f", "enter", "right", "1", "3"]


class RecordingLab:
    """A stream server that answers the token with a real publisher's snapshot, then records every byte
    the follower sends afterwards (there should be none)."""

    def __init__(self, publisher: Publisher) -> None:
        self.publisher = publisher
        self.after_token = bytearray()
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        conn, _ = self._server.accept()
        with conn, socket.create_connection((self.publisher.host, self.publisher.port)) as upstream:
            reader = conn.makefile("rb")
            upstream.sendall(reader.readline())  # the token line, passed on
            upstream.settimeout(0.05)
            conn.settimeout(0.05)
            while True:
                try:
                    data = upstream.recv(1 << 20)
                    if not data:
                        return
                    conn.sendall(data)
                except TimeoutError:
                    pass
                try:
                    got = conn.recv(4096)
                    if not got:
                        return
                    self.after_token += got
                except TimeoutError:
                    pass


async def test_the_follower_draws_the_lab_and_its_keys_change_only_its_view() -> None:
    publisher = Publisher().start()
    story = Text("1. Example one  [b]literal[/b] story")
    publisher.offer(LabFrame(history=history(40), summary=SUMMARY, state="ready", device="CPU:0", stories=(story,)))
    lab = RecordingLab(publisher)
    app = FollowApp(StreamInfo("127.0.0.1", lab.port, publisher.token, 0))
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            for _ in range(200):
                if app.mirror.step == 39 and app.mirror.stories:
                    break
                await pilot.pause(0.05)
            await pilot.pause(0.2)
            status = str(app.query_one("#status", StatusLine).render())
            assert "step 39" in status and "ready" in status
            assert app.query_one("#story", StoryLine).full.plain == story.plain  # markup shown literally
            tabs = app.query_one("#tabs", TabbedContent)
            first = tabs.active
            await pilot.press("right_square_bracket")
            assert tabs.active != first
            panel = app.query_one(PlotsPanel)
            await pilot.press("full_stop")
            assert panel.probe == 1
            await pilot.press("l", "z")
            assert panel.log_scale and panel.from_zero
            for key in LAB_KEYS:
                await pilot.press(key)
            await pilot.press("question_mark")
            assert "Following a lab" in str(app.screen.query_one(Markdown).source)
            await pilot.press("escape")
            await pilot.pause(0.3)
            assert app.mirror.step == 39  # nothing stepped
            assert bytes(lab.after_token) == b""  # and not one byte went back up the stream
    finally:
        publisher.close()
    assert not hasattr(app, "engine")
    assert {a.action.split("(")[0] for a in ACTIONS} == {
        "previous_tab",
        "next_tab",
        "probe",
        "toggle_log",
        "toggle_zero",
        "story",
        "toggle_theme",
        "help",
        "quit",
    }


async def test_a_lost_stream_is_said_and_retried() -> None:
    with socket.socket() as probe:  # a port with nothing listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = FollowApp(StreamInfo("127.0.0.1", port, "t", 0))
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(100):
            if app.connection[0] == "waiting" and "no lab" in app.connection[1]:
                break
            await pilot.pause(0.05)
        assert "retrying" in app.connection[1]
        assert "no lab at" in str(app.query_one("#follow-bar", Static).render())
        status = str(app.query_one("#status", StatusLine).render())
        assert "waiting" in status and "no lab" not in status  # said once, in the bar


async def test_a_lab_that_quits_is_said_so_in_one_line_and_its_last_step_stays() -> None:
    publisher = Publisher().start()
    publisher.offer(LabFrame(history=history(8), summary=SUMMARY, state="ready", device="CPU:0"))
    app = FollowApp(StreamInfo("127.0.0.1", publisher.port, publisher.token, 0))
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(200):
            if app.mirror.step == 7:
                break
            await pilot.pause(0.05)
        publisher.close()  # the teacher quit
        for _ in range(100):  # past the first retry, which finds nothing listening
            if app._client is not None and app._client.connections and "quit" in app.connection[1]:
                await pilot.pause(1.5)
                break
            await pilot.pause(0.05)
        bar = str(app.query_one("#follow-bar", Static).render())
        assert bar.startswith(f"the lab at 127.0.0.1:{publisher.port} quit or is restarting; waiting"), bar
        assert "Connection refused" not in bar and "following ·" not in bar  # no stale follower count
        status = str(app.query_one("#status", StatusLine).render())
        assert "waiting" in status and "step 7" in status and "quit" not in status


def test_unknown_messages_and_garbage_are_errors_not_crashes() -> None:
    from gradtui.follow.mirror import Mirror

    mirror = Mirror()
    assert mirror.apply({"t": "something-newer"}) == "something-newer"  # ignored: a newer lab may add kinds
    for bad in ({"t": "rows", "columns": {}}, {"t": "reset", "dims": "x"}, {"t": "pins", "pins": 3}):
        try:
            mirror.apply(bad)
        except protocol.ProtocolError:
            pass
        else:
            raise AssertionError(f"accepted {bad}")
