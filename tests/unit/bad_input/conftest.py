"""A tiny shop in CSV files beside an ``opsbook.yml``, and the command run in-process, for the
bad-input suite: each case spoils one thing and checks the refusal (exit code, the message's
distinctive words, no traceback)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from opsbook.cli import main

USERS = (
    "user_id,signup_ts\nu1,2026-01-01 08:00:00\nu2,2026-01-02 09:00:00\nu3,2026-01-03 10:00:00\n"
)
ORDERS = (
    "order_id,user_id,ts,amount\n"
    "o1,u1,2026-01-05 10:00:00,12.5\n"
    "o2,u2,2026-01-06 11:00:00,30\n"
    "o3,u1,2026-01-07 12:00:00,7.25\n"
)
CONFIG = "data: {source: data}\ntimezone: UTC\nlang: en\n"


@dataclass
class Outcome:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


@dataclass
class Shop:
    root: Path
    capsys: pytest.CaptureFixture[str]

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def config(self) -> Path:
        return self.root / "opsbook.yml"

    def write_config(self, text: str) -> None:
        self.config.write_text(text, encoding="utf-8")

    def run(self, *args: str) -> Outcome:
        """``opsbook <args>`` in-process (with ``--config`` of this shop unless given)."""
        argv = list(args)
        if argv[0] in ("validate", "run") and "--config" not in argv:
            argv += ["--config", str(self.config)]
        self.capsys.readouterr()
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse's own refusals
            code = int(exc.code or 0)
        captured = self.capsys.readouterr()
        return Outcome(code, captured.out, captured.err)

    def refused(self, args: list[str], fragment: str, code: int = 1) -> Outcome:
        """Run ``args`` and check the refusal: exit ``code``, ``fragment`` in the message, no
        traceback anywhere."""
        outcome = self.run(*args)
        assert "Traceback" not in outcome.text, outcome.text
        assert fragment in outcome.err, outcome.err
        assert outcome.code == code, (outcome.code, outcome.text)
        return outcome


@pytest.fixture
def shop(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch) -> Shop:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OPSBOOK_ENGINE", raising=False)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "users.csv").write_text(USERS, encoding="utf-8")
    (tmp_path / "data" / "orders.csv").write_text(ORDERS, encoding="utf-8")
    (tmp_path / "opsbook.yml").write_text(CONFIG, encoding="utf-8")
    return Shop(tmp_path, capsys)
