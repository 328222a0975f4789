"""The behaviour view's computations: the Sankey layout (heights are users, bands add up to
their boxes, one scale), and the default funnel on data that lack some step's event (zeros,
not a crash) against a configured funnel's refusal in the reader's language."""

from __future__ import annotations

from itertools import pairwise

import pandas as pd
import pytest

from opsbook.behaviour.analysis.behaviour import behaviour, check_event_names
from opsbook.behaviour.analysis.funnel import lenient_funnel_analysis, present_part
from opsbook.behaviour.queries.paths import END
from opsbook.behaviour.queries.steps import Funnel
from opsbook.behaviour.view.sankey import sankey_layout
from opsbook.errors import InputError, use_lang
from tests.unit.behaviour.logs import log_source


def test_sankey_layout_heights_are_users_and_bands_add_up():
    nodes = pd.DataFrame({"step": [0, 1, 1], "event": ["a", "b", "c"], "users": [100, 60, 30]})
    links = pd.DataFrame(
        {
            "step": [0, 0, 0],
            "source": ["a", "a", "a"],
            "target": ["b", "c", END],
            "users": [60, 30, 10],
        }
    )
    boxes, bands = sankey_layout(nodes, links, gap=0.05)
    box = {(b.column, b.event): b for b in boxes}
    assert set(box) == {(0, "a"), (1, "b"), (1, "c"), (1, END)}
    scale = (box[(0, "a")].bottom - box[(0, "a")].top) / 100
    assert scale == pytest.approx((1 - 0.05 * 2) / 100)  # the tallest column: 3 boxes, 2 gaps
    for b in boxes:
        assert b.bottom - b.top == pytest.approx(b.users * scale)
    # the end of the path comes last in its column, after the busiest node
    assert box[(1, "b")].top < box[(1, "c")].top < box[(1, END)].top
    # the bands leave "a" side by side, covering it exactly, and fill each target box
    spans = sorted(band.source_span for band in bands)
    assert spans[0][0] == pytest.approx(box[(0, "a")].top)
    assert spans[-1][1] == pytest.approx(box[(0, "a")].bottom)
    assert all(a[1] == pytest.approx(b[0]) for a, b in pairwise(spans))
    for band in bands:
        target = box[(1, band.target)]
        assert band.target_span == pytest.approx((target.top, target.bottom))


def test_sankey_layout_of_no_paths_is_empty():
    empty = pd.DataFrame(columns=["step", "event", "users"])
    links = pd.DataFrame(columns=["step", "source", "target", "users"])
    assert sankey_layout(empty, links) == ([], [])


ROWS = [(1, 0, "a"), (1, 5, "b"), (2, 0, "a"), (2, 5, "b"), (3, 0, "a"), (1, 9, "c")]


def test_present_part_cuts_an_ordered_funnel_at_its_first_absent_event():
    funnel = Funnel(("a", "b", "zz", "c"), exclusions=({"event": "c", "from_step": 0},))
    part, missing = present_part(funnel, {"a", "b", "c"})
    assert part.names == ("a", "b") and missing == ("zz",)
    assert [(x.from_step, x.to_step) for x in part.exclusions] == [(0, 1)]
    unordered, _ = present_part(Funnel(("zz", "a", "b"), order="any"), {"a", "b"})
    assert unordered.names == ("a", "b")
    assert present_part(Funnel(("zz", "a")), {"a"}) == (None, ("zz",))


def test_a_step_the_data_lack_gives_zeros_and_is_no_drop_off(tmp_path):
    source = log_source(tmp_path, ROWS)
    result = lenient_funnel_analysis(source, Funnel(("a", "b", "checkout", "c"), name="f"))
    assert result.steps["users"].tolist() == [3, 2, 0, 0]
    assert result.missing == ("checkout",)
    assert result.biggest_drop()["to"] == "b"  # not the step nobody could do
    assert result.median_time_to_convert_s is None  # nobody reached the last step
    nothing = lenient_funnel_analysis(source, Funnel(("checkout", "a")))
    assert nothing.steps["users"].tolist() == [0, 0] and nothing.biggest_drop() is None


def test_a_configured_unknown_event_is_refused_in_the_readers_language(tmp_path):
    source = log_source(tmp_path, ROWS)
    use_lang("zh")  # as report.start does in a zh run's kernel
    with pytest.raises(InputError) as zh:
        behaviour(source, funnels=[{"steps": ["a", "bb"]}])
    assert "“bb”" in str(zh.value) and "是否想写“b”" in str(zh.value)
    assert "a, b, c" in str(zh.value)
    use_lang("en")
    with pytest.raises(InputError, match="did you mean “b”"):
        check_event_names(source, ["a", "bb"])


def test_one_step_funnel_and_no_users_table(tmp_path):
    from tests.unit.retention.sources import source_of

    events = [{"user_id": u, "ts": "2026-03-02 08:00:00", "event": e} for u, _, e in ROWS]
    source = source_of(tmp_path, None, events)
    result = behaviour(source, funnels=[{"name": "one", "steps": ["a"]}])
    assert result.main.steps["users"].tolist() == [3]
    assert result.actions is None and not result.has_users
    assert result.main.biggest_drop() is None and result.dropoff is None
    assert result.metrics()["key_actions"] is None
