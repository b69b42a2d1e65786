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
