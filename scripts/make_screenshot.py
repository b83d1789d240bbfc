"""Regenerate assets/screenshot.svg: the lab at 150x45 on the article's example 3 after 300 steps.

python scripts/make_screenshot.py
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from gradtui.config import LabConfig
from gradtui.tui.app import GradApp

OUT = Path(__file__).resolve().parent.parent / "assets" / "screenshot.svg"


async def main() -> None:
    app = GradApp(LabConfig(device="cpu"), preset="example3", frozen=True)
    async with app.run_test(size=(150, 45)) as pilot:
        deadline = time.monotonic() + 120
        while not (app.engine.session is not None and app.engine.idle):
            if time.monotonic() > deadline:
                raise SystemExit("the engine did not get ready")
            await pilot.pause(0.05)
        app.action_run_n(300)
        await pilot.pause(0.2)
        while not app.engine.idle:
            await pilot.pause(0.05)
        app.query_one("#tabs").active = "tab-heldout"  # type: ignore[attr-defined]
        await pilot.pause(0.2)
        app._tick()
        await pilot.pause(0.3)
        app.save_screenshot(filename=OUT.name, path=str(OUT.parent))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    asyncio.run(main())
