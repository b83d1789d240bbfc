"""`gradtui run` and `gradtui devices`: the engine without the UI."""

from __future__ import annotations

import dataclasses
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from gradtui import logs, saving
from gradtui.config import LabConfig
from gradtui.errors import ConfigError, LabError, first_line
from gradtui.file_identity import FileIdentity, identify
from gradtui.lab.history import BUCKET_LAST, EXACT, SUMMARY, History
from gradtui.saving import save_bytes

if TYPE_CHECKING:
    from gradtui.lab.session import Session


def _fmt(value: float, width: int = 9) -> str:
    return f"{'-':>{width}}" if not math.isfinite(value) else f"{value:>{width}.4g}"


def _table(session: object, rows: int) -> list[str]:
    from gradtui.lab.session import Session

    assert isinstance(session, Session)
    h = session.history.take(table_rows(session.history, rows))
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


def table_rows(history: History, rows: int) -> np.ndarray:
    """The stored rows the table prints: at most `rows` (and at least the first and last), falling on
    held-out evaluations where there are any, so the held-out columns show values: every evaluation
    when there are few, evenly chosen ones when there are many; the last step always."""
    # recorded states, not a summary bucket's min/max
    states = np.flatnonzero(np.isin(history.column(SUMMARY), (EXACT, BUCKET_LAST)))
    if rows <= 0 or len(states) == 0:
        return states[:0]
    evaluated = states[np.isfinite(history.column("eval_loss")[states])]
    pool = evaluated if len(evaluated) else states
    last = states[-1:]
    wanted = max(rows - int(last[0] not in pool), 1)
    picks = np.unique(np.linspace(0, len(pool) - 1, min(wanted, len(pool))).round().astype(int))
    return np.unique(np.concatenate([states[:1], pool[picks], last]))


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
    opened = _open(config, session_path, given or set())
    if isinstance(opened, int):
        return opened
    session, identity = opened
    if influence > 0:  # a resumed session's probes and tracked outputs carry on
        try:
            spec = session.attributing
            tracked = dict(zip(spec.probes, spec.outputs, strict=True)) if spec is not None else None
            session.attribution_on(spec.probes if spec is not None else None, tracked, influence)
        except LabError as err:
            print(f"gradtui: --influence: {first_line(err)}", file=sys.stderr)
            return 2
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
    if identity is not None and identity.exists:
        names = session.snapshot_names
        kept = f"; snapshots: {', '.join(names)}" if names else ""
        say(f"continuing {session_path} at step {session.step_count}{kept}")
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
        logs.logger().warning("%s", first_line(err), exc_info=err)
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
        code = _save(session, session_path, identity, say)
        if code:
            return code
    if out and not _write_out(out, session, say):
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


def _write_out(out: str, session: Session, say: Callable[[str], None]) -> bool:
    """Write --out; whether it landed where asked. When its directory cannot take it (a full disk, a quota,
    read-only), the history goes to a fallback directory as a session does (saving.py), and the line says
    where: a long run's results are not thrown away for want of a few megabytes."""
    from gradtui.lab.export import write_history

    target = Path(out).expanduser()
    try:
        path = write_history(target, session)
    except (OSError, ValueError) as err:
        if not isinstance(err, OSError) or err.errno not in saving.FALLBACK_ERRNOS:
            print(f"gradtui: --out: cannot write {out}: {first_line(err)}", file=sys.stderr)
            return False
        tried = [saving.reason(err, target)]
        for directory in saving.fallback_dirs():
            if directory == target.absolute().parent:
                continue
            other = saving.fallback_target(directory, target.name)
            try:
                write_history(other, session)
            except OSError as again:
                tried.append(saving.reason(again, other))
                continue
            print(f"gradtui: --out: write failed: {tried[0]}; written to {other} instead", file=sys.stderr)
            return False
        print(f"gradtui: --out: write failed: {'; '.join(tried)}; not written anywhere", file=sys.stderr)
        return False
    summarised = session.history.summarised()
    kept = f" ({summarised} of them summarise older steps)" if summarised else ""
    say(f"wrote {session.history.stored} rows to {path}{kept}")
    return True


def _open(config: LabConfig, path: str | None, given: set[str]) -> tuple[Session, FileIdentity | None] | int:
    """The session to run and the identity of the file it came from (to save over it only if unchanged):
    built from `config`; or continued from `path` with the typed flags that change nothing but settings
    applied in place (a flag that would rebuild it is refused, exit 2); or new, to be created at `path`."""
    from gradtui.lab import rebuild, session_file, session_peek
    from gradtui.lab.session import Session

    typed = {name: getattr(config, name) for name in sorted(given) if name != "steps"}
    try:
        if path is None:
            return Session.build(config), None
        identity = identify(path)
        if not identity.exists:
            return Session.build(config), identity
        saved = session_peek.saved_config(path)  # before TensorFlow: a refusal costs nothing
        changed = rebuild.rebuilding(saved, typed, skip=rebuild.EFFECTIVE_LATER)
        if changed:
            raise ConfigError("session", rebuild.refusal(path, changed, config))
        session = Session.load(path)
        identity = dataclasses.replace(identity, step=session.step_count)
        changed = [name for name in rebuild.rebuilding(saved, typed) if not _same_effect(session, name, typed[name])]
        if changed:
            raise ConfigError("session", rebuild.refusal(path, changed, config))
        in_place = {k: v for k, v in typed.items() if k not in rebuild.REBUILD_FIELDS}
        if in_place:
            session = session.with_config(session.config.replace(**in_place))
        return session, identity
    except ConfigError as err:
        print(f"gradtui: {err}", file=sys.stderr)
        return 2
    except session_file.UnreadableSession as err:
        print(f"gradtui: --session: {first_line(err)}", file=sys.stderr)
        return 2
    except LabError as err:
        print(f"gradtui: {first_line(err)}", file=sys.stderr)
        return 1
    except OSError as err:
        print(f"gradtui: --session: cannot read {path}: {err.strerror or first_line(err)}", file=sys.stderr)
        return 2


def _same_effect(session: Session, name: str, value: object) -> bool:
    """A typed device or --eval-max that the running session already has, spelled another way."""
    if name == "device":
        from gradtui.lab.runtime import resolve_devices

        try:
            return tuple(resolve_devices(str(value))) == tuple(session.devices)
        except ValueError:
            return False
    if name == "eval_max" and session.data is not None:
        heldout = len(session.data.x_test)
        evaluated = heldout if value is None else min(int(value), heldout)  # type: ignore[call-overload]
        return evaluated == session.data.eval_rows
    return False


def _save(session: Session, path: str, identity: FileIdentity | None, say: Callable[..., None]) -> int:
    """Save the session back to `path` under its lock, unless the file changed since it was loaded: then
    this run goes to a new file beside it and the line says both (exit 2). A disk that cannot take it
    sends it to $TMPDIR or the working directory (exit 1, saying where)."""
    from gradtui.lab import session_file, session_peek

    data = session_file.to_bytes(session_file.pack(session))
    step = session.step_count
    outcome = save_bytes(path, data, since=identity, step_of=session_peek.step_of, step=step)
    if outcome.conflict is not None:
        beside = _beside(Path(path))
        kept = save_bytes(beside, data, since=FileIdentity.absent(), step=step)
        where = f"this run (step {step}) saved to {beside} instead" if kept.saved else kept.line("and saving this run")
        print(f"gradtui: --session: {outcome.conflict}; not written over: {where}", file=sys.stderr)
        return 2
    if not outcome.where_asked:
        print(f"gradtui: --session: {outcome.line()}", file=sys.stderr)
        return 1
    made = "created" if identity is not None and not identity.exists else "saved"
    say(f"{made} the session (step {step}) {'at' if made == 'created' else 'to'} {path}")
    return 0


def _beside(path: Path) -> Path:
    """`s.run-20250101-120000.npz`: a new file next to `path` for a run that may not overwrite it."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.stem}.run-{stamp}{path.suffix}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.stem}.run-{stamp}-{n}{path.suffix}")
    return target


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
