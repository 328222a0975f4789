"""Configs people write: YAML slips, misspelt keys, sections of the wrong shape, values of the
wrong type. Each is refused with the file, the setting, what it takes and what was found."""

from __future__ import annotations

import pytest

from .conftest import Shop

BASE = "data: {source: data}\nlang: en\n"

# the config text (after BASE unless it starts with "!"), and the words of the refusal
CONFIGS = {
    # YAML itself
    "unclosed bracket": ("!data: {source: data\nlang: en\n", "is not valid YAML at line"),
    "tab indentation": ("!data:\n\tsource: data\nlang: en\n", "is not valid YAML"),
    "bad indentation": ("!data:\n  source: data\n tables: {}\n", "is not valid YAML"),
    "unclosed quote": ("!lang: 'en\n", "is not valid YAML"),
    "duplicate colon": ("!lang: en: zh\n", "is not valid YAML"),
    "a list at the top": ("!- data\n- lang\n", "setting (top level): expected a mapping"),
    "a scalar at the top": ("!just text\n", "setting (top level): expected a mapping"),
    "not utf-8": ("!GBK", "is not UTF-8 text"),
    # unknown keys
    "timezne": ("timezne: UTC\n", "unknown setting timezne; did you mean timezone?"),
    "langauge": ("langauge: en\n", "unknown setting langauge"),
    "reprots": ("reprots: {}\n", "did you mean reports?"),
    "privacy.min_cel": (
        "privacy: {min_cel: 5}\n",
        "unknown setting privacy.min_cel; did you mean privacy.min_cell"[:45],
    ),
    "engine.thread": ("engine: {thread: 2}\n", "did you mean threads?"),
    "run.worker": ("run: {worker: 2}\n", "did you mean workers?"),
    "checks.future_tolerance": (
        "checks: {future_tolerance: 2}\n",
        "did you mean future_tolerance_hours?",
    ),
    "data.sources": ("!data: {sources: data}\nlang: en\n", "did you mean source?"),
    "data.table": ("!data: {source: data, table: {}}\nlang: en\n", "did you mean tables?"),
    "mapping key renme": (
        "!data: {source: data, tables: {orders: {renme: {a: b}}}}\nlang: en\n",
        "unknown setting data.tables.orders.renme; did you mean rename?",
    ),
    "mapping key filters": (
        "!data: {source: data, tables: {orders: {filters: {a: 'amount > 0'}}}}\nlang: en\n",
        "did you mean filter?",
    ),
    "aggregate key": (
        "!data: {source: data, tables: {orders: {aggregate: {group: [order_id]}}}}\nlang: en\n",
        "unknown setting data.tables.orders.aggregate.group",
    ),
    # sections of the wrong shape
    "data as text": (
        "!data: data/sample\nlang: en\n",
        "setting data: expected a mapping of source, tables",
    ),
    "data as list": ("!data: [data]\nlang: en\n", "setting data: expected a mapping"),
    "engine as text": ("engine: duckdb\n", "setting engine: expected a mapping of backend"),
    "engine as list": ("engine: [duckdb]\n", "setting engine: expected a mapping"),
    "tables as list": (
        "!data: {source: data, tables: [orders]}\nlang: en\n",
        "setting data.tables: expected a mapping of table names",
    ),
    "table as text": (
        "!data: {source: data, tables: {orders: orders.csv}}\nlang: en\n",
        "setting data.tables: expected a mapping of table names",
    ),
    "reports as list": (
        "reports: [retention]\n",
        "setting reports: expected a mapping of report names",
    ),
    "report as number": (
        "reports: {retention: 8}\n",
        "setting reports: expected a mapping of report names",
    ),
    "privacy as number": ("privacy: 10\n", "setting privacy: expected a mapping of min_cell"),
    "run as text": ("run: fast\n", "setting run: expected a mapping"),
    "checks as list": ("checks: [1]\n", "setting checks: expected a mapping"),
    "spark as list": ("engine: {spark: [a]}\n", "setting engine.spark: expected a mapping"),
    "rename as list": (
        "!data: {source: data, tables: {orders: {rename: [a, b]}}}\nlang: en\n",
        "setting data.tables.orders.rename: expected a mapping of export column names",
    ),
    "rename to a number": (
        "!data: {source: data, tables: {orders: {rename: {a: 3}}}}\nlang: en\n",
        "setting data.tables.orders.rename",
    ),
    "derive as text": (
        "!data: {source: data, tables: {orders: {derive: 'amount * 2'}}}\nlang: en\n",
        "setting data.tables.orders.derive: expected a mapping of names to expressions",
    ),
    "derive to a list": (
        "!data: {source: data, tables: {orders: {derive: {x: [1, 2]}}}}\nlang: en\n",
        "setting data.tables.orders.derive",
    ),
    "filter as number": (
        "!data: {source: data, tables: {orders: {filter: {f: {a: 1}}}}}\nlang: en\n",
        "setting data.tables.orders.filter",
    ),
    "file as list": (
        "!data: {source: data, tables: {orders: {file: [a.csv]}}}\nlang: en\n",
        "setting data.tables.orders.file: expected non-empty text",
    ),
    "aggregate as list": (
        "!data: {source: data, tables: {orders: {aggregate: [a]}}}\nlang: en\n",
        "setting data.tables.orders.aggregate: expected a mapping",
    ),
    "read as text": (
        "!data: {source: data, tables: {orders: {read: ';'}}}\nlang: en\n",
        "setting data.tables.orders.read: expected a mapping",
    ),
    # values of the wrong type
    "min_cell text": (
        "privacy: {min_cell: abc}\n",
        "setting privacy.min_cell: expected a whole number of at least 1, found 'abc'",
    ),
    "min_cell zero": (
        "privacy: {min_cell: 0}\n",
        "privacy.min_cell: expected a whole number of at least 1, found 0",
    ),
    "min_cell negative": ("privacy: {min_cell: -5}\n", "found -5"),
    "min_cell float": ("privacy: {min_cell: 2.5}\n", "found 2.5"),
    "min_cell bool": ("privacy: {min_cell: yes}\n", "found True"),
    "min_cell list": ("privacy: {min_cell: [10]}\n", "found [10]"),
    "threads text": ("engine: {threads: many}\n", "engine.threads: expected a whole number"),
    "threads zero": (
        "engine: {threads: 0}\n",
        "engine.threads: expected a whole number of at least 1",
    ),
    "memory limit number": (
        "engine: {memory_limit: 1024}\n",
        "engine.memory_limit: expected non-empty text",
    ),
    "backend spark": (
        "engine: {backend: spark}\n",
        "engine.backend: expected one of duckdb, pyspark",
    ),
    "backend number": ("engine: {backend: 1}\n", "engine.backend: expected one of duckdb, pyspark"),
    "timeout text": (
        "run: {cell_timeout_seconds: long}\n",
        "run.cell_timeout_seconds: expected a whole number",
    ),
    "timeout negative": ("run: {cell_timeout_seconds: -1}\n", "run.cell_timeout_seconds"),
    "workers text": ("run: {workers: all}\n", "run.workers: expected a whole number"),
    "out number": ("run: {out: 5}\n", "run.out: expected non-empty text"),
    "out empty": ("run: {out: ''}\n", "run.out: expected non-empty text"),
    "notebooks list": ("run: {notebooks: [a]}\n", "run.notebooks: expected non-empty text"),
    "tolerance text": (
        "checks: {future_tolerance_hours: a day}\n",
        "checks.future_tolerance_hours: expected a number",
    ),
    "tolerance negative": ("checks: {future_tolerance_hours: -3}\n", "found -3"),
    "source number": (
        "!data: {source: 42}\nlang: en\n",
        "setting data.source: expected non-empty text, found 42",
    ),
    "source list": (
        "!data: {source: [a, b]}\nlang: en\n",
        "setting data.source: expected non-empty text",
    ),
    "lang fr": (
        "!data: {source: data}\nlang: fr\n",
        "setting lang: expected one of zh, en, found 'fr'",
    ),
    "lang number": ("!data: {source: data}\nlang: 1\n", "setting lang: expected one of zh, en"),
    "salt number": (
        "privacy: {pseudonym_salt: 12}\n",
        "privacy.pseudonym_salt: expected non-empty text",
    ),
    # time zones
    "unknown zone": ("timezone: Mars/Olympus\n", "setting timezone: expected a time zone name"),
    "zone typo": ("timezone: Asia/Shangai\n", "found 'Asia/Shangai'"),
    "zone number": (
        "timezone: 8\n",
        "setting timezone: expected a time zone name such as Asia/Shanghai or UTC, found 8",
    ),
    "zone offset text": ("timezone: '+08:00'\n", "found '+08:00'"),
    "zone list": ("timezone: [UTC]\n", "setting timezone"),
    "zone path escape": ("timezone: ../../etc/passwd\n", "setting timezone"),
    "zone empty": ("timezone: ''\n", "setting timezone"),
    "zone null": ("timezone: null\n", "found None"),
}


@pytest.mark.parametrize("case", CONFIGS, ids=list(CONFIGS))
def test_a_bad_config_is_refused_with_the_setting(shop: Shop, case: str):
    text, fragment = CONFIGS[case]
    if text == "!GBK":
        shop.config.write_bytes("# 配置\nlang: en\n".encode("gbk"))
    else:
        shop.write_config(text[1:] if text.startswith("!") else BASE + text)
    shop.refused(["validate", "--lang", "en"], fragment)


ZH = {
    "min_cell": (
        "privacy: {min_cell: abc}\n",
        "设置 privacy.min_cell：应为不小于 1 的整数，实际为 'abc'",
    ),
    "unknown key": ("timezne: UTC\n", "未知的设置 timezne；是否想输入 timezone？"),
    "yaml": ("data: {source: data\n", "不是有效的 YAML"),
    "zone": ("timezone: Mars/Olympus\n", "应为时区名称"),
}


@pytest.mark.parametrize("case", ZH, ids=list(ZH))
def test_refusals_in_chinese_follow_the_config_language(shop: Shop, case: str):
    text, fragment = ZH[case]
    shop.write_config("lang: zh\n" + text)
    shop.refused(["validate"], fragment)


def test_an_empty_section_keeps_the_defaults(shop: Shop):
    shop.write_config(BASE + "engine:\nprivacy:\n")
    assert shop.run("validate").code == 0
