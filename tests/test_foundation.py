"""The skeleton's promises: quiet TensorFlow, a fast CLI, and the lab/tui import boundary."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "gradtui"


def _python(code: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    full_env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=full_env, timeout=120, cwd=ROOT
    )


def test_quiet_runtime_import_writes_nothing_to_fd2(tmp_path: Path) -> None:
    # Without the runtime, a bare TF import writes absl/C++ lines to fd 2 on this machine.
    bare = _python("import tensorflow as tf; tf.constant(1.0) + 1", {"XDG_STATE_HOME": str(tmp_path)})
    proc = _python(
        "import gradtui.lab.runtime as r, logging\n"
        "r.tf.constant(1.0) + 1\n"
        "r.devices()\n"
        "logging.getLogger('tensorflow').warning('routed away from the terminal')\n",
        {"XDG_STATE_HOME": str(tmp_path)},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "", proc.stderr
    log = (tmp_path / "gradtui" / "gradtui.log").read_text()
    assert "routed away from the terminal" in log
    if bare.stderr:  # the machine's TF is noisy: the same lines must have gone to the log
        assert any(line.strip() and line.strip()[:40] in log for line in bare.stderr.splitlines())


@pytest.mark.parametrize("flag", ["--help", "--version"])
def test_cli_answers_without_tensorflow(flag: str) -> None:
    proc = _python(
        "import sys\nfrom gradtui.cli import main\n"
        f"try:\n    main([{flag!r}])\nexcept SystemExit as e:\n    code = e.code\n"
        "print('TF-LOADED' if 'tensorflow' in sys.modules else 'TF-ABSENT')\n"
        "print('EXIT', code)\n"
    )
    assert "TF-ABSENT" in proc.stdout
    assert "EXIT 0" in proc.stdout
    assert ("gradtui" in proc.stdout) and proc.stderr == ""


def test_bad_flag_is_one_line_before_tensorflow() -> None:
    proc = _python(
        "import sys\nfrom gradtui.cli import main\ncode = main(['run', '--lr', 'fast'])\n"
        "print('TF-LOADED' if 'tensorflow' in sys.modules else 'TF-ABSENT', code)\n"
    )
    assert "TF-ABSENT 2" in proc.stdout
    assert proc.stderr.strip().count("\n") == 0
    assert "--lr" in proc.stderr


def _module_imports(path: Path) -> list[tuple[str, bool]]:
    """(module, at_top_level) for every import in a file; TYPE_CHECKING blocks do not count."""
    tree = ast.parse(path.read_text(), str(path))
    found: list[tuple[str, bool]] = []

    def visit(node: ast.AST, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            inner = top and not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.Import):
                found.extend((alias.name, top) for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module:
                found.append((child.module, top))
            visit(child, inner)

    visit(tree, True)
    return found


TF_MODULES = ("tensorflow", "keras")
TF_LAB_MODULES = (
    "gradtui.lab.runtime",
    "gradtui.lab.session",
    "gradtui.lab.models",
    "gradtui.lab.rules",
    "gradtui.lab.board",
    "gradtui.lab.step_graph",
    "gradtui.lab.optimizers",
    "gradtui.headless",
)


def test_tui_never_imports_tensorflow_or_keras() -> None:
    for path in (PACKAGE / "tui").rglob("*.py"):
        for module, top in _module_imports(path):
            assert not module.startswith(TF_MODULES), f"{path} imports {module}"
            if top:
                assert not module.startswith(TF_LAB_MODULES), f"{path} imports {module} at module level"


def test_lab_never_imports_textual() -> None:
    for path in (PACKAGE / "lab").rglob("*.py"):
        for module, _ in _module_imports(path):
            assert not module.startswith(("textual", "textual_plotext", "plotext")), f"{path} imports {module}"


def test_only_runtime_imports_tensorflow() -> None:
    for path in PACKAGE.rglob("*.py"):
        if path == PACKAGE / "lab" / "runtime.py":
            continue
        for module, _ in _module_imports(path):
            assert module.split(".")[0] not in TF_MODULES, f"{path} imports {module}; use gradtui.lab.runtime"


def test_importing_the_tui_does_not_load_tensorflow() -> None:
    modules = sorted({".".join(p.relative_to(ROOT).with_suffix("").parts) for p in (PACKAGE / "tui").rglob("*.py")})
    code = "import sys\n" + "".join(f"import {m}\n" for m in modules if not m.endswith("__main__"))
    code += "print('TF-LOADED' if 'tensorflow' in sys.modules else 'TF-ABSENT')\n"
    proc = _python(code)
    assert proc.returncode == 0, proc.stderr
    assert "TF-ABSENT" in proc.stdout


BOTTOM = ("errors", "text_values", "devices", "catalog", "files", "logs", "resources")


def test_the_bottom_layer_imports_nothing_above_it() -> None:
    """errors, devices, catalog (and the other leaves) import only each other: any layer can use them."""
    allowed = tuple(f"gradtui.{name}" for name in BOTTOM)
    for name in BOTTOM:
        path = PACKAGE / f"{name}.py"
        for module, _ in _module_imports(path):
            if module.startswith("gradtui"):
                assert module in allowed, f"{path} imports {module}"


def test_the_config_never_imports_the_lab() -> None:
    for path in (PACKAGE / "config").rglob("*.py"):
        for module, _ in _module_imports(path):
            assert not module.startswith(("gradtui.lab", "gradtui.tui")), f"{path} imports {module}"
