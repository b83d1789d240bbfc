"""Entry points: `gradtui` (the lab), `gradtui run` (headless), `gradtui bench`, `gradtui devices`.

Flags are parsed and validated through LabConfig before TensorFlow is imported, so `--help`,
`--version` and a bad flag answer at once. Exit codes: 0 ok, 1 engine failure, 2 bad input,
3 the run diverged (the finite history is still written).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import NoReturn

from gradtui import __version__
from gradtui.config import FIELDS, ConfigError, LabConfig
from gradtui.presets import PRESET_BY_NAME

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_DIVERGED = 0, 1, 2, 3


class UsageError(Exception):
    """A bad flag or file: printed as one line, exit 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {self.prog} --help)")


def _add_lab_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("experiment (every flag is also a field in the lab)")
    for spec in FIELDS:
        choices = f" ({', '.join(spec.choices)})" if spec.choices and spec.metavar is None else ""
        default = LabConfig().as_text(spec.name)
        group.add_argument(spec.flag, dest=spec.name, metavar=spec.metavar or spec.name.upper(), default=None,
                           help=f"{spec.help}{choices} [default: {default}]")
    group.add_argument("--preset", choices=sorted(PRESET_BY_NAME), default=None,
                       help="start from one of the article's experiments; other flags apply on top")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="gradtui", description="A terminal lab: what does applying a gradient do to a Keras "
                                                 "model's predictions? With no command, opens the lab.")
    parser.add_argument("--version", action="version", version=f"gradtui {__version__}")
    parser.add_argument("--demo", metavar="FILE", help="replay a demo script (one key per beat)")
    parser.add_argument("--session", metavar="FILE", help="open a saved session (created on save if missing)")
    _add_lab_flags(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    run = sub.add_parser("run", help="run an experiment headless and print (or write) its history",
                         description="Run --steps steps headless; print a table; optionally write the history.")
    _add_lab_flags(run)
    run.add_argument("--out", metavar="FILE", help="write the whole history to FILE.json or FILE.csv")
    run.add_argument("--tensorboard", metavar="DIR", help="write TensorBoard event files (curves, histograms)")
    run.add_argument("--rows", type=int, default=12, metavar="N", help="table rows to print [default: 12]")
    run.add_argument("--quiet", action="store_true", help="print no table")
    bench = sub.add_parser("bench", help="measure speed against plain Keras/TF loops",
                           description="Measure engine, TUI and memory figures as ratios from one run.")
    bench.add_argument("--quick", action="store_true", help="smaller sizes (under 2 minutes on 2 cores)")
    bench.add_argument("--json", metavar="FILE", help="write the figures as JSON")
    bench.add_argument("--tiny", action="store_true", help=argparse.SUPPRESS)
    sub.add_parser("devices", help="list the devices TensorFlow can use")
    return parser


def config_from(args: argparse.Namespace) -> LabConfig:
    """The preset (if any), then every flag given on top: one validation path for all."""
    base = PRESET_BY_NAME[args.preset].config() if getattr(args, "preset", None) else LabConfig()
    given = {spec.name: getattr(args, spec.name) for spec in FIELDS if getattr(args, spec.name, None) is not None}
    return LabConfig.parse(given, base=base)


def _check_out(path: str, suffixes: tuple[str, ...], flag: str) -> None:
    from gradtui.files import check_writable

    target = Path(path)
    if suffixes and target.suffix.lower() not in suffixes:
        raise UsageError(f"{flag}: {path} must end in {' or '.join(suffixes)}")
    try:
        check_writable(target, create_parents=not suffixes)
    except OSError as err:
        raise UsageError(f"{flag}: cannot write {path}: {err}") from None


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        config = config_from(args)
        if args.command == "run":
            if args.out:
                _check_out(args.out, (".json", ".csv"), "--out")
            if args.tensorboard:
                _check_out(str(Path(args.tensorboard) / "x"), (), "--tensorboard")
            if args.rows < 0:
                raise UsageError("--rows: must be at least 0")
        if args.command is None and args.demo and not Path(args.demo).is_file():
            raise UsageError(f"--demo: {args.demo} does not exist")
    except (UsageError, ConfigError) as err:
        print(f"gradtui: {err}", file=sys.stderr)
        return EXIT_USAGE
    try:
        if args.command == "run":
            from gradtui.lab.headless import run_headless

            return run_headless(config, out=args.out, tensorboard=args.tensorboard, rows=args.rows,
                                quiet=args.quiet)
        if args.command == "bench":
            from gradtui.bench import run_bench

            return run_bench(quick=args.quick, json_path=args.json, tiny=args.tiny)
        if args.command == "devices":
            from gradtui.lab.headless import print_devices

            return print_devices()
        from gradtui.tui.app import run_app

        return run_app(config, preset=args.preset, demo=args.demo, session_file=args.session)
    except KeyboardInterrupt:
        print("gradtui: interrupted", file=sys.stderr)
        return 130
    except ConfigError as err:
        print(f"gradtui: {err}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as err:
        from gradtui.logs import logger

        logger().exception("unhandled error")
        print(f"gradtui: {type(err).__name__}: {err} (details in the log file)", file=sys.stderr)
        return EXIT_FAILED
