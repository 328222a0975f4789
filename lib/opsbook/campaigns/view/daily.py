"""Campaign review, view: the days around the campaigns (participants, paid orders and revenue,
the campaign periods shaded, the anomalous days) and the quality of the users they acquired."""

from __future__ import annotations

import pandas as pd

from opsbook.campaigns.analysis.daily import campaign_days
from opsbook.campaigns.analysis.results import CampaignReview
from opsbook.campaigns.view.overview import _label
from opsbook.formats import STATUS_CLASS
from opsbook.plots import PALETTE, STATUS_COLOURS, figure
from opsbook.report import Report


def daily_chart(report: Report, rv: CampaignReview):
    """Daily participants, paid orders and revenue; campaign periods shaded, anomalies marked."""
    d = rv.daily
    if d.empty:
        return None
    fig, axes = figure(9, 7, nrows=3, sharex=True)
    series = (("participants", "campaign_review.chart.participants"),
              ("orders", "campaign_review.chart.orders"),
              ("revenue", "campaign_review.chart.revenue"))  # fmt: skip
    lo, hi = d["date"].min(), d["date"].max()
    periods = [
        (max(first, lo), min(last, hi))
        for first, last, _ in campaign_days(rv.catalogue, rv.timezone)
        if last >= lo and first <= hi
    ]
    for ax, (column, key) in zip(axes, series, strict=True):
        if column not in d.columns:
            continue
        ax.plot(d["date"], d[column], color=PALETTE[0], lw=1.3)
        ax.set_xlim(lo, hi)
        for first, last in periods:
            ax.axvspan(first, last, color=PALETTE[1], alpha=0.12, lw=0)
        flags = d[d["anomaly"]]
        if not flags.empty and column != "participants":
            ax.scatter(flags["date"], flags[column], color=STATUS_COLOURS["red"], zorder=3, s=30,
                       label=report.t("campaign_review.chart.anomaly"))  # fmt: skip
            ax.legend(loc="upper left", fontsize=8)
        ax.set_title(report.t(key))
    if rv.period is not None and rv.single is not None:
        base_start = rv.period[0] - pd.Timedelta(days=rv.settings.baseline_days)
        for ax in axes:
            ax.axvspan(base_start, rv.period[0], color="#8c8c8c", alpha=0.08, lw=0)
    fig.autofmt_xdate()
    return fig


def show_daily(report: Report, rv: CampaignReview) -> None:
    """Per-day means in the baseline period vs the campaign, and the anomalous days."""
    tr = report.t
    d = rv.daily
    if d.empty or rv.period is None:
        report.say("campaign_review.no_daily")
        return
    first, last = rv.period
    base = d[
        (d["date"] >= first - pd.Timedelta(days=rv.settings.baseline_days)) & (d["date"] < first)
    ]
    camp = d[(d["date"] >= first) & (d["date"] <= last)]
    if rv.single is not None:
        rows = []
        for column in ("participants", "orders", "revenue"):
            b, c = base[column].mean(), camp[column].mean()
            rows.append(
                {
                    tr("campaign_review.col.metric"): tr(f"campaign_review.chart.{column}"),
                    tr("campaign_review.col.baseline_mean"): b,
                    tr("campaign_review.col.campaign_mean"): c,
                    tr("campaign_review.col.change"): c / b - 1 if b else None,
                }
            )
        report.show(
            pd.DataFrame(rows),
            formats={tr("campaign_review.col.baseline_mean"): "float",
                     tr("campaign_review.col.campaign_mean"): "float",
                     tr("campaign_review.col.change"): "signed_pct"},
        )  # fmt: skip
        report.say("campaign_review.baseline_rule", days=rv.settings.baseline_days)
    anomalies = rv.anomalies
    if anomalies.empty:
        report.say("campaign_review.no_anomalies")
        return
    shown = pd.DataFrame(
        {
            tr("campaign_review.col.date"): anomalies["date"],
            tr("campaign_review.chart.orders"): anomalies["orders"],
            tr("campaign_review.col.baseline"): anomalies["baseline"],
            tr("campaign_review.chart.revenue"): anomalies["revenue"],
            tr("campaign_review.col.flag"): [
                tr(f"campaign_review.flag.{f or g}") for f, g in
                zip(anomalies["flag"], anomalies["revenue_flag"], strict=True)
            ],
        }
    )  # fmt: skip
    report.show(
        shown,
        formats={tr("campaign_review.chart.orders"): "int", tr("campaign_review.col.baseline"): "int",
                 tr("campaign_review.chart.revenue"): "money"},
        classes={tr("campaign_review.col.flag"): [STATUS_CLASS["red"]] * len(shown)},
    )  # fmt: skip
    report.say("campaign_review.anomalies_note", n=len(anomalies))


def show_quality(report: Report, rv: CampaignReview) -> None:
    """Retention and repeat purchase of acquired users vs organic users of the same weeks."""
    tr = report.t
    shown_any = False
    for r in rv.results:
        q = r.quality
        if q.empty:
            continue
        shown_any = True
        if rv.single is None:
            report.heading("campaign_review.campaign_heading", level=3, name=_label(r.name, r.key))
        frame = pd.DataFrame(
            {
                tr("campaign_review.col.group"): [tr(f"campaign_review.group.{g}") for g in q["group"]],
                tr("core.users"): q["users"],
                "D1": q.get("d1"),
                "D7": q.get("d7"),
                "D30": q.get("d30"),
                tr("campaign_review.col.first_order"): q["first_order_30d"],
                tr("campaign_review.col.buyers"): q["buyers"],
                tr("campaign_review.col.repeat"): q["repeat_purchase"],
            }
        )  # fmt: skip
        report.show(
            frame,
            formats={"D1": "pct", "D7": "pct", "D30": "pct",
                     tr("campaign_review.col.first_order"): "pct",
                     tr("campaign_review.col.repeat"): "pct"},
            min_cell=report.min_cell,
            count_columns=[tr("core.users")],
        )  # fmt: skip
        report.say(
            "campaign_review.quality_rule",
            start=f"{q.attrs['cohort_start']:%Y-%m-%d}",
            end=f"{q.attrs['cohort_end']:%Y-%m-%d}",
            repeat_end=f"{q.attrs['repeat_end']:%Y-%m-%d}",
        )
    if not shown_any:
        report.say("campaign_review.no_quality")
