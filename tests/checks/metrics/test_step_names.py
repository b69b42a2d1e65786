"""A step's metric label is its number and its label as the runbook writes it: a real run in Chromium of a
check whose `say` step tells the agent a customer's email leaves that email in the history (what the run
showed) but nowhere in /metrics, counted in this process (in_process) or read from the history (from_store)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from automation.checks.config.load import load_checks
from automation.checks.metrics.from_store import FleetMetrics
from automation.checks.metrics.step_names import metric_step
from automation.checks.storage.history import History
from automation.checks.watchdog.run_check import Host, run_check
from automation.environments import sandbox_target
from automation.sandbox import SandboxServer

REPO = Path(__file__).resolve().parents[3]
CUSTOMER = "alice.metrics@example.com"
RUNBOOK = """\
name: mail-note-for-metrics
title: Tell the agent where the email went
app: portal
inputs:
  email: {type: email, help: The customer's email address}
outcomes:
  told: {status: resolved, summary: The agent told the customer.}
steps:
  - goto: /auth/login
    label: Open the login page
  - say: "The email was sent to {{ email }}"
  - say: "Ask {{ email }} to check the spam folder"
    label: Spam folder
"""


def step_labels(exposition: bytes) -> set[str]:
    return {
        s.labels["step"]
        for family in text_string_to_metric_families(exposition.decode())
        for s in family.samples
        if family.name == "probe_step_duration_seconds"
    }


def test_a_say_steps_input_value_reaches_the_history_but_never_a_metric_label(
    tmp_path: Path, sandbox: SandboxServer, browser: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "runbooks").mkdir()
    (tmp_path / "runbooks" / "mail-note.yaml").write_text(RUNBOOK)
    monkeypatch.setenv("RUNBOOK_PATH", os.pathsep.join([str(tmp_path / "runbooks"), str(REPO / "runbooks")]))
    (tmp_path / "checks.yaml").write_text(
        f"checks:\n  mail-note:\n    runbook: mail-note-for-metrics\n    every: 5m\n"
        f"    inputs: {{email: {CUSTOMER}}}\n"
    )
    config = load_checks(tmp_path / "checks.yaml")
    data = tmp_path / "data"
    host = Host(
        history=History(data_dir=data),
        evidence_root=tmp_path / "evidence",
        data_dir=data,
        target_for=lambda env: sandbox_target(sandbox),
        browser=browser,
    )
    run = run_check(config.checks["mail-note"], host, config=config)
    assert run.status == "passed", run.summary
    # The history keeps what the agent was shown: the rendered text.
    assert f"The email was sent to {CUSTOMER}" in [s.label for s in run.steps]

    expected = {"1 Open the login page", "2 The email was sent to {{ email }}", "3 Spam folder"}
    for where, (body, _) in {"in process": host.metrics.render(), "from the history": FleetMetrics(host.history).render()}.items():  # fmt: skip
        assert step_labels(body) == expected, where
        assert b"alice" not in body, where


def test_a_step_the_runbook_does_not_name_alone_is_named_by_its_number() -> None:
    assert metric_step("no-such-runbook-anywhere", "2") == "2"
    # the arms of synthetic-login's branch: "5.1" is one step there, named by its YAML label
    assert metric_step("synthetic-login", "5.1") == "5.1 The portal shows the monitoring account signed in"
