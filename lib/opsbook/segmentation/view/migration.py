"""Migration matrices: who moved between tiers and segments since the earlier date."""

from __future__ import annotations

import html
from typing import Literal

from IPython.display import HTML, display

from opsbook.formats import callout_html, count_text
from opsbook.report import Report
from opsbook.segmentation.analysis.migration import NONE, Migration
from opsbook.segmentation.analysis.segments import TIER_RANK
from opsbook.segmentation.view.groups import _name


def _matrix_html(report: Report, mig: Migration, kind: Literal["tier", "segment"]) -> str:
    """Counts and row shares in one table; small cells "<min_cell"; up/down coloured for tiers."""
    counts = mig.counts(kind)
    shares = mig.shares(kind)
    if counts[NONE].sum() == 0:  # nobody left the window (e.g. all history): no empty column
        counts, shares = counts.drop(columns=NONE), shares.drop(columns=NONE)
    name_kind = "tier" if kind == "tier" else "seg"
    label = {v: _name(report, name_kind, v) for v in counts.index if v != NONE}
    label[NONE] = report.t("segmentation.migration.none_before")
    after_label = dict(label, **{NONE: report.t("segmentation.migration.none_after")})
    tr = report.t
    head = f"<th>{html.escape(tr('segmentation.migration.corner'))}</th>" + "".join(
        f"<th>{html.escape(after_label[c])}</th>" for c in counts.columns
    )
    head += f"<th>{html.escape(tr('core.total'))}</th>"
    body = []
    for before in counts.index:
        total = int(counts.loc[before].sum())
        if total == 0:
            continue
        cells = [f"<th>{html.escape(label[before])}</th>"]
        for after in counts.columns:
            n = int(counts.loc[before, after])
            css = ""
            if kind == "tier" and NONE not in (before, after) and n:
                diff = TIER_RANK[after] - TIER_RANK[before]
                css = "ob-up" if diff > 0 else "ob-down" if diff < 0 else ""
            if n == 0:
                text = "·"
            elif n < report.min_cell:
                text = f"<{report.min_cell}"
            else:
                text = f"{n:,} ({shares.loc[before, after]:.0%})"
            attr = f' class="{css}"' if css else ""
            cells.append(f"<td{attr}>{html.escape(text)}</td>")
        cells.append(f"<td>{html.escape(count_text(total, report.min_cell))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f'<table class="ob-table"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def show_migration(report: Report, mig: Migration) -> None:
    report.say(
        "segmentation.migration.intro",
        compare_to=mig.compare_to.isoformat(),
        as_of=mig.as_of.isoformat(),
    )
    report.heading("segmentation.migration.tiers", level=3)
    display(HTML(_matrix_html(report, mig, "tier")))
    report.say(
        "segmentation.migration.summary",
        up=count_text(mig.upgrades, report.min_cell),
        down=count_text(mig.downgrades, report.min_cell),
        new=count_text(int((mig.pairs.tier_before == NONE).sum()), report.min_cell),
    )
    fell = mig.fell_out_of_high_value
    if fell:
        dest = mig.fell_out_by_destination()
        parts = ", ".join(
            f"{_name(report, 'tier', t) if t != NONE else report.t('segmentation.migration.none_after')}"
            f" {count_text(int(n), report.min_cell)}"
            for t, n in dest.items()
            if n
        )
        display(
            HTML(
                callout_html(
                    report.t(
                        "segmentation.migration.fell_out",
                        n=count_text(fell, report.min_cell),
                        where=parts,
                    ),
                    "red",
                )
            )
        )
    else:
        report.say("segmentation.migration.none_fell")
    report.heading("segmentation.migration.segments", level=3)
    display(HTML(_matrix_html(report, mig, "segment")))
