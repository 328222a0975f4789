"""The engine steps measured: opsbook's own functions on a source opened anew for each call."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from common import END, ZONE
from params import (
    AS_OF,
    CHURN_ACTIVE_DAYS,
    CHURN_EVENT_TYPES,
    CHURN_HORIZON_DAYS,
    CHURN_TYPE_WINDOW,
    CHURN_WINDOWS,
    FUNNEL_STEPS,
    FUNNEL_WINDOW_DAYS,
    KPI_WEEKS,
    LOOKBACK,
    PATH_ANCHOR,
    PATH_STEPS,
    PATH_TOP,
    SESSION_GAP_SECONDS,
    WINDOW_DAYS,
)


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

    elif step == "funnel":
        from opsbook.behaviour.queries.funnel import funnel_counts, time_to_convert
        from opsbook.behaviour.queries.steps import Funnel

        funnel = Funnel(steps=FUNNEL_STEPS, window_seconds=FUNNEL_WINDOW_DAYS * 86_400)

        def run(source):
            steps = funnel_counts(source, funnel)[["step", "users"]]
            times, _ = time_to_convert(source, funnel)
            return {"steps": steps, "times": times[["step", *FUNNEL_TIMES]]}
    elif step == "paths":
        from opsbook.behaviour.queries.paths import PathRules, path_counts

        rules = PathRules(session_gap_seconds=SESSION_GAP_SECONDS)

        def run(source):
            r = path_counts(source, anchor=PATH_ANCHOR, steps=PATH_STEPS, rules=rules, top=PATH_TOP)
            top = r.top.assign(path=[" > ".join(p) for p in r.top["path"]])
            return {"nodes": r.nodes, "transitions": r.transitions, "top": top}
    elif step == "insight_features":
        from opsbook.insight.queries import day_number, features_expression, report_activity

        end = day_number(AS_OF)

        def run(source):
            daily, types = report_activity(source, end, CHURN_EVENT_TYPES)
            features = features_expression(
                source,
                daily,
                end - CHURN_HORIZON_DAYS,
                windows=CHURN_WINDOWS,
                active_days=CHURN_ACTIVE_DAYS,
                type_window=CHURN_TYPE_WINDOW,
                types=len(types),
                horizon_days=CHURN_HORIZON_DAYS,
            )
            frame = features.to_pyarrow().to_pandas()
            return {"features": frame.drop(columns=USER_ATTRIBUTES)}

    # each call gets a source opened anew, outside the timing: what an open source keeps (the
    # data's end, active periods) must not make a repeat faster than a report's first question
    return lambda: _source(folder, memory_limit), run


EXPERIMENT_VALUES = ("users", "m0_n", "m0_a", "m0_aa", "m1_n", "m1_a", "m1_aa")
CAMPAIGN = ("n", "conversion", "revenue", "revenue_sq", "orders", "orders_sq")
FUNNEL_TIMES = ("users", "mean", "p25", "median", "p75", "p90")
# the users table's own columns, copied as they are: the features compared are the computed ones
USER_ATTRIBUTES = ["channel", "region", "device", "city_tier"]
