"""Campaign review, the analysis: typed results built from the queries' small frames and pure
statistics. One module per question:

* ``campaign`` -- which campaigns are reviewed, and the review of each (``review``);
* ``scorecard`` -- targets, red/amber/green, the scorecard;
* ``incrementality`` -- lift against the holdout, incremental revenue, iROI, counterfactuals;
* ``channels`` -- the funnel's rates, the channels, the attribution models;
* ``daily`` -- the site's days and the anomalous ones;
* ``quality`` -- retention and repeat purchase of the acquired users;
* ``results`` -- CampaignResult and CampaignReview (metrics, headline, comparison);
* ``pdca`` -- the PDCA summary generated from the numbers.
"""

from opsbook.campaigns.analysis.campaign import resolve, review
from opsbook.campaigns.analysis.channels import (
    ALL_STEPS,
    attribution,
    attribution_table,
    biggest_drop,
    channel_attribution,
    funnel_table,
    steps_of,
)
from opsbook.campaigns.analysis.daily import campaign_days, daily_site, flag_days
from opsbook.campaigns.analysis.incrementality import (
    METRICS_EVENTS,
    PROPORTIONS,
    impact_series,
    incremental,
    lift_table,
)
from opsbook.campaigns.analysis.quality import acquisition_quality
from opsbook.campaigns.analysis.results import CampaignResult, CampaignReview
from opsbook.campaigns.analysis.scorecard import DIRECTION, KPIS, TARGET_COLUMNS, status_of

# the parameters and the KPI system's defaults, which the analysis reads (and the view draws)
from opsbook.campaigns.queries.settings import DEFAULT_TARGETS, Settings

__all__ = [
    "ALL_STEPS",
    "DEFAULT_TARGETS",
    "DIRECTION",
    "KPIS",
    "METRICS_EVENTS",
    "PROPORTIONS",
    "TARGET_COLUMNS",
    "CampaignResult",
    "CampaignReview",
    "Settings",
    "acquisition_quality",
    "attribution",
    "attribution_table",
    "biggest_drop",
    "campaign_days",
    "channel_attribution",
    "daily_site",
    "flag_days",
    "funnel_table",
    "impact_series",
    "incremental",
    "lift_table",
    "resolve",
    "review",
    "status_of",
    "steps_of",
]
