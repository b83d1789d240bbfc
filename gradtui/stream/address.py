"""Where a lab's stream and page are: `[HOST:]PORT` as typed, and the files in the state directory
that let `gradtui follow` find a lab on this machine without being told its address.

A stream file holds the stream's token, so it is written owner-only (0600) and removed when the lab
quits; a file whose lab process is gone is ignored (and removed) by the next reader.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

from gradtui import logs

DEFAULT_HOST = "127.0.0.1"
TOKEN_ENV = "GRADTUI_STREAM_TOKEN"  # a follower started by the page server gets its token here, not in argv
STREAMS = "streams"


def parse_host_port(text: str, what: str = "--share") -> tuple[str, int]:
    """`8000` -> (127.0.0.1, 8000); `0.0.0.0:8000`, `[::1]:8000` as given. ValueError saying what is wrong."""
    text = text.strip()
    host, sep, port_text = text.rpartition(":")
    if not sep:
        host, port_text = DEFAULT_HOST, text
    host = host.strip("[]") if host.startswith("[") else host
    if sep and not host:
        raise ValueError(f"{what}: expected [HOST:]PORT, got {text!r} (no host before the colon)")
    try:
        port = int(port_text)
    except ValueError:
        raise ValueError(f"{what}: expected [HOST:]PORT, got {text!r} (the port is not a number)") from None
    if not 0 <= port <= 65535:
        raise ValueError(f"{what}: port {port} is out of range (0-65535)")
    return host, port


def url_host(host: str) -> str:
    """A host as it goes in a URL (an IPv6 address in brackets)."""
    return f"[{host}]" if ":" in host else host


@dataclass(frozen=True)
class ShareSpec:
    """`--share [HOST:]PORT --share-max N`, checked."""

    host: str
    port: int
    max_followers: int = 40


@dataclass(frozen=True)
class StreamInfo:
    host: str
    port: int
    token: str
    pid: int
    url: str = ""  # the page's URL (with its token), when the lab serves browsers

    @property
    def address(self) -> str:
        return f"{url_host(self.host)}:{self.port}"


def streams_dir() -> Path:
    return logs.state_dir() / STREAMS


def write_stream_file(info: StreamInfo) -> Path:
    """The lab's stream, for followers on this machine (owner-only: it holds the token)."""
    folder = streams_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"stream-{info.pid}.json"
    temp = path.with_suffix(".tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(asdict(info), handle)
    os.replace(temp, path)
    return path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def running_streams() -> list[StreamInfo]:
    """Streams of labs still running, newest first; the files of labs that are gone are removed."""
    found: list[tuple[float, StreamInfo]] = []
    try:
        paths = list(streams_dir().glob("stream-*.json"))
    except OSError:
        return []
    for path in paths:
        try:
            info = StreamInfo(**json.loads(path.read_text(encoding="utf-8")))
            mtime = path.stat().st_mtime
        except (OSError, ValueError, TypeError):
            continue
        if _alive(info.pid):
            found.append((mtime, info))
        else:
            with contextlib.suppress(OSError):
                path.unlink()
    return [info for _, info in sorted(found, key=lambda item: -item[0])]


def find_stream(address: str | None) -> StreamInfo:
    """The stream to follow: the lab at `address` ([HOST:]PORT; its token from the state directory or
    $GRADTUI_STREAM_TOKEN), or the newest lab sharing on this machine. ValueError saying what is missing."""
    running = running_streams()
    token = os.environ.get(TOKEN_ENV, "")
    if address is None:
        if not running:
            raise ValueError(
                f"no lab is sharing on this machine (none in {streams_dir()}); start one with gradtui --share PORT"
            )
        return running[0]
    if "://" in address:  # the page's URL as the lab printed it: its host and port (its token is the page's)
        address = urlsplit(address.strip()).netloc
    host, port = parse_host_port(address, "ADDRESS")
    for info in running:  # the stream's port, or the page's (the one in the URL the lab printed)
        ports = (info.port, urlsplit(info.url).port if info.url else None)
        if port in ports and (info.host == host or host in ("localhost", DEFAULT_HOST)):
            return StreamInfo(info.host, info.port, token or info.token, info.pid, info.url)
    if not token:
        raise ValueError(f"no token for {address}: set {TOKEN_ENV} to the token the lab's stream file holds")
    return StreamInfo(host, port, token, 0)


def same_lab(first: StreamInfo) -> StreamInfo:
    """The lab `first` came from, after a restart: the running stream that serves the same page address
    (its stream port and token are new), else `first` again. Never another lab on this machine, however new:
    a student whose teacher quit waits for that teacher, not the next class's."""
    page = urlsplit(first.url) if first.url else None
    for info in running_streams():
        if (info.host, info.port, info.pid) == (first.host, first.port, first.pid):
            return info
        if page is not None and info.url:
            theirs = urlsplit(info.url)
            if (theirs.hostname, theirs.port) == (page.hostname, page.port):
                return info
    return first


def remove_stream_file(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()
