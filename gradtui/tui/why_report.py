"""What the Why tab draws: the attribution of every attributed probe as of one step, read on the engine
thread (engine/explainer.py) and handed to the UI whole, so the UI never reads the session's sums while a
step writes them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from gradtui.lab.attribution import Influence, ProbeMatrix, Source, StepAttribution

SHOWN = 6  # rows per list the report carries inputs for (pushers up and down, proponents and opponents)


@dataclass(frozen=True)
class WhyReport:
    """Attribution as of `step`: each attributed probe's last split and summed influence."""

    step: int  # the session's step count when read
    rule: str  # the rule the steps ran (the random one's steps come from no data)
    source: Source
    attributions: dict[int, StepAttribution] = field(default_factory=dict)  # per probe; absent before a step
    influences: dict[int, Influence] = field(default_factory=dict)
    matrix: ProbeMatrix | None = None  # under the probe rules
    images: dict[int, np.ndarray] = field(default_factory=dict)  # the input of each row a list shows
    trained_label: int | None = None  # example-loss: the label every probe row is trained towards

    def rows_of_interest(self) -> set[int]:
        """The rows any list of the view may show (their inputs are carried for thumbnails)."""
        return interesting(self.attributions.values(), self.influences.values())


def interesting(attributions: Iterable[StepAttribution], influences: Iterable[Influence]) -> set[int]:
    """The top SHOWN rows each way of each split and each sum."""
    rows: set[int] = set()
    for a in attributions:
        for up in (True, False):
            rows.update(int(r) for r in a.pushed(SHOWN, up)[0])
    for i in influences:
        rows.update(int(r) for r in i.proponents(SHOWN)[0])
        rows.update(int(r) for r in i.opponents(SHOWN)[0])
    return rows
