"""The stream's fan-out: what serving N followers costs the lab's process, structurally (the timing is
`gradtui bench`'s classroom figures): one encoding per send whatever N, one socket send per follower,
all of it on the stream's own thread (the lab's UI only hands over a frame)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from gradtui.follow.mirror import Mirror
from gradtui.stream import protocol
from gradtui.stream.publisher import LabFrame, Publisher

from .helpers import SUMMARY, history, rows, same_rows, wait_for
from .test_stream import Follower

FOLLOWERS = 6


@pytest.fixture
def publisher() -> Iterator[Publisher]:
    pub = Publisher(max_followers=FOLLOWERS + 1).start()
    yield pub
    pub.close()


class Calls:
    """What the publisher thread called, in order: encodes (by message kind), broadcasts and sends."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.events: list[str] = []

    def add(self, event: str) -> None:
        with self.lock:
            self.events.append(event)

    def of(self, prefix: str) -> list[str]:
        with self.lock:
            return [e for e in self.events if e.startswith(prefix)]


def _spy(monkeypatch: pytest.MonkeyPatch, calls: Calls) -> None:
    encode, broadcast, send = protocol.encode, Publisher._broadcast, socket.socket.send

    def where() -> str:
        return threading.current_thread().name

    def counted_encode(message: Any) -> bytes:
        calls.add(f"encode {message.get('t')} on {where()}")
        return encode(message)

    def counted_broadcast(self: Publisher, data: bytes) -> None:
        calls.add(f"broadcast on {where()}")
        broadcast(self, data)

    def counted_send(self: socket.socket, data: Any, *args: Any) -> int:
        calls.add(f"send on {where()}")
        return send(self, data, *args)

    monkeypatch.setattr(protocol, "encode", counted_encode)
    monkeypatch.setattr(Publisher, "_broadcast", counted_broadcast)
    monkeypatch.setattr(socket.socket, "send", counted_send)


def test_each_send_is_encoded_once_for_every_follower_on_the_streams_own_thread(
    publisher: Publisher, monkeypatch: pytest.MonkeyPatch
) -> None:
    lab = history(20)
    publisher.offer(LabFrame(history=lab, summary=SUMMARY, state="running"))
    followers = [Follower(publisher) for _ in range(FOLLOWERS)]
    for follower in followers:  # joined and caught up: their first whole history is behind them
        mirror = follower.mirror
        wait_for(lambda: mirror.history is not None and len(mirror.history) == 20)  # noqa: B023 - waited for here
    calls = Calls()
    _spy(monkeypatch, calls)
    for first in range(20, 120, 10):  # ten increments, over several sends
        lab.append(rows(first, 10))
        publisher.offer(LabFrame(history=lab, summary=SUMMARY, state="running"))  # as the UI's timer does
        time.sleep(0.03)
    for follower in followers:
        mirror = follower.mirror
        wait_for(lambda: mirror.history is not None and len(mirror.history) == 120)  # noqa: B023 - waited for here
        assert mirror.history is not None and same_rows(lab, mirror.history)
    sends = len(calls.of("broadcast"))
    assert sends >= 2
    assert 1 <= len(calls.of("encode rows")) <= sends  # at most one encoding per send, never one per follower
    assert len(calls.of("send")) == sends * FOLLOWERS  # the same bytes, one system call per follower
    assert {event.rsplit(" on ", 1)[1] for event in calls.of("")} == {"gradtui-stream"}  # none on the UI's thread
    for follower in followers:
        follower.client.close()


def test_a_follower_that_does_not_read_gets_everything_in_order_once_it_does(publisher: Publisher) -> None:
    """A full socket buffer: the rest of a send waits in that follower's outbox, the others go on."""
    lab = history(10)
    publisher.offer(LabFrame(history=lab, summary=SUMMARY, state="running"))
    reading = Follower(publisher)
    with socket.create_connection((publisher.host, publisher.port), timeout=10) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.sendall(b'{"v": 1, "token": "%s"}\n' % publisher.token.encode())
        wait_for(lambda: publisher.followers == 2)
        for client in list(publisher._clients.values()):  # small kernel buffers: the outbox must take the rest
            client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        for first in range(10, 1510, 500):  # far more than the 4 KB kernel buffers hold (4 KB windows crawl: no more)
            lab.append(rows(first, 500))
        wait_for(lambda: any(c.outbox for c in list(publisher._clients.values())), what="a send left waiting")
        mirror = reading.mirror
        wait_for(lambda: mirror.history is not None and len(mirror.history) == 1510, 30, "the reading follower")
        stalled = Mirror()
        reader = sock.makefile("rb")
        assert protocol.decode(reader.readline())["t"] == "hello"
        while stalled.history is None or len(stalled.history) < 1510:
            stalled.apply(protocol.decode(reader.readline()))
    assert stalled.history is not None and same_rows(lab, stalled.history)
    reading.client.close()
