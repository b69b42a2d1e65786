"""The checks file: the shipped one loads, and every mistake is a file:line error with a suggestion (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from automation.catalog import Catalog
from automation.checks.config.load import ChecksFileError, load_checks, resolve_inputs
from automation.checks.config.spec import json_schema
from automation.cli.app import app
from automation.errors import ConfigError

ROOT = Path(__file__).resolve().parents[3]

GOOD = """\
checks:
  portal-login:
    runbook: synthetic-login
    every: 5m
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "checks.yaml"
    path.write_text(text)
    return path


def error_of(tmp_path: Path, text: str) -> ChecksFileError:
    with pytest.raises(ChecksFileError) as caught:
        load_checks(write(tmp_path, text))
    return caught.value


def test_the_shipped_checks_file_has_the_three_documented_checks() -> None:
    config = load_checks(ROOT / "runbooks" / "checks.yaml")
    assert set(config.checks) == {"portal-login", "netsuite-login", "verification-email"}
    portal = config.checks["portal-login"]
    assert portal.schedule.every_s == 300 and portal.schedule.while_failing_every_s == 60
    assert portal.degraded_steps == {"Log In": 2.0}
    assert portal.rule.after == 3 and portal.rule.within_s == 900
    assert config.checks["verification-email"].schedule.cron == "*/30 8-18 * * 1-5"
    assert config.checks["verification-email"].schedule.timezone == "Europe/London"
    assert [w.name for w in portal.windows] == ["Sunday release window"]


def test_defaults_apply_unless_a_check_says_otherwise(tmp_path: Path) -> None:
    config = load_checks(
        write(tmp_path, "defaults: {timeout: 45s, retries: {attempts: 3, backoff: 1s}}\n" + GOOD)
    )
    check = config.checks["portal-login"]
    assert (check.timeout_s, check.attempts, check.backoff_s) == (45, 3, 1)


def test_an_unknown_key_names_its_line_and_the_nearest_key(tmp_path: Path) -> None:
    error = error_of(tmp_path, GOOD + "    timout: 30s\n")
    assert error.line == 5
    assert "unknown key 'timout'" in error.message and "did you mean timeout?" in error.message


def test_an_unknown_runbook_is_named_with_a_suggestion(tmp_path: Path) -> None:
    error = error_of(tmp_path, GOOD.replace("synthetic-login", "synthetic-logn"))
    assert error.line == 3 and "did you mean synthetic-login?" in error.message


def test_a_literal_secret_input_is_refused(tmp_path: Path) -> None:
    text = "checks:\n  code:\n    runbook: verify-code\n    inputs: {email: a@example.com, code: '123456'}\n    every: 5m\n"
    error = error_of(tmp_path, text)
    assert "'code' is a secret" in error.message and "{env: VARIABLE}" in error.message
    assert error.line == 4


def test_a_secret_input_by_reference_is_read_when_the_check_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = "checks:\n  code:\n    runbook: verify-code\n    inputs: {email: a@example.com, code: {env: THE_CODE}}\n    every: 5m\n"
    check = load_checks(write(tmp_path, text)).checks["code"]
    with pytest.raises(ConfigError, match=r"\$THE_CODE, which is not set"):
        resolve_inputs(check, {})
    monkeypatch.setenv("THE_CODE", "424242")
    assert resolve_inputs(check, {})["code"] == "424242"


def test_a_check_needs_exactly_one_schedule(tmp_path: Path) -> None:
    error = error_of(tmp_path, GOOD + "    cron: '* * * * *'\n")
    assert "exactly one schedule" in error.message and error.line == 2


def test_a_bad_cron_expression_is_refused_at_its_line(tmp_path: Path) -> None:
    error = error_of(tmp_path, GOOD.replace("every: 5m", "cron: '*/5 8-25 * * *'"))
    assert error.line == 4 and "cron '*/5 8-25 * * *'" in error.message


def test_a_bad_time_zone_is_refused(tmp_path: Path) -> None:
    error = error_of(tmp_path, GOOD + "    timezone: Mars/Olympus\n")
    assert error.line == 5 and "is not a time zone" in error.message


def test_a_degraded_threshold_must_name_a_step_of_the_runbook(tmp_path: Path) -> None:
    error = error_of(tmp_path, GOOD + "    degraded: {steps: {Log Inn: 2s}}\n")
    assert "no step labelled 'Log Inn'" in error.message and "did you mean Log In?" in error.message


def test_an_unknown_environment_is_refused(tmp_path: Path) -> None:
    error = error_of(tmp_path, GOOD + "    env: prodution\n")
    assert "no environment 'prodution'" in error.message and "did you mean production?" in error.message


def test_a_bad_duration_is_refused(tmp_path: Path) -> None:
    error = error_of(tmp_path, GOOD.replace("5m", "five minutes"))
    assert error.line == 4 and "is not a duration" in error.message


def test_validate_exits_2_with_the_location(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + "    timout: 30s\n")
    result = CliRunner().invoke(app, ["checks", "validate", "--file", str(path)])
    assert result.exit_code == 2
    assert f"{path}:5" in result.output and "Traceback" not in result.output


def test_the_committed_schema_matches_the_models() -> None:
    committed = json.loads((ROOT / "runbooks" / "checks.schema.json").read_text())
    assert committed == json_schema()


def test_checks_schema_prints_the_schema() -> None:
    result = CliRunner().invoke(app, ["checks", "schema"])
    assert result.exit_code == 0 and json.loads(result.output)["title"] == "runbook checks file"


def test_a_checks_folder_merges_its_files_and_refuses_a_name_defined_twice(tmp_path: Path) -> None:
    folder = tmp_path / "checks"
    folder.mkdir()
    (folder / "portal.yaml").write_text(GOOD)
    (folder / "netsuite.yaml").write_text(
        "checks:\n  netsuite-login: {runbook: netsuite-login, every: 10m}\n"
    )
    assert set(load_checks(folder).checks) == {"portal-login", "netsuite-login"}
    (folder / "again.yaml").write_text(GOOD)
    with pytest.raises(ChecksFileError, match="check 'portal-login' is defined twice"):
        load_checks(folder)


def test_checks_may_take_only_the_failing_steps_picture(tmp_path: Path) -> None:
    text = (
        "defaults: {screenshots: on-failure}\n"
        + GOOD
        + "  other: {runbook: netsuite-login, every: 10m, screenshots: off}\n"
    )
    checks = load_checks(write(tmp_path, text)).checks
    assert (checks["portal-login"].screenshots, checks["other"].screenshots) == ("on-failure", "off")


def test_a_missing_checks_file_names_the_paths_it_looked_at(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RUNBOOK_CHECKS", raising=False)
    with pytest.raises(ChecksFileError) as caught:
        load_checks(catalog=Catalog([tmp_path]))
    assert f"looked at: {tmp_path / 'checks.yaml'}, {tmp_path / 'checks'}/" in caught.value.message
    assert "RUNBOOK_CHECKS" in caught.value.message and "runbook init" in caught.value.message


def test_a_missing_checks_file_named_by_runbook_checks_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNBOOK_CHECKS", str(tmp_path / "ops.yaml"))
    with pytest.raises(ChecksFileError) as caught:
        load_checks(catalog=Catalog([tmp_path]))
    assert f"looked at: {tmp_path / 'ops.yaml'} (RUNBOOK_CHECKS)" in caught.value.message


def test_a_webhook_over_plain_http_off_loopback_is_refused_at_its_line(tmp_path: Path) -> None:
    alert = "    alert:\n      channels:\n        - webhook: {url: 'http://example.com/hook'}\n"
    error = error_of(tmp_path, GOOD + alert)
    assert error.line == 7 and "must be https://" in error.message
    assert "127.0.0.1, ::1, localhost" in error.message


def test_a_webhook_over_plain_http_on_loopback_is_accepted(tmp_path: Path) -> None:
    alert = "    alert:\n      channels:\n        - webhook: {url: 'http://127.0.0.1:8123/hook'}\n"
    config = load_checks(write(tmp_path, GOOD + alert))
    assert config.checks["portal-login"].channels[0].url == "http://127.0.0.1:8123/hook"
