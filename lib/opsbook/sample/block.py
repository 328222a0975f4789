"""One block of ``BLOCK`` users: signups, active days and sessions, experiment exposures and
conversions, campaign members and funnels, invitations, content views and interactions,
orders, and the truth counters they add to (see ``truth``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import scipy.stats as sps

from opsbook.sample.brushing import plant_brushing
from opsbook.sample.draws import (
    _balanced,
    _categorical,
    _choose_content,
    _first,
    _pick,
    _rng,
    _span,
    _time_of_day,
)
from opsbook.sample.journey import _journey, _journey_events, _journey_stats
from opsbook.sample.lifetime import _lives, _repeat_orders
from opsbook.sample.parameters import (
    AMOUNT_MEAN_FACTOR,
    AMOUNT_MEDIAN,
    AMOUNT_ORDER_SD,
    AMOUNT_USER_SD,
    BIG_TICKET_MULT,
    BIG_TICKET_SHARE,
    CAMPAIGN_AOV,
    CART_PER_VIEW,
    CHANNEL_MIX,
    CHANNELS,
    CHECKOUT_LIFT,
    CLICK_RATE,
    COMMENT_RATE,
    CONTENT_ORDER_RATE,
    DEVICE_AMOUNT,
    DEVICE_MIX,
    DEVICES,
    EV,
    EXTRA_ORDERS,
    EXTRA_TOUCHES,
    FUNNEL_P,
    H_CASUAL,
    H_ENGAGED,
    HOUR_US,
    INVITES_EXTRA,
    JOIN_RATE,
    KEY_ACTION_DAYS,
    KEY_ACTION_HAZARD,
    LIKE_RATE,
    MIN_US,
    NEW_USER_DAYS,
    P_CASUAL,
    P_ENGAGED,
    PAID_CHANNELS,
    PI_BASE,
    PI_ENGAGED,
    PI_MAX,
    PI_SHAPE,
    PRICE_LIFT,
    PRICE_SHARE,
    Q_ENGAGED,
    REFERRAL,
    REGION_MIX,
    REGIONS,
    REPEAT_EVERY,
    SESSION_US,
    SETTLED_DAY,
    SHARE_PER_DAY,
    SHARE_RATE,
    SRM_DROP,
    STAGE_MULT,
    STATUS_MIX,
    TIER_AMOUNT,
    TIER_MIX,
    TIERS,
    TOUCH_CHANNELS,
    US,
    VIEWS_PER_DAY,
    WINDOW_DAYS,
)
from opsbook.sample.plan import _Plan
from opsbook.sample.tables import _Events, _events_table, _labels, _Orders, _ts
from opsbook.sample.truth import _window_sums


def _block(plan: _Plan, b: int, n: int, uid0: int, stats: dict[str, Any]) -> dict[str, Any]:
    rng = _rng(plan.seed, 0, b)
    last, days = plan.last, plan.days
    ds = plan.day_start

    # ---- users
    ch = _categorical(rng, n, CHANNEL_MIX)
    invited = (ch == REFERRAL) & (rng.random(n) < plan.invite_share)
    sday = np.where(
        invited,
        _categorical(rng, n, plan.w_invite),
        _categorical(rng, n, plan.w_base),
    )
    signup = ds[sday] + _time_of_day(rng, n)
    region = _categorical(rng, n, REGION_MIX)
    device = _categorical(rng, n, DEVICE_MIX)
    tier = _categorical(rng, n, TIER_MIX)
    engaged = rng.random(n) < Q_ENGAGED[ch]
    # checkout_button: the users who sign up in its exposure range (not on the outage day),
    # randomised at signup; its treatment works through the first session (journey). Those
    # who later enter price_display are not logged in it.
    cb = next(e for e in plan.experiments if e.name == "checkout_button")
    randomised = np.flatnonzero((sday >= cb.lo) & (sday <= cb.hi) & (sday != plan.outage))
    cb_variant = np.zeros(n, dtype=np.int8)
    cb_variant[randomised] = _balanced(rng, len(randomised))
    boost = np.where(cb_variant == 1, 1 + CHECKOUT_LIFT, 1.0)
    journey = _journey(rng, plan, ch, sday, signup, boost)
    h = np.where(engaged, H_ENGAGED[ch], H_CASUAL[ch])
    h = h * np.where(journey.key_action, KEY_ACTION_HAZARD, 1.0)
    life = rng.geometric(h) - 1  # the first 30 days' lifetime (the retention truth)
    p_user = np.where(engaged, P_ENGAGED[ch], P_CASUAL[ch])
    propensity = rng.gamma(PI_SHAPE, 1 / PI_SHAPE, n)
    pi = PI_BASE[ch] * propensity * np.where(engaged, PI_ENGAGED, 1.0)
    pi = np.minimum(pi, PI_MAX)
    taste = rng.standard_normal(n)  # the user's spend level
    mu = (
        math.log(AMOUNT_MEDIAN) + AMOUNT_USER_SD * taste + TIER_AMOUNT[tier] + DEVICE_AMOUNT[device]
    )
    repeat = (np.arange(n) + uid0) % REPEAT_EVERY == 0
    # a repeat buyer buys as often and spends as much, by rank, as in the first 30 days
    ranks = (
        sps.gamma.sf(propensity, PI_SHAPE, scale=1 / PI_SHAPE),
        sps.norm.cdf(taste),
    )
    lives = _lives(rng, _rng(plan.seed, 0, b, 1), plan, ch, sday, life, p_user, repeat, ranks)

    def amounts(users: np.ndarray) -> np.ndarray:
        a = np.exp(mu[users] + AMOUNT_ORDER_SD * rng.standard_normal(len(users)))
        big = rng.random(len(users)) < BIG_TICKET_SHARE
        return np.round(np.where(big, a * BIG_TICKET_MULT, a), 2)

    # ---- active days: rows sorted by (user, day)
    r_user, r_day = np.nonzero(lives.active)
    n_rows = len(r_user)
    first_row = np.zeros(n_rows, dtype=bool)
    first_row[_first(r_user, n)] = True
    # the first session's other events come after its planted ones (journey)
    r_sess = np.where(first_row, journey.end[r_user], ds[r_day] + _time_of_day(rng, n_rows))
    r_end = ds[r_day + 1]

    # observed retention (any event on the Shanghai day signup + k)
    age = r_day - sday[r_user]
    for k in (1, 7, 30):
        elig = sday + k <= last
        act_k = np.zeros(n, dtype=bool)
        act_k[r_user[age == k]] = True
        stats["ret_n"][k] += np.bincount(ch[elig], minlength=5)
        stats["ret_a"][k] += np.bincount(ch[elig & act_k], minlength=5)
        if k in (7, 30):  # the key action's cohort: day 30 inside the period
            cohort = sday + 30 <= last
            doer = journey.key_action.astype(np.int64)
            stats["behaviour"][f"key_d{k}"] += np.bincount(doer[cohort & act_k], minlength=2)
    stats["behaviour"]["key_n"] += np.bincount(journey.key_action[sday + 30 <= last], minlength=2)
    stats["channel_users"] += np.bincount(ch, minlength=5)
    paid_idx = [CHANNELS.index(c) for c in PAID_CHANNELS]
    for j, c in enumerate(paid_idx):
        stats["signups"][:, j] += np.bincount(sday[ch == c], minlength=days)

    ev = _Events()
    od = _Orders()
    opened = np.where(first_row, signup[r_user], r_sess)  # the session's app_open
    ev.add(r_user, opened, EV["app_open"])
    _journey_events(ev, journey)
    _journey_stats(stats, journey, ch)
    # the new-user window: its orders are the first session's purchase, then (for those who
    # bought in it) the usual ones from the next day; a user who left after the first session's
    # drop-off does nothing more that session
    level = journey.level[r_user]
    new_user = age < NEW_USER_DAYS
    no_orders = new_user & ~((level == 5) & (age >= 1))
    silent = first_row & journey.leaves[r_user]

    # ---- experiments
    not_outage = r_day != plan.outage
    exposure: dict[str, np.ndarray] = {}
    for ex in plan.experiments:
        m = (r_day >= ex.lo) & (r_day <= ex.hi) & not_outage & (age >= ex.min_tenure)
        if ex.max_tenure is not None:
            m &= age <= ex.max_tenure
        pos = np.flatnonzero(m)
        fr = _first(r_user[pos], n)
        exposure[ex.name] = np.where(fr >= 0, pos[np.maximum(fr, 0)], -1)
    u_split = rng.random(n)
    in_price = (exposure["price_display"] >= 0) & (u_split < PRICE_SHARE)
    in_checkout = (exposure["checkout_button"] >= 0) & ~in_price
    members = {
        "checkout_button": np.flatnonzero(in_checkout),
        "price_display": np.flatnonzero(in_price),
        "homepage_aa": np.flatnonzero(exposure["homepage_aa"] >= 0),
        "banner_srm": np.flatnonzero(exposure["banner_srm"] >= 0),
    }
    variant = {
        name: cb_variant[idx] if name == "checkout_button" else _balanced(rng, len(idx))
        for name, idx in members.items()
    }
    a_parts = []
    for k, ex in enumerate(plan.experiments):
        idx, v = members[ex.name], variant[ex.name]
        logged = np.ones(len(idx), dtype=bool)
        if ex.name == "banner_srm":
            t = np.flatnonzero(v == 1)
            logged[rng.permutation(t)[: round(SRM_DROP * len(t))]] = False
        st = stats["exp"][ex.name]
        st["n"] += np.bincount(v, minlength=2)
        st["logged"] += np.bincount(v[logged], minlength=2)
        a_parts.append(
            (
                np.full(logged.sum(), k),
                idx[logged],
                v[logged],
                opened[exposure[ex.name][idx[logged]]],
            )
        )

    # per-user experiment window [x, x + 14] for the two experiments that replace orders
    x_day = np.full(n, -(10**6), dtype=np.int64)
    x_ts = np.zeros(n, dtype=np.int64)
    x_var = np.zeros(n, dtype=np.int8)
    for name in ("checkout_button", "price_display"):
        idx = members[name]
        x_day[idx] = r_day[exposure[name][idx]]
        x_ts[idx] = opened[exposure[name][idx]]
        x_var[idx] = variant[name]
    rel = r_day - x_day[r_user]
    in_window = (rel >= 0) & (rel <= WINDOW_DAYS - 1)
    suppressed = (rel >= 0) & (rel <= WINDOW_DAYS)  # day x + 14: no orders at all
    # the repeat buyers' settled days: their orders are the BG/NBD process's only (in a
    # price_display window too, where they carry the treatment's lift: see below)
    process = lives.settled[r_user, r_day] & repeat[r_user]
    price_row = in_window & in_price[r_user] & not_outage & ~process
    suppressed &= ~price_row
    suppressed |= ~not_outage
    suppressed |= no_orders
    suppressed |= process

    # checkout_button: its only orders in the window are the first session's purchases
    idx = members["checkout_button"]
    st = stats["exp"]["checkout_button"]
    st["conv"] += np.bincount(cb_variant[idx][journey.level[idx] == 5], minlength=2)
    p_bought = FUNNEL_P.prod(axis=0)[ch[idx]] * boost[idx]  # its expectation, per variant
    st["expected_sum"] += np.bincount(cb_variant[idx], weights=p_bought, minlength=2)

    # price_display: background orders, amounts x (1 + lift) in treatment, all paid
    idx = members["price_display"]
    st = stats["exp"]["price_display"]
    # given each user's active days: an order with probability pi on each
    n_days = np.bincount(r_user[price_row], minlength=n)[idx]
    expected = pi[idx] * np.exp(mu[idx]) * AMOUNT_MEAN_FACTOR * n_days
    st["expected_sum"] += expected.sum()

    # ---- campaigns
    camp_window = np.zeros(n_rows, dtype=bool)  # background orders replaced
    m_parts = []
    for c in plan.campaigns:
        cst = stats["camp"][c.cid]
        in_c = (r_day >= c.start) & (r_day <= c.end)
        pos = np.flatnonzero(in_c)
        fr = _first(r_user[pos], n)
        x_row = np.where(fr >= 0, pos[np.maximum(fr, 0)], -1)
        conflict = (in_checkout | in_price) & (x_day <= c.end) & (x_day + WINDOW_DAYS >= c.start)
        # the new-user window's orders are the first session's (journey): members are past it
        # when the campaign finds them, or bought in their first session
        settled = (x_row >= 0) & (
            (age[np.maximum(x_row, 0)] >= NEW_USER_DAYS) | (journey.level == 5)
        )
        cand = settled & (sday < c.start) & ~conflict & (rng.random(n) < c.target_share)
        cand &= ~(repeat & (sday + SETTLED_DAY <= c.end))  # their process has no campaigns
        mem = np.flatnonzero(cand)
        # the holdout: the planned share of the block's members exactly, drawn at random
        hold = np.zeros(len(mem), dtype=bool)
        hold[np.argsort(rng.random(len(mem)))[: round(c.holdout_share * len(mem))]] = True
        xr = x_row[mem]
        exp_ts = r_sess[xr] + _span(rng, len(mem), US, 10 * MIN_US)
        m_parts.append((np.full(len(mem), c.cid), mem, hold, exp_ts, np.full(len(mem), -1)))
        cst["members"] += np.array([(~hold).sum(), hold.sum()])

        # funnel of the treatment group: touches, a click, a join
        tr = mem[~hold]
        tr_exp, tr_x = exp_ts[~hold], xr[~hold]
        n_touch = 1 + rng.poisson(EXTRA_TOUCHES, len(tr))
        extra_who = np.repeat(tr, n_touch - 1)
        wpos = np.flatnonzero(in_c)
        extra_rows = wpos[_pick(rng, r_user[wpos], n, extra_who)]
        t_user = np.concatenate([tr, extra_who])
        t_row = np.concatenate([tr_x, extra_rows])
        t_ts = np.concatenate(
            [tr_exp, r_sess[extra_rows] + _span(rng, len(extra_rows), US, 10 * MIN_US)]
        )
        names = list(c.touch)
        probs = np.array([c.touch[k] for k in names])
        t_ch = np.array([TOUCH_CHANNELS.index(k) for k in names])[
            _categorical(rng, len(t_user), probs)
        ]
        ev.add(t_user, t_ts, EV["campaign_view"], campaign=c.cid, channel=t_ch)
        clicked = rng.random(len(tr)) < CLICK_RATE
        joined = clicked & (rng.random(len(tr)) < JOIN_RATE)
        # the clicked touch: a random one of the user's touches
        t_order = np.argsort(t_user, kind="stable")
        t_user_s, t_row_s, t_ts_s, t_ch_s = (
            t_user[t_order],
            t_row[t_order],
            t_ts[t_order],
            t_ch[t_order],
        )
        k_touch = _pick(rng, t_user_s, n, tr)
        click_ts = t_ts_s[k_touch] + _span(rng, len(tr), 5 * US, 2 * MIN_US)
        join_ts = click_ts + _span(rng, len(tr), 10 * US, 3 * MIN_US)
        ev.add(
            tr[clicked],
            click_ts[clicked],
            EV["campaign_click"],
            campaign=c.cid,
            channel=t_ch_s[k_touch][clicked],
        )
        ev.add(tr[joined], join_ts[joined], EV["campaign_join"], campaign=c.cid)
        cst["clicked"] += int(clicked.sum())
        cst["joined"] += int(joined.sum())

        if c.kind == "step":
            # no holdout: every background order day of the campaign gets extra orders
            pos = np.flatnonzero(in_c & ~suppressed & ~price_row)
            hit = pos[rng.random(len(pos)) < pi[r_user[pos]] * c.step]
            hu = r_user[hit]
            a = amounts(hu)
            od.add(
                hu,
                r_sess[hit] + _span(rng, len(hit), 2 * MIN_US, SESSION_US),
                a,
                _categorical(rng, len(hit), STATUS_MIX),
                c.cid,
                hit,
            )
            cst["step_orders"] += len(hit)
            cst["step_revenue"] += float(a.sum())
            continue

        # holdout campaigns: P(paid order during the campaign) is p_holdout x (1 + lift)
        is_mem = np.zeros(n, dtype=bool)
        is_mem[mem] = True
        camp_window |= in_c & is_mem[r_user]
        p_t = c.p_holdout * (1 + c.lift)
        mix = (
            (1 - CLICK_RATE) * STAGE_MULT[0]
            + CLICK_RATE * (1 - JOIN_RATE) * STAGE_MULT[1]
            + CLICK_RATE * JOIN_RATE * STAGE_MULT[2]
        )
        stage = clicked.astype(np.int64) + joined
        assert p_t / mix * STAGE_MULT[2] <= 1.0, "campaign conversion above 1"
        p_tr = p_t / mix * np.asarray(STAGE_MULT)[stage]
        conv_t = rng.random(len(tr)) < p_tr
        conv_h = rng.random(hold.sum()) < c.p_holdout
        cst["converted"] += np.array([conv_t.sum(), conv_h.sum()])
        cu = np.concatenate([tr[conv_t], mem[hold][conv_h]])
        c_exp = np.concatenate([tr_exp[conv_t], exp_ts[hold][conv_h]])
        c_treat = np.concatenate([np.ones(conv_t.sum(), bool), np.zeros(conv_h.sum(), bool)])
        c_click = np.concatenate([clicked[conv_t], np.zeros(conv_h.sum(), bool)])
        c_after = np.concatenate(
            [np.where(joined, join_ts, click_ts)[conv_t], np.zeros(conv_h.sum(), np.int64)]
        )
        c_crow = np.concatenate([t_row_s[k_touch][conv_t], np.zeros(conv_h.sum(), np.int64)])
        lam = EXTRA_ORDERS * pi[cu] * np.bincount(r_user[in_c], minlength=n)[cu]
        n_ord = 1 + rng.poisson(lam)
        first_o = np.zeros(n_ord.sum(), dtype=bool)
        first_o[np.cumsum(n_ord) - n_ord] = True
        rep = np.repeat(np.arange(len(cu)), n_ord)
        ou = cu[rep]
        rows = wpos[_pick(rng, r_user[wpos], n, ou)]
        after_click = first_o & c_click[rep]
        rows = np.where(after_click, c_crow[rep], rows)
        ts = np.maximum(
            r_sess[rows] + _span(rng, len(rows), 2 * MIN_US, SESSION_US),
            c_exp[rep] + _span(rng, len(rows), 30 * US, 5 * MIN_US),
        )
        ts = np.where(after_click, c_after[rep] + _span(rng, len(rows), MIN_US, 15 * MIN_US), ts)
        a = amounts(ou) * np.where(c_treat[rep], CAMPAIGN_AOV, 1.0)
        a = np.round(a, 2)
        od.add(ou, ts, a, 0, np.where(c_treat[rep], c.cid, -1), rows)
        cst["revenue"] += np.array([a[c_treat[rep]].sum(), a[~c_treat[rep]].sum()])

        if c.kind == "referral":
            part = tr[joined]
            part_ts = join_ts[joined]
            o = np.argsort(part_ts, kind="stable")
            part, part_ts = part[o], part_ts[o]
            inv = np.flatnonzero(invited)
            inv = inv[np.argsort(signup[inv], kind="stable")]
            cnt = np.searchsorted(part_ts, signup[inv] - 10 * MIN_US, side="left")
            ok = cnt > 0
            inv, cnt = inv[ok], cnt[ok]
            k_inv = (rng.random(len(inv)) * cnt).astype(np.int64)
            inviter = part[k_inv]
            matched = np.bincount(k_inv, minlength=len(part))
            n_inv = np.maximum(1 + rng.poisson(INVITES_EXTRA, len(part)), matched)
            iu = np.repeat(part, n_inv)
            its = np.repeat(part_ts, n_inv) + _span(rng, len(iu), 10 * US, 5 * MIN_US)
            ev.add(iu, its, EV["invite_sent"], campaign=c.cid)
            m_parts.append(
                (
                    np.full(len(inv), c.cid),
                    inv,
                    np.zeros(len(inv), bool),
                    signup[inv],
                    inviter + uid0,
                )
            )
            cst["participants"] += len(part)
            cst["invitations"] += int(n_inv.sum())
            cst["invitees"] += len(inv)

    # ---- content views and interactions
    n_cv = np.where(silent, 0, lives.views[r_user, r_day])
    vrow = np.repeat(np.arange(n_rows), n_cv)
    vts = r_sess[vrow] + _span(rng, len(vrow), 5 * US, SESSION_US)
    cid = _choose_content(rng, vts, plan.content_pub, plan.content_quality)
    ok = cid >= 0
    vrow, vts, cid = vrow[ok], vts[ok], cid[ok]
    vu = r_user[vrow]
    ctype = plan.content_type[cid]
    ev.add(vu, vts, EV["content_view"], content=cid + 1)
    stats["content_views"] += np.bincount(ctype, minlength=3)
    for name, rate in (
        ("content_like", LIKE_RATE),
        ("content_comment", COMMENT_RATE),
        ("content_share", SHARE_RATE),
    ):
        hit = rng.random(len(vu)) < rate[ctype]
        ev.add(
            vu[hit],
            vts[hit] + _span(rng, hit.sum(), 5 * US, 2 * MIN_US),
            EV[name],
            content=cid[hit] + 1,
        )
        stats["content_inter"] += np.bincount(ctype[hit], minlength=3)

    # ---- background orders
    bg = ~suppressed & ~camp_window & ~price_row
    hit = np.flatnonzero((bg | price_row) & (rng.random(n_rows) < pi[r_user]))
    hu = r_user[hit]
    a = amounts(hu)
    is_price = price_row[hit]
    a = np.where(is_price & (x_var[hu] == 1), np.round(a * (1 + PRICE_LIFT), 2), a)
    status = np.where(is_price, 0, _categorical(rng, len(hit), STATUS_MIX))
    od.add(hu, r_sess[hit] + _span(rng, len(hit), 2 * MIN_US, SESSION_US), a, status, -1, hit)
    # content-driven orders, within hours of the view, on background days
    hit = np.flatnonzero(bg[vrow] & (rng.random(len(vrow)) < CONTENT_ORDER_RATE[ctype]))
    hrow = vrow[hit]
    delay = _span(rng, len(hit), 10 * MIN_US, 3 * HOUR_US)
    room = r_end[hrow] - vts[hit]
    delay = np.where(
        vts[hit] + delay < r_end[hrow],
        delay,
        (room * (0.1 + 0.8 * rng.random(len(hit)))).astype(np.int64),
    )
    od.add(
        vu[hit],
        vts[hit] + delay,
        amounts(vu[hit]),
        _categorical(rng, len(hit), STATUS_MIX),
        -1,
        hrow,
    )
    stats["content_orders"] += np.bincount(ctype[hit], minlength=3)

    # the repeat buyers' purchase days (lifetime)
    rows = np.flatnonzero(lives.bought[r_user, r_day])
    price = (in_price, x_ts, x_var, np.exp(mu) * AMOUNT_MEAN_FACTOR)
    od.add(*_repeat_orders(rng, lives, stats, r_user[rows], rows, r_sess[rows], amounts, price))

    # the first session's purchases: paid orders of the level-5 users
    buyers = np.flatnonzero(journey.level == 5)
    od.add(buyers, journey.times[buyers, 3], amounts(buyers), 0, -1, _first(r_user, n)[buyers])

    # ---- orders: sort; add_to_cart and checkout before each (the first session has its own),
    # a purchase event at each paid one
    o_user, o_ts, o_amt, o_status, o_camp, o_row = od.arrays()
    o = np.lexsort((o_amt, o_user, o_ts))
    o_user, o_ts, o_amt, o_status, o_camp, o_row = (
        x[o] for x in (o_user, o_ts, o_amt, o_status, o_camp, o_row)
    )
    later = ~first_row[o_row]
    lu, lts, lstart = o_user[later], o_ts[later], r_sess[o_row[later]]
    cart = lts - ((lts - lstart) * (0.1 + 0.8 * rng.random(len(lts)))).astype(np.int64)
    cart = np.maximum(cart, lstart + 1)
    ev.add(lu, cart, EV["add_to_cart"])
    pay = cart + ((lts - cart) * (0.2 + 0.6 * rng.random(len(lts)))).astype(np.int64)
    ev.add(lu, np.clip(pay, cart + 1, lts - 1), EV["checkout"])
    ev.add(o_user[o_status == 0], o_ts[o_status == 0], EV["purchase"])

    # price_display realised revenue and the pre-period covariate (paid orders)
    idx = members["price_display"]
    paid = o_status == 0
    stats["exp"]["price_display"]["corr_parts"].append(
        _window_sums(idx, x_ts, o_user, o_ts, o_amt, paid, n)
    )

    # ---- the other session events
    # (in the new-user window, none of the step a user does not reach: see journey)
    nv = rng.poisson(VIEWS_PER_DAY, n_rows)
    nv[silent | (new_user & (level == 1))] = 0
    vr = np.repeat(np.arange(n_rows), nv)
    vts2 = r_sess[vr] + _span(rng, len(vr), 5 * US, SESSION_US)
    ev.add(r_user[vr], vts2, EV["view_item"])
    hit = (rng.random(len(vr)) < CART_PER_VIEW) & ~(new_user & (level == 2))[vr]
    ev.add(
        r_user[vr[hit]], vts2[hit] + _span(rng, hit.sum(), 5 * US, 3 * MIN_US), EV["add_to_cart"]
    )
    # shares in the first days are the key action's only (journey)
    hit = rng.random(n_rows) < SHARE_PER_DAY
    hit = np.flatnonzero(hit & (age >= KEY_ACTION_DAYS) & ~silent)
    ev.add(r_user[hit], r_sess[hit] + _span(rng, len(hit), 5 * US, SESSION_US), EV["share"])

    # ---- planted brushing: rings and refund abusers, on the block's own stream (brushing)
    quiet = ~repeat
    quiet[np.concatenate([*members.values(), *(p[1] for p in m_parts)])] = False
    orders = (o_user, o_ts, o_amt, o_status, o_camp)
    o_user, o_ts, o_amt, o_status, o_camp, o_kind, o_device = plant_brushing(
        _rng(plan.seed, 0, b, 2), plan, b, uid0, quiet, sday, lives.active, ev, orders
    )
    paid = o_status == 0

    # ---- assemble
    e_user, e_ts, e_code, e_content, e_camp, e_ch = ev.arrays()
    o = np.lexsort((e_code, e_user, e_ts))
    events = _events_table(e_user[o] + uid0, e_ts[o], e_code[o], e_content[o], e_camp[o], e_ch[o])
    stats["orders_status"] += np.bincount(o_status, minlength=3)
    stats["revenue_paid"] += float(o_amt[paid].sum())
    stats["buyer_parts"].append(np.bincount(o_user[paid], weights=o_amt[paid], minlength=n))
    stats["outage_orders"] += int(
        (o_ts >= ds[plan.outage]).sum() - (o_ts >= ds[plan.outage + 1]).sum()
    )

    users_t = pa.table(
        {
            "user_id": pa.array(np.arange(n, dtype=np.int64) + uid0),
            "signup_ts": _ts(signup),
            "channel": _labels(ch, CHANNELS),
            "region": _labels(region, REGIONS),
            "device": _labels(device, DEVICES),
            "city_tier": _labels(tier, TIERS),
        }
    )
    fields = ("user", "ts", "amount", "status", "campaign", "kind", "device")
    columns = (o_user + uid0, o_ts, o_amt, o_status, o_camp, o_kind, o_device)
    orders_t = dict(zip(fields, columns, strict=True))
    a_exp = np.concatenate([p[0] for p in a_parts])
    a_user = np.concatenate([p[1] for p in a_parts])
    a_var = np.concatenate([p[2] for p in a_parts])
    a_ts = np.concatenate([p[3] for p in a_parts])
    o = np.lexsort((a_user, a_exp))
    names = pa.array([e.name for e in plan.experiments])
    vnames = pa.array([v for e in plan.experiments for v in e.variants])
    assignments_t = pa.table(
        {
            "experiment": pc.take(names, pa.array(a_exp[o])),
            "user_id": pa.array(a_user[o] + uid0),
            "variant": pc.take(vnames, pa.array(2 * a_exp[o] + a_var[o])),
            "ts": _ts(a_ts[o]),
        }
    )
    m_cid = np.concatenate([p[0] for p in m_parts])
    m_user = np.concatenate([p[1] for p in m_parts])
    m_hold = np.concatenate([p[2] for p in m_parts])
    m_ts = np.concatenate([p[3] for p in m_parts])
    m_inv = np.concatenate([p[4] for p in m_parts])
    o = np.lexsort((m_user, m_cid))
    members_t = pa.table(
        {
            "campaign_id": pa.array(m_cid[o].astype(np.int64)),
            "user_id": pa.array(m_user[o] + uid0),
            "group": _labels(m_hold[o].astype(np.int64), ("treatment", "holdout")),
            "ts": _ts(m_ts[o]),
            "inviter_id": pa.array(m_inv[o], mask=m_inv[o] < 0),
        }
    )
    return {
        "users": users_t,
        "events": events,
        "orders": orders_t,
        "assignments": assignments_t,
        "campaign_members": members_t,
    }
