"""The campaigns table (targets, spend) and the campaigns' truth (lifts, funnel, K, steps)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from opsbook.sample.parameters import CAMPAIGN_AOV, CLICK_RATE, JOIN_RATE, US
from opsbook.sample.plan import _iso, _Plan
from opsbook.sample.tables import SCHEMAS, _ts
from opsbook.sample.truth import _r


def _campaigns(plan: _Plan, stats: dict[str, Any]) -> tuple[pa.Table, dict[str, Any]]:
    rows: dict[str, list] = {k: [] for k in SCHEMAS["campaigns"].names}
    truth = {}
    ds = plan.day_start
    for c in plan.campaigns:
        st = stats["camp"][c.cid]
        n_t, n_h = (int(x) for x in st["members"])
        spend = round(c.fixed_cost * plan.scale + c.unit_cost * n_t, 2)
        participants = int(st["joined"])
        rows["campaign_id"].append(c.cid)
        rows["name"].append(c.name)
        rows["channel"].append(c.channel)
        rows["start_ts"].append(int(ds[c.start]))
        rows["end_ts"].append(int(ds[c.end + 1] - US))
        rows["spend"].append(spend)
        rows["target_participants"].append(float(max(1, round(participants * c.target_factor))))
        rows["target_conversion"].append(c.target_conversion)
        rows["target_roi"].append(c.target_roi)
        rows["target_k"].append(c.target_k)
        t: dict[str, Any] = {
            "name": c.name,
            "channel": c.channel,
            "kind": c.kind,
            "start": _iso(plan, c.start),
            "end": _iso(plan, c.end),
            "has_holdout": c.has_holdout,
            "holdout_share": c.holdout_share,
            "members_treatment": n_t,
            "members_holdout": n_h,
            "exposed_clicked": int(st["clicked"]),
            "participants": participants,
            "spend": spend,
            "touch_channels": c.touch,
            "funnel": {"click_rate": CLICK_RATE, "join_rate_of_clickers": JOIN_RATE},
        }
        if c.has_holdout:
            conv_t, conv_h = (int(x) for x in st["converted"])
            p_t = c.p_holdout * (1 + c.lift)
            t.update(
                metric="paid order between start_ts and end_ts (members, inviter_id null)",
                p_holdout=c.p_holdout,
                p_treatment=_r(p_t),
                true_rel_lift=c.lift,
                true_abs_lift=_r(p_t - c.p_holdout),
                converted_treatment=conv_t,
                converted_holdout=conv_h,
                observed_rate_treatment=_r(conv_t / n_t) if n_t else None,
                observed_rate_holdout=_r(conv_h / n_h) if n_h else None,
                revenue_treatment=_r(st["revenue"][0], 2),
                revenue_holdout=_r(st["revenue"][1], 2),
                treatment_aov_multiplier=CAMPAIGN_AOV,
                incremental_conversions_expected=_r(n_t * (p_t - c.p_holdout), 2),
            )
        else:
            t.update(true_rel_lift=None, p_holdout=None)
        if c.kind == "referral":
            part = participants
            t.update(
                invitations=int(st["invitations"]),
                invitees=int(st["invitees"]),
                invitations_per_participant=_r(st["invitations"] / part) if part else None,
                invitation_conversion=(
                    _r(st["invitees"] / st["invitations"]) if st["invitations"] else None
                ),
                k=_r(st["invitees"] / part) if part else None,
            )
        if c.kind == "step":
            n_days = c.end - c.start + 1
            t.update(
                step_rel_background=c.step,
                incremental_orders=int(st["step_orders"]),
                incremental_revenue=_r(st["step_revenue"], 2),
                incremental_orders_per_day=_r(st["step_orders"] / n_days, 3),
                note="extra orders (campaign_id set) on top of the background process; "
                "no holdout: estimate with a counterfactual from the pre-period",
            )
        truth[str(c.cid)] = t
    table = pa.table(
        {
            "campaign_id": pa.array(rows["campaign_id"], type=pa.int64()),
            "name": pa.array(rows["name"]),
            "channel": pa.array(rows["channel"]),
            "start_ts": _ts(np.array(rows["start_ts"])),
            "end_ts": _ts(np.array(rows["end_ts"])),
            "spend": pa.array(rows["spend"], type=pa.float64()),
            "target_participants": pa.array(rows["target_participants"], type=pa.float64()),
            "target_conversion": pa.array(rows["target_conversion"], type=pa.float64()),
            "target_roi": pa.array(rows["target_roi"], type=pa.float64()),
            "target_k": pa.array(rows["target_k"], type=pa.float64()),
        }
    )
    return table, truth
