"""The live display of `opsbook run`: estimates from earlier runs, the table's states on a
terminal (a fake console), nothing shown where standard output is not a terminal."""

import json
from io import StringIO
from pathlib import Path

from rich.console import Console

from opsbook import progress as pg
from opsbook.run import ReportOutcome


def write_run(out: Path, run_id: str, reports: dict) -> None:
    (out / run_id).mkdir(parents=True)
    (out / run_id / "manifest.json").write_text(json.dumps({"reports": reports}))


def entry(status: str, seconds: float) -> dict:
    return {"status": status, "duration_seconds": seconds}


def test_estimates_come_from_the_newest_run_where_the_report_succeeded(tmp_path):
    write_run(
        tmp_path, "20261101T080000Z-aaaa", {"alpha": entry("ok", 30.0), "beta": entry("ok", 7.5)}
    )
    write_run(
        tmp_path,
        "20261102T080000Z-bbbb",
        {"alpha": entry("ok", 12.0), "beta": entry("failed", 1.0)},
    )
    (tmp_path / "20261103T080000Z-cccc").mkdir()  # a run without a manifest: skipped
    (tmp_path / "20261103T080000Z-cccc" / "manifest.json").write_text("{not json")
    (tmp_path / "latest").symlink_to("20261102T080000Z-bbbb")  # the link is not a run of its own
    got = pg.previous_durations(tmp_path, ["alpha", "beta", "gamma"])
    assert got == {"alpha": 12.0, "beta": 7.5}  # gamma never ran: no estimate


def test_seconds_text():
    assert [pg.seconds_text(s) for s in (0.4, 42.4, 59.6, 187.0)] == ["0 s", "42 s", "1:00", "3:07"]


def rendered(display: pg.TerminalProgress) -> str:
    screen = Console(file=StringIO(), force_terminal=True, width=120, color_system=None)
    screen.print(display.table())
    return screen.file.getvalue()


def rows(text: str) -> dict[str, str]:
    """The table's rows by report name (its first cell)."""
    cells = [line.strip("│ ").split() for line in text.splitlines()]
    return {c[0]: line for c, line in zip(cells, text.splitlines(), strict=True) if c}


def outcome(name: str, status: str, seconds: float, error: str | None = None) -> ReportOutcome:
    return ReportOutcome(name, name, {}, status=status, duration_seconds=seconds, error=error)


def test_terminal_table_shows_each_report_state_and_the_last_runs_time(tmp_path):
    write_run(
        tmp_path, "20261101T080000Z-aaaa", {"alpha": entry("ok", 25.0), "beta": entry("ok", 200.0)}
    )
    console = Console(file=StringIO(), force_terminal=True, width=120, color_system=None)
    display = pg.TerminalProgress(console, "en")
    display.begin(["alpha", "beta", "boom", "delta"], tmp_path)
    try:
        display.started("alpha")
        display.started("beta")
        display.started("boom")
        display.finished(outcome("alpha", "ok", 21.2))
        display.finished(outcome("boom", "failed", 3.0, "boom went the notebook"))
        lines = rows(rendered(display))
    finally:
        display.end()
    assert "done" in lines["alpha"] and "21 s" in lines["alpha"] and "about 25 s" in lines["alpha"]
    assert "running" in lines["beta"] and "about 3:20" in lines["beta"]
    assert "failed - boom went the notebook" in lines["boom"]
    assert "waiting" in lines["delta"] and "—" in lines["delta"]  # never ran before: no estimate
    # the live display drew on the terminal and left its last table there
    shown = console.file.getvalue()
    assert "2 of 4 reports finished (1 failed)" in shown and "Reports of this run" in shown


def test_terminal_table_in_chinese(tmp_path):
    display = pg.TerminalProgress(Console(file=StringIO(), force_terminal=True), "zh")
    display.begin(["alpha"], tmp_path / "absent")  # no earlier runs at all
    display.started("alpha")
    display.end()
    text = rendered(display)
    assert "运行中" in text and "上次用时" in text and "已结束 0 个" in text


def test_no_live_display_when_the_output_is_not_a_terminal(monkeypatch):
    monkeypatch.setattr("sys.stdout", StringIO())
    assert pg.terminal_progress("en") is None
