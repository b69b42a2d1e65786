"""`runbook tickets ...` as plain functions: a retry reaches the tracker of the environment a ticket was
opened in, never answers "the outbox is empty" while tickets wait, and a bad id is bad input."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from ticket_fakes import FakeWebhook

from automation.commands.tickets import retry, show_ticket
from automation.errors import ExitCode, UsageError
from automation.tickets import Ticket, TicketStore


@pytest.fixture
def environments(tmp_path: Path, webhook: FakeWebhook, monkeypatch: pytest.MonkeyPatch) -> Path:
    """prod delivers to the fake webhook; staging has no tracker."""
    path = tmp_path / "environments.yaml"
    path.write_text(
        "default: staging\nenvironments:\n"
        f"  prod:\n    apps: {{portal: 'https://portal.example.test'}}\n"
        f"    tickets: {{type: webhook, url: '{webhook.url}'}}\n"
        "  staging:\n    apps: {portal: 'https://staging.example.test'}\n"
    )
    monkeypatch.setenv("RUNBOOK_CONFIG", str(path))
    return path


def queue(store: TicketStore, make_ticket: Callable[..., Ticket], environment: str, run_id: str) -> str:
    ticket = make_ticket(target=f"{environment} https://portal.example.test", run_id=run_id)
    return store.create(ticket, delivery="queued").local_id


def test_retry_without_env_delivers_to_the_environment_it_was_queued_for(
    environments: Path, store: TicketStore, make_ticket: Callable[..., Ticket], webhook: FakeWebhook
) -> None:
    local_id = queue(store, make_ticket, "prod", "run-prod")
    receipts = retry(root=store.data_dir)
    assert [(r.local_id, r.status) for r in receipts] == [(local_id, "delivered")]
    assert len(webhook.deliveries) == 1 and store.get(local_id).delivery == "delivered"


def test_retry_names_a_ticket_whose_environment_is_gone_and_what_to_do(
    environments: Path, store: TicketStore, make_ticket: Callable[..., Ticket]
) -> None:
    local_id = queue(store, make_ticket, "preprod", "run-gone")
    [receipt] = retry(root=store.data_dir)
    assert receipt.local_id == local_id and receipt.status == "queued"
    assert (
        "environment 'preprod'" in receipt.message and "runbook tickets retry --env NAME" in receipt.message
    )


def test_retry_to_an_environment_without_tracker_says_so(
    environments: Path, store: TicketStore, make_ticket: Callable[..., Ticket]
) -> None:
    queue(store, make_ticket, "prod", "run-prod")
    [receipt] = retry(env="staging", root=store.data_dir)
    assert receipt.status == "queued" and "environment 'staging' has no tracker configured" in receipt.message


def test_retry_with_env_delivers_every_waiting_ticket_there(
    environments: Path, store: TicketStore, make_ticket: Callable[..., Ticket], webhook: FakeWebhook
) -> None:
    queue(store, make_ticket, "preprod", "run-gone")
    [receipt] = retry(env="prod", root=store.data_dir)
    assert receipt.status == "delivered" and len(webhook.deliveries) == 1


@pytest.mark.parametrize("bad", ["1234567890123456789012345", "RB-x", "RB-999"])
def test_a_bad_or_unknown_ticket_id_is_bad_input(store: TicketStore, bad: str) -> None:
    with pytest.raises(UsageError) as info:
        show_ticket(bad, root=store.data_dir)
    assert info.value.exit_code == ExitCode.BAD_INPUT and bad in str(info.value)
