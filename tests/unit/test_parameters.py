"""Report parameters are read by their type and checked before anything runs (issue: a documented
value that could not be passed, bad values found only after a kernel started, in a message that
did not name the parameter, leaving a failed run folder)."""

from pathlib import Path

import pytest

from opsbook.cli import main
from opsbook.parameters import DEFAULT_TYPES, ParameterError, check_parameters, specs
from opsbook.report import start
from opsbook.run import RunError, discover, parse_assignments, run_reports

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.fixture
def workbook(tmp_path):
    """The real report notebooks, a config whose source does not exist (nothing may open it)."""
    (tmp_path / "opsbook.yml").write_text(
        f"data: {{source: {tmp_path / 'nowhere'}}}\n"
        f"run: {{notebooks: {ROOT / 'notebooks'}, out: {tmp_path / 'reports'}}}\nlang: en\n"
    )
    return tmp_path


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_notebook_parameter_says_what_it_accepts(path):
    report = path.stem.split("_", 1)[1]
    declared = specs(report)
    defaults = discover(path.parent)[report].parameters
    for name, value in defaults.items():
        if name in ("config", "data"):
            continue
        assert name in declared, f"{report}.{name} is missing from parameters.yml"
        kind = declared[name].type
        if value is not None and kind != "any":
            expected = {DEFAULT_TYPES[type(value)]} | ({"float"} if type(value) is int else set())
            assert kind in expected, f"{report}.{name}: {kind} vs {value!r}"
        # the notebook's own default passes its own check
        assert check_parameters(report, {name: value}, "en") == {name: value}


def test_text_from_the_command_line_is_read_by_the_parameters_type():
    given = parse_assignments(
        [
            "criterion=on",
            "max_periods=8",
            "brackets=[[1, 1], [2, 7]]",
            "as_of=2026-09-01",
            "targets={d1: 0.5}",
        ]
    )
    assert given["criterion"] == "on"  # text: YAML would have read it as true
    defaults = {"criterion": "on", "max_periods": 12}
    assert check_parameters("retention", given, "en", defaults) == {
        "criterion": "on",
        "max_periods": 8,
        "brackets": [[1, 1], [2, 7]],
        "as_of": "2026-09-01",
        "targets": {"d1": 0.5},
    }
    ab = check_parameters(
        "ab_test",
        parse_assignments(["metrics=conversion, revenue", "cuped=no", "experiment=null"]),
        "en",
        {"cuped": True},
    )
    assert ab == {"metrics": ["conversion", "revenue"], "cuped": False, "experiment": None}
    assert check_parameters("ab_test", {"metrics": "[a, b]"}, "en") == {"metrics": ["a", "b"]}
    with pytest.raises(RunError, match="NAME=VALUE"):
        parse_assignments(["novalue"])


@pytest.mark.parametrize(
    ("report", "values", "en", "zh"),
    [
        (
            "retention",
            {"period": "monthly"},
            "report retention: parameter period = 'monthly': expected one of day, week, month; "
            "did you mean month?",
            "报告 retention 的参数 period = 'monthly' 无效：可选值为 day, week, month；"
            "是否想输入 month？",
        ),
        (
            "segmentation",
            {"lookback_days": "ninety"},
            "report segmentation: parameter lookback_days = 'ninety': expected a whole number",
            "报告 segmentation 的参数 lookback_days = 'ninety' 无效：应为整数",
        ),
        (
            "kpi_dashboard",
            {"period_end": "2026-13-01"},
            "report kpi_dashboard: parameter period_end = '2026-13-01': expected a date YYYY-MM-DD",
            "报告 kpi_dashboard 的参数 period_end = '2026-13-01' 无效：应为日期 YYYY-MM-DD",
        ),
        (
            "ab_test",
            {"alpha": "1.5"},
            "report ab_test: parameter alpha = '1.5': expected less than 1",
            "报告 ab_test 的参数 alpha = '1.5' 无效：应小于 1",
        ),
        (
            # a config's `criterion: on` arrives as true (YAML 1.1): the message says why
            "retention",
            {"criterion": True},
            "report retention: parameter criterion = True: expected one of on, on_or_after "
            "(YAML reads on/off/yes/no as true/false: quote the value, e.g. 'on')",
            "报告 retention 的参数 criterion = True 无效：可选值为 on, on_or_after"
            "（YAML 会把 on/off/yes/no 读成 true/false：请给值加引号，如 'on'）",
        ),
    ],
)
def test_a_refused_value_is_named_in_the_users_language(report, values, en, zh):
    for lang, message in (("en", en), ("zh", zh)):
        with pytest.raises(ParameterError) as caught:
            check_parameters(report, values, lang)
        assert str(caught.value) == message


def test_none_only_where_the_notebook_default_is_none():
    assert check_parameters("retention", {"as_of": None}, "en", {"as_of": None}) == {"as_of": None}
    with pytest.raises(ParameterError, match="period = None: a value is required"):
        check_parameters("retention", {"period": None}, "en", {"period": "week"})
    with pytest.raises(ParameterError, match="k = '6': expected one of 3, 4, 5"):
        check_parameters("segmentation", {"k": "6"}, "en", {"k": 5})


def test_bad_values_are_refused_before_any_kernel_and_leave_no_run_folder(workbook, capsys):
    config = str(workbook / "opsbook.yml")
    for argv, expected in (
        (["retention", "-p", "period=monthly"], "did you mean month?"),
        (["segmentation", "-p", "lookback_days=ninety"], "lookback_days = 'ninety'"),
        (["kpi_dashboard", "-p", "period_end=2026-13-01"], "expected a date YYYY-MM-DD"),
        (["retention", "-p", "perod=month"], "unknown parameter(s) perod"),
        (["retentoin"], "unknown report(s) retentoin; valid: data_quality"),
    ):
        assert main(["run", *argv, "--config", config]) == 1
        err = capsys.readouterr().err
        assert expected in err and "Traceback" not in err
    assert "did you mean retention?" in main_error(["run", "retentoin", "--config", config])
    assert not (workbook / "reports").exists()
    # a config's report section is checked the same way
    (workbook / "opsbook.yml").write_text(
        (workbook / "opsbook.yml").read_text() + "reports: {retention: {criterion: on}}\n"
    )
    with pytest.raises(RunError, match="criterion = True: expected one of on, on_or_after"):
        run_reports(["retention"], config=workbook / "opsbook.yml")
    assert not (workbook / "reports").exists()


def main_error(argv: list[str]) -> str:
    import contextlib
    import io

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        main(argv)
    return err.getvalue()


def test_messages_follow_the_configs_language(workbook, capsys):
    (workbook / "opsbook.yml").write_text(
        (workbook / "opsbook.yml").read_text().replace("lang: en", "lang: zh")
    )
    assert (
        main(
            ["run", "retention", "-p", "period=monthly", "--config", str(workbook / "opsbook.yml")]
        )
        == 1
    )
    assert "报告 retention 的参数 period = 'monthly' 无效" in capsys.readouterr().err


def test_a_notebook_in_jupyterlab_is_checked_when_it_starts(workbook):
    # start() checks the values it is given (in a notebook: the notebook's variables) before it
    # opens the source, so the bad value is named and the missing source is never reached
    with pytest.raises(ParameterError, match="parameter window = 'roling'.*did you mean rolling"):
        start("retention", config=str(workbook / "opsbook.yml"), params={"window": "roling"})


def test_a_name_the_data_do_not_have_is_refused_before_any_kernel(tmp_path):
    import pandas as pd

    from opsbook.config import load_config
    from opsbook.data import open_source
    from opsbook.parameters import check_in_data

    folder = tmp_path / "shop"
    folder.mkdir()
    ts = pd.to_datetime(["2026-01-01", "2026-01-02"]).tz_localize("UTC")
    pd.DataFrame({"user_id": [1, 2], "signup_ts": ts, "channel": ["ads", "seo"]}).to_parquet(
        folder / "users.parquet"
    )
    pd.DataFrame({"user_id": [1, 2], "ts": ts, "event": ["add_to_cart", "view_item"]}).to_parquet(
        folder / "events.parquet"
    )
    pd.DataFrame(
        {"experiment": ["checkout_button", "checkout_button"], "user_id": [1, 2],
         "variant": ["control", "b"], "ts": ts}
    ).to_parquet(folder / "assignments.parquet")  # fmt: skip
    source = open_source(load_config(None, data=str(folder)))

    def refused(report, values, defaults=None):
        with pytest.raises(ParameterError) as caught:
            check_in_data(report, values, defaults or {}, source, "en")
        return str(caught.value)

    message = refused("ab_test", {"experiment": "chekout_button"})
    assert message == (
        "report ab_test: parameter experiment = 'chekout_button': the data have no such "
        "experiment; the data have: checkout_button; did you mean checkout_button?"
    )
    assert "did you mean add_to_cart?" in refused("retention", {"return_event": "add_to_crt"})
    assert "the data have: channel" in refused("retention", {"breakdown": "chanel"})
    # what the data have, the words the report understands, and untouched defaults pass
    check_in_data("ab_test", {"experiment": "checkout_button"}, {}, source, "en")
    check_in_data("retention", {"return_event": "order", "cohort_event": None}, {}, source, "en")
    check_in_data(
        "kpi_dashboard", {"activation_event": "x"}, {"activation_event": "x"}, source, "en"
    )
    with pytest.raises(ParameterError, match="数据中没有这个实验"):
        check_in_data("ab_test", {"experiment": "x"}, {}, source, "zh")


def test_a_source_that_names_no_experiment_is_not_checked(tmp_path):
    # a per-user export without an experiment column: the config's experiment name labels it
    import pandas as pd

    from opsbook.config import load_config
    from opsbook.data import open_source
    from opsbook.parameters import check_in_data

    folder = tmp_path / "export"
    folder.mkdir()
    pd.DataFrame({"user_id": [1, 2], "variant": ["a", "b"], "retained": [True, False]}).to_parquet(
        folder / "experiment_results.parquet"
    )
    source = open_source(load_config(None, data=str(folder)))
    check_in_data("ab_test", {"experiment": "cookie_cats_gate"}, {}, source, "en")
