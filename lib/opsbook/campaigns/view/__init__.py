"""Campaign review, the view: what the notebook shows -- tables, charts, sentences, the PDCA
summary and the exploration widget -- built only from a CampaignReview. One module per
section: ``overview`` (campaigns, scorecard), ``incrementality``, ``funnel`` (funnel, channels,
attribution), ``daily`` (days, acquired users' quality), ``pdca`` (PDCA, comparison, explore).
"""

from opsbook.campaigns.view.daily import daily_chart, show_daily, show_quality
from opsbook.campaigns.view.funnel import (
    attribution_chart,
    funnel_chart,
    show_attribution,
    show_channels,
    show_funnel,
)
from opsbook.campaigns.view.incrementality import incrementality_chart, show_incrementality
from opsbook.campaigns.view.overview import KPI_FORMAT, show_overview, show_scorecard
from opsbook.campaigns.view.pdca import explore, show_comparison, show_pdca

__all__ = [
    "KPI_FORMAT",
    "attribution_chart",
    "daily_chart",
    "explore",
    "funnel_chart",
    "incrementality_chart",
    "show_attribution",
    "show_channels",
    "show_comparison",
    "show_daily",
    "show_funnel",
    "show_incrementality",
    "show_overview",
    "show_pdca",
    "show_quality",
    "show_scorecard",
]
