"""Order brushing, analysis step: the refund rule's test, and what the flags add up to -- per
rule the flagged orders, users and amount and their share of all paid orders; the rules that
did not run and why."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from scipy import stats

from opsbook.brushing import queries as q
from opsbook.brushing.queries import RULES, BrushingRules
from opsbook.data import Source
from opsbook.exports import Export, export_folder, pseudonymise_ids, required_salt, write_list
from opsbook.report import Report


def refund_outlier_pairs(counts: pd.DataFrame | None, rules: BrushingRules) -> pd.DataFrame:
    """The (peer, orders, refunds) pairs whose users' refunds are far above their peers': at
    least ``refund_min_refunds`` refunds, and a one-sided binomial test against the peer group's
    refund rate (all its users' refunds over all their orders) significant at ``refund_alpha``
    divided by the number of users tested (Bonferroni: the chance of flagging any honest user
    is at most ``refund_alpha``). ``counts``: :func:`queries.refund_counts`."""
    columns = ["peer", "orders", "refunds", "users", "peer_rate", "p_value"]
    if counts is None or counts.empty or not rules.refund_min_refunds:
        return pd.DataFrame(columns=columns)
    frame = counts.copy()
    weighted = frame.assign(o=frame.orders * frame.users, r=frame.refunds * frame.users)
    by_peer = weighted.groupby("peer")[["o", "r"]].sum()
    frame["peer_rate"] = frame.peer.map(by_peer.r / by_peer.o).astype(float)
    candidates = frame[frame.refunds >= rules.refund_min_refunds].copy()
    tested = int(candidates.users.sum())
    candidates["p_value"] = stats.binom.sf(
        candidates.refunds - 1, candidates.orders, candidates.peer_rate.clip(upper=1.0)
    )
    level = rules.refund_alpha / max(tested, 1)
    return candidates[candidates.p_value < level][columns].reset_index(drop=True)


@dataclass
class Brushing:
    """What the rules flagged. ``per_rule``: rule -> {orders, users, amount, share_orders,
    share_amount}; ``all``: the same for the union (an order flagged by two rules counts once);
    ``skipped``: rule -> the i18n key of why it did not run; ``flags``: the engine table of flags
    (order_id, user_id, amount, rule) for the filter and the export, never shown."""

    rules: BrushingRules
    per_rule: dict[str, dict[str, float]]
    all: dict[str, float]
    paid: dict[str, float]
    skipped: dict[str, str] = field(default_factory=dict)
    flags: Any = None

    def headline(self) -> list[dict[str, Any]]:
        """The share of paid orders flagged (no status colour: a flag is a lead, not a fault)."""
        return [{"label": "brushing.h.flagged", "value": self.all["share_orders"], "format": "pct"}]

    def metrics(self) -> dict[str, Any]:
        return {
            "brushing": {
                "flagged_orders": int(self.all["orders"]),
                "flagged_users": int(self.all["users"]),
                "flagged_amount": self.all["amount"],
                "share_of_orders": self.all["share_orders"],
                "share_of_amount": self.all["share_amount"],
                "rules": {
                    rule: (
                        {"skipped": self.skipped[rule]}
                        if rule in self.skipped
                        else self.per_rule[rule]
                    )
                    for rule in RULES
                },
            }
        }


def _with_shares(row: dict[str, float], paid: dict[str, float]) -> dict[str, float]:
    share = lambda part, whole: part / whole if whole else None  # noqa: E731
    return {
        "orders": int(row.get("orders", 0)),
        "users": int(row.get("users", 0)),
        "amount": float(row.get("amount", 0.0) or 0.0),
        "share_orders": share(row.get("orders", 0), paid["orders"]),
        "share_amount": share(row.get("amount", 0.0) or 0.0, paid["amount"]),
    }


def brushing(source: Source, rules: BrushingRules | None = None) -> Brushing:
    """Every rule on ``source``'s orders: flags in the engine, counts here."""
    rules = rules or BrushingRules()
    needed = {"order_id", "user_id", "ts", "amount"}
    if not source.has("orders") or needed - set(source.columns("orders")):
        # the data-quality report shows a missing table or column as its finding
        nothing = {"orders": 0, "users": 0, "amount": 0.0}
        empty = _with_shares({}, nothing)
        skipped = dict.fromkeys(RULES, "brushing.skip.no_orders")
        return Brushing(rules, dict.fromkeys(RULES, empty), empty, nothing, skipped)
    parts, skipped = q.flagged_orders(source, rules)
    counts = q.refund_counts(source) if rules.refund_min_refunds else None
    if counts is None and "refund_outlier" not in skipped:
        skipped["refund_outlier"] = "brushing.skip.no_status"
    pairs = refund_outlier_pairs(None if counts is None else counts.execute(), rules)
    flags = q.with_refund_outliers(source, parts, pairs)
    paid = q.paid_totals(source)
    found = q.flag_counts(flags) if flags is not None else pd.DataFrame(columns=["rule"])
    rows = {r["rule"]: r for r in found.to_dict("records")}
    per_rule = {rule: _with_shares(rows.get(rule, {}), paid) for rule in RULES}
    return Brushing(rules, per_rule, _with_shares(rows.get("all", {}), paid), paid, skipped, flags)


def export_flags(
    report: Report,
    result: Brushing,
    *,
    enabled: bool = False,
    export_dir: str | Path | None = None,
    pseudonymise: bool = False,
) -> Export | None:
    """Write ``brushing_flags.parquet`` and ``.csv`` (order, user, amount, a column per rule)
    beside the report when ``enabled`` -- ids never enter the page; user ids pseudonymised when
    asked (order ids are then left out: they lead back to the user)."""
    if not enabled or result.flags is None:
        return None
    salt = required_salt(report) if pseudonymise else None
    frame = q.flag_list(result.flags)
    if salt is not None:
        frame = frame.drop(columns="order_id").assign(user_id=pseudonymise_ids(frame.user_id, salt))
    paths = write_list(frame, export_folder(report, export_dir), "brushing_flags")
    return Export(paths=paths, rows=len(frame), pseudonymised=salt is not None)


@dataclass
class LeftOut:
    """The orders a report leaves out (``exclude_flagged: true``): the rules' result and the
    source as it was, with every order, for the with / without line."""

    brushing: Brushing
    original: Source


def leave_out_flagged(
    report: Report, settings: dict[str, Any] | None = None, *, enabled: bool = True
) -> LeftOut | None:
    """When ``enabled``, flag the report source's orders (``settings``: the rules, see
    :class:`BrushingRules`) and from here on answer every question of ``report`` without the
    flagged ones; the result keeps the source with every order. None when not enabled."""
    if not enabled:
        return None
    original = report.source
    found = brushing(original, BrushingRules.from_settings(settings))
    if found.flags is not None:
        report.source = original.without("orders", found.flags, "order_id")
    return LeftOut(found, original)


def left_out_metrics(left_out: LeftOut | None) -> dict[str, Any]:
    """``metrics.json``'s record of the orders a report left out (nothing when it kept all)."""
    if left_out is None:
        return {}
    every = left_out.brushing.all
    return {
        "flagged_left_out": {
            "orders": every["orders"],
            "amount": every["amount"],
            "share_of_orders": every["share_orders"],
        }
    }


def with_flagged(report: Report, left_out: LeftOut) -> Report:
    """``report`` answering on the source with every order (the "with" side of the line)."""
    view = copy.copy(report)
    view.source = left_out.original
    return view
