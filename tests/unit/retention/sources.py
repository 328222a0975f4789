"""Hand-made sources for the retention tests: users, events and orders with known answers."""

import pandas as pd

from opsbook.config import load_config
from opsbook.data import open_source


def source_of(folder, users, events=None, orders=None, timezone="UTC", spend=None):
    """A source over ``folder`` holding the given tables; timestamps are UTC text."""
    folder.mkdir(parents=True, exist_ok=True)
    tables = {"users": users, "events": events, "orders": orders, "spend": spend}
    for name, rows in tables.items():
        if rows is None:
            continue
        frame = pd.DataFrame(rows)
        for column in ("ts", "signup_ts"):
            if column in frame.columns:
                frame[column] = pd.to_datetime(frame[column]).dt.tz_localize("UTC")
        frame.to_parquet(folder / f"{name}.parquet")
    config = load_config(data=str(folder), overrides={"timezone": timezone}, lang="en")
    return open_source(config)


def users_of(*rows):
    """rows: (user_id, signup UTC text[, channel])."""
    return [
        {"user_id": r[0], "signup_ts": r[1], "channel": r[2] if len(r) > 2 else "organic"}
        for r in rows
    ]


def events_of(*rows):
    """rows: (user_id, UTC text[, event])."""
    return [
        {"user_id": r[0], "ts": r[1], "event": r[2] if len(r) > 2 else "app_open"} for r in rows
    ]


def cells(result, value="retained"):
    """{(cohort, period): value} of the complete cells."""
    done = result.cells[result.cells["complete"]]
    return {(r.cohort, r.period): getattr(r, value) for r in done.itertuples()}
