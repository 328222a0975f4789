"""The data-quality report's engine steps: rows per local day of a table and a table's newest
timestamp, counted where the data live (the rest of the report reads the validation, which has
run its own queries)."""

from __future__ import annotations

import pandas as pd

from opsbook.contract import TABLES
from opsbook.data import Source


def daily_counts(source: Source, name: str) -> pd.Series | None:
    """Rows per local day (in the configured zone) of table ``name`` by its time column, indexed
    by day; None when the table has no time column."""
    column = TABLES[name].time_column
    table = source.table(name)
    if column not in table.columns:
        return None
    dated = table.filter(table[column].notnull())
    return (
        dated.group_by(day=source.local_date(dated[column]))
        .aggregate(n=dated.count())
        .execute()
        .set_index("day")["n"]
    )


def newest(source: Source, name: str) -> pd.Timestamp | None:
    """The newest value (naive UTC) of table ``name``'s time column; None when it has none."""
    column = TABLES[name].time_column
    if not column or column not in source.table(name).columns:
        return None
    return source.latest(name, column)
