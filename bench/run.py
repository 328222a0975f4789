"""Benchmark (``make bench``): the engine work behind every report vs hand-written DuckDB SQL and
vs plain pandas, at one or more data scales, with each measurement's peak memory.

    .venv/bin/python bench/run.py                          # small: 100k users (a few minutes)
    .venv/bin/python bench/run.py --scales small,medium    # and 1M users
    .venv/bin/python bench/run.py --scales large           # 5M users (~300M events on disk)
    .venv/bin/python bench/run.py --scales xlarge --memory-limit 4GB --methods opsbook,sql \
        --repeat 1 --suite-scales xlarge                    # 10M users (~600M events)
    .venv/bin/python bench/run.py --scales medium --rerun  # and the re-run after one more day
    .venv/bin/python bench/run.py --scales large --memory-limit 1GB --methods opsbook,sql \
        --repeat 1 --out bench/results-memory-limit.md     # DuckDB capped: every step and report?
    .venv/bin/python bench/run.py --steps rfm,kpi --no-suite

Data: the sample shop of :func:`opsbook.sample.generate_sample` (every contract table, the same
generator as ``opsbook sample``) written once per scale to ``bench/data/sample-<users>/``
(gitignored) by a child process, and reused while the size and seed match.

Steps (each: opsbook's engine function / one hand-written DuckDB query set / pandas reading only
the Parquet columns it needs and grouping / polars: one lazy query collected by the streaming
engine, ``steps_polars.py``):

* ``rfm`` -- :func:`opsbook.segmentation.compute_rfm` (per-customer orders, revenue, recency, the
  exclusion tallies and the customers without a paid order), 365 days to 2026-10-31;
* ``retention`` -- :func:`opsbook.retention.retention_matrix`, weekly signup cohorts, any event;
* ``experiment`` -- :func:`opsbook.experiments.prepare` (hygiene, first exposure, paid orders in
  the 14 days after it, per variant and exposure day the sufficient sums of conversion and
  revenue per user);
* ``campaign`` -- :func:`opsbook.campaigns.holdout_sums` of the largest campaign with a holdout;
* ``kpi`` -- :func:`opsbook.kpi.revenue_rows` (12 weeks of revenue, paying and active users);
* ``funnel`` -- :func:`opsbook.behaviour.queries.funnel.funnel_counts` and ``time_to_convert``
  of app_open -> view_item -> add_to_cart -> share (ordered, first entry, 14 days);
* ``paths`` -- :func:`opsbook.behaviour.queries.paths.path_counts`, 5 events after each user's
  first app_open (unique users per node, transition and top path);
* ``insight_features`` -- the user insight's churn features
  (:func:`opsbook.insight.queries.features_expression` on the daily activity) at the
  evaluation cutoff, labelled;
* ``brushing`` -- :func:`opsbook.brushing.queries.flagged_orders` with the default rules, the
  flags counted per rule, and the refund rule's counts (``steps_brushing.py``);
* ``forecast`` -- the KPI dashboard's weekly history and the forecast of each series
  (``steps_forecast.py``).

The hand-written SQL is the floor: one query per result, and local days taken by integer
arithmetic on the epoch (``date_trunc`` / ``CAST(... AS DATE)`` of a TIMESTAMPTZ go through ICU's
calendar and cost about 5x per row, which would flatter the engine).

Every (step, method) runs in its own child process (best of ``--repeat`` calls there; opsbook's on
a source opened anew before each, outside the timing, so nothing an open source keeps carries
over), so one step's memory never hides another's: the child reports its peak RSS (VmHWM, imports included)
and its RSS after imports. The numbers of the three methods are compared (counts exactly, sums
to 1e-9 relative); a mismatch is reported and makes the exit status 1.

The report suite: ``opsbook run`` of every report at the smallest chosen scale (or
``--suite-scales``; with ``--memory-limit``, every report's engine capped), against its floor:
one full read of every table in the folder (each column decoded, on DuckDB) plus the same number
of empty notebooks executed the same way (papermill, the runner's kernel manager, as many in
parallel as the runner uses). ``--rerun``: the suite again on a copy whose events and orders are
part-file folders, cold, then after one more day appended as new part files (``rerun.py``).

Results: printed, and written to ``bench/results.md`` with the machine and the versions.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path
from typing import Any

from common import DATA, END, HERE, ensure_generated, generation_cost
from compare import same
from measure import child, measure
from params import DAYS, METHODS, SCALES, SEED, STEPS, step_params
from rerun import rerun
from results import machine, rerun_lines, suite_lines, table
from suite import floor, suite


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scales", default="small", help="small,medium,large,xlarge (100k/1M/5M/10M users)"
    )
    parser.add_argument("--steps", default=",".join(STEPS))
    parser.add_argument("--methods", default=",".join(METHODS), help="opsbook,sql,pandas,polars")
    parser.add_argument("--repeat", type=int, default=2, help="best of N calls per measurement")
    parser.add_argument(
        "--memory-limit", help="DuckDB memory limit (engine.memory_limit), e.g. 1GB"
    )
    parser.add_argument("--no-suite", action="store_true", help="skip the report-suite timing")
    parser.add_argument(
        "--rerun",
        action="store_true",
        help="at each suite scale also: the suite on a part-file copy, then after one more day",
    )
    parser.add_argument(
        "--suite-scales", help="scales of the report-suite timing (default: the smallest chosen)"
    )
    parser.add_argument(
        "--rss-cap-gib",
        type=float,
        default=16,
        help="stop a measurement whose RSS passes this (pandas at 5M users needs more than the "
        "machine has); shown as 'stopped' with '> cap' MiB",
    )
    parser.add_argument("--workers", type=int, help="parallel notebooks (default: the runner's)")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per measurement")
    parser.add_argument("--out", type=Path, default=HERE / "results.md")
    # internal: one measurement / generation / the floor, in a child process
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("--method", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--params", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    parser.add_argument("--generate", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--floor", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args)
        return 0
    if args.generate:
        from opsbook.sample import generate_sample

        generate_sample(args.data, users=args.generate, days=DAYS, seed=SEED, end=str(END))
        return 0
    if args.floor:
        floor(args.floor, args.workers)
        return 0

    scales = [s.strip() for s in args.scales.split(",") if s.strip()]
    steps = [s.strip() for s in args.steps.split(",") if s.strip()]
    unknown = [s for s in scales if s not in SCALES] + [s for s in steps if s not in STEPS]
    if unknown:
        parser.error(f"unknown scale or step {unknown}; scales {list(SCALES)}, steps {STEPS}")
    DATA.mkdir(exist_ok=True)
    import pyarrow.parquet as pq

    lines = ["# Benchmark results", "", *machine()]
    lines += [
        f"- `bench/run.py --scales {args.scales} --steps {args.steps} --repeat {args.repeat}"
        + (f" --memory-limit {args.memory_limit}" if args.memory_limit else "")
        + f"` on {datetime.now():%Y-%m-%d %H:%M}; DuckDB threads: all cores; "
        "time = best of the repeats, in a fresh child process per (step, method), and that "
        "call's CPU seconds (all threads; steadier than wall time on a shared machine); peak RSS = "
        "that child's VmHWM (imports included: see the baseline below)",
        "",
    ]
    failed = False
    for scale in scales:
        users = SCALES[scale]
        folder = DATA / f"sample-{users}"
        wanted = {"users": users, "days": DAYS, "seed": SEED, "end": str(END)}
        ensure_generated(
            folder, wanted, [__file__, "--generate", str(users), "--data", str(folder)]
        )
        sizes = {
            t: pq.read_metadata(folder / f"{t}.parquet").num_rows
            for t in ("users", "events", "orders", "assignments")
        }
        params = step_params(folder)
        print(f"\n== {scale}: {sizes} {params}", flush=True)
        cost = generation_cost(folder)
        if cost:
            lines += [
                f"Data at {scale} generated by `opsbook.sample.generate_sample` (streamed in "
                f"chunks of users) in {cost['seconds']:,.0f} s, peak RSS {cost['peak_mib']:,} MiB.",
                "",
            ]
        rows, bases = [], {}
        for step in steps:
            row: dict[str, Any] = {"step": step}
            skipped = {"ok": False, "error": "not run (--methods)"}
            for method in METHODS:
                if method not in args.methods.split(","):
                    row[method] = skipped
                    continue
                m = measure(step, method, folder, params, args)
                row[method] = m
                bases.setdefault(method, m.get("base_mib"))
                state = (
                    f"{m['seconds']:7.2f} s  CPU {m['cpu']:7.2f} s  peak {m['peak_mib']:7,.0f} MiB"
                    if m["ok"]
                    else f"FAILED {m['error']}"
                )
                print(f"  {step:11s} {method:8s} {state}", flush=True)
            checks = []
            if row["sql"]["ok"]:
                for method in ("opsbook", "pandas", "polars"):
                    if row[method]["ok"]:
                        diff = same(step, row[method]["result"], row["sql"]["result"])
                        checks.append(f"{method}: {diff}" if diff else None)
            bad = [c for c in checks if c]
            row["same"] = "yes" if checks and not bad else ("NO: " + "; ".join(bad) if bad else "?")
            ran = [m for m in METHODS if m in args.methods.split(",")]
            failed |= bool(bad) or not all(row[m]["ok"] or row[m].get("capped") for m in ran)
            print(f"  {step:11s} same numbers: {row['same']}", flush=True)
            rows.append(row)
        lines += table(scale, users, rows, sizes)
        lines += [
            "",
            "RSS of a child after its imports, before any work: "
            + ", ".join(f"{k} {v:,.0f} MiB" for k, v in bases.items() if v),
            "",
        ]
        if args.memory_limit:
            done = all(r[m]["ok"] for r in rows for m in ("opsbook", "sql") if m in ran)
            lines += [
                f"DuckDB memory limit {args.memory_limit} (opsbook: engine.memory_limit; SQL: SET "
                "memory_limit): every step "
                + ("finished." if done else "did NOT finish (see FAILED).")
                + " Pandas has no such limit.",
                "",
            ]
    suite_scales = [] if args.no_suite else (args.suite_scales or min(scales, key=SCALES.get))
    for scale in suite_scales.split(",") if suite_scales else []:
        folder = DATA / f"sample-{SCALES[scale]}"
        print(f"\n== report suite at {scale} ...", flush=True)
        rr = None
        if args.rerun:  # its cold run is the suite's run (the same data, as part files)
            print(f"\n== re-run after one more day at {scale} ...", flush=True)
            rr = rerun(folder, args.memory_limit)
            failed |= not (rr["cold"]["ok"] and rr["warm"]["ok"])
        sr = suite(folder, args.workers, args.memory_limit, rr["cold"] if rr else None)
        lines += suite_lines(scale, SCALES[scale], sr, args.memory_limit)
        if rr:
            lines += ["The suite's run above is the re-run's cold run below.", ""]
            lines += rerun_lines(scale, SCALES[scale], rr)
        failed |= not sr["ok"]
    text = "\n".join(lines) + "\n"
    args.out.write_text(text, encoding="utf-8")
    print("\n" + text)
    print(f"written: {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
