"""The status line's steps/s: averaged over ticks while running, a command's own timing when it ends."""

from __future__ import annotations

from gradtui.lab.results import StepReport
from gradtui.tui.commands import DEMO_ACTIONS
from gradtui.tui.demo import VERBS
from gradtui.tui.rate import StepRate


def test_ticks_while_running_average_half_old_half_new() -> None:
    rate = StepRate()
    rate.tick(rows=1, running=True, now=10.0)
    assert rate.value is None  # one reading is no rate
    rate.tick(rows=101, running=True, now=11.0)
    assert rate.value == 100.0
    rate.tick(rows=401, running=True, now=12.0)
    assert rate.value == 0.5 * 100.0 + 0.5 * 300.0
    rate.tick(rows=401, running=True, now=13.0)  # no new rows (a slow chunk): the figure stays
    assert rate.value == 200.0


def test_idle_time_between_runs_is_not_counted() -> None:
    rate = StepRate()
    rate.tick(rows=1, running=True, now=0.0)
    rate.tick(rows=11, running=True, now=1.0)
    rate.tick(rows=11, running=False, now=2.0)  # paused for a minute
    rate.tick(rows=11, running=True, now=62.0)
    assert rate.value == 10.0
    rate.tick(rows=21, running=True, now=63.0)
    assert rate.value == 10.0  # the minute's gap was not averaged in
    rate.restart()  # a run starts (the engine says "running"): the next tick only marks
    rate.tick(rows=1000, running=True, now=63.5)
    assert rate.value == 10.0


def test_a_finished_command_gives_its_own_figure_and_a_new_experiment_clears_it() -> None:
    rate = StepRate()
    rate.measured(StepReport(first_step=1, steps=50, requested=50, seconds=0.5))
    assert rate.value == 100.0
    rate.measured(StepReport(first_step=51, steps=0, requested=5, seconds=0.1))  # nothing done: kept
    rate.measured(StepReport(first_step=51, steps=3, requested=3, seconds=0.0))  # no timing: kept
    assert rate.value == 100.0
    rate.clear()
    assert rate.value is None
    rate.tick(rows=5, running=True, now=1.0)
    assert rate.value is None
    rate.tick(rows=6, running=True, now=2.0)
    assert rate.value == 1.0


def test_every_demo_verb_has_an_action() -> None:
    assert set(DEMO_ACTIONS) == set(VERBS)
