"""The pandas references: each step reading only the Parquet columns it needs and grouping."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from itertools import pairwise
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
    _utc,
)


def pandas_step(step: str, folder: Path, p: dict[str, Any], memory_limit: str | None):
    import numpy as np
    import pandas as pd

    def read(name: str, columns: list[str], **kw: Any) -> pd.DataFrame:
        return pd.read_parquet(folder / f"{name}.parquet", columns=columns, **kw)

    def ts(moment: datetime) -> pd.Timestamp:
        return pd.Timestamp(moment, tz="UTC")

    def local_days(col: pd.Series) -> pd.Series:
        """Days since 1970-01-01 of the Shanghai wall-clock date."""
        return (col.dt.tz_convert(ZONE).dt.tz_localize(None).dt.normalize() - EPOCH).dt.days

    EPOCH = pd.Timestamp("1970-01-01")
    as_of_days = (pd.Timestamp(AS_OF) - EPOCH).days

    if step == "rfm":
        lo, hi = ts(_utc(AS_OF - timedelta(days=LOOKBACK))), ts(_utc(AS_OF))

        def run():
            o = read("orders", ["user_id", "ts", "amount", "status"])
            status = o["status"].fillna("paid")
            valid = o["ts"].notna() & o["amount"].notna() & (o["amount"] >= 0)
            inside = (o["ts"] >= lo) & (o["ts"] < hi)
            reason = np.select(
                [
                    ~valid,
                    ~inside,
                    status.isin(["cancelled", "refunded"]),
                    status != "paid",
                    o["user_id"].isna(),
                ],
                ["invalid", "outside_window", status, "other_status", "no_user"],
                "included",
            )
            paid = o[reason == "included"]
            c = paid.groupby("user_id").agg(
                orders=("amount", "size"), revenue=("amount", "sum"), last=("ts", "max")
            )
            c["recency"] = as_of_days - local_days(c["last"])
            other = o[valid & inside & (status != "paid") & o["user_id"].notna()]
            without = len(set(other["user_id"].unique()) - set(c.index))
            summary = pd.Series(reason).value_counts()
            summary["without_paid"] = without
            return {
                "customers": c.drop(columns="last").reset_index(),
                "summary": summary.rename_axis("key").rename("value").reset_index(),
            }
    elif step == "retention":
        as_of = ts(_utc(AS_OF))

        def monday(days: pd.Series) -> pd.Series:
            return days - (days + 3) % 7  # 1970-01-01 was a Thursday

        def run():
            u = read("users", ["user_id", "signup_ts"])
            u = u[u["signup_ts"] <= as_of]
            u["cohort"] = monday(local_days(u["signup_ts"]))
            e = read("events", ["user_id", "ts"])
            e = e[e["ts"] <= as_of]
            a = pd.DataFrame({"user_id": e["user_id"], "week": monday(local_days(e["ts"]))})
            del e
            a = a.drop_duplicates().merge(u[["user_id", "cohort"]], on="user_id")
            a = a[a["week"] > a["cohort"]]
            a["period"] = (a["week"] - a["cohort"]) // 7
            cells = a.groupby(["cohort", "period"]).size().rename("retained").reset_index()
            sizes = u.groupby("cohort").size().rename("users").reset_index()
            for frame in (cells, sizes):
                frame["cohort"] = (EPOCH + pd.to_timedelta(frame["cohort"], unit="D")).dt.strftime(
                    "%Y-%m-%d"
                )
            return {"sizes": sizes, "cells": cells}
    elif step == "experiment":

        def run():
            a = read("assignments", ["experiment", "user_id", "variant", "ts"])
            a = a[(a["experiment"].astype(str) == p["experiment"])]
            a = a.dropna(subset=["user_id", "variant", "ts"])
            a["variant"] = a["variant"].astype(str)
            o = read("orders", ["user_id", "ts", "amount", "status"])
            data_end = ts(_utc(EPOCH.date() + timedelta(days=int(local_days(o["ts"]).max()) + 1)))
            g = a.groupby("user_id").agg(
                lo=("variant", "min"), hi=("variant", "max"), xts=("ts", "min")
            )
            k = g[(g["lo"] == g["hi"]) & (g["xts"] + pd.Timedelta(days=WINDOW_DAYS) <= data_end)]
            k = k.rename(columns={"lo": "variant"})[["variant", "xts"]].reset_index()
            o = o[o["status"].isna() | (o["status"] == "paid")]
            j = k.merge(o[["user_id", "ts", "amount"]], on="user_id")
            j = j[(j["ts"] >= j["xts"]) & (j["ts"] < j["xts"] + pd.Timedelta(days=WINDOW_DAYS))]
            per = j.groupby("user_id").agg(orders=("ts", "size"), revenue=("amount", "sum"))
            k = k.merge(per, on="user_id", how="left").fillna({"orders": 0, "revenue": 0.0})
            k["day"] = (k["xts"].dt.tz_convert(ZONE)).dt.strftime("%Y-%m-%d")
            k["conv"] = (k["orders"] > 0).astype(float)
            k["rev2"] = k["revenue"] ** 2
            sums = k.groupby(["variant", "day"]).agg(
                users=("user_id", "size"),
                m0_n=("conv", "count"),
                m0_a=("conv", "sum"),
                m0_aa=("conv", "sum"),
                m1_n=("revenue", "count"),
                m1_a=("revenue", "sum"),
                m1_aa=("rev2", "sum"),
            )
            return {"sums": sums.reset_index()}
    elif step == "campaign":
        start, end = ts(p["start"]), ts(p["end"])

        def run():
            m = read("campaign_members", ["campaign_id", "user_id", "group", "inviter_id"])
            m = m[(m["campaign_id"] == p["campaign"]) & m["user_id"].notna()]
            m = m[m["inviter_id"].isna()]
            m["grp"] = m["group"].astype("string").str.lower().str.strip().fillna("treatment")
            m = m[["user_id", "grp"]].drop_duplicates()
            o = read("orders", ["user_id", "ts", "amount", "status"])
            o = o[o["user_id"].notna() & o["ts"].notna()]
            o = o[(o["status"].isna() | (o["status"] == "paid"))]
            o = o[(o["ts"] >= start) & (o["ts"] <= end)]
            per = o.groupby("user_id").agg(n_orders=("ts", "size"), revenue=("amount", "sum"))
            # the one row filter pushed into the reader: all events' strings would not fit
            e = read(
                "events",
                ["user_id", "ts", "campaign_id", "channel"],
                filters=[("event", "==", "campaign_view")],
            )
            e = e[(e["campaign_id"] == p["campaign"]) & e["user_id"].notna() & e["ts"].notna()]
            first = e.sort_values("ts", kind="stable").drop_duplicates("user_id")
            j = m.merge(per, on="user_id", how="left").merge(
                first[["user_id", "channel"]], on="user_id", how="left"
            )
            j["n_orders"] = j["n_orders"].fillna(0).astype(float)
            j["revenue"] = j["revenue"].fillna(0.0)
            j["channel"] = np.where(
                j["grp"] == "holdout", "-", j["channel"].astype("string").fillna("(unknown)")
            )
            j["conversion"] = (j["n_orders"] > 0).astype(float)
            j["revenue_sq"] = j["revenue"] ** 2
            j["orders_sq"] = j["n_orders"] ** 2
            out = j.groupby(["grp", "channel"]).agg(
                n=("user_id", "size"),
                conversion=("conversion", "sum"),
                revenue=("revenue", "sum"),
                revenue_sq=("revenue_sq", "sum"),
                orders=("n_orders", "sum"),
                orders_sq=("orders_sq", "sum"),
            )
            return {"sums": out.reset_index()}
    elif step == "kpi":
        first = END - timedelta(days=7 * KPI_WEEKS - 1)
        lo, hi = ts(_utc(first)), ts(_utc(AS_OF))
        end_days = (pd.Timestamp(END) - EPOCH).days

        def run():
            o = read("orders", ["user_id", "ts", "amount", "status"])
            o = o[o["user_id"].notna() & (o["ts"] >= lo) & (o["ts"] < hi)]
            o = o[o["status"].isna() | (o["status"] == "paid")]
            o["k"] = (end_days - local_days(o["ts"])) // 7
            e = read("events", ["user_id", "ts"])
            e = e[e["user_id"].notna() & (e["ts"] >= lo) & (e["ts"] < hi)]
            e = pd.DataFrame({"user_id": e["user_id"], "k": (end_days - local_days(e["ts"])) // 7})
            money = o.groupby("k").agg(revenue=("amount", "sum"), paying=("user_id", "nunique"))
            both = pd.concat([o[["user_id", "k"]], e], ignore_index=True)
            active = both.groupby("k")["user_id"].nunique().rename("active")
            out = money.join(active, how="outer").fillna(0)
            return {"weeks": out.reset_index()}

    elif step == "funnel":

        def run():
            return funnel_frames(folder)
    elif step == "paths":

        def run():
            return paths_frames(folder)
    elif step == "insight_features":

        def run():
            return {"features": features_frame(folder)}

    return None, run


def _events(folder: Path, columns: list[str], filters=None):
    """The events' columns with ``event`` as a category (all events' names as Python strings
    would not fit) and ``us``, microseconds since the epoch; rows with a user and a time."""
    import pandas as pd
    import pyarrow.parquet as pq

    e = pq.read_table(
        folder / "events.parquet", columns=columns, filters=filters, read_dictionary=["event"]
    ).to_pandas()
    e = e.dropna(subset=["user_id", "ts"])
    e["us"] = (e["ts"] - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(microseconds=1)
    return e.drop(columns="ts")


def funnel_frames(folder: Path) -> dict:
    """The ordered funnel by merges: the first entry, then per step the earliest later event of
    the step (ties by name) within the window of the entry."""
    import pandas as pd

    window = FUNNEL_WINDOW_DAYS * 86_400_000_000
    e = _events(folder, ["user_id", "ts", "event"], [("event", "in", list(FUNNEL_STEPS))])
    first = e[e["event"] == FUNNEL_STEPS[0]]
    chain = first.groupby("user_id")["us"].min().rename("t0").reset_index()
    for k in range(1, len(FUNNEL_STEPS)):
        step = e.loc[e["event"] == FUNNEL_STEPS[k], ["user_id", "us"]]
        reached = chain[list(dict.fromkeys(["user_id", "t0", f"t{k - 1}"]))].dropna()
        hit = step.merge(reached, on="user_id")
        later = hit["us"] >= hit[f"t{k - 1}"]
        if FUNNEL_STEPS[k] < FUNNEL_STEPS[k - 1]:  # at the same microsecond: by name
            later = hit["us"] > hit[f"t{k - 1}"]
        hit = hit[later & (hit["us"] <= hit["t0"] + window)]
        chain = chain.merge(
            hit.groupby("user_id")["us"].min().rename(f"t{k}").reset_index(),
            on="user_id",
            how="left",
        )
    last = len(FUNNEL_STEPS) - 1
    steps = pd.DataFrame(
        {
            "step": range(last + 1),
            "users": [int(chain[f"t{k}"].notna().sum()) for k in range(last + 1)],
        }
    )
    gaps = {str(k): (chain[f"t{k}"] - chain[f"t{k - 1}"]) / 1e6 for k in range(1, last + 1)}
    gaps["overall"] = (chain[f"t{last}"] - chain["t0"]) / 1e6
    rows = []
    for name, s in gaps.items():
        s = s.dropna()
        q = s.quantile([0.25, 0.5, 0.75, 0.9]).to_numpy()
        rows.append((name, len(s), s.mean(), *q))
    times = pd.DataFrame(rows, columns=["step", "users", "mean", "p25", "median", "p75", "p90"])
    return {"steps": steps, "times": times}


def paths_frames(folder: Path) -> dict:
    """Paths after each user's first anchor: events sorted per user by time then name, sessions
    split after the idle gap, repeats within a session dropped, the anchor's next rows pivoted."""
    import numpy as np
    import pandas as pd

    e = _events(folder, ["user_id", "ts", "event"]).dropna(subset=["event"])
    e["event"] = e["event"].cat.reorder_categories(sorted(e["event"].cat.categories))
    code = e["event"].cat.codes.to_numpy()
    order = np.lexsort((code, e["us"].to_numpy(), e["user_id"].to_numpy()))
    e = e.iloc[order].reset_index(drop=True)
    user, us, code = e["user_id"].to_numpy(), e["us"].to_numpy(), code[order]
    new_user = np.r_[True, user[1:] != user[:-1]]
    fresh = new_user | np.r_[True, (us[1:] - us[:-1]) > SESSION_GAP_SECONDS * 1_000_000]
    repeat = ~fresh & np.r_[False, code[1:] == code[:-1]]
    e = e[~repeat].assign(fresh=fresh[~repeat])
    e["session"] = e["fresh"].cumsum()  # a new user starts a new session
    starts = np.flatnonzero(
        np.r_[True, e["user_id"].to_numpy()[1:] != e["user_id"].to_numpy()[:-1]]
    )
    e["row"] = np.arange(len(e)) - np.repeat(starts, np.diff(np.r_[starts, len(e)]))
    anchors = e[e["event"] == PATH_ANCHOR].drop_duplicates("user_id")
    anchors = anchors[["user_id", "session", "row"]].rename(columns={"row": "a_row"})
    near = e.merge(anchors, on=["user_id", "session"])
    near["away"] = near["row"] - near["a_row"]
    near = near[(near["away"] >= 0) & (near["away"] <= PATH_STEPS)]
    wide = near.pivot(index="user_id", columns="away", values="event").astype(object)
    wide.columns = [f"e{j}" for j in wide.columns]
    nodes, links = [], []
    for j in range(PATH_STEPS + 1):
        here = wide[wide[f"e{j}"].notna()]
        nodes.append(here.groupby(f"e{j}").size().rename("users").reset_index()
                     .rename(columns={f"e{j}": "event"}).assign(step=j))  # fmt: skip
        if j < PATH_STEPS:
            target = here[f"e{j + 1}"].fillna("(end)")
            pairs = here.groupby([here[f"e{j}"].rename("source"), target.rename("target")]).size()
            links.append(pairs.rename("users").reset_index().assign(step=j))
    names = [f"e{j}" for j in range(PATH_STEPS + 1)]
    ranked = wide.groupby(names, dropna=False).size().rename("users").reset_index()
    ranked = ranked.sort_values(["users", *names], ascending=[False] + [True] * len(names),
                                na_position="last").head(PATH_TOP)  # fmt: skip
    top = pd.DataFrame(
        {
            "path": [
                " > ".join(n for n in row if isinstance(n, str)) for row in ranked[names].values
            ],
            "users": ranked["users"].to_numpy(),
        }
    )
    return {"nodes": pd.concat(nodes), "transitions": pd.concat(links), "top": top}


def features_frame(folder: Path):
    """The churn features at the evaluation cutoff (see steps_sql.features_query)."""
    import numpy as np
    import pandas as pd

    end = (AS_OF - date(1970, 1, 1)).days
    c = end - CHURN_HORIZON_DAYS
    until = pd.Timestamp(_utc(AS_OF), tz="UTC")
    e = _events(folder, ["user_id", "ts", "event"], [("ts", "<", until)])
    e["day"] = (e["us"] + 28_800_000_000) // 86_400_000_000
    counts = e["event"].value_counts()
    counts = counts[counts.index.notna()]
    types = sorted(counts.index, key=lambda n: (-counts[n], n))[:CHURN_EVENT_TYPES]
    for i, t in enumerate(types):
        e[f"type_{i}"] = (e["event"] == t).astype("int64")
    type_cols = [f"type_{i}" for i in range(len(types))]
    ev = e.groupby(["user_id", "day"])[type_cols].sum()
    ev["events"] = e.groupby(["user_id", "day"]).size()
    del e
    o = pd.read_parquet(folder / "orders.parquet", columns=["user_id", "ts", "amount", "status"])
    o = o[o["user_id"].notna() & (o["ts"] < until) & (o["status"].isna() | (o["status"] == "paid"))]
    o = o[o["amount"] > 0]
    o["day"] = (o["ts"] - pd.Timestamp(0, tz="UTC") + pd.Timedelta(hours=8)).dt.days
    od = o.groupby(["user_id", "day"]).agg(orders=("amount", "size"), revenue=("amount", "sum"))
    daily = ev.join(od, how="outer").fillna(0).reset_index()
    seen = daily[daily["day"] < c]
    g = seen.groupby("user_id")
    per = pd.DataFrame({"last_day": g["day"].max(), "orders_all": g["orders"].sum(),
                        "revenue_all": g["revenue"].sum()})  # fmt: skip
    per["last_order_day"] = seen[seen["orders"] > 0].groupby("user_id")["day"].max()
    windows = sorted(CHURN_WINDOWS)
    for w in windows:
        inside = seen[seen["day"] >= c - w].groupby("user_id")
        per[f"events_{w}d"] = inside["events"].sum()
        per[f"active_days_{w}d"] = inside.size()
        per[f"orders_{w}d"] = inside["orders"].sum()
        per[f"revenue_{w}d"] = inside["revenue"].sum()
    per = per.join(seen[seen["day"] >= c - CHURN_TYPE_WINDOW].groupby("user_id")[type_cols].sum())
    per = per[per["last_day"] >= c - CHURN_ACTIVE_DAYS]
    u = pd.read_parquet(folder / "users.parquet", columns=["user_id", "signup_ts"])
    u = u[u["user_id"].notna() & (u["signup_ts"] < pd.Timestamp(_utc(AS_OF), tz="UTC")
                                  - pd.Timedelta(days=CHURN_HORIZON_DAYS))]  # fmt: skip
    u["signup"] = (u["signup_ts"] - pd.Timestamp(0, tz="UTC") + pd.Timedelta(hours=8)).dt.days
    t = per.join(u.set_index("user_id")["signup"], how="inner")
    t = t.fillna({col: 0 for col in t.columns if col not in ("last_order_day", "signup")})
    out = pd.DataFrame({"recency_days": c - t["last_day"], "tenure_days": c - t["signup"]})
    out["order_recency_days"] = (c - t["last_order_day"]).fillna(out["tenure_days"])
    for col in t.columns:
        if col not in ("last_day", "last_order_day", "signup"):
            out[col] = t[col]
    for short, long in pairwise(windows):
        out[f"events_trend_{short}_{long}"] = (
            t[f"events_{short}d"] / short - t[f"events_{long}d"] / long
        )
        out[f"days_trend_{short}_{long}"] = (
            t[f"active_days_{short}d"] / short - t[f"active_days_{long}d"] / long
        )
    ahead = daily[(daily["day"] >= c) & (daily["day"] < c + CHURN_HORIZON_DAYS)]
    out["churned"] = ~out.index.isin(np.unique(ahead["user_id"]))
    return out.rename_axis("user_id").reset_index()
