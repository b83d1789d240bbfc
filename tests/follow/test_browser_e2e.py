"""The classroom in a real browser: `gradtui --share` in a terminal, its page in headless Chromium.

Debian's `chromium` driven by Playwright for Python through `executable_path` (Playwright's own
browser download is not used). The page's text is read from what xterm.js holds on screen, through
the handle gradtui's page template keeps (`window.gradtuiScreen()`), never from the follower process.
Screenshots go to the test's directory (printed), and to docs/classroom.png with GRADTUI_DOCS_SHOT=1.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from gradtui.bench.terminal_figures import READY_MARK, Terminal

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.e2e
DOCS_SHOT = Path(__file__).resolve().parents[2] / "docs" / "classroom.png"


def _absent(reason: str) -> None:
    """Skip where the browser is missing, unless CI (which installs it) requires the test to run."""
    if os.environ.get("GRADTUI_REQUIRE_BROWSER") == "1":
        pytest.fail(f"GRADTUI_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


def _playwright() -> Any:
    if CHROMIUM is None:
        _absent("no chromium on PATH (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _absent("playwright is not installed (pip install playwright)")
    return sync_playwright


def _screen(page: Any) -> str:
    return str(page.evaluate("window.gradtuiScreen ? (window.gradtuiScreen() || '') : ''"))


def _wait_screen(page: Any, pattern: str, timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = _screen(page)
        if re.search(pattern, text):
            return text
        time.sleep(0.1)
    raise AssertionError(f"the browser never showed {pattern!r}; it shows:\n{text}")


def _stream_url(state: Path, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in (state / "gradtui" / "streams").glob("stream-*.json"):
            return str(json.loads(path.read_text())["url"])
        time.sleep(0.1)
    raise AssertionError("the lab wrote no stream file")


def test_a_browser_follows_the_lab_and_keeps_its_own_tab(tmp_path: Path) -> None:
    sync_playwright = _playwright()
    state = tmp_path / "state"
    with Terminal((120, 36), ("--share", "0", "--preset", "example1"), {"XDG_STATE_HOME": str(state)}) as lab:
        url = _stream_url(state, 180)
        lab.wait_for(re.compile(b"followers open " + re.escape(url.encode())), 180)  # whole, on one line
        lab.wait_for(READY_MARK, 180)
        origin = url.split("/?", 1)[0]
        token = url.split("token=", 1)[1]
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 800})
                outside: list[str] = []
                page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(origin) else None)
                # the token: the page without it, or with another, is refused
                assert page.goto(origin + "/").status == 403
                assert page.goto(origin + "/?token=not-" + token).status == 403
                # the Origin: a page elsewhere cannot open a follower, even knowing the token
                page.route("http://foreign.example/", lambda r: r.fulfill(body="<html><body>elsewhere</body></html>"))
                page.goto("http://foreign.example/")
                opened = page.evaluate(
                    """url => new Promise(done => {
                        const ws = new WebSocket(url);
                        ws.onopen = () => done("open"); ws.onerror = () => done("refused");
                    })""",
                    origin.replace("http", "ws") + "/ws/" + token,
                )
                assert opened == "refused"
                page.unroute("http://foreign.example/")
                outside.clear()
                # the page itself: the follower shows the lab
                assert page.goto(url).status == 200
                _wait_screen(page, r"ready .*step 0 ·")
                page.screenshot(path=str(tmp_path / "classroom-joined.png"))
                for _ in range(5):  # the teacher steps five times
                    lab.type(b" ")
                    time.sleep(0.15)
                shown = _wait_screen(page, r"step 5 ·", 30)
                assert "following the lab" in shown and "gradient norm per layer" in shown
                page.screenshot(path=str(tmp_path / "classroom-step5.png"))
                if os.environ.get("GRADTUI_DOCS_SHOT") == "1":
                    DOCS_SHOT.parent.mkdir(exist_ok=True)
                    page.screenshot(path=str(DOCS_SHOT))
                # the student changes tab in the browser; the teacher's stays
                lab.take()
                page.keyboard.press("]")  # no click first: the page gives the terminal the focus
                _wait_screen(page, r"update / weight ratio", 20)
                page.screenshot(path=str(tmp_path / "classroom-own-tab.png"))
                time.sleep(1.0)
                assert b"update / weight ratio" not in lab.take()  # the lab painted no other tab
                lab.type(b"]")  # ... which it would have painted, had its tab changed: the check can fail
                lab.wait_for(re.compile(rb"update / weight ratio"), 20)
                assert outside == [], f"the page loaded from outside the machine: {outside}"
            finally:
                browser.close()
    print(f"screenshots in {tmp_path}")
