"""The engine's side of the Why and Preview tabs: attribution on only while the Why tab is open, its
results read on the engine thread and posted whole (WhyReady), and the step preview (PreviewReady).

"Cost only when used": the UI turns attribution on when the Why tab opens and off when it closes. While
it is wanted, every settled command (a step, run, undo, a new session after a rebuilding config change,
an opened file, a restore) turns it back on if the session lost it, and posts the view's report; a run
posts one between chunks at most every WHY_SECONDS.
"""

from __future__ import annotations

import time

import numpy as np
from textual.message_pump import MessagePump

from gradtui.lab.attribution import Source
from gradtui.lab.results import LabError
from gradtui.tui.engine.protocol import EngineSession, Sessions
from gradtui.tui.engine.worker import Worker
from gradtui.tui.messages import EngineFailed, PreviewReady, WhyReady
from gradtui.tui.why_report import WhyReport, interesting

WHY_SECONDS = 0.25  # during a run, the Why tab's report is posted at most this often
# the preview is traced ahead (while idle) for models up to this size: tracing runs it once, and on a bigger
# model (vgg16) that run would hold the engine, and a key pressed meanwhile, for seconds
PREPARE_MAX_PARAMS = 1_000_000


def why_report(session: EngineSession) -> WhyReport | None:
    """The attribution of every attributed probe as of now; None while attribution is off."""
    spec = session.attributing
    if spec is None:
        return None
    attributions = {p: a for p in spec.probes if (a := session.attribution(p)) is not None}
    influences = {p: i for p in spec.probes if (i := session.influence(p)) is not None}
    source: Source = next((i.source for i in influences.values()), "none")
    rows = sorted(interesting(attributions.values(), influences.values()))
    images: dict[int, np.ndarray] = {}
    if rows and source != "none":
        inputs = session.row_inputs(source, np.asarray(rows, np.int64))
        if inputs is not None:
            images = {row: np.asarray(x) for row, x in zip(rows, inputs, strict=True)}
    config = session.config
    return WhyReport(
        step=int(session.history.last("step")) if len(session.history) else 0,
        rule=config.rule,
        source=source,
        attributions=attributions,
        influences=influences,
        matrix=session.probe_matrix(),
        images=images,
        trained_label=config.label if config.rule == "example-loss" else None,
    )


class Explainer(Worker):
    """Worker commands for the Why and Preview tabs (driver.Engine builds on this)."""

    def __init__(self, target: MessagePump, sessions: Sessions) -> None:
        super().__init__(target, sessions)
        self.explaining = False  # the Why tab is open: attribute every step (read on the engine thread)
        self._refused: EngineSession | None = None  # a session that could not attribute: not asked again
        self._why_posted = 0.0
        self._unpreviewable: EngineSession | None = None  # a session with no preview: not traced again

    def explain(self, on: bool) -> None:
        """Attribute every following step (the Why tab opened), or stop (it closed)."""
        self.explaining = on
        if self.session is None:  # the first build's settle turns it on
            return

        def do() -> None:
            self._refused = None
            session = self._session()
            if on:
                self._keep_explaining()
            elif session.attributing is not None:
                session.attribution_off()

        self._submit("why", do)

    def preview(self) -> None:
        """Preview the next update (changes nothing) and post it."""
        self._submit("preview", lambda: self._post(PreviewReady(self._session().preview())))

    def _idle_work(self) -> bool:
        """Trace the session's step preview ahead (about a second on the shipped cnn, most of its first
        preview), so the first `v` finds it ready; once per graph, only while no command waits."""
        session = self.session
        if session is None or session is self._unpreviewable or session.summary.params > PREPARE_MAX_PARAMS:
            return False
        if session.preview_prepared:
            return False
        try:
            session.prepare_preview()
        except LabError:  # no preview here (a SavedModel, several devices): `v` will say so
            self._unpreviewable = session
        except Exception:
            self.log.exception("tracing the preview ahead failed")
            self._unpreviewable = session
        return False

    def _keep_explaining(self) -> None:
        """While the Why tab is open: attribution (back) on for this session, and its report posted."""
        session = self.session
        if not self.explaining or session is None or session is self._refused:
            return
        try:
            if session.attributing is None:
                session.attribution_on()
            self._post_why(session)
        except LabError as err:
            self._refused = session
            self._post(EngineFailed("why", str(err)))

    def _post_why(self, session: EngineSession) -> None:
        report = why_report(session)
        if report is not None:
            self._why_posted = time.monotonic()
            self._post(WhyReady(report))

    def _why_between_chunks(self) -> None:
        """During a run: the Why tab's report, at most every WHY_SECONDS."""
        session = self.session
        if self.explaining and session is not None and time.monotonic() - self._why_posted >= WHY_SECONDS:
            self._post_why(session)

    def _settle(self, paused: bool = False) -> None:
        try:
            self._keep_explaining()
        except Exception as err:  # a report that cannot be read must not stop the command's answer
            self.log.exception("the Why tab's report failed")
            self._post(EngineFailed("why", f"{type(err).__name__}: {err}"))
        super()._settle(paused)
