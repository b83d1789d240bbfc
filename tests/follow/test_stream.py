"""The classroom stream end to end in one process: the lab's publisher thread, a follower's reader
thread and its mirror, over a real 127.0.0.1 socket (no Textual, no TensorFlow)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from rich.text import Text

from gradtui.follow.mirror import Mirror
from gradtui.lab import pins
from gradtui.lab.history import History
from gradtui.lab.pins import make_pin
from gradtui.stream import protocol
from gradtui.stream.address import StreamInfo
from gradtui.stream.client import StreamClient
from gradtui.stream.publisher import LabFrame, Publisher

from .helpers import DIMS, SUMMARY, history, rows, same_rows, wait_for


class Follower:
    """A follower's reader and mirror, recording what arrived."""

    def __init__(self, publisher: Publisher, token: str | None = None) -> None:
        self.mirror = Mirror()
        self.kinds: list[str] = []
        self.status: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        info = StreamInfo(publisher.host, publisher.port, token if token is not None else publisher.token, 0)
        self.client = StreamClient(info, self._message, self._status).start()

    def _message(self, message: dict[str, Any]) -> None:
        kind = self.mirror.apply(message)
        with self._lock:
            self.kinds.append(kind)

    def _status(self, state: str, text: str) -> None:
        self.status.append((state, text))

    def count(self, kind: str) -> int:
        with self._lock:
            return self.kinds.count(kind)


@pytest.fixture
def publisher() -> Iterator[Publisher]:
    pub = Publisher(max_followers=3).start()
    yield pub
    pub.close()


def frame(h: History, **kwargs: Any) -> LabFrame:
    kwargs.setdefault("state", "ready")
    return LabFrame(history=h, summary=SUMMARY, **kwargs)


def test_arrays_and_texts_survive_the_wire_exactly() -> None:
    values = np.array([[1.5, np.nan], [np.inf, -0.0]], np.float32)
    back = protocol.unpack_array(json.loads(json.dumps(protocol.pack_array(values))))
    assert back.dtype == np.float32 and back.tobytes() == values.tobytes()
    text = Text("[bold]not markup[/]")
    text.stylize("bold", 0, 3)
    again = protocol.unpack_text(protocol.pack_text(text))
    assert again.plain == "[bold]not markup[/]" and again.spans[0].start == 0 and again.spans[0].end == 3
    with pytest.raises(protocol.ProtocolError):
        protocol.unpack_array({"dtype": "O", "shape": [1], "b64": ""})  # only History's dtypes are decoded


def test_a_pin_read_from_the_stream_is_the_pin_a_session_file_reads_back() -> None:
    """The wire's pins message and a session file's pin section share lab.pins' description: the same pin
    either way, read-only, and a malformed one is a protocol error."""
    made = (make_pin(history(9, seed=3), "example1", "mlp", ("dense", "out")), make_pin(history(4), "b", "cnn", ("c",)))
    wire = protocol.unpack_pins(protocol.decode(protocol.encode({"pins": protocol.pack_pins(made)}))["pins"])
    filed = pins.from_arrays(pins.to_arrays(made), json.loads(json.dumps(pins.describe(made))))
    assert [pins.description(p) for p in wire] == [pins.description(p) for p in filed] == pins.describe(made)
    for a, b in zip(wire, filed, strict=True):
        assert a.columns.keys() == b.columns.keys()
        for name, values in a.columns.items():
            assert values.dtype == b.columns[name].dtype and values.tobytes() == b.columns[name].tobytes()
            assert not values.flags.writeable and not b.columns[name].flags.writeable
    with pytest.raises(protocol.ProtocolError, match="malformed pin"):
        protocol.unpack_pins(
            [{**pins.description(made[0]), "layers": 3, "columns": protocol.pack_columns(made[0].columns)}]
        )


def test_late_joiner_gets_the_bounded_history_then_increments(publisher: Publisher) -> None:
    lab = history(50)
    publisher.offer(frame(lab, stories=(Text("1. a story"),), preset="example1"))
    early = Follower(publisher)
    wait_for(lambda: early.mirror.history is not None and len(early.mirror.history) == 50)
    lab.append(rows(50, 30))
    late = Follower(publisher)
    wait_for(lambda: late.mirror.history is not None and len(late.mirror.history) == 80, what="the late joiner")
    lab.append(rows(80, 5))
    for follower in (early, late):
        mirror = follower.mirror
        wait_for(lambda: mirror.history is not None and len(mirror.history) == 85)  # noqa: B023 - waited for here
        assert follower.mirror.history is not None and same_rows(lab, follower.mirror.history)
        assert follower.mirror.preset == "example1" and follower.mirror.stories[-1].plain == "1. a story"
    assert early.count("reset") == 1 and late.count("reset") == 1  # increments, never a resend
    assert publisher.followers == 2
    early.client.close()
    late.client.close()


@pytest.mark.parametrize("change", ["undo", "reset", "restore", "preset"])
def test_a_cut_or_replaced_history_is_sent_again_after_a_reset(publisher: Publisher, change: str) -> None:
    lab = history(40, seed=1)
    publisher.offer(frame(lab))
    follower = Follower(publisher)
    wait_for(lambda: follower.mirror.history is not None and len(follower.mirror.history) == 40)
    if change == "undo":  # back to step 30, then a different step 31..39 in the same 100 ms
        lab.truncate(31)
        lab.append(rows(31, 9, seed=2))
    elif change == "reset":
        lab.truncate(1)
    elif change == "restore":  # a snapshot's own history, as timeline.restore writes it
        lab.truncate(0)
        lab.append(rows(0, 12, seed=3))
    else:  # a preset with a new model: another History object
        lab = History(DIMS)
        lab.append(rows(0, 3, seed=4))
        publisher.offer(frame(lab))
    wait_for(lambda: follower.count("reset") == 2, what="a reset")
    wait_for(lambda: follower.mirror.history is not None and same_rows(lab, follower.mirror.history))
    follower.client.close()


def test_rows_the_lab_summarised_between_sends_still_arrive(publisher: Publisher) -> None:
    lab = History(DIMS, recent=64, buckets=16)
    lab.append(rows(0, 10))
    publisher.offer(frame(lab))
    follower = Follower(publisher)
    wait_for(lambda: follower.mirror.history is not None and len(follower.mirror.history) == 10)
    for first in range(10, 2000, 10):
        lab.append(rows(first, 10))
    lab.append(rows(2000, 500))  # more than the exact tail in one go: the last sent row is summarised away
    wait_for(lambda: follower.mirror.history is not None and len(follower.mirror.history) == 2500)
    mirror = follower.mirror.history
    assert mirror is not None and lab.summarised() > 0
    assert np.array_equal(mirror.last("predictions"), lab.last("predictions"))
    follower.client.close()


def test_pins_state_and_log_lines_reach_the_follower(publisher: Publisher) -> None:
    from gradtui import logs

    lab = history(20)
    pin = make_pin(history(15, seed=9), "example1", "toy", ("dense", "out"))
    publisher.offer(frame(lab, pins=(pin,), detail="run", device="GPU:0", rate="12 steps/s", notes=("note [b]x[/b]",)))
    follower = Follower(publisher)
    logs.logger().info("a line for the followers")
    wait_for(lambda: follower.mirror.pins != () and follower.mirror.device == "GPU:0")
    got = follower.mirror.pins[0]
    assert got.label == "example1" and np.array_equal(got.columns["weight_norm"], pin.columns["weight_norm"])
    assert follower.mirror.notes == ("note [b]x[/b]",) and follower.mirror.rate == "12 steps/s"
    wait_for(lambda: any("a line for the followers" in line for line in follower.mirror.take_log()))
    follower.client.close()


def _raw_hello(publisher: Publisher, hello: bytes) -> dict[str, Any]:
    with socket.create_connection((publisher.host, publisher.port), timeout=5) as sock:
        sock.sendall(hello)
        answer = sock.makefile("rb").readline()
    return protocol.decode(answer)


def test_a_wrong_or_missing_token_or_version_is_refused(publisher: Publisher) -> None:
    publisher.offer(frame(history(5)))
    assert _raw_hello(publisher, b'{"v": 1, "token": "guess"}\n') == {"t": "refused", "why": "wrong token"}
    assert _raw_hello(publisher, b'{"v": 1}\n')["t"] == "refused"
    assert "version" in _raw_hello(publisher, b'{"v": 2, "token": "%s"}\n' % publisher.token.encode())["why"]
    assert _raw_hello(publisher, b'{"v": 1, "token": "%s"}\n' % publisher.token.encode())["t"] == "hello"
    assert publisher.host == "127.0.0.1"


def test_the_stream_takes_at_most_its_followers(publisher: Publisher) -> None:
    publisher.offer(frame(history(5)))
    followers = [Follower(publisher) for _ in range(3)]
    wait_for(lambda: publisher.followers == 3)
    extra = Follower(publisher)
    wait_for(lambda: any(state == "refused" for state, _ in extra.status), what="the refusal")
    assert "3 followers" in next(text for state, text in extra.status if state == "refused")
    for follower in [*followers, extra]:
        follower.client.close()


def test_what_a_follower_sends_after_its_token_is_ignored(publisher: Publisher) -> None:
    """The stream is one way: command-looking lines from a follower change nothing the lab sends."""
    lab = history(8)
    publisher.offer(frame(lab))
    with socket.create_connection((publisher.host, publisher.port), timeout=5) as sock:
        sock.sendall(b'{"v": 1, "token": "%s"}\n' % publisher.token.encode())
        reader = sock.makefile("rb")
        assert protocol.decode(reader.readline())["t"] == "hello"
        for command in ("step", "reset", "load", "save", "undo", "apply"):
            sock.sendall(json.dumps({"t": command, "path": "/tmp/x.npz"}).encode() + b"\n")
        sock.sendall(b" rsu\x13\x0f\n")  # keys too: space, r, s, u, ctrl+s, ctrl+o
        lab.append(rows(8, 2))
        mirror = Mirror()
        while mirror.history is None or len(mirror.history) < 10:
            mirror.apply(protocol.decode(reader.readline()))
    assert len(lab) == 10 and mirror.history is not None and same_rows(lab, mirror.history)  # moved by its own append
