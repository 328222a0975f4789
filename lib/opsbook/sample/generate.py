"""The entry point: ``generate_sample`` writes the tables block by block and ``truth.json``;
``main`` is its command line.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
import pyarrow as pa

from opsbook.sample.block import _block
from opsbook.sample.brushing import ABUSER, RING, brushing_truth
from opsbook.sample.campaigns import _campaigns
from opsbook.sample.journey import _behaviour_truth
from opsbook.sample.kpi_system import kpi_system_tables
from opsbook.sample.lifetime import _user_insight_truth
from opsbook.sample.parameters import BLOCK, CONTENT_TYPES, STATUSES
from opsbook.sample.plan import _plan
from opsbook.sample.spend import _spend
from opsbook.sample.tables import SCHEMAS, _labels, _ts, _write_small, _writer
from opsbook.sample.truth import _new_stats, _truth

PLANTED_KEYS = ("ring_orders", "ring_users", "ring_devices", "abuser_orders", "abuser_users")


def _note_planted(planted: dict[str, list[int]], ids: np.ndarray, orders: dict) -> None:
    """Add a block's planted orders (their ``ids`` as written), users and ring devices."""
    for kind, name in ((RING, "ring"), (ABUSER, "abuser")):
        mine = orders["kind"] == kind
        planted[f"{name}_orders"] += ids[mine].tolist()
        planted[f"{name}_users"] += np.unique(orders["user"][mine]).tolist()
    planted["ring_devices"] += np.unique(orders["device"][orders["kind"] == RING]).tolist()


def generate_sample(
    out: str | Path,
    users: int = 20_000,
    days: int = 180,
    seed: int = 7,
    end: str = "2026-10-31",
    *,
    chunk_size: int = 20_000,
) -> Path:
    """Write the sample shop's tables and ``truth.json`` to the folder ``out``; return it.

    ``users`` users sign up during the ``days`` days ending on ``end`` (inclusive, Asia/Shanghai
    calendar). The same arguments always give byte-identical files. ``chunk_size`` (users
    written per batch, rounded to whole blocks of ``BLOCK`` users) bounds the memory used and does
    not change the data.
    """
    plan = _plan(users, days, seed, end)
    path = Path(out)
    path.mkdir(parents=True, exist_ok=True)
    stats = _new_stats(plan)
    n_blocks = math.ceil(users / BLOCK)
    per_chunk = max(1, round(chunk_size / BLOCK))
    streamed = ("users", "events", "orders", "assignments", "campaign_members")
    writers = {name: _writer(path, name) for name in streamed}
    next_order_id = 1
    planted: dict[str, list[int]] = {key: [] for key in PLANTED_KEYS}
    try:
        for c0 in range(0, n_blocks, per_chunk):
            parts: dict[str, list] = {name: [] for name in streamed}
            for b in range(c0, min(c0 + per_chunk, n_blocks)):
                n = min(BLOCK, users - b * BLOCK)
                res = _block(plan, b, n, b * BLOCK + 1, stats)
                o = res["orders"]
                ids = np.arange(len(o["user"]), dtype=np.int64) + next_order_id
                next_order_id += len(ids)
                res["orders"] = pa.table(
                    {
                        "order_id": pa.array(ids),
                        "user_id": pa.array(o["user"]),
                        "ts": _ts(o["ts"]),
                        "amount": pa.array(o["amount"]),
                        "status": _labels(o["status"], STATUSES),
                        "campaign_id": pa.array(o["campaign"], mask=o["campaign"] < 0),
                        "device_id": pa.array(o["device"]),
                    }
                )
                _note_planted(planted, ids, o)
                for name in streamed:
                    parts[name].append(res[name])
            for name in streamed:
                table = pa.concat_tables(parts[name]).cast(SCHEMAS[name])
                writers[name].write_table(table)
            del parts
    finally:
        for w in writers.values():
            w.close()

    spend_table, channel_truth = _spend(plan, stats)
    _write_small(path, "spend", spend_table)
    campaigns_table, campaign_truth = _campaigns(plan, stats)
    _write_small(path, "campaigns", campaigns_table)
    _write_small(
        path,
        "content",
        pa.table(
            {
                "content_id": pa.array(np.arange(len(plan.content_pub), dtype=np.int64) + 1),
                "published_ts": _ts(plan.content_pub),
                "type": _labels(plan.content_type, CONTENT_TYPES),
                "cost": pa.array(plan.content_cost),
            }
        ),
    )
    truth = _truth(plan, stats, channel_truth, campaign_truth)
    truth["behaviour"] = _behaviour_truth(plan, stats)
    truth["user_insight"] = _user_insight_truth(stats)
    truth["kpi_system"] = kpi_system_tables(path, plan)
    truth["brushing"] = brushing_truth(plan, planted)
    text = json.dumps(truth, sort_keys=True, indent=2, allow_nan=False, ensure_ascii=False)
    (path / "truth.json").write_text(text + "\n", encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Generate the opsbook sample data set.")
    parser.add_argument("out")
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--end", default="2026-10-31")
    args = parser.parse_args(argv)
    print(generate_sample(args.out, args.users, args.days, args.seed, args.end))
