"""The ``opsbook`` command: sample, validate, run, plan, reports."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

from opsbook import __version__
from opsbook.config import preferred_lang
from opsbook.errors import InputError, UsageError, did_you_mean, first_line
from opsbook.i18n import t
from opsbook.settings import ENGINES

DEBUG_ENV = "OPSBOOK_DEBUG"  # set: an unforeseen error shows its traceback


def _cmd_sample(args: argparse.Namespace) -> int:
    from opsbook.sample import generate_sample

    folder = generate_sample(
        args.out, users=args.users, days=args.days, seed=args.seed, end=args.end
    )
    print(folder)
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from opsbook.config import load_config
    from opsbook.data import open_source
    from opsbook.validation import validate

    cfg = load_config(args.config, data=args.data, lang=args.lang, engine=args.engine)
    source = open_source(cfg)
    for name in args.table or ():
        if not source.has(name):
            raise UsageError(
                "core.bad.table_option",
                table=name,
                hint=did_you_mean(name, source.names),
                found=", ".join(source.names),
            )
    result = validate(source, args.table or None)
    for line in result.summary_lines(cfg.lang, source.exclusions()):
        print(line)
    if result.ok:
        return 0
    for message in result.messages(cfg.lang):
        print(message, file=sys.stderr)
    return 1


def _cmd_run(args: argparse.Namespace) -> int:
    from opsbook.config import load_config
    from opsbook.progress import terminal_progress
    from opsbook.run import RunError, parse_assignments, run_reports

    try:
        lang = args.lang or load_config(args.config).lang
        # a terminal watches the reports live; a log gets one line per report at the end
        progress = terminal_progress(lang)
        result = run_reports(
            args.reports,
            config=args.config,
            data=args.data,
            out=args.out,
            parameters=parse_assignments(args.param, lang),
            lang=args.lang,
            engine=args.engine,
            workers=args.workers,
            progress=progress,
            no_cache=args.no_cache,
        )
    except RunError as exc:
        print(f"opsbook run: {exc}", file=sys.stderr)
        return 1
    if progress is None:  # the live table, when shown, stays on the screen with the same facts
        for name, entry in result.manifest["reports"].items():
            line = f"{name}: {entry['status']} ({entry['duration_seconds']:.1f} s)"
            print(line + (f" - {entry['error']}" if entry["error"] else ""))
    print(result.folder / "index.html")
    return 0 if result.ok else 1


def _cmd_reports(args: argparse.Namespace) -> int:
    from opsbook.config import load_config
    from opsbook.parameters import specs
    from opsbook.run import COMMON_PARAMETERS, discover

    cfg = load_config(args.config)
    for name, report in discover(cfg.path_of(cfg.section("run")["notebooks"])).items():
        declared = specs(name)
        shown = []
        for key, default in report.parameters.items():
            if key in COMMON_PARAMETERS:
                continue
            spec = declared.get(key)
            accepts = "|".join(map(str, spec.choices)) if spec and spec.choices else None
            accepts = accepts or (spec.type if spec and spec.type != "any" else None)
            shown.append(f"{key}={default}" + (f" ({accepts})" if accepts else ""))
        print(f"{name}: " + ", ".join(shown))
    return 0


def _cmd_plan(args: argparse.Namespace) -> int:
    from opsbook.stats import plan

    result = plan(
        args.baseline,
        args.mde,
        relative=args.relative,
        alpha=args.alpha,
        power=args.power,
        variants=args.variants,
        sd=args.sd,
        daily_users=args.daily_users,
        alternative=args.alternative,
    )
    print(json.dumps(result, indent=2))
    return 0


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="opsbook", description="Operations analytics workbook")
    main.add_argument("--version", action="version", version=f"opsbook {__version__}")
    sub = main.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--config", help="config file (default: the nearest opsbook.yml)")
        p.add_argument("--data", help="source: folder, DuckDB file or Ibis URL")
        p.add_argument("--lang", choices=["zh", "en"], help="report language")
        p.add_argument(
            "--engine",
            choices=ENGINES,
            help="engine for a folder source (default: the config's engine.backend, duckdb)",
        )

    p = sub.add_parser("sample", help="write the fictional sample shop (Parquet + truth.json)")
    p.add_argument("--out", required=True, help="folder to write")
    p.add_argument("--users", type=int, default=20_000)
    p.add_argument("--days", type=int, default=180)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--end", default="2026-10-31", help="last day (Asia/Shanghai calendar)")
    p.set_defaults(func=_cmd_sample)

    p = sub.add_parser("validate", help="check a source against the data contract")
    common(p)
    p.add_argument("--table", action="append", help="check only this table (repeatable)")
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("run", help="run reports into a new folder under reports/")
    p.add_argument("reports", nargs="*", help="report names (default: all)")
    common(p)
    p.add_argument("--out", help="folder for run folders (default: reports)")
    p.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="report parameter (repeatable)",
    )
    p.add_argument("--workers", type=int, help="notebooks at once (default: cores)")
    p.add_argument(
        "--no-cache",
        action="store_true",
        help="compute the activity rollup from the rows; read and write no cache folder",
    )
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("reports", help="list the reports and their parameters")
    p.add_argument("--config")
    p.set_defaults(func=_cmd_reports)

    p = sub.add_parser("plan", help="sample size / days needed for an A/B test")
    p.add_argument(
        "--baseline", type=float, required=True, help="baseline rate (or mean with --sd)"
    )
    p.add_argument("--mde", type=float, required=True, help="minimum detectable effect")
    p.add_argument("--relative", action="store_true", help="the MDE is relative to the baseline")
    p.add_argument("--alpha", type=float, default=0.05)
    p.add_argument("--power", type=float, default=0.8)
    p.add_argument("--variants", type=int, default=2, help="arms including control")
    p.add_argument("--sd", type=float, help="standard deviation: plan for a mean, not a rate")
    p.add_argument("--daily-users", type=float, help="users entering the test per day")
    p.add_argument(
        "--alternative",
        choices=["two-sided", "greater", "less"],
        default="two-sided",
        help="the test's alternative (one-sided: the MDE's sign must match)",
    )
    p.set_defaults(func=_cmd_plan)
    return main


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; a refusal prints one message in the user's language (no traceback)
    and exits 1, or 2 for a command-line value that cannot be used (as argparse's own)."""
    args = parser().parse_args(argv)
    lang = preferred_lang(getattr(args, "config", None), getattr(args, "lang", None))
    try:
        return args.func(args)
    except InputError as exc:
        return _refuse(args.command, exc.text(lang), exc.exit_code)
    except (ValueError, FileNotFoundError) as exc:
        # contract and parameter errors carry their own explanation
        return _refuse(args.command, str(exc), 1)
    except Exception as exc:
        # an engine's or a library's error on input nobody foresaw: its first line, no traceback
        # (OPSBOOK_DEBUG=1 shows it)
        if os.environ.get(DEBUG_ENV):
            raise
        text = t("core.bad.unexpected", lang, kind=type(exc).__name__, detail=first_line(exc))
        return _refuse(args.command, text, 1)


def _refuse(command: str, text: str, code: int) -> int:
    from opsbook.sources import scrub  # the engine's modules load only when a command needs them

    print(f"opsbook {command}: {scrub(text)}", file=sys.stderr)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
