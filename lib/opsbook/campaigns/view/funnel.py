"""Campaign review, view: which steps and channels worked -- the funnel's table and chart, the
channels' iROI (or order rate without a holdout), and the attribution's table and chart."""

from __future__ import annotations

import numpy as np
import pandas as pd

from opsbook.campaigns.analysis.channels import biggest_drop, channel_name, steps_of
from opsbook.campaigns.analysis.results import CampaignReview
from opsbook.formats import fmt, interval_text
from opsbook.plots import PALETTE, category_colours, figure
from opsbook.report import Report


def show_funnel(report: Report, rv: CampaignReview) -> None:
    """The funnel: each step's users, step conversion and overall conversion, total and by
    channel of first exposure (all campaigns: one total row per campaign)."""
    tr = report.t
    if all(r.funnel.empty for r in rv.results):
        report.say("campaign_review.no_funnel")
        return
    steps = next(steps_of(r.funnel) for r in rv.results if not r.funnel.empty)
    step_names = {s: tr(f"campaign_review.step.{s}") for s in steps}
    if rv.single is not None:
        f = rv.single.funnel
        total = f[f["channel"] == "__total__"].iloc[0]
        rows = []
        for i, step in enumerate(steps):
            rows.append(
                {
                    tr("campaign_review.col.step"): step_names[step],
                    tr("core.users"): int(total[step]),
                    tr("campaign_review.col.step_rate"): total.get(f"{step}_rate") if i else None,
                    tr("campaign_review.col.step_rate_ci"): interval_text(
                        total[f"{step}_rate_low"], total[f"{step}_rate_high"], "pct"
                    )
                    if i
                    else "",
                    tr("campaign_review.col.drop_off"): 1 - total[f"{step}_rate"] if i else None,
                    tr("campaign_review.col.overall"): total[f"{step}_overall"],
                }
            )
        report.show(
            pd.DataFrame(rows),
            formats={tr("campaign_review.col.step_rate"): "pct", tr("campaign_review.col.drop_off"): "pct",
                     tr("campaign_review.col.overall"): "pct"},
            min_cell=report.min_cell,
            count_columns=[tr("core.users")],
        )  # fmt: skip
        drop = biggest_drop(f)
        if drop is not None:
            report.say(
                "campaign_review.biggest_drop",
                step_from=step_names[drop[0]],
                step_to=step_names[drop[1]],
                share=fmt(drop[2], "pct"),
            )
        frames = [f]
        label_col = tr("campaign_review.col.channel")
    else:
        frames = [
            r.funnel[r.funnel["channel"] == "__total__"].assign(channel=r.name)
            for r in rv.results
            if not r.funnel.empty
        ]
        label_col = tr("campaign_review.col.campaign")
    wide = pd.concat(frames, ignore_index=True)
    if rv.single is not None:
        wide["channel"] = [
            tr("core.total") if c == "__total__" else channel_name(c, report.lang)
            for c in wide["channel"]
        ]
    columns = {"channel": label_col, **step_names}
    rates = {f"{s}_rate": tr("campaign_review.col.rate_of", step=step_names[s]) for s in steps[1:]}
    rates["overall"] = tr("campaign_review.col.overall")
    shown = wide[list(columns) + list(rates)].rename(columns={**columns, **rates})
    report.show(
        shown,
        formats={v: "pct" for v in rates.values()},
        min_cell=report.min_cell,
        count_columns=list(step_names.values()),
    )
    if rv.mode == "outcomes":
        report.say("campaign_review.funnel_rule_outcomes")
    else:
        report.say("campaign_review.funnel_rule", window=rv.settings.conversion_window_days)


def review_channels(rv: CampaignReview) -> set[str]:
    """Every channel the review's funnels and attribution hold (for one colour per channel)."""
    names = {str(c) for r in rv.results for c in r.funnel.get("channel", [])}
    names |= {str(c) for c in rv.attribution.get("channel", [])}
    return names - {"__total__"}


def funnel_chart(report: Report, rv: CampaignReview):
    """Users at each funnel step (log scale), one line per channel (all: per campaign); a
    channel has the same colour in every chart of the review."""
    if all(r.funnel.empty for r in rv.results):
        return None
    fig, ax = figure(8, 3.8)
    steps = next(steps_of(r.funnel) for r in rv.results if not r.funnel.empty)
    x = np.arange(len(steps))
    if rv.single is not None:
        parts = [(row["channel"], row) for _, row in rv.single.funnel.iterrows()]
    else:
        parts = [
            (r.name, r.funnel[r.funnel["channel"] == "__total__"].iloc[0])
            for r in rv.results
            if not r.funnel.empty
        ]
    colours = category_colours(
        review_channels(rv) if rv.single is not None else [p[0] for p in parts]
    )
    for label, row in parts:
        values = [max(float(row[s]), 0.0) for s in steps]
        if max(values) < report.min_cell:
            continue
        shown = [v if v >= report.min_cell else np.nan for v in values]
        total = label == "__total__"
        name = label if rv.single is None else channel_name(label, report.lang)
        ax.plot(
            x, shown, marker="o", lw=2.5 if total else 1.2,
            color="#333333" if total else colours[str(label)],
            label=report.t("core.total") if total else name,
        )  # fmt: skip
    ax.set_yscale("log")
    ax.set_xticks(x, [report.t(f"campaign_review.step.{s}") for s in steps])
    ax.set_ylabel(report.t("core.users"))
    ax.legend(fontsize=8, loc="upper right")
    ax.set_title(report.t("campaign_review.chart.funnel_title"))
    return fig


def show_channels(report: Report, rv: CampaignReview) -> None:
    """Per channel of first exposure: iROI against the holdout (or the order rate without one)."""
    r = rv.single
    if r is None or r.channels.empty:
        return
    tr = report.t
    frame = r.channels
    measure = frame["measure"].iloc[0]
    if measure == "iroi":
        shown = pd.DataFrame(
            {
                tr("campaign_review.col.channel"): [
                    channel_name(c, report.lang) for c in frame["channel"]
                ],
                tr("core.users"): frame["users"],
                tr("campaign_review.col.spend_share"): frame["spend_share"],
                tr("campaign_review.col.revenue_per_user"): frame["revenue_per_user"],
                tr("campaign_review.col.incremental_revenue"): frame["incremental_revenue"],
                tr("campaign_review.col.iroi"): frame["value"],
                tr("campaign_review.col.iroi_ci"): [
                    interval_text(lo, hi, "dec2")
                    for lo, hi in zip(frame["low"], frame["high"], strict=True)
                ],
            }
        )
        formats = {
            tr("campaign_review.col.spend_share"): "pct",
            tr("campaign_review.col.revenue_per_user"): "money",
            tr("campaign_review.col.incremental_revenue"): "money",
            tr("campaign_review.col.iroi"): "float",
        }
        report.say("campaign_review.channels_iroi")
    else:
        shown = pd.DataFrame(
            {
                tr("campaign_review.col.channel"): [
                    channel_name(c, report.lang) for c in frame["channel"]
                ],
                tr("core.users"): frame["users"],
                tr("campaign_review.col.order_rate"): frame["value"],
            }
        )
        formats = {tr("campaign_review.col.order_rate"): "pct"}
        report.say("campaign_review.channels_order_rate")
    report.show(shown, formats=formats, min_cell=report.min_cell, count_columns=[tr("core.users")])


MODELS = ("first_touch", "last_touch", "linear", "position_based", "time_decay", "markov")


def show_attribution_table(report: Report, table: pd.DataFrame) -> None:
    """Attributed conversions per channel (by its display name) under each model."""
    tr = report.t
    shown = table[["channel", "journeys", *MODELS]].rename(
        columns={"channel": tr("campaign_review.col.channel"), "journeys": tr("campaign_review.col.journeys"),
                 **{m: tr(f"campaign_review.model.{m}") for m in MODELS}}
    )  # fmt: skip
    shown[tr("campaign_review.col.channel")] = [
        channel_name(c, report.lang) for c in table["channel"]
    ]
    report.show(
        shown,
        formats={tr(f"campaign_review.model.{m}"): "dec1" for m in MODELS},
        min_cell=report.min_cell,
        count_columns=[tr("campaign_review.col.journeys")],
    )


def show_attribution(report: Report, rv: CampaignReview) -> None:
    """Attributed conversions per channel under each model, side by side."""
    table = rv.attribution
    if table.empty:
        report.say("campaign_review.no_attribution")
        return
    show_attribution_table(report, table)
    effects = table.attrs.get("removal_effects") or {}
    report.say(
        "campaign_review.attribution_rule",
        journeys=fmt(rv.paths["conversions"].sum() + rv.paths["nulls"].sum(), "int"),
        conversions=fmt(rv.paths["conversions"].sum(), "int"),
        window=rv.settings.conversion_window_days,
        half_life=f"{rv.settings.half_life:g}",
    )
    if effects:
        report.say(
            "campaign_review.removal_effects",
            effects=", ".join(
                f"{channel_name(c, report.lang)} {v:.1%}"
                for c, v in sorted(effects.items(), key=lambda x: -x[1])
            ),
        )


def attribution_chart(report: Report, rv: CampaignReview):
    """Grouped bars: attributed conversions per channel and model."""
    table = rv.attribution
    if table.empty:
        return None
    models = MODELS
    table = table[table["journeys"] >= report.min_cell]
    if table.empty:
        return None
    fig, ax = figure(9, 4)
    x = np.arange(len(table))
    width = 0.8 / len(models)
    for i, m in enumerate(models):
        ax.bar(x + (i - (len(models) - 1) / 2) * width, table[m].fillna(0), width,
               color=PALETTE[i % len(PALETTE)], label=report.t(f"campaign_review.model.{m}"))  # fmt: skip
    ax.set_xticks(x, [channel_name(c, report.lang) for c in table["channel"]])
    ax.set_ylabel(report.t("campaign_review.chart.conversions"))
    ax.legend(fontsize=8, ncols=6, loc="upper center", bbox_to_anchor=(0.5, -0.1), frameon=False)
    ax.set_title(report.t("campaign_review.chart.attribution_title"))
    return fig
