"""The attribution's and the preview's cost: the plain step with attribution never on and after it was
turned off, the step with one probe attributed, each further probe, and the cnn's preview.

Rates are interleaved round by round (the order rotating), so a busy machine slows every variant
alike; rates are the medians over rounds, ratios the medians of each round's ratio. Imports
TensorFlow (lazily, inside the functions) and never Textual.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from gradtui.bench.engine_figures import _engine_rate, _warm_engine
from gradtui.bench.report import CNN, EXAMPLE3, Results, Sizes
from gradtui.config import LabConfig

if TYPE_CHECKING:
    from gradtui.lab.session import Session

PROBES = 4  # the probes of the per-probe cost's session
ROUNDS_PER_CNN_ROUND = 4  # the interleaved rounds: 4 per `Sizes.cnn_rounds` (and one), each a quarter as long


Variant = tuple["Session", Callable[[], object]]  # a session, and the switch that sets its compiled step


def _rates(variants: dict[str, Variant], sizes: Sizes) -> dict[str, list[float]]:
    """Steps/s of each variant in each round, interleaved round by round.

    Many short rounds rather than a few long ones: on a shared machine the load changes within seconds,
    and a round's ratio compares variants run a fraction of a second apart; the rotating order keeps
    any variant from always following another."""
    rates: dict[str, list[float]] = {name: [] for name in variants}
    guess: dict[str, float] = {}
    for name, (session, switch) in variants.items():  # trace each variant and settle its chunk size first
        switch()
        guess[name] = _warm_engine(session, sizes.warmup_s / 2)
    names = list(variants)
    for i in range(ROUNDS_PER_CNN_ROUND * sizes.cnn_rounds + 1):
        for name in names[i % len(names) :] + names[: i % len(names)]:
            session, switch = variants[name]
            switch()
            rate = _engine_rate(session, sizes.seconds / ROUNDS_PER_CNN_ROUND, guess[name])
            rates[name].append(rate)
            guess[name] = statistics.median(rates[name])
    return rates


def _ratio(top: list[float], bottom: list[float]) -> float:
    return statistics.median(a / b for a, b in zip(top, bottom, strict=True))


def attribution_figure(spec: dict[str, str], stem: str, sizes: Sizes, results: Results) -> Session:
    """A session never attributed; another with one probe attributed, then with attribution off."""
    from gradtui.lab.session import Session

    config = LabConfig.parse(spec)
    never, session = Session.build(config), Session.build(config)
    rates = _rates(
        {
            "plain": (never, lambda: None),
            "one": (session, lambda: session.attribution_on([0])),
            "off": (session, session.attribution_off),
        },
        sizes,
    )
    figures = results.figures
    figures[f"attribution_{stem}_plain_steps_per_s"] = statistics.median(rates["plain"])
    figures[f"attribution_{stem}_steps_per_s"] = statistics.median(rates["one"])
    figures[f"attribution_{stem}_vs_plain"] = _ratio(rates["one"], rates["plain"])
    figures[f"attribution_{stem}_off_vs_plain"] = _ratio(rates["off"], rates["plain"])
    results.extra[f"attribution_{stem}_rounds"] = {k: [round(v, 1) for v in values] for k, values in rates.items()}
    session.attribution_off()
    return session


def per_probe_figure(spec: dict[str, str], stem: str, sizes: Sizes, results: Results) -> None:
    """Milliseconds each further attributed probe adds to a step: PROBES probes against one."""
    from gradtui.lab.session import Session

    session = Session.build(LabConfig.parse({**spec, "n_probe": str(PROBES)}))
    rates = _rates(
        {
            "one": (session, lambda: session.attribution_on([0])),
            "all": (session, lambda: session.attribution_on(range(PROBES))),
        },
        sizes,
    )
    extra = statistics.median(1 / a - 1 / b for a, b in zip(rates["all"], rates["one"], strict=True)) / (PROBES - 1)
    results.figures[f"attribution_{stem}_ms_per_probe"] = 1000 * extra


def preview_figure(session: Session, results: Results) -> None:
    """The cnn's preview: the first of a graph never previewed (it traces it); on a new session, the
    tracing ahead the lab does while idle (`prepare_preview`) and the first preview after it; then the
    median of five more."""
    from gradtui.lab.session import Session

    started = time.perf_counter()
    session.preview()
    results.figures["preview_cnn_first_s"] = time.perf_counter() - started
    fresh = Session.build(session.config)
    started = time.perf_counter()
    fresh.prepare_preview()
    results.figures["preview_cnn_prepare_s"] = time.perf_counter() - started
    started = time.perf_counter()
    fresh.preview()
    results.figures["preview_cnn_prepared_first_s"] = time.perf_counter() - started
    times = []
    for _ in range(5):
        started = time.perf_counter()
        session.preview()
        times.append(time.perf_counter() - started)
    results.figures["preview_cnn_s"] = statistics.median(times)


def why_figures(sizes: Sizes, results: Results) -> None:
    attribution_figure(EXAMPLE3, "mlp", sizes, results)
    per_probe_figure(EXAMPLE3, "mlp", sizes, results)
    cnn = attribution_figure(CNN, "cnn", sizes, results)
    preview_figure(cnn, results)
    per_probe_figure(CNN, "cnn", sizes, results)
