"""Campaign review (活动复盘): did the campaign hit its targets, what did it really add, at what
cost, which channels and steps worked, and what to do next time (PDCA)?

Two kinds of source feed the same review:

* **Events and orders** (the sample shop, a real warehouse): ``campaigns``, ``campaign_members``
  (``group`` treatment / holdout, ``inviter_id`` for referrals), ``orders``, ``events`` (touches
  ``campaign_view`` / ``campaign_click`` with a ``channel``, ``campaign_join``, ``invite_sent``)
  and ``users``. Every group-by over them is one Ibis expression run by the engine; pandas gets
  per-group sums, per-day counts, per-channel counts and aggregated journeys.
* **Per-user outcomes** (a CRM test export such as Hillstrom's e-mail test): the contract's
  ``experiment_results`` table, one row per customer with ``variant`` and outcome columns. Each
  variant other than ``holdout_variant`` is a campaign compared against that holdout.

Conventions (each is printed in the report):

* **Holdout window**: a member's outcome counts paid orders (status ``paid`` or no status) placed
  from the campaign's ``start_ts`` to its ``end_ts`` (inclusive). Members invited by another user
  (``inviter_id`` set) were not randomised and are left out of the holdout comparison.
* **Lift**: Welch's t-test on per-user conversion (0/1), revenue and orders (``opsbook.stats``);
  the relative lift has its own delta-method interval; Holm-adjusted p-values across the metrics.
* **Incremental** conversions / revenue = absolute lift × treatment users, with the lift's
  interval scaled the same way. **iROI** = incremental revenue / spend (the KPI system's "1:3"
  ratio form; net iROI = iROI − 1). Spend is a known total, so iROI's interval is the incremental
  revenue interval divided by spend (a linear map: exact under the same normal approximation, no
  delta method needed). Cost per incremental conversion = spend / incremental conversions; its
  interval inverts the conversion interval (Fieller's construction with a known numerator) and
  is unbounded when that interval reaches 0.
* **Without a holdout**: the counterfactual of the site's daily paid orders and revenue from the
  ``baseline_days`` before the start (``opsbook.stats.state_space.causal_impact``; days of other
  campaigns and anomalous days in the pre-period are treated as missing), or, with
  ``counterfactual="did"``, difference-in-differences of members against non-members on random
  user buckets (clusters), with a pre-trend check.
* **ROAS** = gross campaign revenue (orders carrying the ``campaign_id``; without that column the
  members' paid orders in the window) / spend. **AOV lift** = AOV of those orders / AOV of all
  paid orders in the baseline period − 1.
* **Participants** = users with a ``campaign_join`` event (without any: treatment members);
  **conversion** = participants with a paid order within ``conversion_window_days`` after joining.
* **K** = invitations per participant × invitation conversion = invitees / participants
  (invitations: ``invite_sent`` events; invitees: members with ``inviter_id``).
* **CAC** = spend / users acquired by the campaign (members who signed up between the start and
  the end + ``conversion_window_days``, invitees included).
* **Funnel** (strict order): exposed (first ``campaign_view``) → clicked after exposure → joined
  after the click → paid order within ``conversion_window_days`` of joining; by the channel of
  the first exposure.
* **Attribution**: a journey is the campaign touches (``campaign_view``/``campaign_click`` with a
  channel) within ``conversion_window_days`` before a paid order placed between the start and
  end + window (one journey per order), or all touches of a touched user who never ordered (a
  null journey). ``time_decay`` weighs a touch ``d`` days before the order by ``2^(−d/half_life)``
  (computed in the engine from the timestamps); the other models come from
  :func:`opsbook.stats.attribution.attribution` on the aggregated journeys.
* **Anomalous days**: site-wide paid orders per local day, divided by the usual weekday
  pattern, flagged by :func:`opsbook.stats.timeseries.flag_anomalies` (robust z against the
  median of the neighbouring days in a 7-day window) with campaign days left out of the
  baseline; on campaign days only a gap or a drop counts. A zero day where fewer than 5 orders are normal is not a gap.
* **Targets**: the campaigns table's ``target_*`` columns, else the config's
  ``reports.campaign_review.targets``, else the KPI system's defaults (DOMAIN.md). Status: green
  when the target is met, amber within ``amber_band`` (10 %) of it, red otherwise.

Layers: :mod:`opsbook.campaigns.queries` (the engine steps), :mod:`opsbook.campaigns.analysis`
(the review and its typed results), :mod:`opsbook.campaigns.view` (what the notebook shows).
This module only re-exports what the notebook and the benchmarks call (the KPI dashboard reads
the queries and analysis layers directly).
"""

# notebooks/05_campaign_review.ipynb calls review and the view's sections; bench/run.py times
# holdout_sums
from opsbook.campaigns.analysis.campaign import review
from opsbook.campaigns.queries.holdout import holdout_sums
from opsbook.campaigns.view.daily import daily_chart, show_daily, show_quality
from opsbook.campaigns.view.funnel import (
    attribution_chart,
    funnel_chart,
    show_attribution,
    show_channels,
    show_funnel,
)
from opsbook.campaigns.view.incrementality import incrementality_chart, show_incrementality
from opsbook.campaigns.view.overview import show_overview, show_scorecard
from opsbook.campaigns.view.pdca import explore, show_comparison
from opsbook.campaigns.view.summary import summary

__all__ = [
    "attribution_chart",
    "daily_chart",
    "explore",
    "funnel_chart",
    "holdout_sums",
    "incrementality_chart",
    "review",
    "show_attribution",
    "show_channels",
    "show_comparison",
    "show_daily",
    "show_funnel",
    "show_incrementality",
    "show_overview",
    "show_quality",
    "show_scorecard",
    "summary",
]
