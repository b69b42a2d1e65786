"""Tickets: the model, the local store, one module per tracker adapter, and the outbox.

    ticket = Ticket(queue=..., title=..., outcome=..., runbook=..., target=..., run_id=..., ...)
    store = TicketStore(data_dir)
    tracker = tracker_from_config(env_config.get("tickets"))     # None: the local store only
    receipt = open_ticket(ticket, store=store, tracker=tracker, redact=redactor)
    retry_outbox(store=store, tracker=tracker)

Public names are re-exported here; the modules behind them are free to change.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

# Each public name and the module it lives in. They are imported on first use (PEP 562): the adapters pull
# in httpx and the store SQLAlchemy, which `runbook validate` and a run that opens no ticket never need.
_WHERE = {
    "RemoteRef": "base",
    "Tracker": "base",
    "TrackerAuthError": "base",
    "TrackerConfigError": "base",
    "JiraConfig": "config",
    "LocalConfig": "config",
    "TrackerConfig": "config",
    "UnusableTracker": "config",
    "WebhookConfig": "config",
    "ZendeskConfig": "config",
    "parse_tracker_config": "config",
    "tracker_from_config": "config",
    "JiraTracker": "jira",
    "Attachment": "models",
    "StoredComment": "models",
    "StoredTicket": "models",
    "Ticket": "models",
    "TicketReceipt": "models",
    "TicketStep": "models",
    "idempotency_key_for": "models",
    "render_body": "models",
    "render_comment": "models",
    "RETRY_COMMAND": "service",
    "open_ticket": "service",
    "redact_ticket": "service",
    "retry_outbox": "service",
    "TicketStore": "store",
    "WebhookTracker": "webhook_tracker",
    "ZendeskTracker": "zendesk",
}

if TYPE_CHECKING:
    from automation.tickets.base import RemoteRef, Tracker, TrackerAuthError, TrackerConfigError
    from automation.tickets.config import (
        JiraConfig,
        LocalConfig,
        TrackerConfig,
        UnusableTracker,
        WebhookConfig,
        ZendeskConfig,
        parse_tracker_config,
        tracker_from_config,
    )
    from automation.tickets.jira import JiraTracker
    from automation.tickets.models import (
        Attachment,
        StoredComment,
        StoredTicket,
        Ticket,
        TicketReceipt,
        TicketStep,
        idempotency_key_for,
        render_body,
        render_comment,
    )
    from automation.tickets.service import RETRY_COMMAND, open_ticket, redact_ticket, retry_outbox
    from automation.tickets.store import TicketStore
    from automation.tickets.webhook_tracker import WebhookTracker
    from automation.tickets.zendesk import ZendeskTracker


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value  # once found, a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])


__all__ = [
    "RETRY_COMMAND",
    "Attachment",
    "JiraConfig",
    "JiraTracker",
    "LocalConfig",
    "RemoteRef",
    "StoredComment",
    "StoredTicket",
    "Ticket",
    "TicketReceipt",
    "TicketStep",
    "TicketStore",
    "Tracker",
    "TrackerAuthError",
    "TrackerConfig",
    "TrackerConfigError",
    "UnusableTracker",
    "WebhookConfig",
    "WebhookTracker",
    "ZendeskConfig",
    "ZendeskTracker",
    "idempotency_key_for",
    "open_ticket",
    "parse_tracker_config",
    "redact_ticket",
    "render_body",
    "render_comment",
    "retry_outbox",
    "tracker_from_config",
]
