"""Environments: where runs go, and where real credentials may come from."""

from __future__ import annotations

from pathlib import Path

import pytest

from automation.environments import parse_base_urls, resolve
from automation.errors import ConfigError

CONFIG = """
default: staging
environments:
  staging:
    apps: {portal: 'https://staging.example.com'}
    credentials:
      portal_monitor: {user_env: MON_USER, password_env: MON_PASSWORD}
"""


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "environments.yaml"
    path.write_text(CONFIG)
    monkeypatch.setenv("RUNBOOK_CONFIG", str(path))
    monkeypatch.setenv("RUNBOOK_SECRETS_FILE", str(tmp_path / "secrets.env"))
    monkeypatch.delenv("RUNBOOK_ENV", raising=False)
    return path


def test_credentials_come_from_environment_variables(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MON_USER", "ops@example.com")
    monkeypatch.setenv("MON_PASSWORD", "from-env-123")
    target = resolve()
    assert target.name == "staging" and target.sandbox is None and not target.resettable
    assert target.credentials["portal_monitor"] == {"user": "ops@example.com", "password": "from-env-123"}


def test_secrets_file_readable_by_others_is_refused(
    config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MON_PASSWORD", raising=False)
    secrets = tmp_path / "secrets.env"
    secrets.write_text("MON_PASSWORD=from-file-456\n")
    secrets.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        resolve()
    secrets.chmod(0o600)
    assert resolve().credentials["portal_monitor"]["password"] == "from-file-456"


def test_base_url_overrides_add_an_app(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNBOOK_BASE_URL_PORTAL", "https://override.example.com")
    target = resolve(base_urls=parse_base_urls(["crm=https://crm.example.com"]))
    assert target.base_url("portal") == "https://override.example.com"
    assert target.base_url("crm") == "https://crm.example.com"


def test_bad_base_url_names_the_value() -> None:
    with pytest.raises(ConfigError, match="--base-url 'portal'"):
        parse_base_urls(["portal"])


def test_broken_environments_file_is_a_config_error(config: Path) -> None:
    config.write_text("environments:\n  staging:\n    appz: {}\n")
    with pytest.raises(ConfigError, match="appz"):
        resolve()


def test_tracker_type_typo_names_its_line_and_the_right_type(config: Path) -> None:
    config.write_text(CONFIG + "    tickets: {type: webhok, url: 'https://hooks.example.com'}\n")
    with pytest.raises(ConfigError) as info:
        resolve()
    message = str(info.value)
    assert f"{config}:8:15: environments.staging.tickets.type" in message
    assert "'webhok' is not a tracker type (did you mean webhook?)" in message


def test_tracker_missing_url_is_refused_before_a_run(config: Path) -> None:
    config.write_text(CONFIG + "    tickets: {type: jira, project: SUP}\n")
    with pytest.raises(ConfigError, match=r":8:\d+: environments.staging.tickets.url: tracker: is required"):
        resolve()


def test_schema_error_names_the_line_and_suggests_the_key(config: Path) -> None:
    config.write_text("environments:\n  staging:\n    appz: {}\n")
    with pytest.raises(
        ConfigError, match=r":3:5: environments.staging.appz: unknown key 'appz' \(did you mean apps\?\)"
    ):
        resolve()


def test_empty_environments_file_says_what_it_needs(config: Path) -> None:
    config.write_text("# nothing yet\n")
    with pytest.raises(
        ConfigError, match="the environments file is empty. It needs at least one environment"
    ):
        resolve()


def test_app_url_that_is_not_http_is_refused_with_its_line(config: Path) -> None:
    config.write_text(CONFIG.replace("https://staging.example.com", "file:///etc/passwd"))
    with pytest.raises(ConfigError, match=r":5:12: environments.staging.apps.portal: 'file:///etc/passwd'"):
        resolve()


def test_default_that_names_no_environment_is_refused(config: Path) -> None:
    config.write_text(CONFIG.replace("default: staging", "default: stagin"))
    with pytest.raises(ConfigError, match=r":2:1: default: 'stagin' is not one of the environments"):
        resolve()


def test_duplicate_environment_is_refused(config: Path) -> None:
    config.write_text(CONFIG + "  staging:\n    apps: {}\n")
    with pytest.raises(ConfigError, match="duplicate key 'staging'"):
        resolve()


def test_base_url_variable_must_be_an_http_url(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNBOOK_BASE_URL_PORTAL", "javascript:alert(1)")
    with pytest.raises(ConfigError, match="RUNBOOK_BASE_URL_PORTAL"):
        resolve()
