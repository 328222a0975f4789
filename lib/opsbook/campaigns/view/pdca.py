"""Campaign review, view: every reviewed campaign side by side, and the JupyterLab widget that
re-runs the attribution with another half-life and window (the PDCA opens the report: see
:mod:`.summary`)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from opsbook.campaigns.analysis.channels import channel_attribution
from opsbook.campaigns.analysis.results import CampaignReview
from opsbook.campaigns.view.funnel import show_attribution_table
from opsbook.campaigns.view.overview import _label
from opsbook.formats import STATUS_CLASS, interval_text
from opsbook.report import Report


def show_comparison(report: Report, rv: CampaignReview) -> None:
    """Every reviewed campaign in one table: spend, method, participants, K, incremental revenue,
    iROI with interval, targets met."""
    tr = report.t
    if rv.single is not None and len(rv.catalogue) > 1:
        report.say("campaign_review.comparison_hint", n=len(rv.catalogue))
    table = rv.comparison()
    shown = pd.DataFrame(
        {
            tr("campaign_review.col.campaign"): [_label(n, k) for n, k in zip(table["name"], table["campaign_id"], strict=True)],
            tr("campaign_review.col.method"): [tr(f"campaign_review.method.{m}") for m in table["method"]],
            tr("campaign_review.col.spend"): table["spend"],
            tr("campaign_review.kpi.participants"): table["participants"],
            tr("campaign_review.kpi.conversion"): table["conversion_rate"],
            tr("campaign_review.kpi.k_factor"): table["k_factor"],
            tr("campaign_review.col.incremental_revenue"): table["incremental_revenue"],
            tr("campaign_review.col.iroi"): table["iroi"],
            tr("campaign_review.col.iroi_ci"): [interval_text(lo, hi, "dec2") for lo, hi in zip(table["iroi_low"], table["iroi_high"], strict=True)],
            tr("campaign_review.col.targets_met"): [f"{m} / {s}" for m, s in zip(table["targets_met"], table["targets_scored"], strict=True)],
        }
    )  # fmt: skip
    status = [
        STATUS_CLASS[None if s == 0 else "green" if m == s else "amber" if m else "red"]
        for m, s in zip(table["targets_met"], table["targets_scored"], strict=True)
    ]
    report.show(
        shown,
        formats={tr("campaign_review.col.spend"): "money", tr("campaign_review.kpi.participants"): "int",
                 tr("campaign_review.kpi.conversion"): "pct", tr("campaign_review.kpi.k_factor"): "float",
                 tr("campaign_review.col.incremental_revenue"): "money", tr("campaign_review.col.iroi"): "float"},
        classes={tr("campaign_review.col.targets_met"): status},
    )  # fmt: skip


def explore(report: Report, rv: CampaignReview):
    """JupyterLab only: re-run the attribution with another half-life and window (None in batch)."""
    from opsbook.report import is_batch

    if is_batch() or rv.mode != "events":
        return None
    import ipywidgets as widgets

    half = widgets.FloatSlider(value=rv.settings.half_life, min=0.5, max=30, step=0.5,
                               description=report.t("campaign_review.widget.half_life"))  # fmt: skip
    window = widgets.IntSlider(value=rv.settings.conversion_window_days, min=1, max=30,
                               description=report.t("campaign_review.widget.window"))  # fmt: skip
    out = widgets.Output()
    keys = None if rv.campaign_id == "all" else [r.key for r in rv.results]
    windows = [
        (pd.Timestamp(r.start).to_pydatetime(), pd.Timestamp(r.end).to_pydatetime())
        for r in rv.catalogue[rv.catalogue["key"].isin([x.key for x in rv.results])].itertuples()
    ]

    def update(_: Any = None) -> None:
        _, table = channel_attribution(report.source, keys, windows, window.value, half.value)
        out.clear_output()
        with out:
            show_attribution_table(report, table)

    half.observe(update, names="value")
    window.observe(update, names="value")
    update()
    return widgets.VBox([widgets.HBox([half, window]), out])
