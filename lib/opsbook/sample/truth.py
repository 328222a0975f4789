"""The truth: the counters a block adds to (price_display's pre and post revenue among them),
the planted and observed retention, and ``truth.json``'s content (experiments, content,
orders, anomalies).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from opsbook.sample.parameters import (
    CHANNEL_MIX,
    CHANNELS,
    CHECKOUT_LIFT,
    COMMENT_RATE,
    CONTENT_ORDER_RATE,
    CONTENT_TYPES,
    DAY_US,
    DROPOFF_NEXT,
    FUNNEL_STEPS,
    H_CASUAL,
    H_ENGAGED,
    KEY_ACTION_HAZARD,
    KEY_ACTION_SHARE,
    LIKE_RATE,
    OUTAGE_SHARE,
    P_ACTIVE_MAX,
    P_CASUAL,
    P_ENGAGED,
    PAID_CHANNELS,
    PRE_DAYS,
    PRICE_LIFT,
    PRICE_MIN_TENURE,
    Q_ENGAGED,
    REFERRAL,
    SHARE_RATE,
    SRM_DROP,
    STATUSES,
    TIMEZONE,
    WINDOW_DAYS,
)
from opsbook.sample.plan import _iso, _Plan


def _r(x: float, nd: int = 6) -> float | None:
    x = float(x)
    return round(x, nd) if math.isfinite(x) else None


def _new_stats(plan: _Plan) -> dict[str, Any]:
    return {
        "ret_n": {k: np.zeros(5, dtype=np.int64) for k in (1, 7, 30)},
        "ret_a": {k: np.zeros(5, dtype=np.int64) for k in (1, 7, 30)},
        "channel_users": np.zeros(5, dtype=np.int64),
        "signups": np.zeros((plan.days, len(PAID_CHANNELS)), dtype=np.int64),
        "exp": {
            e.name: {
                "n": np.zeros(2, dtype=np.int64),
                "logged": np.zeros(2, dtype=np.int64),
                "conv": np.zeros(2, dtype=np.int64),
                "expected_sum": 0.0,
                "corr_parts": [],
            }
            for e in plan.experiments
        },
        "camp": {
            c.cid: {
                "members": np.zeros(2, dtype=np.int64),
                "converted": np.zeros(2, dtype=np.int64),
                "revenue": np.zeros(2),
                "clicked": 0,
                "joined": 0,
                "participants": 0,
                "invitations": 0,
                "invitees": 0,
                "step_orders": 0,
                "step_revenue": 0.0,
            }
            for c in plan.campaigns
        },
        "content_views": np.zeros(3, dtype=np.int64),
        "content_inter": np.zeros(3, dtype=np.int64),
        "content_orders": np.zeros(3, dtype=np.int64),
        "orders_status": np.zeros(3, dtype=np.int64),
        "revenue_paid": 0.0,
        "buyer_parts": [],
        "outage_orders": 0,
        "repeat_buyers": np.zeros(2, dtype=np.int64),  # customers, purchase days
        "behaviour": {
            "levels": np.zeros((len(CHANNELS), len(FUNNEL_STEPS)), dtype=np.int64),
            "dropoff": {step: np.zeros(len(o), dtype=np.int64) for step, o in DROPOFF_NEXT.items()},
            "key_n": np.zeros(2, dtype=np.int64),
            "key_d7": np.zeros(2, dtype=np.int64),
            "key_d30": np.zeros(2, dtype=np.int64),
        },
    }


def _window_sums(idx, x_ts, o_user, o_ts, o_amt, paid, n) -> np.ndarray:
    """Per price_display user: paid revenue in [x, x + 14 d) and in [x - 28 d, x)."""
    in_exp = np.zeros(n, dtype=bool)
    in_exp[idx] = True
    m = paid & in_exp[o_user]
    u, t, a = o_user[m], o_ts[m], o_amt[m]
    post = (t >= x_ts[u]) & (t < x_ts[u] + WINDOW_DAYS * DAY_US)
    pre = (t >= x_ts[u] - PRE_DAYS * DAY_US) & (t < x_ts[u])
    post_sum = np.bincount(u[post], weights=a[post], minlength=n)[idx]
    pre_sum = np.bincount(u[pre], weights=a[pre], minlength=n)[idx]
    return np.stack([pre_sum, post_sum])


def _signup_weights(plan: _Plan, i: int) -> np.ndarray:
    """Channel ``i``'s distribution of signup days (referral users partly invited)."""
    if i != REFERRAL:
        return plan.w_base
    return (1 - plan.invite_share) * plan.w_base + plan.invite_share * plan.w_invite


def _checkout_days(plan: _Plan) -> np.ndarray:
    """The signup days whose users checkout_button takes (its range, not the outage day)."""
    ex = next(e for e in plan.experiments if e.name == "checkout_button")
    days = np.zeros(plan.days, dtype=bool)
    days[ex.lo : ex.hi + 1] = True
    days[plan.outage] = False
    return days


def _active_by_signup_day(
    plan: _Plan, k: int, i: int, hazard_mult: float
) -> tuple[np.ndarray, np.ndarray]:
    """For channel ``i`` and the signup days whose day k lies in the period: the signup days'
    weights and P(active on day signup + k), with the daily churn hazard x ``hazard_mult``."""
    s = np.arange(plan.days - k)
    f = plan.act_factor[s + k]
    w = _signup_weights(plan, i)[s]
    g = Q_ENGAGED[i] * (1 - H_ENGAGED[i] * hazard_mult) ** k * np.minimum(
        P_ACTIVE_MAX, P_ENGAGED[i] * f
    ) + (1 - Q_ENGAGED[i]) * (1 - H_CASUAL[i] * hazard_mult) ** k * np.minimum(
        P_ACTIVE_MAX, P_CASUAL[i] * f
    )
    return w, g


def _retention_truth(plan: _Plan) -> dict[str, dict[str, float]]:
    """Expected D1/D7/D30 retention per channel and overall; the key action's users (a share
    ``KEY_ACTION_SHARE`` of every channel) churn ``KEY_ACTION_HAZARD`` times as fast."""
    out: dict[str, dict[str, float]] = {}
    overall: dict[str, float] = {}
    for k in (1, 7, 30):
        num_all = den_all = 0.0
        for i, c in enumerate(CHANNELS):
            w, g_key = _active_by_signup_day(plan, k, i, KEY_ACTION_HAZARD)
            _, g_other = _active_by_signup_day(plan, k, i, 1.0)
            g = KEY_ACTION_SHARE * g_key + (1 - KEY_ACTION_SHARE) * g_other
            num, den = float((w * g).sum()), float(w.sum())
            out.setdefault(c, {})[f"d{k}"] = _r(num / den)
            num_all += CHANNEL_MIX[i] * num
            den_all += CHANNEL_MIX[i] * den
        overall[f"d{k}"] = _r(num_all / den_all)
    out["all"] = overall
    return out


def _cohort_retention(plan: _Plan, k: int, hazard_mult: float, horizon: int) -> float:
    """Expected retention on day k, all channels, of the users whose day ``horizon`` lies in
    the period, with the daily churn hazard x ``hazard_mult``."""
    num = den = 0.0
    for i in range(len(CHANNELS)):
        w, g = _active_by_signup_day(plan, k, i, hazard_mult)
        keep = plan.days - horizon  # signup days 0 .. days - 1 - horizon
        num += CHANNEL_MIX[i] * float((w * g)[:keep].sum())
        den += CHANNEL_MIX[i] * float(w[:keep].sum())
    return num / den


def _truth(plan, stats, channel_truth, campaign_truth) -> dict[str, Any]:
    retention_obs: dict[str, dict[str, Any]] = {}
    for i, c in enumerate([*CHANNELS, "all"]):
        row: dict[str, Any] = {}
        for k in (1, 7, 30):
            n = stats["ret_n"][k] if c == "all" else stats["ret_n"][k][i : i + 1]
            a = stats["ret_a"][k] if c == "all" else stats["ret_a"][k][i : i + 1]
            n, a = int(n.sum()), int(a.sum())
            row[f"d{k}"] = _r(a / n) if n else None
            row[f"n_d{k}"] = n
        retention_obs[c] = row

    experiments: dict[str, Any] = {}
    for ex in plan.experiments:
        st = stats["exp"][ex.name]
        v0, v1 = ex.variants
        t: dict[str, Any] = {
            "variants": list(ex.variants),
            "planned_split": {v0: 0.5, v1: 0.5},
            "metric": ex.metric,
            "window_days": WINDOW_DAYS,
            "exposure_start": _iso(plan, ex.lo),
            "exposure_end": _iso(plan, ex.hi),
            "users": {v0: int(st["logged"][0]), v1: int(st["logged"][1])},
            "srm": ex.name == "banner_srm",
        }
        if ex.name == "checkout_button":
            n0, n1 = (int(x) for x in st["n"])
            c0, c1 = (int(x) for x in st["conv"])
            p0 = _r(st["expected_sum"][0] / n0) if n0 else None
            p1 = _r(st["expected_sum"][1] / n1) if n1 else None
            t.update(
                metric_definition="converted = at least one paid order in [ts, ts + 14 days)",
                control=_r(p0),
                treatment=_r(p1),
                true_abs_lift=_r(p1 - p0) if n0 and n1 else None,
                true_rel_lift=CHECKOUT_LIFT,
                truth_note="expected conversion given each user's channel: the treatment "
                "multiplies the first session's P(purchase | checkout) by 1 + true_rel_lift",
                observed={v0: _r(c0 / n0) if n0 else None, v1: _r(c1 / n1) if n1 else None},
            )
        elif ex.name == "price_display":
            n_all = int(st["n"].sum())
            ctrl = st["expected_sum"] / n_all if n_all else float("nan")
            sums = np.concatenate(st["corr_parts"], axis=1)
            pre, post = sums
            with np.errstate(all="ignore"):
                rho = float(np.corrcoef(pre, post)[0, 1]) if len(pre) > 2 else float("nan")
            t.update(
                metric_definition="revenue = sum of paid amounts in [ts, ts + 14 days); "
                "pre_revenue = the same over [ts - 28 days, ts)",
                pre_period_days=PRE_DAYS,
                min_tenure_days=PRICE_MIN_TENURE,
                control=_r(ctrl, 4),
                treatment=_r(ctrl * (1 + PRICE_LIFT), 4),
                true_abs_lift=_r(ctrl * PRICE_LIFT, 4),
                true_rel_lift=PRICE_LIFT,
                true_conversion_effect=0.0,
                pre_post_correlation=_r(rho, 4),
                truth_note="expected revenue per user averaged over all assigned users, given "
                "each user's active days (an order with the user's probability on each)",
            )
        else:
            t.update(
                control=None,
                treatment=None,
                true_abs_lift=0.0,
                true_rel_lift=0.0,
                truth_note="no effect: every metric has the same expectation in both variants",
            )
        if ex.name == "banner_srm":
            t.update(
                dropped_share_of_treatment=SRM_DROP,
                users_before_logging_bug={v0: int(st["n"][0]), v1: int(st["n"][1])},
            )
        experiments[ex.name] = t

    views, inter, c_orders = stats["content_views"], stats["content_inter"], stats["content_orders"]
    content: dict[str, Any] = {"items": len(plan.content_pub)}
    for i, ty in enumerate(CONTENT_TYPES):
        content[ty] = {
            "items": int((plan.content_type == i).sum()),
            "interaction_rate": _r(LIKE_RATE[i] + COMMENT_RATE[i] + SHARE_RATE[i]),
            "like_rate": float(LIKE_RATE[i]),
            "comment_rate": float(COMMENT_RATE[i]),
            "share_rate": float(SHARE_RATE[i]),
            "order_rate_per_view": float(CONTENT_ORDER_RATE[i]),
            "views": int(views[i]),
            "interactions": int(inter[i]),
            "observed_interaction_rate": _r(inter[i] / views[i]) if views[i] else None,
            "orders_after_view": int(c_orders[i]),
        }

    rev = np.concatenate(stats["buyer_parts"])
    rev = np.sort(rev[rev > 0])[::-1]
    top = rev[: max(1, round(0.2 * len(rev)))].sum() / rev.sum() if len(rev) else float("nan")
    statuses = stats["orders_status"]
    return {
        "params": {
            "users": plan.users,
            "days": plan.days,
            "seed": plan.seed,
            "end": plan.end.isoformat(),
            "start": plan.start.isoformat(),
            "timezone": TIMEZONE,
        },
        "retention": _retention_truth(plan),
        "retention_observed": retention_obs,
        "retention_definition": "share of a channel's users with any event on the Asia/Shanghai "
        "calendar day signup + k, among users whose day signup + k is inside the period",
        "channels": channel_truth,
        "experiments": experiments,
        "campaigns": campaign_truth,
        "anomalies": {
            "outage_day": _iso(plan, plan.outage),
            "outage_activity_share": OUTAGE_SHARE,
            "outage_orders": int(stats["outage_orders"]),
            "campaign_days": [[_iso(plan, c.start), _iso(plan, c.end)] for c in plan.campaigns],
        },
        "content": content,
        "orders": {
            "count": int(statuses.sum()),
            "status_share": {
                s: _r(statuses[i] / statuses.sum()) if statuses.sum() else None
                for i, s in enumerate(STATUSES)
            },
            "paid_revenue": _r(stats["revenue_paid"], 2),
            "buyers": len(rev),
            "top20_revenue_share": _r(top, 4),
        },
    }
