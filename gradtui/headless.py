"""`gradtui run` and `gradtui devices`: the engine without the UI."""

from __future__ import annotations

import math
import sys

import numpy as np

from gradtui import logs
from gradtui.config import ConfigError, LabConfig
from gradtui.errors import first_line
from gradtui.lab.history import BUCKET_LAST, EXACT, SUMMARY, History
from gradtui.lab.results import LabError


def _fmt(value: float, width: int = 9) -> str:
    return f"{'-':>{width}}" if not math.isfinite(value) else f"{value:>{width}.4g}"


def _table(session: object, rows: int) -> list[str]:
    from gradtui.lab.session import Session

    assert isinstance(session, Session)
    # recorded states, not a summary bucket's min/max
    states = np.flatnonzero(np.isin(session.history.column(SUMMARY), (EXACT, BUCKET_LAST)))
    n = len(states)
    if rows <= 0 or n == 0:
        return []
    # row 0 and the last row always, the rest evenly between; only those rows are copied
    chosen = np.unique(np.linspace(0, n - 1, max(min(rows, n), 2)).round().astype(int))
    h = session.history.take(states[np.unique(np.concatenate([[0, n - 1], chosen]))])
    picks = range(len(h["step"]))
    outputs = session.outputs
    probe_head = "prediction" if outputs == 1 else "argmax (p)"
    lines = [f"{'step':>8} {probe_head:>12} {'loss':>9} {'|w|':>9} {'held-out':>9} {'acc change':>10}"]
    for r in picks:
        pred = h["predictions"][r][0]
        if outputs == 1:
            probe = f"{pred[0]:>12.6g}"
        else:
            k = int(np.argmax(pred))
            probe = f"{k:>4d} ({pred[k]:.3f})"
        w = float(np.sqrt(np.sum(np.square(h["weight_norm"][r].astype(np.float64)))))
        acc, change = float(h["eval_acc"][r]), float(h["acc_change"][r])  # "-" between evaluations
        lines.append(
            f"{int(h['step'][r]):>8d} {probe:>12} {_fmt(float(h['loss'][r]))} {_fmt(w)} {_fmt(acc)} {_fmt(change, 10)}"
        )
    return lines


def run_headless(
    config: LabConfig,
    out: str | None,
    tensorboard: str | None,
    rows: int,
    quiet: bool,
    session_path: str | None = None,
    given: set[str] | None = None,
    bounded: bool = False,
    influence: int = 0,
    preview: tuple[float, ...] | None = None,
) -> int:
    """Run `config.steps` steps; with `session_path`, continue that saved session (flags in `given` apply
    on top of its settings) and save it back there, whatever stops the run.

    Every step is kept exactly (the file is the experiment), after checking that it fits in memory;
    `bounded` keeps the lab's bounded history instead (older steps summarised). `influence` K > 0
    attributes every step (the K largest terms per step and probe); `preview` prints the step preview
    at these multiples of the next update at the end."""
    from gradtui.lab.export import write_history
    from gradtui.lab.session import Session

    try:
        if session_path is None:
            session = Session.build(config)
        else:
            session = Session.load(session_path)
            changes = {name: getattr(config, name) for name in sorted(given or ()) if name != "steps"}
            if changes:
                session = session.with_config(session.config.replace(**changes))
        if influence > 0:  # a resumed session's probes and tracked outputs carry on
            spec = session.attributing
            tracked = dict(zip(spec.probes, spec.outputs, strict=True)) if spec is not None else None
            session.attribution_on(spec.probes if spec is not None else None, tracked, influence)
    except ConfigError as err:
        print(f"gradtui: {err}", file=sys.stderr)
        return 2
    except LabError as err:
        print(f"gradtui: {first_line(err)}", file=sys.stderr)
        return 1
    if not bounded:
        too_big = exact_misfit(session.history, config.steps, out is not None, session_path is not None)
        if too_big:
            print(f"gradtui: {too_big}", file=sys.stderr)
            return 2
        session.history.exact = True
        session.history.reserve(session.history.stored + config.steps)
    say = (lambda *a: None) if quiet else print
    say(session.summary.line())
    summary = session.summary
    say(f"{_devices_line(summary.devices or (summary.device,))}; probe: {summary.probe}; data: {summary.data}")
    for note in session.notes:
        say(f"note: {note}")
    # Whatever stops the run (an engine error, TensorBoard, Ctrl-C), the history so far is written.
    failure: str | None = None
    interrupted = False
    board = None
    try:
        if tensorboard:
            from gradtui.lab.board import Board

            board = Board(tensorboard, session)
            board.histograms()
            every = max(1, config.steps // 20)
            target = session.step_count + config.steps
            while session.step_count < target and session.divergence is None:
                report = session.step(min(every, target - session.step_count))
                board.scalars()
                if report.divergence is None:
                    board.histograms()
                for note in report.notes:
                    say(f"note: {note}")
        else:
            report = session.step(config.steps)
            for note in report.notes:
                say(f"note: {note}")
    except LabError as err:
        failure = first_line(err)
    except KeyboardInterrupt:
        interrupted = True
    except Exception as err:
        logs.logger().exception("the run failed")
        failure = f"the run failed at step {session.step_count + 1}: {type(err).__name__}: {first_line(err)}"
    finally:
        if board is not None:
            try:
                board.close()
            except Exception as err:
                logs.logger().exception("closing the TensorBoard writer")
                failure = failure or f"--tensorboard: could not finish writing {tensorboard}: {first_line(err)}"
    for line in _table(session, rows):
        say(line)
    for line in _influence_lines(session) if influence > 0 else ():
        say(line)
    if preview is not None and failure is None and not interrupted:
        try:
            for line in session.preview(preview).table():
                say(line)
        except LabError as err:
            failure = f"--preview: {first_line(err)}"
    if session_path is not None:
        try:
            session.save(session_path)
            say(f"saved the session (step {session.step_count}) to {session_path}")
        except OSError as err:
            print(f"gradtui: --session: cannot write {session_path}: {first_line(err)}", file=sys.stderr)
            return 1
    if out:
        try:
            path = write_history(out, session)
            summarised = session.history.summarised()
            kept = f" ({summarised} of them summarise older steps)" if summarised else ""
            say(f"wrote {session.history.stored} rows to {path}{kept}")
        except (OSError, ValueError) as err:
            print(f"gradtui: --out: cannot write {out}: {first_line(err)}", file=sys.stderr)
            return 1
    if interrupted:
        kept = f"; history up to step {session.step_count} written to {out}" if out else ""
        print(f"gradtui: interrupted{kept}", file=sys.stderr)
        return 130
    if failure:
        print(f"gradtui: {failure}", file=sys.stderr)
        return 1
    if session.divergence is not None:
        d = session.divergence
        kept = f", written to {out}" if out else ""
        print(
            f"gradtui: diverged at step {d.step}: non-finite {d.where}; history kept up to step "
            f"{session.step_count}{kept}",
            file=sys.stderr,
        )
        return 3
    return 0


def _influence_lines(session: object) -> list[str]:
    """Per attributed probe: the rows that pushed its tracked output most up and down over the run."""
    from gradtui.lab.session import Session

    assert isinstance(session, Session)
    lines = []
    for probe in (session.attributing.probes if session.attributing else ())[:8]:
        found = session.influence(probe)
        if found is None or found.source == "none":
            continue
        what = "row" if found.source == "rows" else "probe"
        up = ", ".join(f"{what} {r} {v:+.3g}" for r, v in zip(*found.proponents(3), strict=True)) or "none"
        down = ", ".join(f"{what} {r} {v:+.3g}" for r, v in zip(*found.opponents(3), strict=True)) or "none"
        lines.append(
            f"influence on probe {probe} output {found.output}, steps {found.since + 1}-{found.since + found.steps}: "
            f"up {up}; down {down}"
        )
    return lines


def exact_misfit(history: History, steps: int, export: bool, save: bool) -> str | None:
    """The one-line refusal if keeping `steps` more steps exactly would not fit in available memory.

    Counted: the history itself, plus the copies written from it (a column at a time for --out; the
    whole history and its compressed buffer for --session). The model is already built, so what it
    holds is no longer available and needs no estimate."""
    from gradtui.lab.memory import gb, host_available

    rows = history.stored + steps
    held = rows * history.row_bytes
    copies = max(2 * held if save else 0, history.largest_column_bytes(rows) if export else 0)
    free = host_available()
    if free is None or held + copies <= free:
        return None
    return (
        f"--steps: keeping all {len(history) - 1 + steps:,} steps exactly needs about {gb(held + copies)} "
        f"({gb(history.row_bytes)} a step, and the copies written from them) but {gb(free)} is available "
        f"(MemAvailable); run fewer --steps, or add --history bounded to keep the latest steps exactly "
        f"and summarise older ones as the lab does"
    )


def _devices_line(names: tuple[str, ...]) -> str:
    if len(names) == 1:
        return f"device {names[0]}"
    return f"{len(names)} replicas (MirroredStrategy) on {', '.join(names)}"


def print_devices() -> int:
    from gradtui.lab.runtime import devices

    found = devices()
    for dev in found:
        memory = f", {dev.memory_mb:.0f} MB in use" if dev.memory_mb is not None else ""
        spelling = dev.kind.lower() + ":" + dev.name.rsplit(":", 1)[-1]
        print(f"{spelling:<7} {dev.name}  {dev.description}{memory}")
    kind = "gpu" if any(d.kind == "GPU" for d in found) else "cpu"
    if sum(d.kind.lower() == kind for d in found) > 1:
        print(f"several at once: --device all, or a list such as --device {kind}:0,{kind}:1 (one replica each)")
    return 0
