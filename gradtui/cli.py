"""Entry points: `gradtui` (the lab), `gradtui run` (headless), `gradtui bench`, `gradtui devices`.

Flags are parsed and validated through LabConfig before TensorFlow is imported, so `--help`,
`--version` and a bad flag answer at once. Exit codes: 0 ok, 1 engine failure, 2 bad input,
3 the run diverged (the finite history is still written). The parser is cli_args.py's, the checks
of flags and files cli_checks.py's.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable
from pathlib import Path

from gradtui import relevance, trust
from gradtui.cli_args import bind_dash_values, build_parser, config_from, typed_settings
from gradtui.cli_checks import (
    check_command_flags,
    check_dir,
    check_in,
    check_out,
    check_session,
    check_session_opens,
    continues,
    parse_alphas,
    precheck_files,
    tensorboard_installed,
)
from gradtui.config import LabConfig
from gradtui.devices import logical_cpus
from gradtui.errors import ConfigError, UsageError, first_line, one_line
from gradtui.resume import choose_autosave, print_sessions
from gradtui.safe_text import visible, visible_output
from gradtui.stream import address

# build_parser and config_from are the parser's (cli_args.py), kept importable from here
__all__ = ["EXIT_DIVERGED", "EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "build_parser", "config_from", "main"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_DIVERGED = 0, 1, 2, 3


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
        args = parser.parse_args(bind_dash_values(list(sys.argv[1:] if argv is None else argv), parser))
        config = config_from(args)
        try:
            logical_cpus(os.environ)  # refused here, before the 3-second TensorFlow import
        except ValueError as err:
            raise UsageError(str(err)) from err
        check_command_flags(args, config)
        if args.command == "run":
            if args.out is not None:
                check_out(args.out, (".json", ".csv", ".npz"), "--out")
            if args.tensorboard is not None:
                check_dir(args.tensorboard, "--tensorboard")
                if not tensorboard_installed():
                    raise UsageError(
                        "--tensorboard: the tensorboard package is not installed (pip install tensorboard)"
                    )
            if args.rows < 0:
                raise UsageError(f"--rows: must be at least 0, got {args.rows}")
            if not 0 <= args.influence <= 10_000:
                raise UsageError(f"--influence: the number of terms kept per step, 1 to 10000, got {args.influence}")
            args.preview = parse_alphas(args.preview) if args.preview is not None else None
        if args.command == "bench" and args.json is not None:
            check_out(args.json, (".json",), "--json")
        if args.command == "run" and args.run_session is not None:
            check_session(args.run_session)
            if getattr(args, "preset", None) and Path(args.run_session).expanduser().exists():
                raise UsageError(
                    f"--preset: {args.run_session} is continued as saved; a preset would start a new experiment "
                    "(give a new --session file to start one)"
                )
        if args.command in ("run", None) and not (args.command == "run" and continues(args)):
            precheck_files(config, read=args.command == "run")
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
            limit = address.ShareSpec.max_followers if args.share_max is None else args.share_max
            if limit < 1:
                raise UsageError(f"--share-max: must be at least 1, got {limit}")
            share = address.ShareSpec(host, port, limit)
        elif args.share_max is not None:  # would be ignored: the lab would open unshared
            raise UsageError("--share-max: does nothing without --share PORT (it caps that lab's followers)")
        if args.command is None:
            if args.demo is not None:
                check_in(args.demo, "--demo")
            if args.session is not None:
                check_session(args.session)
                check_session_opens(args.session)
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

    return run_follow(info)


def _command(args: argparse.Namespace, config: LabConfig) -> int:
    if args.command == "run":
        from gradtui.headless import run_headless

        given = set(relevance.select_rule(typed_settings(args)))  # `--label K` alone: the rule it selects too
        return run_headless(
            config,
            out=args.out,
            tensorboard=args.tensorboard,
            rows=args.rows,
            quiet=args.quiet,
            session_path=args.run_session,
            given=given,
            bounded=args.history == "bounded",
            influence=args.influence,
            preview=args.preview,
        )
    if args.command == "bench":
        from gradtui.bench import run_bench

        return run_bench(quick=args.quick, json_path=args.json, tiny=args.tiny, only=args.only)
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
