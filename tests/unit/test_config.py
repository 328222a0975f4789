from pathlib import Path

import pytest

from opsbook.config import deep_merge, find_config, load_config


def test_defaults_without_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = load_config()
    assert cfg.path is None
    assert cfg.timezone == "Asia/Shanghai"
    assert cfg.lang == "zh"
    assert cfg.min_cell == 10
    assert cfg.source == str(tmp_path / "data" / "sample")


def test_file_found_in_a_parent_and_paths_relative_to_it(tmp_path, monkeypatch):
    (tmp_path / "opsbook.yml").write_text("data: {source: mydata}\nlang: en\n")
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")
    assert find_config() == tmp_path / "opsbook.yml"
    cfg = load_config()
    assert cfg.source == str(tmp_path / "mydata")
    assert cfg.lang == "en"
    assert cfg.report_defaults("data_quality") == {"accuracy_threshold": 0.95}


def test_overrides_data_and_lang_win(tmp_path, monkeypatch):
    (tmp_path / "opsbook.yml").write_text(
        "timezone: UTC\nreports: {data_quality: {accuracy_threshold: 0.9}}\n"
    )
    monkeypatch.chdir(tmp_path)
    cfg = load_config(data="elsewhere", lang="en", overrides={"privacy": {"min_cell": 5}})
    assert cfg.timezone == "UTC"
    assert cfg.source == str(tmp_path / "elsewhere")
    assert cfg.lang == "en"
    assert cfg.min_cell == 5
    assert cfg.report_defaults("data_quality")["accuracy_threshold"] == 0.9
    assert load_config(data="duckdb://x.duckdb").source == "duckdb://x.duckdb"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("lang: fr\n", "setting lang: expected one of zh, en, found .fr."),
        ("timezone: Mars/Olympus\n", "Mars/Olympus"),
        ("- a\n", "mapping"),
    ],
)
def test_bad_config_is_refused(tmp_path, text, message):
    path = tmp_path / "c.yml"
    path.write_text(text)
    with pytest.raises(Exception, match=message):
        load_config(path)


def test_missing_config_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.yml"):
        load_config(tmp_path / "nope.yml")


def test_deep_merge_keeps_sibling_keys():
    assert deep_merge({"a": {"b": 1, "c": 2}}, {"a": {"c": 3}}) == {"a": {"b": 1, "c": 3}}


def test_repository_config_is_valid(repo_root: Path):
    cfg = load_config(repo_root / "opsbook.yml")
    assert cfg.source.endswith("data/sample")
