"""Order brushing (刷单) and abnormal behaviour, engine step: each rule flags orders with window
functions over the orders (and, where a rule needs them, the events and users) and returns a
long table of (order_id, user_id, amount, rule); nothing reaches pandas but counts.

The rules (each a setting of :class:`BrushingRules`; a rule whose columns or tables are absent
does not run and says so):

* ``burst``: at least ``burst_orders`` orders of one user -- or one device, address or IP where
  the orders carry such a column -- within ``burst_minutes``. Exact: an order is flagged when
  some window of that length holding ``burst_orders`` orders of its key contains it (a window
  can always be slid to start at its first order, so it is enough to count forward from each
  order and then look back from each order for such a start).
* ``no_browsing``: a paid order with no event of its user in the ``no_browsing_minutes`` before
  it (events at the order's own instant do not count: a purchase event is not browsing).
* ``new_account``: an order through a campaign placed within ``new_account_minutes`` of the
  user's signup.
* ``repeated_amount``: at least ``repeated_orders`` orders of one user with the identical amount
  within ``repeated_hours`` (the burst rule keyed by user and amount).
* ``refund_outlier``: a user whose refunds are far above their peers' (the same acquisition
  channel where users have one): the engine counts (orders, refunds) per user; the analysis
  tests each distinct pair against the peers' rate and flags all orders of the users it flags.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from opsbook.data import Source
from opsbook.engine import backend_name, epoch_microseconds, exact_sum, floor_divide, keep_parts
from opsbook.errors import InputError, did_you_mean

MINUTE_US = 60_000_000
# optional order columns that identify who is behind an order besides the user (DATA_CONTRACT)
IDENTITY_COLUMNS = ("device_id", "address", "ip")
RULES = ("burst", "no_browsing", "new_account", "repeated_amount", "refund_outlier")


@dataclass(frozen=True)
class BrushingRules:
    """The rules' settings (the ``brushing_rules`` parameter of data_quality and of every report
    with ``exclude_flagged``; every field optional). A rule is off when its first setting is 0."""

    burst_orders: int = 5
    burst_minutes: int = 60
    no_browsing_minutes: int = 30
    new_account_minutes: int = 10
    repeated_orders: int = 3
    repeated_hours: int = 24
    refund_min_refunds: int = 3
    refund_alpha: float = 0.001  # one-sided binomial test against the peers' refund rate

    def switches(self) -> dict[str, bool]:
        """Which rules are on (a rule is off when its first setting is 0)."""
        return {
            "burst": bool(self.burst_orders),
            "no_browsing": bool(self.no_browsing_minutes),
            "new_account": bool(self.new_account_minutes),
            "repeated_amount": bool(self.repeated_orders),
            "refund_outlier": bool(self.refund_min_refunds),
        }

    @classmethod
    def from_settings(cls, settings: dict[str, Any] | None) -> BrushingRules:
        """The rules from a mapping (the ``brushing_rules`` parameter); an unknown
        key or a value that is not a number >= 0 is refused, naming it."""
        known = [f.name for f in fields(cls)]
        values = {}
        for key, value in (settings or {}).items():
            if key not in known:
                raise InputError(
                    "brushing.bad.setting", setting=key, hint=did_you_mean(key, known),
                    valid=", ".join(known),
                )  # fmt: skip
            kind = float if key == "refund_alpha" else int
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise InputError("brushing.bad.value", setting=key, found=repr(value))
            values[key] = kind(value)
        return cls(**values)


def _orders(source: Source) -> ir.Table:
    """Paid orders with their instant in microseconds (``us``); refunds and cancellations are
    not brushing candidates except for the refund rule, which reads the statuses itself."""
    orders = source.table("orders")
    if "status" in orders.columns:
        orders = orders.filter(orders.status.isnull() | (orders.status == "paid"))
    return orders.mutate(us=epoch_microseconds(orders.ts, backend_name(orders)))


def _flag(table: ir.Table, rule: str) -> ir.Table:
    return table.select("order_id", "user_id", "amount", rule=ibis.literal(rule))


def burst_orders(orders: ir.Table, keys: list[str], count: int, window_us: int) -> ir.Table:
    """The orders in a window of ``window_us`` holding at least ``count`` orders of the same
    ``keys`` (see the module's note on why two windows make it exact)."""
    keyed = orders.filter(ibis.and_(*[orders[k].notnull() for k in keys]))
    forward = ibis.window(
        group_by=[keyed[k] for k in keys], order_by=keyed.us, range=(0, window_us)
    )
    starts = keyed.mutate(starts=(keyed.order_id.count().over(forward) >= count).cast("int8"))
    back = ibis.window(
        group_by=[starts[k] for k in keys], order_by=starts.us, range=(-window_us, 0)
    )
    marked = starts.mutate(in_burst=starts.starts.max().over(back))
    return marked.filter(marked.in_burst == 1)


def no_browsing_orders(source: Source, orders: ir.Table, window_us: int) -> ir.Table:
    """Orders whose user has no event in the ``window_us`` before the order (strictly before:
    an event at the order's own instant is its record, not browsing).

    An equi-join, not a window over every event: time is cut into buckets of ``window_us``;
    an order can only be preceded by an event of its own bucket or the one before, so each
    order is joined on (user, bucket) twice -- as itself and one bucket earlier -- and the exact
    interval is checked on the few pairs that meet. The orders are doubled, not the events:
    the events are read once, as they stream (doubling them made the engine hold every event's
    three columns at once: 16 GB at 10M users)."""
    backend = backend_name(orders)
    events = source.table("events")
    us = epoch_microseconds(events.ts, backend)
    seen = events.select(
        user_id=events.user_id, seen_us=us, bucket=floor_divide(us, window_us, backend)
    )
    wanted = orders.select(
        "order_id", "user_id", "us", bucket=floor_divide(orders.us, window_us, backend)
    )
    wanted = wanted.union(wanted.mutate(bucket=wanted.bucket - 1), distinct=False)
    pairs = wanted.join(seen, ["user_id", "bucket"])
    browsed = pairs.filter((pairs.seen_us < pairs.us) & (pairs.seen_us >= pairs.us - window_us))
    return orders.anti_join(browsed.select("order_id").distinct(), "order_id")


def new_account_orders(source: Source, orders: ir.Table, window_us: int) -> ir.Table:
    """Orders through a campaign placed within ``window_us`` of the user's signup."""
    users = source.table("users")
    users = users.select(
        "user_id", signup_us=epoch_microseconds(users.signup_ts, backend_name(users))
    )
    joined = orders.filter(orders.campaign_id.notnull()).join(users, "user_id")
    quick = (joined.us >= joined.signup_us) & (joined.us - joined.signup_us <= window_us)
    return joined.filter(quick)


def flagged_orders(source: Source, rules: BrushingRules) -> tuple[list[ir.Table], dict[str, str]]:
    """The flags of the rules on orders alone, an engine table (order_id, user_id, amount, rule)
    per rule and key -- an order may be flagged by several, and twice by one rule of two keys --
    and the rules that did not run with the reason (an i18n key). The refund rule's come from
    :func:`refund_counts`, the analysis's test and :func:`with_refund_outliers`."""
    orders = _orders(source)
    parts: list[ir.Table] = []
    skipped = {rule: "brushing.skip.off" for rule, on in rules.switches().items() if not on}
    if rules.burst_orders:
        window = rules.burst_minutes * MINUTE_US
        for key in ["user_id", *[c for c in IDENTITY_COLUMNS if c in orders.columns]]:
            parts.append(_flag(burst_orders(orders, [key], rules.burst_orders, window), "burst"))
    if rules.no_browsing_minutes:
        if source.has("events"):
            window = rules.no_browsing_minutes * MINUTE_US
            parts.append(_flag(no_browsing_orders(source, orders, window), "no_browsing"))
        else:
            skipped["no_browsing"] = "brushing.skip.no_events"
    if rules.new_account_minutes:
        if not source.has("users"):
            skipped["new_account"] = "brushing.skip.no_users"
        elif "campaign_id" not in orders.columns:
            skipped["new_account"] = "brushing.skip.no_campaign_id"
        else:
            window = rules.new_account_minutes * MINUTE_US
            parts.append(_flag(new_account_orders(source, orders, window), "new_account"))
    if rules.repeated_orders:
        window = rules.repeated_hours * 60 * MINUTE_US
        repeated = burst_orders(orders, ["user_id", "amount"], rules.repeated_orders, window)
        parts.append(_flag(repeated, "repeated_amount"))
    return parts, skipped


def _refund_profile(source: Source) -> ir.Table:
    """Per user: orders of any status, refunded ones, and the peer group (the acquisition
    channel where users have one, else one group "")."""
    orders = source.table("orders")
    per_user = orders.group_by("user_id").aggregate(
        orders=orders.order_id.count(),
        refunds=(orders.status == "refunded").cast("int64").sum(),
    )
    if source.has("users") and "channel" in source.columns("users"):
        users = source.table("users")
        channels = users.select(peer_user=users.user_id, peer=users.channel.fill_null(""))
        per_user = per_user.left_join(channels, per_user.user_id == channels.peer_user)
        profile = per_user.select("user_id", "orders", "refunds", peer=per_user.peer.fill_null(""))
        return profile.view()  # a table of its own: callers join it again
    return per_user.mutate(peer=ibis.literal(""))


def refund_counts(source: Source) -> ir.Table | None:
    """Per peer group and distinct (orders, refunds) pair, how many users have it: the refund
    rule's whole input, a few hundred rows at any scale. None when orders carry no status."""
    if "status" not in source.columns("orders"):
        return None
    profile = _refund_profile(source)
    return profile.group_by(["peer", "orders", "refunds"]).aggregate(users=profile.count())


def with_refund_outliers(
    source: Source, parts: list[ir.Table], pairs: pd.DataFrame
) -> ir.Table | None:
    """The flags of ``parts`` and every order of the users whose (peer, orders, refunds) is one
    of ``pairs`` (the few the analysis flagged), kept for the session: one part after another,
    so that the engine holds one rule's work at a time (at 10M users the rules together, in one
    query, spilled to disk and took three times as long)."""
    parts = list(parts)
    if len(pairs):
        profile = _refund_profile(source)
        # the pairs as a condition, not an in-memory table: Spark loses a memtable that a kept
        # (cached) expression reads
        wanted = ibis.or_(
            *(
                (profile.peer == str(peer))
                & (profile.orders == int(n))
                & (profile.refunds == int(r))
                for peer, n, r in pairs[["peer", "orders", "refunds"]].itertuples(index=False)
            )
        )
        users = profile.filter(wanted)
        orders = source.table("orders").view()  # the profile reads the same table
        parts.append(_flag(orders.semi_join(users, "user_id"), "refund_outlier"))
    return keep_parts(parts) if parts else None


def flag_counts(flags: ir.Table) -> pd.DataFrame:
    """Per rule and for all rules together ("all"): flagged orders, their users and amount
    (an order flagged twice by a rule, or by several rules, counts once)."""
    once = flags.distinct()
    per_rule = once.group_by("rule").aggregate(
        orders=once.order_id.count(),
        users=once.user_id.nunique(),
        amount=exact_sum(once.amount),
    )
    distinct = flags.select("order_id", "user_id", "amount").distinct()
    every = distinct.aggregate(
        rule=ibis.literal("all"),
        orders=distinct.order_id.count(),
        users=distinct.user_id.nunique(),
        amount=exact_sum(distinct.amount),
    )
    return pd.concat([per_rule.execute(), every.execute()], ignore_index=True)


def paid_totals(source: Source) -> dict[str, float]:
    """Paid orders, their users and amount: what the flags are a share of."""
    orders = _orders(source)
    row = orders.aggregate(
        orders=orders.order_id.count(),
        users=orders.user_id.nunique(),
        amount=exact_sum(orders.amount),
    ).execute()
    return {k: float(row[k].iloc[0] or 0) for k in ("orders", "users", "amount")}


def flag_list(flags: ir.Table) -> pd.DataFrame:
    """The flagged orders for the export beside the report: one row per order with its user,
    amount and a true/false column per rule, in order id order."""
    rows = flags.execute()
    wide = (
        rows.assign(hit=1)
        .pivot_table(
            index=["order_id", "user_id", "amount"],
            columns="rule",
            values="hit",
            aggfunc="max",
            fill_value=0,
        )
        .reindex(columns=list(RULES), fill_value=0)
        .astype(bool)
        .reset_index()
    )
    wide.columns.name = None
    return wide.sort_values("order_id", kind="stable").reset_index(drop=True)
