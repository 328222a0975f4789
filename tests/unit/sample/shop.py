"""A generated sample folder read back (tables as pandas, the truth) and the helpers the
sample's tests share: Shanghai days, conversion in a window, sampling error."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from opsbook.sample import TABLES

TZ = "Asia/Shanghai"


class Sample:
    """A generated folder, its tables (pandas) and its truth."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.truth = json.loads((path / "truth.json").read_text(encoding="utf-8"))
        self.t = {name: pd.read_parquet(path / f"{name}.parquet") for name in TABLES}
        end = pd.Timestamp(self.truth["params"]["end"], tz=TZ)
        self.end_of_period = end + pd.Timedelta(days=1)  # exclusive
        self.last_day = end.tz_localize(None)

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.t[name]

    def paid(self) -> pd.DataFrame:
        return self["orders"][self["orders"].status == "paid"]

    def ring_order(self) -> pd.Series:
        """Per order: placed by a planted brushing ring (a script, not the app: no event)."""
        return self["orders"].order_id.isin(self.truth["brushing"]["ring_orders"])


def local_day(ts: pd.Series) -> pd.Series:
    return ts.dt.tz_convert(TZ).dt.tz_localize(None).dt.normalize()


def converted_in_window(
    sample: Sample, who: pd.DataFrame, start: pd.Series, stop: pd.Series
) -> pd.Series:
    """Per row of ``who`` (user_id): has a paid order in [start, stop)."""
    w = who[["user_id"]].assign(start=start, stop=stop)  # aligned on the index
    x = w.merge(sample.paid()[["user_id", "ts"]], on="user_id", how="left")
    x["hit"] = (x.ts >= x.start) & (x.ts < x.stop)
    return x.groupby("user_id").hit.any().reindex(who.user_id).to_numpy()


def within(observed: float, expected: float, n: int, z: float = 4.5) -> bool:
    se = math.sqrt(max(expected * (1 - expected), 1e-9) / max(n, 1))
    return abs(observed - expected) <= z * se + 1e-9
