"""What the benchmark holds fixed: scales, steps, methods, the data's period and the steps'
windows, local midnights as UTC instants, and what every method of a step agrees on (the
experiment and the campaign).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from common import END, HERE

SCALES = {"small": 100_000, "medium": 1_000_000, "large": 5_000_000, "xlarge": 10_000_000}
STEPS = (
    "rfm",
    "retention",
    "experiment",
    "campaign",
    "kpi",
    "brushing",
    "forecast",
    "funnel",
    "paths",
    "insight_features",
)
METHODS = ("opsbook", "sql", "pandas", "polars")
SEED = 7
DAYS = 180
AS_OF = END + timedelta(days=1)  # local midnight after the last day
OFFSET = "INTERVAL 8 HOUR"  # Asia/Shanghai, fixed since 1991
LOOKBACK = 365
WINDOW_DAYS = 14
KPI_WEEKS = 12
# behaviour (issue 21): an ordered funnel of 4 events within 14 days of the first entry, and the
# unique users' paths of 5 events after each user's first anchor (repeats collapsed, sessions
# split after 30 idle minutes)
FUNNEL_STEPS = ("app_open", "view_item", "add_to_cart", "share")
FUNNEL_WINDOW_DAYS = 14
PATH_ANCHOR = "app_open"
PATH_STEPS = 5
PATH_TOP = 20
SESSION_GAP_SECONDS = 30 * 60
# user insight (issue 20): the churn features at the evaluation cutoff (AS_OF - horizon), labelled
CHURN_HORIZON_DAYS = 30
CHURN_WINDOWS = (7, 30, 90)
CHURN_ACTIVE_DAYS = 30
CHURN_TYPE_WINDOW = 30
CHURN_EVENT_TYPES = 6
RUN = HERE / "run.py"  # the entry point: children run it (--child, --floor)


def _utc(day: date) -> datetime:
    """The naive-UTC instant of local midnight starting ``day`` (Shanghai, UTC+8)."""
    return datetime.combine(day, datetime.min.time()) - timedelta(hours=8)


def _tz(moment: datetime) -> str:
    return f"TIMESTAMPTZ '{moment:%Y-%m-%d %H:%M:%S}+00'"


def step_params(folder: Path) -> dict[str, Any]:
    """What every method of a step needs to agree on: the experiment and the campaign."""
    import duckdb

    con = duckdb.connect()
    names = [
        r[0]
        for r in con.sql(
            f"SELECT DISTINCT experiment FROM '{folder}/assignments.parquet' "
            "WHERE experiment IS NOT NULL ORDER BY 1"
        ).fetchall()
    ]
    experiment = "checkout_button" if "checkout_button" in names else names[0]
    cid, start, end = con.sql(
        f"""
        SELECT c.campaign_id,
               strftime(timezone('UTC', c.start_ts), '%Y-%m-%d %H:%M:%S.%f'),
               strftime(timezone('UTC', c.end_ts), '%Y-%m-%d %H:%M:%S.%f')
        FROM '{folder}/campaigns.parquet' c
        JOIN (SELECT campaign_id, count(*) AS n, bool_or(lower(trim("group")) = 'holdout') AS h
              FROM '{folder}/campaign_members.parquet' GROUP BY 1) m USING (campaign_id)
        WHERE m.h ORDER BY m.n DESC, 1 LIMIT 1
        """
    ).fetchone()
    return {"experiment": experiment, "campaign": int(cid), "start": start, "end": end}
