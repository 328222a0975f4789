"""Campaign review, the engine step: Ibis expressions over campaigns, members, events and orders
(or a per-user outcomes export) that return small frames -- per-group sums, per-day counts,
per-channel funnels, aggregated journeys. One module per question:

* ``settings`` -- the review's parameters and the KPI system's default targets;
* ``events`` -- a campaign's events (kept once), members and first exposures;
* ``sources`` -- the catalogue of campaigns and the kind of source;
* ``holdout`` -- the sums of the holdout comparison (members, or per-user outcomes);
* ``reach`` -- participants, order values, referrals, acquired users;
* ``funnel`` -- the strict funnel by first-exposure channel;
* ``attribution`` -- the journeys and the time-decay credit;
* ``daily`` -- the site's days, the participants' days, the difference-in-differences panel.
"""

from opsbook.campaigns.queries.attribution import attribution_paths, time_decay_credit
from opsbook.campaigns.queries.daily import (
    DID_BUCKETS,
    daily_participants,
    daily_site_counts,
    did_panel,
)
from opsbook.campaigns.queries.events import (
    CAMPAIGN_EVENTS,
    TOUCH_EVENTS,
    UNKNOWN_CHANNEL,
    keep_campaign_events,
)
from opsbook.campaigns.queries.funnel import STEPS, funnel_counts
from opsbook.campaigns.queries.holdout import holdout_sums, outcome_metrics, outcome_sums
from opsbook.campaigns.queries.reach import (
    acquired_users,
    order_values,
    participation,
    peer_users,
    referral,
)
from opsbook.campaigns.queries.settings import AMBER_BAND, DEFAULT_TARGETS, Settings
from opsbook.campaigns.queries.sources import catalogue

__all__ = [
    "AMBER_BAND",
    "CAMPAIGN_EVENTS",
    "DEFAULT_TARGETS",
    "DID_BUCKETS",
    "STEPS",
    "TOUCH_EVENTS",
    "UNKNOWN_CHANNEL",
    "Settings",
    "acquired_users",
    "attribution_paths",
    "catalogue",
    "daily_participants",
    "daily_site_counts",
    "did_panel",
    "funnel_counts",
    "holdout_sums",
    "keep_campaign_events",
    "order_values",
    "outcome_metrics",
    "outcome_sums",
    "participation",
    "peer_users",
    "referral",
    "time_decay_credit",
]
