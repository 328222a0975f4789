"""The data contract: the logical tables every report reads (see data/README.md).

Each table lists its columns with a kind (key, timestamp, date, number, string), whether it is
required, and which columns are unique keys or must reference a known user. Validation
(:mod:`opsbook.validation`) and the typed view of a source (:mod:`opsbook.data`) are both driven
by this one description.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["key", "timestamp", "date", "number", "string", "bool"]


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    required: bool = True
    nonnegative: bool = False  # amounts and costs: finite and >= 0
    allowed: tuple[str, ...] = ()  # for categorical strings such as order status
    bounds: tuple[float, float] | None = None  # a closed range, e.g. a survey score 0..10


@dataclass(frozen=True)
class TableSpec:
    name: str
    columns: tuple[Column, ...]
    unique: tuple[str, ...] = ()  # columns that together identify a row
    references_user: bool = False  # user_id must exist in users (when users exists)
    time_column: str | None = None  # the column that dates a row (ranges, daily volume)
    one_variant_per: tuple[str, ...] = ()  # (experiment, user_id): a user sees one variant
    open_columns: bool = False  # other columns are welcome (attributes, metrics)
    # (start, end) column pairs: an end, where present, is not before its start
    spans: tuple[tuple[str, str], ...] = ()

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)


ORDER_STATUSES = ("paid", "refunded", "cancelled")
NPS_SCORES = (0.0, 10.0)  # the 0-10 "how likely are you to recommend us" scale
MEMBER_GROUPS = ("treatment", "holdout")

TABLES: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (
        TableSpec(
            "users",
            (
                Column("user_id", "key"),
                Column("signup_ts", "timestamp"),
                Column("channel", "string", required=False),
            ),
            unique=("user_id",),
            time_column="signup_ts",
            open_columns=True,
        ),
        TableSpec(
            "events",
            (
                Column("user_id", "key"),
                Column("ts", "timestamp"),
                Column("event", "string"),
                Column("content_id", "key", required=False),
                Column("campaign_id", "key", required=False),
                Column("channel", "string", required=False),
            ),
            references_user=True,
            time_column="ts",
            open_columns=True,
        ),
        TableSpec(
            "orders",
            (
                Column("order_id", "key"),
                Column("user_id", "key"),
                Column("ts", "timestamp"),
                Column("amount", "number", nonnegative=True),
                Column("status", "string", required=False, allowed=ORDER_STATUSES),
                Column("campaign_id", "key", required=False),
                # who is behind an order besides the account: the brushing rules' burst keys
                Column("device_id", "key", required=False),
                Column("address", "string", required=False),
                Column("ip", "string", required=False),
            ),
            unique=("order_id",),
            references_user=True,
            time_column="ts",
            open_columns=True,
        ),
        TableSpec(
            "assignments",
            (
                Column("experiment", "key"),
                Column("user_id", "key"),
                Column("variant", "string"),
                Column("ts", "timestamp"),
            ),
            references_user=True,
            time_column="ts",
            one_variant_per=("experiment", "user_id"),
        ),
        TableSpec(
            "campaigns",
            (
                Column("campaign_id", "key"),
                Column("name", "string"),
                Column("channel", "string", required=False),
                Column("start_ts", "timestamp"),
                Column("end_ts", "timestamp"),
                Column("spend", "number", required=False, nonnegative=True),
            ),
            unique=("campaign_id",),
            time_column="start_ts",
            open_columns=True,  # target_* columns
        ),
        TableSpec(
            "campaign_members",
            (
                Column("campaign_id", "key"),
                Column("user_id", "key"),
                Column("group", "string", required=False, allowed=MEMBER_GROUPS),
                Column("ts", "timestamp", required=False),
                Column("inviter_id", "key", required=False),
            ),
            unique=("campaign_id", "user_id"),
            references_user=True,
            time_column="ts",
        ),
        TableSpec(
            "spend",
            (
                Column("date", "date"),
                Column("channel", "string"),
                Column("cost", "number", nonnegative=True),
            ),
            unique=("date", "channel"),
            time_column="date",
        ),
        TableSpec(
            "content",
            (
                Column("content_id", "key"),
                Column("published_ts", "timestamp"),
                Column("type", "string", required=False),
                Column("cost", "number", required=False, nonnegative=True),
            ),
            unique=("content_id",),
            time_column="published_ts",
            open_columns=True,
        ),
        TableSpec(
            "experiment_results",
            (
                Column("user_id", "key"),
                Column("variant", "string"),
                Column("experiment", "key", required=False),
            ),
            one_variant_per=("experiment", "user_id"),
            open_columns=True,  # metric columns and pre_<metric> covariates
        ),
        # the optional inputs of the rest of the KPI system: each turns its KPIs on
        TableSpec(
            "survey_responses",  # one answer to the recommend-us question (NPS)
            (
                Column("user_id", "key"),
                Column("ts", "timestamp"),
                Column("score", "number", bounds=NPS_SCORES),
                Column("channel", "string", required=False),
            ),
            references_user=True,
            time_column="ts",
            open_columns=True,
        ),
        TableSpec(
            "community_members",  # one stay of a user in a private-domain community
            (
                Column("user_id", "key"),
                Column("joined_ts", "timestamp"),
                Column("left_ts", "timestamp", required=False),  # null: still a member
                Column("community", "string", required=False),  # e.g. a WeCom group
            ),
            references_user=True,
            time_column="joined_ts",
            spans=(("joined_ts", "left_ts"),),
        ),
        TableSpec(
            "operations",  # one row per day of the operations team's own numbers
            (
                Column("date", "date"),
                Column("operators", "number", required=False, nonnegative=True),
                Column("operating_cost", "number", required=False, nonnegative=True),
                Column("automated_pushes", "number", required=False, nonnegative=True),
                Column("manual_pushes", "number", required=False, nonnegative=True),
            ),
            unique=("date",),
            time_column="date",
        ),
        TableSpec(
            "data_requests",  # one request for data to the data team, and its answer
            (
                Column("requested_ts", "timestamp"),
                Column("answered_ts", "timestamp", required=False),  # null: not answered yet
            ),
            time_column="requested_ts",
            spans=(("requested_ts", "answered_ts"),),
            open_columns=True,
        ),
        TableSpec(
            "paths",
            (
                Column("path", "string"),
                Column("conversions", "number", nonnegative=True),
                Column("value", "number", nonnegative=True),
                Column("nulls", "number", nonnegative=True),
            ),
        ),
    )
}
