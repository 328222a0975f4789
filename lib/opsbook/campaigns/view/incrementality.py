"""Campaign review, view: what the campaign really added -- the lifts against the holdout, the
counterfactual (causal impact or difference-in-differences), incremental conversions and
revenue with iROI, the method's assumptions, and the chart of the effect."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
from IPython.display import HTML, display

from opsbook.campaigns.analysis import DEFAULT_TARGETS
from opsbook.campaigns.analysis.incrementality import PROPORTIONS
from opsbook.campaigns.analysis.results import CampaignResult, CampaignReview
from opsbook.campaigns.view.overview import _label
from opsbook.formats import fmt, interval_text, p_text
from opsbook.plots import PALETTE, STATUS_COLOURS, figure, signed_percent_ticks
from opsbook.report import Report


def show_incrementality(report: Report, rv: CampaignReview) -> None:
    """Lift against the holdout (or the counterfactual), incremental conversions and revenue,
    iROI with its interval; which method ran and what it assumes."""
    for r in rv.results:
        if rv.single is None:
            report.heading("campaign_review.campaign_heading", level=3, name=_label(r.name, r.key))
        outcomes = "_outcomes" if rv.mode == "outcomes" else ""
        report.say(f"campaign_review.method_text.{r.method}{outcomes}")
        if r.method == "holdout":
            _show_lifts(report, r)
        elif r.method == "causal_impact" and r.impact is not None:
            _show_impact(report, r, rv)
        elif r.method == "causal_impact":
            report.say("campaign_review.cf_no_data")
        elif r.did is not None:
            _show_did(report, r)
        _show_incremental(report, r)
        _show_assumptions(report, r.method)


def _show_lifts(report: Report, r: CampaignResult) -> None:
    tr = report.t
    frame = r.lifts
    columns = {
        "metric": tr("campaign_review.col.metric"),
        "treatment_n": tr("campaign_review.col.treatment"),
        "holdout_n": tr("campaign_review.col.holdout"),
        "treatment_mean": tr("campaign_review.col.treatment_mean"),
        "holdout_mean": tr("campaign_review.col.holdout_mean"),
        "abs": tr("campaign_review.col.abs_lift"),
        "rel_lift": tr("campaign_review.col.rel_lift"),
        "rel_ci": tr("campaign_review.col.rel_ci"),
        "p_value": tr("campaign_review.col.p_value"),
        "p_holm": tr("campaign_review.col.p_holm"),
    }
    rows = []
    for m in frame.itertuples():
        kind = "pct2" if m.metric in PROPORTIONS else "money" if m.metric == "revenue" else "float"
        rows.append(
            {
                columns["metric"]: tr(f"campaign_review.metric.{m.metric}")
                if f"campaign_review.metric.{m.metric}" in _keys()
                else m.metric,
                columns["treatment_n"]: m.treatment_n,
                columns["holdout_n"]: m.holdout_n,
                columns["treatment_mean"]: fmt(m.treatment_mean, kind),
                columns["holdout_mean"]: fmt(m.holdout_mean, kind),
                columns["abs"]: (
                    f"{fmt(m.abs_lift, 'pp' if kind == 'pct2' else kind)} "
                    f"{interval_text(m.abs_low, m.abs_high, 'pp' if kind == 'pct2' else kind)}"
                ),
                columns["rel_lift"]: m.rel_lift,
                columns["rel_ci"]: interval_text(m.rel_low, m.rel_high, "signed_pct"),
                columns["p_value"]: p_text(m.p_value),
                columns["p_holm"]: p_text(m.p_holm),
            }
        )
    cls = ["ob-up" if s and lift > 0 else "ob-down" if s else None
           for s, lift in zip(frame["significant"], frame["rel_lift"], strict=True)]  # fmt: skip
    report.show(
        pd.DataFrame(rows),
        formats={columns["rel_lift"]: "signed_pct"},
        min_cell=report.min_cell,
        count_columns=[columns["treatment_n"], columns["holdout_n"]],
        classes={columns["rel_lift"]: cls},
    )


def _show_impact(report: Report, r: CampaignResult, rv: CampaignReview) -> None:
    tr = report.t
    rows = []
    for label, res in (("orders", r.impact), ("revenue", r.impact_revenue)):
        if res is None:
            continue
        kind = "money" if label == "revenue" else "float"
        rows.append(
            {
                tr("campaign_review.col.metric"): tr(f"campaign_review.metric.daily_{label}"),
                tr("campaign_review.col.actual"): fmt(res.actual_total, kind),
                tr("campaign_review.col.predicted"): fmt(res.predicted_total, kind),
                tr("campaign_review.col.effect"): (
                    f"{fmt(res.cumulative_effect, kind)} "
                    f"{interval_text(res.cumulative_effect_lower, res.cumulative_effect_upper, kind)}"
                ),
                tr("campaign_review.col.rel_lift"): res.relative_effect,
                tr("campaign_review.col.p_value"): p_text(res.p_value),
                tr("campaign_review.col.pre_days"): res.n_pre_days,
            }
        )
    report.show(pd.DataFrame(rows), formats={tr("campaign_review.col.rel_lift"): "signed_pct"})
    if r.impact.reason:
        report.say("campaign_review.cf_flagged", reason=r.impact.reason)
    fits = [res for res in (r.impact, r.impact_revenue) if res is not None and res.reason is None]
    if any(res.drift_from_prior for res in fits):
        report.say("campaign_review.cf_drift_from_prior", days=r.impact.n_pre_days)
    if any(res.level_collapsed for res in fits):
        report.say("campaign_review.cf_level_collapsed")
    report.say(
        "campaign_review.cf_periods",
        pre_start=f"{r.impact.pre_period[0]:%Y-%m-%d}",
        pre_end=f"{r.impact.pre_period[1]:%Y-%m-%d}",
        days=r.impact.n_pre_days,
    )


def _show_did(report: Report, r: CampaignResult) -> None:
    tr = report.t
    rows = []
    for label, res in (("orders_per_user", r.did), ("revenue_per_user", r.did_revenue)):
        rows.append(
            {
                tr("campaign_review.col.metric"): tr(f"campaign_review.metric.{label}"),
                tr("campaign_review.col.effect"): (
                    f"{res.estimate:.4f} [{res.ci_lower:.4f}, {res.ci_upper:.4f}]"
                ),
                tr("campaign_review.col.p_value"): p_text(res.p_value),
                tr("campaign_review.col.pre_trend_p"): p_text(res.pre_trend_p_value),
                tr("campaign_review.col.clusters"): res.n_clusters,
            }
        )
    report.show(pd.DataFrame(rows))
    if r.did.pre_trend_detected:
        report.say("campaign_review.did_pretrend")


def _show_incremental(report: Report, r: CampaignResult) -> None:
    n = r.numbers
    if n.get("incremental_revenue") is None and n.get("incremental_conversions") is None:
        return
    lo, hi = n.get("iroi_ci") or [None, None]
    rlo, rhi = n.get("incremental_revenue_ci") or [None, None]
    clo, chi = n.get("incremental_conversions_ci") or [None, None]
    fields = {
        "conversions": fmt(n.get("incremental_conversions"), "dec1"),
        "conv_low": fmt(clo, "dec1"),
        "conv_high": fmt(chi, "dec1"),
        "revenue": fmt(n.get("incremental_revenue"), "money"),
        "rev_low": fmt(rlo, "money"),
        "rev_high": fmt(rhi, "money"),
    }
    if r.spend is None:
        report.say("campaign_review.incremental_nospend", **fields)
        report.say("campaign_review.no_spend")
        return
    report.say(
        "campaign_review.incremental",
        **fields,
        iroi=fmt(n.get("iroi"), "dec2"),
        low=fmt(lo, "dec2"),
        high=fmt(hi, "dec2"),
        spend=fmt(r.spend, "money"),
    )


def _show_assumptions(report: Report, method: str) -> None:
    items = report.t(f"campaign_review.assume.{method}").split("\n")
    display(
        HTML(
            "<ul class='ob-assumptions'>"
            + "".join(f"<li>{html.escape(i)}</li>" for i in items if i.strip())
            + "</ul>"
        )
    )


def incrementality_chart(report: Report, rv: CampaignReview):
    """Holdout: relative lift of each metric with its interval; counterfactual: actual vs
    predicted daily orders with the interval band and the cumulative effect."""
    r = rv.single
    if r is None:
        frame = rv.comparison().dropna(subset=["iroi"])
        if frame.empty:
            return None
        fig, ax = figure(8, 0.6 * len(frame) + 1.6)
        y = np.arange(len(frame))
        ax.errorbar(
            frame["iroi"], y,
            xerr=[(frame["iroi"] - frame["iroi_low"]).clip(lower=0).fillna(0),
                  (frame["iroi_high"] - frame["iroi"]).clip(lower=0).fillna(0)],
            fmt="o", color=PALETTE[0], capsize=4,
        )  # fmt: skip
        ax.axvline(1, color="#8c8c8c", lw=1, ls="--")
        roi_target = DEFAULT_TARGETS["roi"]
        ax.axvline(roi_target, color=STATUS_COLOURS["green"], lw=1, ls=":")
        ax.set_yticks(y, [f"{n}" for n in frame["name"]])
        ax.set_xlabel(report.t("campaign_review.chart.iroi"))
        ax.set_title(report.t("campaign_review.chart.iroi_title"))
        return fig
    if r.method == "holdout" and not r.lifts.empty:
        frame = r.lifts
        fig, ax = figure(8, 0.7 * len(frame) + 1.6)
        y = np.arange(len(frame))
        colours = [PALETTE[2] if s else PALETTE[7] for s in frame["significant"]]
        for i, row in enumerate(frame.itertuples()):
            if not np.isfinite(row.rel_low):
                continue
            ax.plot([row.rel_low, row.rel_high], [i, i], color=colours[i], lw=3)
            ax.plot(row.rel_lift, i, "o", color=colours[i])
        ax.axvline(0, color="#8c8c8c", lw=1)
        ax.set_yticks(y, [report.t(f"campaign_review.metric.{m}") if f"campaign_review.metric.{m}" in _keys() else m
                          for m in frame["metric"]])  # fmt: skip
        ax.xaxis.set_major_formatter(signed_percent_ticks())
        ax.set_title(report.t("campaign_review.chart.lift_title", name=r.name))
        return fig
    if r.impact is not None and r.impact.reason is None:
        d = r.impact.to_frame()
        fig, (top, bottom) = figure(9, 5.5, nrows=2, sharex=True)
        top.plot(
            d["date"],
            d["actual"],
            color=PALETTE[0],
            lw=1.4,
            label=report.t("campaign_review.chart.actual"),
        )
        top.plot(
            d["date"],
            d["predicted"],
            color=PALETTE[1],
            lw=1.2,
            ls="--",
            label=report.t("campaign_review.chart.predicted"),
        )
        top.fill_between(d["date"], d["lower"], d["upper"], color=PALETTE[1], alpha=0.15)
        # the start-up and the masked days have huge one-step intervals: scale to the data
        shown = pd.concat([d["actual"], d["predicted"]]).dropna()
        if not shown.empty:
            pad = 0.25 * max(float(shown.max() - shown.min()), 1.0)
            top.set_ylim(
                max(0.0, float(shown.min()) - pad)
                if shown.min() >= 0
                else float(shown.min()) - pad,
                float(shown.max()) + pad,
            )
        top.axvline(r.start, color="#8c8c8c", lw=1)
        top.legend(loc="upper left", fontsize=8)
        top.set_title(report.t("campaign_review.chart.cf_title", name=r.name))
        post = d[d["period"] == "post"]
        bottom.plot(post["date"], post["cumulative_effect"], color=PALETTE[2], lw=1.5)
        bottom.fill_between(
            post["date"],
            post["cumulative_lower"],
            post["cumulative_upper"],
            color=PALETTE[2],
            alpha=0.2,
        )
        bottom.axhline(0, color="#8c8c8c", lw=1)
        bottom.set_title(report.t("campaign_review.chart.cumulative"))
        fig.autofmt_xdate()
        return fig
    return None


def _keys() -> set[str]:
    from opsbook.i18n import catalogue as i18n_catalogue

    return set(i18n_catalogue())
