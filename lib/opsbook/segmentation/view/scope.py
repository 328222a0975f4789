"""Who was counted (as-of date, window, orders left out) and how customers score: score bins,
the 8-class thresholds, the R x F heatmap and the monetary distribution."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd

from opsbook.formats import count_text, fmt
from opsbook.plots import PALETTE, figure
from opsbook.report import Report
from opsbook.segmentation.analysis.segments import Segmentation


def show_scope(report: Report, result: Segmentation) -> None:
    """As-of date (and how it was chosen), window, definitions, and the orders left out."""
    s = result.settings
    zone = report.source.timezone
    if s.as_of_default:
        report.say(
            "segmentation.scope.as_of_default",
            as_of=s.as_of.isoformat(),
            last=(s.as_of - timedelta(days=1)).isoformat(),
            zone=zone,
        )
    else:
        report.say("segmentation.scope.as_of_given", as_of=s.as_of.isoformat(), zone=zone)
    if s.window_start is None:
        report.say("segmentation.scope.window_all", as_of=s.as_of.isoformat())
    else:
        report.say(
            "segmentation.scope.window",
            start=s.window_start.isoformat(),
            end=(s.as_of - timedelta(days=1)).isoformat(),
            days=s.lookback_days,
        )
    report.say(
        "segmentation.scope.definitions",
        frequency=report.t(f"segmentation.frequency.{s.frequency}"),
        monetary=report.t(f"segmentation.monetary.{s.monetary}"),
    )
    tr = report.t
    total = result.rfm.included_orders + sum(result.rfm.excluded.values())
    rows = [
        {
            "reason": tr(f"segmentation.excluded.{r}"),
            "orders": n,
            "share": n / total if total else None,
        }
        for r, n in [("included", result.rfm.included_orders), *result.rfm.excluded.items()]
    ]
    columns = {
        "reason": tr("segmentation.col.reason"),
        "orders": tr("segmentation.col.orders"),
        "share": tr("core.share"),
    }
    report.show(
        pd.DataFrame(rows).rename(columns=columns),
        formats={columns["orders"]: "int", columns["share"]: "pct"},
    )
    report.say(
        "segmentation.scope.customers",
        customers=fmt(result.customers, "int"),
        without=fmt(result.rfm.customers_without_paid_orders, "int"),
    )


def show_score_bins(report: Report, result: Segmentation) -> None:
    """Per score: customers and the value range of R, F and M that earned it."""
    m = result.members
    tr = report.t
    rows = []
    for score in range(result.settings.k, 0, -1):
        row: dict[str, Any] = {tr("segmentation.col.score"): score}
        for dim, col in (("recency", "r_score"), ("frequency", "f_score"), ("monetary", "m_score")):
            part = m.loc[m[col] == score, dim]
            label = tr(f"segmentation.dim.{dim}")
            n = len(part)
            row[f"{label} · {tr('segmentation.col.customers')}"] = n
            kind = "money" if dim == "monetary" else "int"
            row[f"{label} · {tr('segmentation.col.range')}"] = (
                f"{fmt(part.min(), kind)} – {fmt(part.max(), kind)}"
                if n >= report.min_cell
                else "—"
            )
        rows.append(row)
    frame = pd.DataFrame(rows)
    counts = [c for c in frame.columns if c.endswith(tr("segmentation.col.customers"))]
    shown = frame.copy()
    for c in counts:
        shown[c] = [count_text(v, report.min_cell) for v in frame[c]]
    report.show(shown)
    report.say("segmentation.scores.rule", k=result.settings.k)


def show_thresholds(report: Report, result: Segmentation) -> None:
    s = result.settings
    tr = report.t
    # values: days to one decimal (a recency of 51 days is below 51.3), orders to one, money
    # to cents; scores (basis "scores") to one decimal
    kinds = {"recency": "dec1", "frequency": "dec1", "monetary": "money"}
    rows = [
        {
            tr("segmentation.col.dimension"): tr(f"segmentation.dim.{dim}"),
            tr("segmentation.col.threshold"): (
                tr("segmentation.unit.days_value", n=fmt(value, "dec1"))
                if dim == "recency" and s.basis == "values"
                else fmt(value, kinds[dim] if s.basis == "values" else "dec1")
            ),
            tr("segmentation.col.high_when"): tr(f"segmentation.high_when.{dim}"),
        }
        for dim, value in result.thresholds.items()
    ]
    report.say(
        "segmentation.thresholds.intro",
        threshold=tr(f"segmentation.threshold.{s.threshold}"),
        basis=tr(f"segmentation.basis.{s.basis}"),
    )
    report.show(pd.DataFrame(rows))


def rf_grid(result: Segmentation) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Customers and mean monetary per (R score, F score), R from k (top) down to 1."""
    m = result.members
    k = result.settings.k
    scores = list(range(1, k + 1))
    counts = pd.crosstab(m["r_score"], m["f_score"]).reindex(
        index=scores[::-1], columns=scores, fill_value=0
    )
    means = (
        m.groupby(["r_score", "f_score"])["monetary"]
        .mean()
        .unstack()
        .reindex(index=scores[::-1], columns=scores)
    )
    return counts, means


def rf_heatmap(report: Report, result: Segmentation):
    """R x F scores: colour = customers, text = customers and mean monetary (small cells hidden)."""
    counts, means = rf_grid(result)
    k = result.settings.k
    shown = counts.astype(float).where(counts >= report.min_cell)
    fig, ax = figure(7.5, 5.5)
    masked = np.ma.masked_invalid(shown.to_numpy())
    image = ax.imshow(masked, cmap="Blues", aspect="auto")
    for i, r in enumerate(counts.index):
        for j, f in enumerate(counts.columns):
            n = int(counts.loc[r, f])
            if n == 0:
                continue
            if n < report.min_cell:
                text = f"<{report.min_cell}"
            else:
                text = f"{n:,}\n{report.t('segmentation.chart.m_short')} {means.loc[r, f]:,.0f}"
            dark = masked[i, j] is not np.ma.masked and masked[i, j] > 0.6 * (masked.max() or 1)
            ax.text(j, i, text, ha="center", va="center", fontsize=8,
                    color="white" if dark else "#222222")  # fmt: skip
    ax.set_xticks(range(k), [str(f) for f in counts.columns])
    ax.set_yticks(range(k), [str(r) for r in counts.index])
    xlabel = report.t("segmentation.chart.f_score")
    # a score nobody has: many customers share one value (most bought once), so the quantile
    # rule skips the scores above it -- said on the chart, not left as a blank column
    empty = [str(f) for f in counts.columns if counts[f].sum() == 0]
    empty_r = [str(r) for r in counts.index if counts.loc[r].sum() == 0]
    if empty or empty_r:
        xlabel += "\n" + report.t(
            "segmentation.chart.empty_scores",
            scores=", ".join([f"F {f}" for f in empty] + [f"R {r}" for r in empty_r]),
        )
    ax.set_xlabel(xlabel)
    ax.set_ylabel(report.t("segmentation.chart.r_score"))
    ax.grid(False)
    ax.set_title(report.t("segmentation.chart.rf_heatmap"))
    fig.colorbar(image, ax=ax, label=report.t("segmentation.col.customers"))
    return fig


def monetary_chart(report: Report, result: Segmentation):
    """Distribution of monetary on a log scale; bins under min_cell customers are not drawn."""
    x = result.members["monetary"].to_numpy(dtype="float64")
    x = x[x > 0]
    fig, ax = figure(8, 3.6)
    if len(x) == 0:
        ax.set_title(report.t("segmentation.chart.monetary"))
        return fig
    lo, hi = float(x.min()), float(x.max())
    bins = np.logspace(np.log10(lo), np.log10(hi if hi > lo else lo * 1.01), 40)
    n, edges = np.histogram(x, bins=bins)
    n = np.where(n < report.min_cell, 0, n)
    ax.bar(edges[:-1], n, width=np.diff(edges), align="edge", color=PALETTE[0], alpha=0.85)
    ax.set_xscale("log")
    for value, style, key in (
        (result.thresholds.get("monetary"), "--", "threshold_line"),
        (float(np.median(x)), ":", "median_line"),
    ):
        if value and result.settings.basis == "values" and np.isfinite(value):
            ax.axvline(
                value,
                ls=style,
                color="#444444",
                lw=1,
                label=report.t(f"segmentation.chart.{key}", value=f"{value:,.0f}"),
            )
    ax.set_xlabel(report.t(f"segmentation.chart.monetary_axis.{result.settings.monetary}"))
    ax.set_ylabel(report.t("segmentation.col.customers"))
    ax.set_title(report.t("segmentation.chart.monetary", min_cell=report.min_cell))
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    return fig
