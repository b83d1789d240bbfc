"""What the field table says a change does is what the session does: a new session, a fresh
optimizer, a recompiled step, or the same compiled step."""

from __future__ import annotations

from typing import Any

import pytest

from gradtui.config import FIELD_BY_NAME, LabConfig

CHANGES: list[tuple[str, Any]] = [("seed", 1), ("momentum", 0.5), ("eval_every", 5), ("lr", 0.3)]


@pytest.mark.parametrize(("name", "value"), CHANGES, ids=[name for name, _ in CHANGES])
def test_a_change_does_what_its_field_says(name: str, value: Any) -> None:
    from gradtui.lab.session import Session

    s = Session.build(LabConfig(optimizer="momentum"))
    s.step(1)
    graph, optimizer = s.graph, s.optimizer
    after = s.with_config(s.config.replace(**{name: value}))
    effect = FIELD_BY_NAME[name].effect
    assert getattr(after.config, name) == value
    assert (after is not s) == (effect == "rebuild")
    if effect == "rebuild":
        return
    assert (after.optimizer is not optimizer) == (effect == "optimizer")
    assert after.can_undo == (effect != "optimizer")  # a fresh optimizer clears undo
    assert (after.graph is graph) == (effect == "live")
    assert graph.traces() == 1
