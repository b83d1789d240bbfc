"""The command line's grammar: the parser with every command and flag, and the flags turned into a LabConfig.

The experiment flags come from the field table (config.FIELDS), so the lab's form and the command line
offer the same settings with the same help. Nothing here imports TensorFlow.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import NoReturn

from gradtui import __version__, relevance, trust
from gradtui.bench.report import PARTS as BENCH_PARTS
from gradtui.config import FIELDS, LabConfig, implied_defaults
from gradtui.errors import UsageError
from gradtui.presets import PRESET_BY_NAME
from gradtui.stream import address

# Defaults that depend on the model, as config.implied_defaults chooses them (the `auto` values say in
# their own help how they are chosen)
IMPLIED_DEFAULTS = {
    "rule": "prediction; batch-loss for a model file with --data",
    "probe": "random; heldout for a model file with --data",
}


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
        default = IMPLIED_DEFAULTS.get(spec.name) or LabConfig().as_text(spec.name)
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
        type=_autosave_number,
        const=0,  # bare --resume: the newest readable (a typed N counts from 1)
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
        "--share-max", type=int, default=None, metavar="N", help="followers at most, with --share [default: 40]"
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
    run.add_argument(
        "--influence",
        type=int,
        default=0,
        metavar="K",
        help="attribute every step for every probe: per step the K largest per-row terms, the rest, the carry "
        "and the residual, and at the end each training row's cumulative influence (written with --out)",
    )
    run.add_argument(
        "--preview",
        metavar="A,B,C",
        help="at the end, print the probes and the loss along the next update, at w + alpha*dw for each alpha",
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
    bench.add_argument(
        "--only",
        metavar="PART[,PART]",
        type=_bench_parts,
        default=BENCH_PARTS,
        help=f"measure only these parts: {', '.join(BENCH_PARTS)} (default: all)",
    )
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
        help=f"the lab's page or stream, [HOST:]PORT or the URL it printed (the stream's token from the state "
        f"directory or ${address.TOKEN_ENV})",
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
    saved = _continued(args)
    # a continued session runs its own settings with the typed ones on top: check against those (against the
    # defaults, --batch-size on a batch-loss session was refused as "the rule is prediction")
    relevance.check_typed(given, config if saved is None else LabConfig.parse(relevance.select_rule(given), base=saved))
    return config


def _continued(args: argparse.Namespace) -> LabConfig | None:
    """The settings saved in the file `gradtui run --session FILE` continues (None: no such file, or one that
    does not read: refused later in one line)."""
    path = getattr(args, "run_session", None)
    if path is None or not Path(path).expanduser().is_file():
        return None
    from gradtui.lab import session_file, session_peek  # NumPy, no TensorFlow: only when continuing

    try:
        return session_peek.saved_config(path)
    except session_file.UnreadableSession:
        return None


def experiment_flags() -> list[tuple[str, str]]:
    return [(spec.flag, spec.name) for spec in FIELDS] + [("--preset", "preset"), (trust.FLAG, "trust_model")]


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


def bind_dash_values(argv: list[str], parser: argparse.ArgumentParser) -> list[str]:
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


def _bench_parts(text: str) -> tuple[str, ...]:
    """`--only engine,why`: known part names, in the bench's own order."""
    asked = {part.strip() for part in text.split(",") if part.strip()}
    unknown = sorted(asked - set(BENCH_PARTS))
    if unknown or not asked:
        raise argparse.ArgumentTypeError(f"parts are {', '.join(BENCH_PARTS)}; not {', '.join(unknown) or 'none'}")
    return tuple(part for part in BENCH_PARTS if part in asked)


def _autosave_number(text: str) -> int:
    """`--resume N`: the N-th autosave `gradtui sessions` lists, counted from 1."""
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number; gradtui sessions numbers them from 1") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"{number}: gradtui sessions numbers the autosaves from 1")
    return number
