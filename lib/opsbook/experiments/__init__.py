"""A/B test evaluation: is the experiment valid, how big is the effect, how sure are we, what now?

The engine does the heavy work; :mod:`opsbook.stats` does the statistics on per-variant sums.
In layers: :mod:`.queries` (the engine step: hygiene, per-user measures, per-variant sums),
:mod:`.analysis` (the prepared experiment, the statistics, the decision, the typed result) and
:mod:`.view` (what the notebook shows); this facade re-exports what the notebook calls.

Inputs
------
Two kinds of source, chosen with ``source_table`` (``auto``: ``experiment_results`` when the
source has it, else ``assignments``):

* **event level** -- ``assignments`` (experiment, user_id, variant, ts of first exposure) plus
  ``orders`` (and ``events`` for event-count metrics). Per user the engine computes *measures*
  over the observation window ``[ts, ts + window_days)`` after the user's first exposure:
  ``orders`` (paid orders: status null or ``paid``), ``revenue`` (their amounts) and
  ``event:<name>`` (events named ``<name>``), and the same measures over the pre-period
  ``[ts - pre_days, ts)`` as CUPED covariates (a user without pre-period activity has 0).
* **per-user table** -- ``experiment_results`` (user_id, variant, optional experiment and ts,
  one column per metric, optional ``pre_<column>`` covariates), as experiment platforms export
  it. Every numeric or boolean column is a measure.

Metrics
-------
A metric is declared with a mapping (in the config under ``reports.ab_test.metric_definitions``
or as the report parameter of that name)::

    reports:
      ab_test:
        metrics: [conversion, revenue_per_user]     # reported, the first one is the primary
        metric_definitions:
          - {name: conversion, kind: proportion, numerator: orders}
          - {name: revenue_per_user, kind: mean, numerator: revenue, winsorize: 0.99}
          - {name: revenue_per_order, kind: ratio, numerator: revenue, denominator: orders}
          - {name: carts, kind: mean, numerator: "event:add_to_cart"}
          - {name: refunds, kind: mean, numerator: refunds, direction: lower_is_better,
             guardrail: true, margin: 0.02}

``kind``: ``proportion`` (share of users whose numerator is > 0 or true), ``mean`` (mean of the
per-user numerator) or ``ratio`` (Σ numerator / Σ denominator over users, e.g. revenue per order,
with the user as randomisation unit: delta method with the covariance). ``direction``:
``higher_is_better`` (default) or ``lower_is_better``. ``guardrail: true`` makes a metric a
guardrail: a shipped variant must not make it significantly worse (unadjusted p, to stay
sensitive to harm), or, with ``margin`` (relative, e.g. 0.02), must be shown non-inferior
(one-sided at alpha/2). ``winsorize``: cap the per-user value at this quantile of all users of the
experiment (pooled across variants, computed in the engine; mean metrics only). ``covariate``:
the CUPED covariate measure (default ``pre_<numerator>``; ``false`` for none).

Without declarations: event-level sources get ``conversion``, ``orders_per_user``,
``revenue_per_user`` and ``revenue_per_order``; per-user tables get one metric per metric column,
a 0/1 or boolean column as a proportion and any other number as a mean. Declarations override
these by name and add new ones. ``metrics`` picks and orders them; the first is the primary
metric, on which the decision rests.

Hygiene (in the engine, counted and shown; a user counts under the first reason that applies)
----------------------------------------------------------------------------------------------
1. ``missing_values``: rows without user, variant (or exposure time, for assignments);
2. ``several_variants``: users with rows in more than one variant -- all their rows go;
3. ``misaligned``: users with a row whose actual experience contradicts its variant, as told by
   the ``exposure_check`` expression (true when aligned, e.g. ``(variant == 'treatment') ==
   (landing_page == 'new_page')``) -- the user saw the other arm, all their rows go;
4. ``outside_dates``: first exposure outside ``exposure_start`` .. ``exposure_end`` (local dates);
5. ``window_incomplete``: the observation window ends after the data do (event level);
6. ``duplicate_rows``: further rows of a kept user (same variant): the first exposure is kept
   (without an exposure time, the row with the smallest metric values: a deterministic choice).

Analysis
--------
The engine aggregates the kept users to per-variant, per-exposure-day sufficient statistics (n,
Σa, Σa², Σb, Σb², Σab with a = the metric or numerator, b = the covariate or denominator); the
daily rows add up to the totals (the results), cumulatively to the lift over time, and segment
rows to exploratory breakdowns. The control is the ``control`` parameter or the variant named
control, ctrl, A, old, baseline, original or default, else the first in natural sort order.

Decision: ``invalid`` when the SRM check says so; ``ship`` when a variant beats control on the
primary metric (adjusted p < alpha, in the good direction) and passes every guardrail;
``dont_ship`` when every variant is significantly worse on the primary metric or fails a
guardrail; otherwise ``inconclusive``, with the extra days (or users) needed to detect the
observed primary lift with the given power at the current traffic. When that is beyond the horizon
(twice the days run so far, at least 28 and at most 56 days in all; without exposure days, twice
the users) the report says the effect is out of reach, gives the smallest effect detectable by the
horizon (``metrics.json``: ``mde_reachable``) and advises stopping. The Bayesian expected loss of
shipping the variant and of keeping control is shown beside the decision.
"""

from opsbook.experiments.analysis import RESULT_KEYS, evaluate, prepare
from opsbook.experiments.queries import tables_for
from opsbook.experiments.view import (
    balance_chart,
    cumulative_chart,
    explore,
    forest_chart,
    show_conventions,
    show_hygiene,
    show_mde,
    show_results,
    show_segments,
    show_setup,
    show_srm,
    summary,
)

__all__ = [
    "RESULT_KEYS",
    "balance_chart",
    "cumulative_chart",
    "evaluate",
    "explore",
    "forest_chart",
    "prepare",
    "show_conventions",
    "show_hygiene",
    "show_mde",
    "show_results",
    "show_segments",
    "show_setup",
    "show_srm",
    "summary",
    "tables_for",
]
