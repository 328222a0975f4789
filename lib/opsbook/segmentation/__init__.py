"""The segmentation report: who are the high-value, potential, low-activity and churned customers?

User operations runs tiered operations (用户分层运营). This package answers, per customer and per
group, with the conventions below (every one is printed in the report):

* **RFM** (engine step, :func:`rfm_expression`): per customer with at least one *paid* order in
  the window ``[as_of - lookback_days, as_of)`` (local dates in the configured zone; the window
  ends at the *start* of ``as_of``, so orders placed on ``as_of`` itself are not counted):
  recency = days from the local date of the last paid order to ``as_of`` (so >= 1); frequency =
  paid orders, or distinct local purchase days (``frequency="days"``); monetary = total paid
  amount, or mean paid amount per order (``monetary="mean"``). Revenue (the total) is always kept
  for the profiles. Orders that are refunded, cancelled, of another status, without a user, or
  without a time/valid amount are excluded and counted by reason (:func:`tally_exclusions`).
  ``as_of`` defaults to the day after the newest paid order, in local time.
* **Scores** 1..k (k = 3, 4 or 5), :func:`quantile_scores`: ``score = 1 + floor(k * below / n)``
  where ``below`` is the number of customers with a strictly worse value. Ties therefore get the
  same score (the rule depends on values only, never on ids or row order: deterministic), and a
  score can be skipped when many customers share a value (e.g. most buy once: F = 1 for all of
  them, and the next F value starts higher up). Recency is reversed: fewer days = higher score.
* **The 8-class model** (八类客户), :func:`classify_8`: each of R, F, M is "high" or "low" against
  the mean (default) or the median of all customers' values (``basis="values"``, default) or
  scores (``basis="scores"``). High means strictly better than the threshold: R high = recency
  strictly below the threshold (more recent), F/M high = strictly above it. A value *equal* to
  the threshold is "low" on every dimension.
* **The 4-tier model**, :class:`TierRules`, first matching rule wins: churned (流失) = no paid
  order in the ``churn_days`` days before ``as_of`` (recency > churn_days); high-value (高价值) =
  monetary score >= ``high_value_min_m`` (default k, the top score) and frequency score >=
  ``high_value_min_f``; potential (潜力) = a paid order in the ``active_days`` days before
  ``as_of`` (recency <= active_days); low-activity (低活跃) = everyone else. The recommended action
  per tier is an i18n default, overridable in the config (``reports.segmentation.actions``).
* **Pareto**: revenue share of the top 20 % of customers by revenue (``ceil(0.2 n)`` customers).
* **Migration**, :func:`migration`: the same model at ``compare_to`` (default 30 days before
  ``as_of``, scored on that date's own quantiles) against ``as_of``.
* **Activation lists**, :func:`export_segments`: membership as Parquet + CSV files for CRM import,
  never in the HTML; ids optionally pseudonymised with a keyed hash (HMAC-SHA256) whose salt comes
  from the environment (``OPSBOOK_PSEUDONYM_SALT``) or the config (``privacy.pseudonym_salt``),
  never from a notebook parameter (parameters are recorded in the executed notebook).
"""

# The facade: the names the notebook (02_segmentation.ipynb) calls, and those bench/rfm.py and
# bench/run.py use (rfm_expression, exclusions_expression, unpaid_customers_expression,
# compute_rfm, finish_rfm, tally_exclusions, segment_customers, Settings); nothing else.
from opsbook.segmentation.analysis.export import export_segments
from opsbook.segmentation.analysis.migration import migration
from opsbook.segmentation.analysis.record import headline, metrics
from opsbook.segmentation.analysis.rfm import compute_rfm, finish_rfm, tally_exclusions
from opsbook.segmentation.analysis.segments import (
    Settings,
    TierRules,
    segment,
    segment_customers,
)
from opsbook.segmentation.queries import (
    exclusions_expression,
    rfm_expression,
    unpaid_customers_expression,
)
from opsbook.segmentation.view.explore import explore
from opsbook.segmentation.view.export import show_export
from opsbook.segmentation.view.groups import (
    show_pareto,
    show_segment_profile,
    show_tier_profile,
    show_tier_rules,
    size_vs_revenue_chart,
)
from opsbook.segmentation.view.migration import show_migration
from opsbook.segmentation.view.scope import (
    monetary_chart,
    rf_heatmap,
    show_scope,
    show_score_bins,
    show_thresholds,
)
from opsbook.segmentation.view.summary import summary

__all__ = [
    "Settings",
    "TierRules",
    "compute_rfm",
    "exclusions_expression",
    "explore",
    "export_segments",
    "finish_rfm",
    "headline",
    "metrics",
    "migration",
    "monetary_chart",
    "rf_heatmap",
    "rfm_expression",
    "segment",
    "segment_customers",
    "show_export",
    "show_migration",
    "show_pareto",
    "show_scope",
    "show_score_bins",
    "show_segment_profile",
    "show_thresholds",
    "show_tier_profile",
    "show_tier_rules",
    "size_vs_revenue_chart",
    "summary",
    "tally_exclusions",
    "unpaid_customers_expression",
]
