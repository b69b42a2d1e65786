"""Tickets: the model, the local store, one module per tracker adapter, and the outbox.

    ticket = Ticket(queue=..., title=..., outcome=..., runbook=..., target=..., run_id=..., ...)
    store = TicketStore(data_dir)
    tracker = tracker_from_config(env_config.get("tickets"))     # None: the local store only
    receipt = open_ticket(ticket, store=store, tracker=tracker, redact=redactor)
    retry_outbox(store=store, tracker=tracker)

Public names are re-exported here; the modules behind them are free to change.
"""

from __future__ import annotations

from .base import RemoteRef, Tracker, TrackerAuthError, TrackerConfigError
from .config import (
    JiraConfig,
    LocalConfig,
    TrackerConfig,
    UnusableTracker,
    WebhookConfig,
    ZendeskConfig,
    parse_tracker_config,
    tracker_from_config,
)
from .jira import JiraTracker
from .memory import MemoryTracker
from .models import (
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
from .service import RETRY_COMMAND, open_ticket, redact_ticket, retry_outbox
from .store import TicketStore
from .webhook import WebhookTracker
from .zendesk import ZendeskTracker

__all__ = [
    "RETRY_COMMAND",
    "Attachment",
    "JiraConfig",
    "JiraTracker",
    "LocalConfig",
    "MemoryTracker",
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
