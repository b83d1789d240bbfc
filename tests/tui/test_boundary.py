"""The lab/tui boundary: importing the TUI must not import TensorFlow (the first frame cannot wait 3 s)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TUI_MODULES = sorted(
    ".".join(p.relative_to(ROOT).with_suffix("").parts) for p in (ROOT / "gradtui" / "tui").rglob("*.py")
)


def test_tui_modules_do_not_import_tensorflow() -> None:
    code = (
        "import importlib, sys\n"
        f"for name in {TUI_MODULES!r}:\n"
        "    if not name.endswith('__main__'):\n"
        "        importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras'))\n"
        "lab = sorted(m for m in sys.modules if m in ('gradtui.lab.session', 'gradtui.lab.runtime',"
        " 'gradtui.lab.models', 'gradtui.lab.step_graph', 'gradtui.lab.data'))\n"
        "print(bad[:3], lab)\n"
        "sys.exit(1 if bad or lab else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "gradtui.tui.app" in TUI_MODULES
