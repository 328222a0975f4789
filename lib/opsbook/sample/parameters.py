"""The shop's planted parameters: calendar units, users, activity, purchases, sessions and
events, content, experiments and campaigns (the numbers ``truth.json`` reports).
"""

from __future__ import annotations

import math

import numpy as np

TIMEZONE = "Asia/Shanghai"
TZ_OFFSET_S = 8 * 3600  # Asia/Shanghai: UTC+08:00, no daylight saving since 1991
US = 1_000_000
MIN_US = 60 * US
HOUR_US = 3600 * US
DAY_US = 86_400 * US
BLOCK = 5_000  # users per random-number block (fixed: the data do not depend on chunking)
MIN_DAYS = 120
TABLES = (
    "users",
    "events",
    "orders",
    "assignments",
    "campaigns",
    "campaign_members",
    "spend",
    "content",
)

# --- users -----------------------------------------------------------------------------------
CHANNELS = ("organic", "search", "social", "referral", "kol")
REFERRAL = CHANNELS.index("referral")
CHANNEL_MIX = np.array([0.35, 0.25, 0.20, 0.10, 0.10])
PAID_CHANNELS = ("search", "social", "kol")
CAC = {"search": 40.0, "social": 25.0, "kol": 70.0}  # yuan per new user (planted)
REGIONS = ("east", "north", "south", "west", "central")
REGION_MIX = np.array([0.30, 0.22, 0.22, 0.12, 0.14])
DEVICES = ("ios", "android", "web")
DEVICE_MIX = np.array([0.38, 0.50, 0.12])
DEVICE_AMOUNT = np.log([1.15, 1.0, 0.95])
TIERS = ("tier1", "tier2", "tier3")
TIER_MIX = np.array([0.30, 0.40, 0.30])
TIER_AMOUNT = np.log([1.25, 1.0, 0.85])
SIGNUP_WEEKDAY = np.array([0.88, 0.88, 0.88, 0.88, 0.88, 1.30, 1.30])  # Mon..Sun
SIGNUP_TREND = 0.6  # intensity grows linearly by 60 % over the period

# --- activity (per channel, in CHANNELS order) -----------------------------------------------
Q_ENGAGED = np.array([0.42, 0.37, 0.30, 0.48, 0.25])  # share of engaged users
H_ENGAGED = np.array([0.007, 0.008, 0.010, 0.006, 0.011])  # daily churn, engaged
H_CASUAL = np.array([0.20, 0.22, 0.26, 0.18, 0.28])  # daily churn, casual
P_ENGAGED = np.array([0.55, 0.50, 0.47, 0.58, 0.45])  # p_active on an average day, engaged
P_CASUAL = np.array([0.42, 0.40, 0.36, 0.45, 0.33])  # p_active on an average day, casual
ACTIVE_WEEKDAY = np.array([0.94, 0.94, 0.94, 0.94, 0.94, 1.15, 1.15])  # Mon..Sun
P_ACTIVE_MAX = 0.95
OUTAGE_OFFSET = 40  # days before the end
OUTAGE_SHARE = 0.3  # share of the normal activity left on the outage day

# --- purchases ------------------------------------------------------------------------------
PI_BASE = np.array([0.045, 0.058, 0.039, 0.052, 0.032])  # purchase prob per active day
PI_SHAPE = 0.35  # gamma shape of the propensity multiplier (heavy tail across users)
PI_ENGAGED = 1.8
PI_MAX = 0.6
AMOUNT_MEDIAN = 85.0
AMOUNT_USER_SD = 0.7
AMOUNT_ORDER_SD = 0.5
BIG_TICKET_SHARE = 0.01  # a few orders are big-ticket items (electronics, ...)
BIG_TICKET_MULT = 6.0
AMOUNT_MEAN_FACTOR = math.exp(AMOUNT_ORDER_SD**2 / 2) * (
    1 + BIG_TICKET_SHARE * (BIG_TICKET_MULT - 1)
)
STATUSES = ("paid", "refunded", "cancelled")
STATUS_MIX = np.array([0.93, 0.05, 0.02])

# --- sessions and events --------------------------------------------------------------------
EVENTS = (
    "app_open",
    "view_item",
    "add_to_cart",
    "share",
    "content_view",
    "content_like",
    "content_comment",
    "content_share",
    "campaign_view",
    "campaign_click",
    "campaign_join",
    "invite_sent",
    "checkout",
    "purchase",
)
EV = {name: i for i, name in enumerate(EVENTS)}
HOUR_WEIGHTS = np.array(
    [1.2, 0.6, 0.3, 0.2, 0.2, 0.3, 0.8, 2.0, 3.5, 4.0, 4.2, 4.5]
    + [5.5, 5.0, 4.2, 4.0, 4.0, 4.2, 4.8, 5.8, 7.0, 7.5, 6.5, 0.75]
)
LAST_HOUR_SPAN = 0.25  # sessions start by 23:15, so a session never crosses midnight
SESSION_US = 25 * MIN_US
VIEWS_PER_DAY = 2.2
CART_PER_VIEW = 0.10
SHARE_PER_DAY = 0.04
CONTENT_VIEWS_PER_DAY = 1.1

# --- the first session: funnel, drop-off paths, key action (see ``journey``) ----------------
FUNNEL_STEPS = ("app_open", "view_item", "add_to_cart", "checkout", "purchase")
# P(step k + 1 | step k) in the first session, per channel (CHANNELS order)
FUNNEL_P = np.array(
    [
        [0.80, 0.84, 0.70, 0.86, 0.62],  # view_item | app_open
        [0.42, 0.46, 0.33, 0.50, 0.30],  # add_to_cart | view_item
        [0.55, 0.60, 0.48, 0.62, 0.45],  # checkout | add_to_cart
        [0.70, 0.76, 0.60, 0.78, 0.55],  # purchase | checkout
    ]
)
FUNNEL_WINDOW_DAYS = 14
NEW_USER_DAYS = FUNNEL_WINDOW_DAYS + 1  # local days signup .. signup + 14 hold the window
# the event right after the last step reached, for those who stop there ("(end)": they leave)
DROPOFF_NEXT = {
    "add_to_cart": (("view_item", 0.6), ("(end)", 0.4)),
    "checkout": (("view_item", 0.5), ("add_to_cart", 0.3), ("(end)", 0.2)),
}
KEY_ACTION_EVENT = "share"
KEY_ACTION_DAYS = 7  # no other shares in a user's first 7 local days
KEY_ACTION_THRESHOLD = 2
KEY_ACTION_SHARE = 0.15  # users who share >= 2 times on their signup day
KEY_ACTION_EXTRA = 0.5  # shares beyond the threshold (Poisson mean)
KEY_ONCE_SHARE = 0.10  # of the others, share once on their signup day (no effect)
KEY_ACTION_HAZARD = 0.3  # multiplier of the daily churn hazard of the key action's users

# --- content (per type) ---------------------------------------------------------------------
CONTENT_TYPES = ("article", "video", "live")
CONTENT_PER_DAY = np.array([1.6, 0.7, 0.12])
CONTENT_COST = np.array([600.0, 2500.0, 6000.0])  # median production cost at 20k users
LIKE_RATE = np.array([0.035, 0.060, 0.080])
COMMENT_RATE = np.array([0.008, 0.012, 0.030])
SHARE_RATE = np.array([0.007, 0.012, 0.010])
CONTENT_ORDER_RATE = np.array([0.008, 0.015, 0.025])  # order within hours, per view
CONTENT_RECENCY = 30.0  # mean recency rank of a viewed item

# --- experiments ------------------------------------------------------------------------------
WINDOW_DAYS = 14
PRE_DAYS = 28
# price_display users signed up at least this many days before exposure: their window lies in
# the settled period (tenure day >= 31) and less of their pre-period [x - 28 d, x) in the
# new-user window (days 0..14), whose orders are the first session's funnel rather than the
# user's purchase rate -- the CUPED covariate's correlation ~0.6 rather than ~0.5, while the
# experiment keeps ~1,830 users per variant at the default size (more tenure would cost more)
PRICE_MIN_TENURE = 34
# checkout_button: new users exposed in their first session; the treatment raises the first
# session's P(purchase | checkout) by 20 %, so P(a paid order in 14 days) too (journey)
CHECKOUT_LIFT = 0.2
EXTRA_ORDERS = 1.3  # extra orders of a campaign converter: Poisson(1.3 x usual orders)
PRICE_LIFT = 0.06
PRICE_SHARE = 1.0  # share of price_display-eligible users put in price_display
SRM_DROP = 0.08

# --- campaigns ------------------------------------------------------------------------------
TOUCH_CHANNELS = ("push", "sms", "email", "social_ad", "search_ad", "wechat")
CLICK_RATE = 0.30
JOIN_RATE = 0.40
STAGE_MULT = (1.0, 1.5, 2.2)  # conversion multiplier: exposed only, clicked, joined
EXTRA_TOUCHES = 0.7
INVITES_EXTRA = 1.5  # invitations per participant beyond the first (Poisson mean)
CAMPAIGN_AOV = 1.2  # amount multiplier of treatment orders through a campaign

# --- after the first 30 days: the user-insight truth (see ``lifetime``) ----------------------
SETTLED_DAY = 31  # tenure day from which the hazard below (and the repeat buyers') applies
# p_active on an average day from SETTLED_DAY: the user's own (P_ENGAGED or P_CASUAL) x a rhythm
# level -- some visit once in a while, most about as before, some more (on average ~ as before)
RHYTHM_LEVELS = np.array([0.15, 0.9, 1.5])
RHYTHM_MIX = np.array([0.3, 0.3, 0.4])
AFFINITY_SHAPE = 1.0  # content views per active day: Poisson(kappa), kappa ~ gamma(shape, mean)
# daily hazard = min(cap, base[channel] x exp(trend x days_trend_7_30
#                                            + tenure x ln(tenure_days / 30)
#                                            + content x content_view_30d / 30))
HAZARD_BASE = np.array([0.006, 0.007, 0.010, 0.005, 0.011])  # CHANNELS order
HAZARD_TREND = -3.0
HAZARD_TENURE = -0.5
HAZARD_CONTENT = -0.6
HAZARD_CAP = 0.5
# repeat buyers (user_id a multiple of REPEAT_EVERY) from SETTLED_DAY: BG/NBD purchase days
# (rate per day, at most one a day), Gamma-Gamma amounts; they leave the shop when they drop out
REPEAT_EVERY = 3
# r = PI_SHAPE: a repeat buyer's lambda (by rank) is their purchase propensity x r / alpha
BGNBD = {"r": 0.35, "alpha": 8.0, "a": 0.8, "b": 5.0}
GAMMA_GAMMA = {"p": 3.0, "q": 4.0, "v": 150.0}

# --- order brushing (刷单) and refund abuse (see ``brushing``) --------------------------------
RING_USER_SHARE = 0.003  # share of the users that brush in rings
MIN_RINGS = 3  # even on a small sample
RING_ACCOUNTS = (5, 9)  # accounts per ring (inclusive): at least the burst rule's 5 orders
RING_MINUTES = 40  # a ring's orders all fall in this many minutes
RING_AMOUNTS = np.array([88.0, 99.0, 128.0, 188.0, 199.0])  # a ring's one amount
ABUSER_USER_SHARE = 0.0005
MIN_ABUSERS = 3
ABUSER_ORDERS = 8  # in ABUSER_DAYS days, on distinct days, each after an app session
ABUSER_REFUNDS = 6
ABUSER_DAYS = 28
ABUSER_AMOUNT = 120.0  # median amount (lognormal, sd 0.3)
BRUSHING_TENURE = SETTLED_DAY  # accounts past the retention and funnel windows
# planted in the weeks between these many days before the end: recent, but before Double 11
# (the last 12 days) and on no campaign day, whose lifts stay the planted ones; never on the
# outage day, when nobody can pay
BRUSHING_SPAN = (55, 13)
QUIET_MINUTES = 30  # a ring order starts this long after the local midnight (no event before)
DEVICE_SLOTS = 4  # device_id = user_id x 4 + slot: an honest user's slots 0..2, a ring's 3
DEVICES_PER_USER = np.array([0.75, 0.2, 0.05])  # honest users with 1, 2, 3 devices
PRIMARY_DEVICE = 0.75  # share of a multi-device user's orders on the first device
