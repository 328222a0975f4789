"""The engine steps measured: opsbook's own functions on a source opened anew for each call."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from common import END, ZONE
from params import AS_OF, KPI_WEEKS, LOOKBACK, WINDOW_DAYS


def _source(folder: Path, memory_limit: str | None):
    from opsbook.config import load_config
    from opsbook.data import open_source

    engine = {"memory_limit": memory_limit} if memory_limit else {}
    return open_source(
        load_config(data=str(folder), overrides={"timezone": ZONE, "engine": engine})
    )


def opsbook_step(step: str, folder: Path, p: dict[str, Any], memory_limit: str | None):
    import pandas as pd

    if step == "rfm":
        from opsbook import segmentation as sg

        def run(source):
            r = sg.compute_rfm(source, as_of=AS_OF, lookback_days=LOOKBACK)
            summary = dict(r.excluded) | {
                "included": r.included_orders,
                "without_paid": r.customers_without_paid_orders,
            }
            return {
                "customers": r.customers[["user_id", "orders", "revenue", "recency"]],
                "summary": pd.DataFrame({"key": list(summary), "value": list(summary.values())}),
            }
    elif step == "retention":
        from opsbook import retention

        def run(source):
            r = retention.retention_matrix(source, period="week", as_of=pd.Timestamp(AS_OF))
            cells = r.cells[r.cells["complete"] & (r.cells["period"] > 0)]
            return {
                "sizes": pd.DataFrame(
                    {"cohort": r.cohorts["cohort"].astype(str), "users": r.cohorts["users"]}
                ),
                "cells": pd.DataFrame(
                    {
                        "cohort": cells["cohort"].astype(str),
                        "period": cells["period"].astype("int64"),
                        "retained": cells["retained"],
                    }
                ),
            }
    elif step == "experiment":
        from opsbook import experiments as ex
        from opsbook.report import Report

        def run(source):
            report = Report(name="ab_test", config=source.config, source=source, validation=None)
            exp = ex.prepare(
                report,
                experiment=p["experiment"],
                metrics=["conversion", "revenue_per_user"],
                window_days=WINDOW_DAYS,
                pre_days=None,
                segments=(),
            )
            sums = exp.sums.copy()
            sums["day"] = sums["day"].dt.strftime("%Y-%m-%d")
            return {"sums": sums[["variant", "day", *EXPERIMENT_VALUES]]}
    elif step == "campaign":
        from opsbook import campaigns

        row = {"key": str(p["campaign"]), "start": pd.Timestamp(p["start"])}
        row["end"] = pd.Timestamp(p["end"])

        def run(source):
            return {"sums": campaigns.holdout_sums(source, row)[["grp", "channel", *CAMPAIGN]]}
    elif step == "kpi":
        from opsbook import kpi

        periods = kpi.Periods(end=END, days=7, count=KPI_WEEKS)

        def run(source):
            rows = pd.DataFrame(kpi.revenue_rows(source, periods))
            rate = rows[rows.kpi == "paying_rate"].set_index("k")
            gmv = rows[rows.kpi == "gmv"].set_index("k")
            out = pd.DataFrame(
                {"revenue": gmv["value"], "paying": rate["num"], "active": rate["den"]}
            )
            return {"weeks": out.fillna(0).reset_index()}

    # each call gets a source opened anew, outside the timing: what an open source keeps (the
    # data's end, active periods) must not make a repeat faster than a report's first question
    return lambda: _source(folder, memory_limit), run


EXPERIMENT_VALUES = ("users", "m0_n", "m0_a", "m0_aa", "m1_n", "m1_a", "m1_aa")
CAMPAIGN = ("n", "conversion", "revenue", "revenue_sq", "orders", "orders_sq")
