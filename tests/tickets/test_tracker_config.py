"""Tracker configuration: which adapter, and credentials only from the environment variables it names."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from ticket_fakes import JIRA_ENV, WEBHOOK_ENV, ZENDESK_ENV

from automation.errors import TicketError
from automation.tickets import (
    JiraTracker,
    Ticket,
    TicketStore,
    TrackerConfigError,
    UnusableTracker,
    WebhookTracker,
    ZendeskTracker,
    open_ticket,
    parse_tracker_config,
    tracker_from_config,
)


def test_local_or_absent_config_means_no_tracker() -> None:
    assert tracker_from_config(None, env={}) is None
    assert tracker_from_config({"type": "local"}, env={}) is None


def test_each_type_builds_its_adapter() -> None:
    env = {**JIRA_ENV, **ZENDESK_ENV, **WEBHOOK_ENV}
    jira = tracker_from_config(
        {"type": "jira", "url": "https://acme.atlassian.net/", "project": "SUP"}, env=env
    )
    zendesk = tracker_from_config({"type": "zendesk", "url": "https://acme.zendesk.com"}, env=env)
    hook = tracker_from_config({"type": "webhook", "url": "https://hooks.example.test/t"}, env={})

    assert isinstance(jira, JiraTracker) and jira.base_url == "https://acme.atlassian.net"
    assert isinstance(zendesk, ZendeskTracker)
    assert isinstance(hook, WebhookTracker)


def test_missing_credential_variable_is_named() -> None:
    config = {"type": "jira", "url": "https://acme.atlassian.net", "project": "SUP", "token_env": "ACME_JIRA"}

    with pytest.raises(TrackerConfigError, match="environment variable ACME_JIRA is not set") as caught:
        tracker_from_config(config, env={"JIRA_USER": "bot@example.com"})
    assert isinstance(caught.value, TicketError)


def test_credential_in_config_is_refused_without_echoing_it() -> None:
    config = {"type": "zendesk", "url": "https://acme.zendesk.com", "token": "zd-live-abcdef"}

    with pytest.raises(TrackerConfigError) as caught:
        parse_tracker_config(config)
    assert "token" in str(caught.value) and "zd-live-abcdef" not in str(caught.value)


def test_credentials_inside_the_url_are_refused() -> None:
    with pytest.raises(TrackerConfigError, match="must not contain credentials") as caught:
        parse_tracker_config({"type": "webhook", "url": "https://user:pw-secret@hooks.example.test/t"})
    assert "pw-secret" not in str(caught.value)


def test_unknown_type_lists_the_known_ones() -> None:
    with pytest.raises(TrackerConfigError, match="local, jira, zendesk, webhook"):
        parse_tracker_config({"type": "servicenow", "url": "https://x.example.test"})


def test_lenient_config_queues_tickets_until_the_variable_is_set(
    store: TicketStore, make_ticket: Callable[..., Ticket]
) -> None:
    config = {"type": "jira", "url": "https://acme.atlassian.net", "project": "SUP"}
    unusable = tracker_from_config(config, env={}, strict=False)

    receipt = open_ticket(make_ticket(), store=store, tracker=unusable)

    assert isinstance(unusable, UnusableTracker)
    assert receipt.status == "queued" and "JIRA_USER is not set" in receipt.message
    assert [t.local_id for t in store.outbox()] == ["RB-1"]


@pytest.mark.parametrize(
    "url", ["http://example.com/t", "http://127.example.com/t", "http://10.0.0.8:8080", "http://[::2]/t"]
)
def test_a_tracker_over_plain_http_off_loopback_is_refused(url: str) -> None:
    with pytest.raises(TrackerConfigError, match=r"must be https://") as caught:
        parse_tracker_config({"type": "webhook", "url": url})
    assert "127.0.0.1, ::1, localhost" in str(caught.value)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8123/t", "http://127.3.2.1/t", "http://[::1]:9000", "http://localhost:81"]
)
def test_a_tracker_over_plain_http_on_loopback_is_accepted(url: str) -> None:
    assert parse_tracker_config({"type": "jira", "url": url, "project": "SUP"}).url == url.rstrip("/")


def test_an_environments_file_with_a_plain_http_tracker_names_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from automation.environments import resolve
    from automation.errors import ConfigError

    config = tmp_path / "environments.yaml"
    config.write_text(
        "default: staging\nenvironments:\n  staging:\n    apps: {portal: 'https://staging.example.com'}\n"
        "    tickets:\n      type: zendesk\n      url: http://example.com\n"
    )
    monkeypatch.setenv("RUNBOOK_CONFIG", str(config))
    monkeypatch.setenv("RUNBOOK_SECRETS_FILE", str(tmp_path / "secrets.env"))
    monkeypatch.delenv("RUNBOOK_ENV", raising=False)
    with pytest.raises(ConfigError) as caught:
        resolve()
    assert f"{config}:7:" in str(caught.value) and "environments.staging.tickets.url" in str(caught.value)
    assert "must be https://" in str(caught.value)

    config.write_text(config.read_text().replace("http://example.com", "http://127.0.0.1:8123"))
    assert resolve().name == "staging"
