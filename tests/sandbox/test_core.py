"""The sandbox's control routes: health, reset, mail outbox, fault switches."""

from __future__ import annotations

import httpx

from automation.sandbox import SandboxServer


def test_both_apps_answer_on_their_own_base_url(sandbox: SandboxServer) -> None:
    assert httpx.get(sandbox.urls["portal"] + "/_sandbox/health").json()["app"] == "portal"
    assert httpx.get(sandbox.urls["netsuite"] + "/_sandbox/health").json()["app"] == "netsuite"


def test_mail_outbox_lists_newest_first_for_one_address(sandbox: SandboxServer) -> None:
    assert sandbox.store is not None
    sandbox.store.send_mail(app="portal", to="A@Example.com", subject="first", text="one")
    sandbox.store.send_mail(app="portal", to="a@example.com", subject="second", text="two")
    sandbox.store.send_mail(app="portal", to="other@example.com", subject="else", text="x")
    mail = httpx.get(sandbox.urls["portal"] + "/_sandbox/mail", params={"to": "a@example.com"}).json()
    assert [m["subject"] for m in mail] == ["second", "first"]
    assert set(mail[0]) >= {"to", "subject", "text", "links"}
    page = httpx.get(sandbox.urls["portal"] + "/_sandbox/outbox").text
    assert "second" in page and "SANDBOX" in page


def test_reset_restores_the_seed_and_empties_the_outbox(sandbox: SandboxServer) -> None:
    assert sandbox.store is not None
    sandbox.store.send_mail(app="portal", to="a@example.com", subject="s", text="t")
    reset = httpx.post(sandbox.urls["netsuite"] + "/_sandbox/reset", json={}, headers=sandbox.control_headers)
    assert reset.json() == {"ok": True}
    assert httpx.get(sandbox.urls["portal"] + "/_sandbox/mail").json() == []


def test_fault_switch_fails_a_route_the_given_number_of_times(sandbox: SandboxServer) -> None:
    base = sandbox.urls["portal"]
    add = {"headers": sandbox.control_headers}
    httpx.post(
        base + "/_sandbox/faults", json={"route": "/_sandbox_x*", "status": 500}, **add
    ).raise_for_status()
    httpx.post(
        base + "/_sandbox/faults", json={"route": "/login*", "status": 503, "times": 2}, **add
    ).raise_for_status()
    codes = [httpx.get(base + "/login").status_code for _ in range(3)]
    assert codes[:2] == [503, 503] and codes[2] != 503
    assert httpx.delete(base + "/_sandbox/faults", **add).json() == []


def test_fault_switch_adds_latency(sandbox: SandboxServer) -> None:
    base = sandbox.urls["netsuite"]
    httpx.post(
        base + "/_sandbox/faults", json={"route": "/slow", "latency_ms": 300}, headers=sandbox.control_headers
    ).raise_for_status()
    response = httpx.get(base + "/slow")
    assert response.elapsed.total_seconds() >= 0.3


def test_fault_rule_with_unknown_field_is_refused(sandbox: SandboxServer) -> None:
    response = httpx.post(
        sandbox.urls["portal"] + "/_sandbox/faults",
        json={"route": "/x", "colour": "red"},
        headers=sandbox.control_headers,
    )
    assert response.status_code == 422
