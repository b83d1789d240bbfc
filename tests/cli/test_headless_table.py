"""`gradtui run`'s table falls on held-out evaluations, so its held-out columns show values."""

from __future__ import annotations

import pytest

from .helpers import Run


def _rows(out: str) -> list[list[str]]:
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split()[:1] == ["step"])
    return [line.split() for line in lines[start + 1 :] if line.split() and line.split()[0].isdigit()]


@pytest.mark.parametrize(
    ("steps", "every", "want"),
    [
        # few evaluations: every one of them, and the last step (not an evaluation: held-out "-")
        (95, 10, [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95]),
        # many: evenly chosen evaluations, the last step among them
        (1000, 10, [0, 90, 180, 270, 360, 450, 550, 640, 730, 820, 910, 1000]),
    ],
)
def test_table_rows_fall_on_evaluation_steps(run_cli: Run, steps: int, every: int, want: list[int]) -> None:
    code, out, err = run_cli(
        "run", "--rule", "batch-loss", "--steps", str(steps), "--eval-every", str(every), "--rows", "12"
    )
    assert code == 0, err
    rows = _rows(out)
    assert [int(r[0]) for r in rows] == want
    for row in rows:
        evaluated = int(row[0]) % every == 0
        held_out = row[-2:]  # held-out accuracy and its change since step 0
        assert ("-" not in held_out) == evaluated, row


def test_table_without_held_out_data_spreads_evenly(run_cli: Run) -> None:
    """The prediction rule on a model without data: no evaluation, so rows spread over every step."""
    code, out, err = run_cli("run", "--model", "cnn", "--new-head", "yes", "--classes", "3", "--steps", "20")
    assert code == 0, err
    steps = [int(r[0]) for r in _rows(out)]
    assert steps[0] == 0 and steps[-1] == 20 and len(steps) == 12
