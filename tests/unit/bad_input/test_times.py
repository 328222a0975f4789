"""Text timestamps are read at their true instant: an offset or a zone name in the text is
honoured whatever else the column holds; a value that does not parse is null and counted by
validation (timestamp_parseable), never a neighbour shifted by the zone's offset."""

from __future__ import annotations

from datetime import datetime

import pytest

from opsbook.config import load_config
from opsbook.data import open_source
from opsbook.validation import validate

from .conftest import Shop

UTC_INSTANT = datetime(2026, 5, 5, 0, 40, 53)


@pytest.mark.parametrize(
    ("stamps", "expected", "unparsed"),
    [
        # every row with an offset (the reader sees a zoned column)
        (["2026-05-05T08:40:53+08:00", "2026-05-04T20:40:53-04:00"], [UTC_INSTANT] * 2, 0),
        # one bad value makes the column text: the others are still read at their instant
        (
            ["2026-05-05T08:40:53+08:00", "n/a", "2026-05-05T00:40:53Z"],
            [UTC_INSTANT, None, UTC_INSTANT],
            1,
        ),
        # a zone name
        (["2026-05-05 08:40:53 Asia/Shanghai", "n/a"], [UTC_INSTANT, None], 1),
        # offsets and naive text mixed: naive text is UTC (the contract's convention)
        (
            ["2026-05-05T08:40:53+08:00", "2026-05-05 00:40:53", "soon"],
            [UTC_INSTANT, UTC_INSTANT, None],
            1,
        ),
    ],
)
def test_text_timestamps_are_read_at_their_instant(shop: Shop, stamps, expected, unparsed):
    lines = [f"o{i},u1,{ts},1" for i, ts in enumerate(stamps)]
    (shop.data / "orders.csv").write_text(
        "order_id,user_id,ts,amount\n" + "\n".join(lines) + "\n", encoding="utf-8"
    )
    source = open_source(load_config(shop.config))
    got = source.table("orders").order_by("order_id").ts.execute().tolist()
    assert [None if v is None or v != v else v.to_pydatetime() for v in got] == expected
    findings = [f for f in validate(source).findings if f.rule == "timestamp_parseable"]
    assert sum(f.rows for f in findings) == unparsed


def test_a_column_that_parses_nowhere_is_named_with_an_example(shop: Shop):
    (shop.data / "orders.csv").write_text(
        "order_id,user_id,ts,amount\no1,u1,yesterday,1\no2,u2,2026-01-05 10:00:00,2\n",
        encoding="utf-8",
    )
    outcome = shop.run("validate")
    assert outcome.code == 1 and "Traceback" not in outcome.text
    assert "orders.ts: rule timestamp_parseable" in outcome.err
    assert "1 of 2 rows" in outcome.err
