"""Entry points: `gradtui` (the lab), `gradtui run` (headless), `gradtui bench`, `gradtui devices`.

Flags are parsed and validated through LabConfig before TensorFlow is imported, so `--help`,
`--version` and a bad flag answer at once. Exit codes: 0 ok, 1 engine failure, 2 bad input,
3 the run diverged (the finite history is still written).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from gradtui import __version__, relevance, trust
from gradtui.config import FIELDS, LabConfig, implied_defaults
from gradtui.devices import logical_cpus
from gradtui.errors import ArrayFileError, ConfigError, UsageError, first_line, one_line
from gradtui.presets import PRESET_BY_NAME
from gradtui.resume import choose_autosave, print_sessions
from gradtui.safe_text import visible, visible_output
from gradtui.stream import address

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_DIVERGED = 0, 1, 2, 3


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {self.prog} --help)")


def _add_lab_flags(parser: argparse.ArgumentParser, command: bool = False) -> None:
    """The experiment flags. On a command they default to SUPPRESS, so `gradtui --lr 0.5 run` keeps the
    --lr given before the command instead of argparse quietly resetting it to the command's default."""
    group = parser.add_argument_group("experiment (every flag is also a field in the lab)")
    unset = argparse.SUPPRESS if command else None
    for spec in FIELDS:
        choices = f" ({', '.join(spec.choices)})" if spec.choices and spec.metavar is None else ""
        default = LabConfig().as_text(spec.name)
        group.add_argument(
            spec.flag,
            dest=spec.name,
            metavar=spec.metavar or spec.name.upper(),
            default=unset,
            help=f"{spec.help}{choices} [default: {default}]",
        )
    group.add_argument(
        "--preset",
        choices=sorted(PRESET_BY_NAME),
        default=unset,
        help="start from one of the article's experiments; other flags apply on top",
    )
    group.add_argument(
        trust.FLAG,
        dest="trust_model",
        action="store_true",
        default=unset,
        help="load the --model file even if loading it can run code (a SavedModel's graph, a Keras "
        "file with a Lambda layer): only for files you trust; a demo or session file cannot grant this",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="gradtui",
        description="A terminal lab: what does applying a gradient do to a Keras "
        "model's predictions? With no command, opens the lab.",
    )
    parser.add_argument("--version", action="version", version=f"gradtui {__version__}")
    parser.add_argument("--demo", metavar="FILE", help="replay a demo script (one key per beat)")
    parser.add_argument("--session", metavar="FILE", help="open a saved session (created on save if missing)")
    parser.add_argument(
        "--resume",
        nargs="?",
        type=int,
        const=0,
        metavar="N",
        help="reopen the newest readable autosave (written on quit, on a signal and every 30 s), or the N-th "
        "that `gradtui sessions` lists",
    )
    parser.add_argument(
        "--share",
        metavar="[HOST:]PORT",
        help="serve this lab to followers: browsers at the printed URL (with its token) and `gradtui follow` "
        "on this machine; binds 127.0.0.1 unless HOST is given (docs/classroom.md)",
    )
    parser.add_argument(
        "--share-max", type=int, default=40, metavar="N", help="followers at most, with --share [default: 40]"
    )
    _add_lab_flags(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    run = sub.add_parser(
        "run",
        help="run an experiment headless and print (or write) its history",
        description="Run --steps steps headless; print a table; optionally write the history.",
    )
    _add_lab_flags(run, command=True)
    run.add_argument(
        "--out", metavar="FILE", help="write the whole history to FILE.json, FILE.csv or FILE.npz (columns for numpy)"
    )
    run.add_argument(
        "--history",
        choices=("exact", "bounded"),
        default="exact",
        help="exact: keep every step (refused up front if that would not fit in memory); bounded: keep the "
        "latest steps exactly and summarise older ones into min/max/last buckets, as the lab does [default: exact]",
    )
    run.add_argument("--tensorboard", metavar="DIR", help="write TensorBoard event files (curves, histograms)")
    run.add_argument(
        "--session",
        dest="run_session",
        metavar="FILE",
        help="continue a saved session for --steps more steps, then save it back to FILE (refused if FILE "
        "changed on disk meanwhile); a FILE that does not exist is created from the flags",
    )
    run.add_argument("--rows", type=int, default=12, metavar="N", help="table rows to print [default: 12]")
    run.add_argument("--quiet", action="store_true", help="print no table")
    bench = sub.add_parser(
        "bench",
        help="measure speed against plain Keras/TF loops",
        description="Measure engine, TUI and memory figures as ratios from one run.",
    )
    bench.add_argument(
        "--quick", action="store_true", help="smaller sizes (about 2.5 minutes on 2 cores, a minute of it playing)"
    )
    bench.add_argument("--json", metavar="FILE", help="write the figures as JSON")
    bench.add_argument("--tiny", action="store_true", help=argparse.SUPPRESS)
    sub.add_parser("devices", help="list the devices TensorFlow can use")
    follow = sub.add_parser(
        "follow",
        help="follow a lab shared with --share, read-only (no TensorFlow)",
        description="Show a running lab's status, story, plots, pins and log as it goes. Your keys change "
        "only your view. Without ADDRESS, follows the newest lab sharing on this machine.",
    )
    follow.add_argument(
        "address",
        nargs="?",
        metavar="ADDRESS",
        help=f"the lab's stream, [HOST:]PORT (its token from the state directory or ${address.TOKEN_ENV})",
    )
    sub.add_parser(
        "sessions",
        help="list the autosaves `--resume N` can reopen",
        description="List the autosaves, newest first: when, the preset or model, the step, the snapshots, "
        "and whether each reads back whole.",
    )
    return parser


def typed_settings(args: argparse.Namespace) -> dict[str, str]:
    """The experiment flags typed on the command line (before or after the command), by field name."""
    return {spec.name: getattr(args, spec.name) for spec in FIELDS if getattr(args, spec.name, None) is not None}


def config_from(args: argparse.Namespace) -> LabConfig:
    """The preset (if any), then every flag given on top: one validation path for all; without a
    preset, the defaults a model of one's own implies. A typed flag that the settled experiment
    ignores is refused (relevance.APPLIES)."""
    base = PRESET_BY_NAME[args.preset].config() if getattr(args, "preset", None) else LabConfig()
    given = typed_settings(args)
    config = LabConfig.parse(relevance.select_rule(given), base=base)
    if not getattr(args, "preset", None):
        config = implied_defaults(config, given)
    relevance.check_typed(given, config)
    return config


def _check_command_flags(args: argparse.Namespace, config: LabConfig) -> None:
    """Flags that belong to another command, or to a model file, refused with the reason."""
    command = args.command
    for flag, value in (("--demo", args.demo), ("--session", args.session)):
        if value is not None and command is not None:
            raise UsageError(f"{flag}: does not apply to gradtui {command}: it opens the lab (gradtui {flag} FILE)")
    trusted = bool(getattr(args, "trust_model", False))
    if args.share is not None and command is not None:
        raise UsageError(f"--share: does not apply to gradtui {command}: it shares the lab (gradtui --share PORT)")
    if command in ("bench", "devices", "follow", "sessions"):
        typed = [flag for flag, name in _experiment_flags() if getattr(args, name, None) not in (None, False)]
        if typed:
            raise UsageError(f"{typed[0]}: does not apply to gradtui {command}: it takes no experiment settings")
        return
    if trusted and not config.is_user_model:
        raise UsageError(
            f"{trust.FLAG}: does not apply: it trusts the model file named by --model PATH "
            f"(the model is {config.model})"
        )


def _experiment_flags() -> list[tuple[str, str]]:
    return [(spec.flag, spec.name) for spec in FIELDS] + [("--preset", "preset"), (trust.FLAG, "trust_model")]


def _check_out(path: str, suffixes: tuple[str, ...], flag: str) -> None:
    """Refuse an output path that has the wrong suffix or cannot be written, before any work is done."""
    from gradtui.files import check_writable

    if not path.strip():
        raise UsageError(f"{flag}: expected a file name")
    try:
        target = Path(path).expanduser()
        if suffixes and target.suffix.lower() not in suffixes:
            listed = " or ".join([", ".join(suffixes[:-1]), suffixes[-1]] if len(suffixes) > 1 else suffixes)
            raise UsageError(f"{flag}: {path} must end in {listed}")
        check_writable(target)
    except (OSError, RuntimeError, ValueError) as err:
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        raise UsageError(f"{flag}: cannot write {path}: {reason}") from err


def _check_dir(path: str, flag: str) -> None:
    """A directory gradtui will create (if missing) and write into."""
    if not path.strip():
        raise UsageError(f"{flag}: expected a directory name")
    from gradtui.files import check_writable

    try:
        target = Path(path).expanduser()
        if target.exists() and not target.is_dir():
            raise UsageError(f"{flag}: {path} exists and is not a directory")
        check_writable(target / "events", create_parents=True)
    except (OSError, RuntimeError, ValueError) as err:
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        raise UsageError(f"{flag}: cannot write to {path}: {reason}") from err


def _check_in(path: str, flag: str) -> None:
    """An input file that must exist and be readable."""
    target = Path(path).expanduser()
    try:
        problem = (
            None
            if target.is_file() and os.access(target, os.R_OK)
            else "is a directory, not a file"
            if target.is_dir()
            else "does not exist"
            if not target.exists()
            else "is not a readable file"
        )
    except (OSError, ValueError) as err:
        problem = f"is not a usable path ({err})"
    if problem:
        raise UsageError(f"{flag}: {path} {problem}")


def _check_session(path: str) -> None:
    """--session (the lab's, or run's): an existing file must be a gradtui session (.npz); a new one must be
    writable on save."""
    target = Path(path).expanduser()
    if not target.exists():
        _check_out(path, (), "--session")
        return
    _check_in(path, "--session")
    with target.open("rb") as handle:
        head = handle.read(4)
    if head[:2] != b"PK":
        raise UsageError(f"--session: {path} is not a gradtui session file (expected the .npz the lab saves)")


def _continues(args: argparse.Namespace) -> bool:
    """`gradtui run --session FILE` on a FILE that exists: its own data and probe, not the flags'."""
    return args.run_session is not None and Path(args.run_session).expanduser().exists()


def _precheck_files(config: LabConfig, read: bool) -> None:
    """What a --data or --probe file's content can be refused for without a model, before TensorFlow is
    imported: its headers (keys, dtypes, rows, memory, compression ratio) and, with `read` (headless,
    where no first frame waits), its values (NaN, infinities), read once for the build."""
    from gradtui.lab import array_files, data_files

    if config.data is not None:
        data_files.precheck(config.data, read=read)
    if config.probe not in ("random", "heldout"):
        try:
            array_files.npy_header(config.probe)
        except ArrayFileError as err:
            raise ConfigError("probe", str(err)) from err


def _tensorboard_installed() -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec("tensorboard") is not None
    except (ImportError, ValueError):
        return False


def _options(parser: argparse.ArgumentParser) -> tuple[set[str], set[str]]:
    """(every option string, the ones that take a value), across the parser and its subcommands."""
    every: set[str] = set()
    valued: set[str] = set()
    for action in parser._actions:
        every.update(action.option_strings)
        if action.option_strings and action.nargs is None and action.const is None:
            valued.update(action.option_strings)
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                sub_every, sub_valued = _options(sub)
                every |= sub_every
                valued |= sub_valued
    return every, valued


def _bind_dash_values(argv: list[str], parser: argparse.ArgumentParser) -> list[str]:
    """`--lr -1e-3` as `--lr=-1e-3`: argparse takes a value starting with '-' for an option unless it
    looks like -1 or -.5, so a negative number in e-notation (or -inf) would get 'expected one
    argument' instead of the flag's own check. Known options are never swallowed."""
    every, valued = _options(parser)
    out: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        nxt = argv[i + 1] if i + 1 < len(argv) else None
        if arg in valued and nxt is not None and nxt.startswith("-") and nxt.split("=", 1)[0] not in every:
            out.append(f"{arg}={nxt}")
            i += 2
        else:
            out.append(arg)
            i += 1
    return out


def main(argv: list[str] | None = None) -> int:
    """Every line a command prints goes through safe_text (control characters shown as escapes); the
    lab's own terminal output does not (Textual paints with escape codes), its text is made safe where
    it is shown."""
    with visible_output():
        prepared = _prepare(argv)
    if isinstance(prepared, int):
        return prepared
    args, config, resume, share, notices = prepared
    if getattr(args, "trust_model", False):
        trust.grant(config.model)  # the person at the keyboard named this path and this flag
    if args.command is None:
        from gradtui.tui.launcher import run_app

        return _reported(
            lambda: run_app(
                config,
                preset=args.preset,
                demo=args.demo,
                session_file=args.session,
                resume=resume,
                share_spec=share,
                notices=notices,
            )
        )
    if args.command == "follow":
        return _reported(lambda: _follow(args.address))
    with visible_output():
        return _reported(lambda: _command(args, config))


def _prepare(
    argv: list[str] | None,
) -> tuple[argparse.Namespace, LabConfig, str | None, address.ShareSpec | None, list[str]] | int:
    """Parse and check every flag and file before any work (and before TensorFlow): the arguments, the
    config, the autosave to resume; or the exit code of a refusal already printed."""
    try:
        parser = build_parser()
        args = parser.parse_args(_bind_dash_values(list(sys.argv[1:] if argv is None else argv), parser))
        config = config_from(args)
        try:
            logical_cpus(os.environ)  # refused here, before the 3-second TensorFlow import
        except ValueError as err:
            raise UsageError(str(err)) from err
        _check_command_flags(args, config)
        if args.command == "run":
            if args.out is not None:
                _check_out(args.out, (".json", ".csv", ".npz"), "--out")
            if args.tensorboard is not None:
                _check_dir(args.tensorboard, "--tensorboard")
                if not _tensorboard_installed():
                    raise UsageError(
                        "--tensorboard: the tensorboard package is not installed (pip install tensorboard)"
                    )
            if args.rows < 0:
                raise UsageError(f"--rows: must be at least 0, got {args.rows}")
        if args.command == "bench" and args.json is not None:
            _check_out(args.json, (".json",), "--json")
        if args.command == "run" and args.run_session is not None:
            _check_session(args.run_session)
            if getattr(args, "preset", None) and Path(args.run_session).expanduser().exists():
                raise UsageError(
                    f"--preset: {args.run_session} is continued as saved; a preset would start a new experiment "
                    "(give a new --session file to start one)"
                )
        if args.command in ("run", None) and not (args.command == "run" and _continues(args)):
            _precheck_files(config, read=args.command == "run")
        if args.resume is not None and args.command is not None:
            raise UsageError(f"--resume: does not apply to gradtui {args.command}: it opens the lab")
        resume: str | None = None
        notices: list[str] = []  # damaged autosaves moved aside by --resume: the lab shows them until dismissed
        share: address.ShareSpec | None = None
        if args.share is not None:
            try:
                host, port = address.parse_host_port(args.share)
            except ValueError as err:
                raise UsageError(str(err)) from err
            if args.share_max < 1:
                raise UsageError(f"--share-max: must be at least 1, got {args.share_max}")
            share = address.ShareSpec(host, port, args.share_max)
        if args.command is None:
            if args.demo is not None:
                _check_in(args.demo, "--demo")
            if args.session is not None:
                _check_session(args.session)
            if args.resume is not None:
                if args.session is not None:
                    raise UsageError("--resume: reopens an autosave; give it or --session FILE, not both")
                resume = choose_autosave(args.resume, notices)
    except (UsageError, ConfigError) as err:
        print(f"gradtui: {visible(one_line(str(err).strip()))}", file=sys.stderr)
        return EXIT_USAGE
    return args, config, resume, share, notices


def _follow(where: str | None) -> int:
    """`gradtui follow`: a Textual app of its own (outside visible_output: it paints with escape codes)."""
    try:
        info = address.find_stream(where)
    except ValueError as err:
        print(f"gradtui follow: {visible(first_line(str(err)))}", file=sys.stderr)
        return EXIT_USAGE
    from gradtui.follow.app import run_follow

    return run_follow(info, where)


def _command(args: argparse.Namespace, config: LabConfig) -> int:
    if args.command == "run":
        from gradtui.headless import run_headless

        given = {spec.name for spec in FIELDS if getattr(args, spec.name, None) is not None}
        return run_headless(
            config,
            out=args.out,
            tensorboard=args.tensorboard,
            rows=args.rows,
            quiet=args.quiet,
            session_path=args.run_session,
            given=given,
            bounded=args.history == "bounded",
        )
    if args.command == "bench":
        from gradtui.bench import run_bench

        return run_bench(quick=args.quick, json_path=args.json, tiny=args.tiny)
    if args.command == "sessions":
        return print_sessions()
    from gradtui.headless import print_devices

    return print_devices()


def _reported(work: Callable[[], int]) -> int:
    """Run `work`; what escapes it is one printable line and an exit code, never a traceback."""
    try:
        return work()
    except KeyboardInterrupt:
        print("gradtui: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `gradtui run | head`: the reader left; stop quietly, as other tools do
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except ConfigError as err:
        print(f"gradtui: {visible(one_line(str(err).strip()))}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as err:
        from gradtui.logs import log_file, logger

        logger().exception("unhandled error")
        line = f"gradtui: {type(err).__name__}: {first_line(str(err))} (details in {log_file()})"
        print(visible(line), file=sys.stderr)
        return EXIT_FAILED
