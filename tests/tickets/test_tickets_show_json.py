"""`runbook tickets show ID --json`: the record `tickets list --json` gives, and the body, as one object."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable

from automation.tickets import Ticket, TicketStore


def test_tickets_show_json_is_the_listed_record_with_its_body(
    store: TicketStore, make_ticket: Callable[..., Ticket]
) -> None:
    local_id = store.create(make_ticket(run_id="run-1"), delivery="local").local_id
    env = {**os.environ, "RUNBOOK_DATA": str(store.data_dir)}
    cli = [sys.executable, "-m", "automation.cli", "tickets"]
    shown = subprocess.run([*cli, "show", local_id, "--json"], env=env, capture_output=True, text=True)
    listed = subprocess.run([*cli, "list", "--json"], env=env, capture_output=True, text=True)
    assert shown.returncode == 0, shown.stderr
    record = json.loads(shown.stdout)
    assert {k: v for k, v in record.items() if k != "body"} == json.loads(listed.stdout)[0]
    assert "Customer tried three times since Monday." in record["body"]


def test_tickets_show_json_of_an_unknown_ticket_is_a_json_error(store: TicketStore) -> None:
    env = {**os.environ, "RUNBOOK_DATA": str(store.data_dir)}
    proc = subprocess.run(
        [sys.executable, "-m", "automation.cli", "tickets", "show", "RB-99", "--json"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and json.loads(proc.stdout)["exit_code"] == 2
