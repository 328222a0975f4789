"""The tables: row collectors of a block, Arrow columns, the contract's schemas and the
Parquet writers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from opsbook.sample.parameters import EVENTS, TOUCH_CHANNELS


class _Events:
    def __init__(self) -> None:
        self.parts: list[tuple[np.ndarray, ...]] = []

    def add(self, user, ts, code, content=None, campaign=None, channel=None) -> None:
        n = len(user)
        if n == 0:
            return

        def col(x):
            if x is None:
                return np.full(n, -1, dtype=np.int64)
            return np.broadcast_to(np.asarray(x, dtype=np.int64), (n,))

        self.parts.append(
            (
                np.asarray(user, dtype=np.int64),
                np.asarray(ts, dtype=np.int64),
                np.broadcast_to(np.int64(code), (n,)),
                col(content),
                col(campaign),
                col(channel),
            )
        )

    def arrays(self) -> tuple[np.ndarray, ...]:
        return tuple(np.concatenate([p[i] for p in self.parts]) for i in range(6))


class _Orders:
    def __init__(self) -> None:
        self.parts: list[tuple[np.ndarray, ...]] = []

    def add(self, user, ts, amount, status, campaign, row) -> None:
        n = len(user)
        if n == 0:
            return
        self.parts.append(
            (
                np.asarray(user, dtype=np.int64),
                np.asarray(ts, dtype=np.int64),
                np.asarray(amount, dtype=np.float64),
                np.broadcast_to(np.asarray(status, dtype=np.int64), (n,)),
                np.broadcast_to(np.asarray(campaign, dtype=np.int64), (n,)),
                np.asarray(row, dtype=np.int64),
            )
        )

    def arrays(self) -> tuple[np.ndarray, ...]:
        if not self.parts:
            return tuple(np.zeros(0, dtype=np.float64 if i == 2 else np.int64) for i in range(6))
        return tuple(np.concatenate([p[i] for p in self.parts]) for i in range(6))


def _ts(us: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(us, dtype=np.int64), type=pa.int64()).cast(
        pa.timestamp("us", tz="UTC")
    )


def _labels(codes: np.ndarray, names: tuple[str, ...], mask: np.ndarray | None = None):
    idx = pa.array(np.asarray(codes, dtype=np.int64), mask=mask)
    return pc.take(pa.array(list(names), type=pa.string()), idx)


def _events_table(user, ts, code, content, camp, ch) -> pa.Table:
    return pa.table(
        {
            "user_id": pa.array(user),
            "ts": _ts(ts),
            "event": _labels(code, EVENTS),
            "content_id": pa.array(content, mask=content < 0),
            "campaign_id": pa.array(camp, mask=camp < 0),
            "channel": _labels(np.maximum(ch, 0), TOUCH_CHANNELS, mask=ch < 0),
        }
    )


TS = pa.timestamp("us", tz="UTC")
SCHEMAS = {
    "users": pa.schema(
        [
            ("user_id", pa.int64()),
            ("signup_ts", TS),
            ("channel", pa.string()),
            ("region", pa.string()),
            ("device", pa.string()),
            ("city_tier", pa.string()),
        ]
    ),
    "events": pa.schema(
        [
            ("user_id", pa.int64()),
            ("ts", TS),
            ("event", pa.string()),
            ("content_id", pa.int64()),
            ("campaign_id", pa.int64()),
            ("channel", pa.string()),
        ]
    ),
    "orders": pa.schema(
        [
            ("order_id", pa.int64()),
            ("user_id", pa.int64()),
            ("ts", TS),
            ("amount", pa.float64()),
            ("status", pa.string()),
            ("campaign_id", pa.int64()),
            ("device_id", pa.int64()),
        ]
    ),
    "assignments": pa.schema(
        [("experiment", pa.string()), ("user_id", pa.int64()), ("variant", pa.string()), ("ts", TS)]
    ),
    "campaigns": pa.schema(
        [
            ("campaign_id", pa.int64()),
            ("name", pa.string()),
            ("channel", pa.string()),
            ("start_ts", TS),
            ("end_ts", TS),
            ("spend", pa.float64()),
            ("target_participants", pa.float64()),
            ("target_conversion", pa.float64()),
            ("target_roi", pa.float64()),
            ("target_k", pa.float64()),
        ]
    ),
    "campaign_members": pa.schema(
        [
            ("campaign_id", pa.int64()),
            ("user_id", pa.int64()),
            ("group", pa.string()),
            ("ts", TS),
            ("inviter_id", pa.int64()),
        ]
    ),
    "spend": pa.schema([("date", pa.date32()), ("channel", pa.string()), ("cost", pa.float64())]),
    "content": pa.schema(
        [
            ("content_id", pa.int64()),
            ("published_ts", TS),
            ("type", pa.string()),
            ("cost", pa.float64()),
        ]
    ),
}
WRITER_OPTIONS: dict[str, Any] = {
    "compression": "zstd",
    "compression_level": 3,
    "use_dictionary": True,
    "write_statistics": True,
    "version": "2.6",
}


def _writer(path: Path, name: str) -> pq.ParquetWriter:
    return pq.ParquetWriter(path / f"{name}.parquet", SCHEMAS[name], **WRITER_OPTIONS)


def _write_small(path: Path, name: str, table: pa.Table) -> None:
    with _writer(path, name) as w:
        w.write_table(table.cast(SCHEMAS[name]))
