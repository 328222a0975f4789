"""The pandas references: each step reading only the Parquet columns it needs and grouping."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from common import END, ZONE
from params import AS_OF, KPI_WEEKS, LOOKBACK, WINDOW_DAYS, _utc


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

    return None, run
