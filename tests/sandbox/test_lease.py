"""The reset lease: while one run holds the sandbox, another reset waits a bounded time, then is refused
naming the holder; a released or lapsed lease lets the next run in."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from automation.api import prepare_sandbox, release_sandbox
from automation.environments import Target
from automation.errors import SandboxInUse
from automation.sandbox import SandboxServer
from automation.sandbox.lease import SandboxBusy


@pytest.fixture
def served() -> Iterator[SandboxServer]:
    with SandboxServer() as server:
        yield server


def _reset(server: SandboxServer, **body: object) -> httpx.Response:
    return httpx.post(
        server.urls["portal"] + "/_sandbox/reset", json=body, headers=server.control_headers, timeout=30
    )


def test_a_second_reset_waits_then_is_refused_naming_the_holder(served: SandboxServer) -> None:
    assert _reset(served, holder="run-a").json()["lease"]
    refused = _reset(served, holder="run-b", wait_s=0.5)
    assert refused.status_code == 409 and refused.json()["holder"] == "run-a"


def test_a_released_lease_lets_the_next_reset_in(served: SandboxServer) -> None:
    lease = _reset(served, holder="run-a").json()["lease"]
    httpx.post(
        served.urls["portal"] + "/_sandbox/release",
        json={"lease": lease},
        headers=served.control_headers,
        timeout=10,
    )
    assert _reset(served, holder="run-b", wait_s=0).status_code == 200


def test_a_lapsed_lease_lets_the_next_reset_in(served: SandboxServer) -> None:
    _reset(served, holder="run-that-died", ttl_s=0.3)
    assert _reset(served, holder="run-b", wait_s=5).status_code == 200


def test_a_reset_that_takes_no_lease_respects_a_held_one(served: SandboxServer) -> None:
    _reset(served, holder="run-a")
    assert _reset(served, wait_s=0.2).status_code == 409


def test_prepare_sandbox_says_who_holds_a_busy_sandbox(served: SandboxServer) -> None:
    target = Target(name="local", apps=dict(served.urls), resettable=True, sandbox_token=served.token)
    mine = prepare_sandbox(target, holder="run-a")
    with pytest.raises(SandboxInUse) as refused:
        prepare_sandbox(target, holder="run-b", lease_wait_s=0.2)
    message = str(refused.value)
    assert f"the sandbox at {served.urls['portal']} is in use by another run (run-a)" in message
    release_sandbox(target, mine)
    assert prepare_sandbox(target, holder="run-b", lease_wait_s=0) is not None


def test_the_reset_route_takes_the_lease_the_in_process_reset_would(served: SandboxServer) -> None:
    taken = _reset(served, holder="run-a", ttl_s=120).json()
    held = served.leases.holder()
    assert held is not None and (held.holder, held.token) == ("run-a", taken["lease"])
    assert taken == {"ok": True, "lease": held.token, "holder": "run-a", "expires_in": 120}
    assert served.leases.release(taken["lease"])


def test_the_reset_route_restores_what_the_in_process_reset_restores(served: SandboxServer) -> None:
    base = served.urls["portal"]
    token = served.control_headers
    httpx.post(
        base + "/_sandbox/faults", json={"route": "/auth/login", "status": 500}, headers=token, timeout=10
    )
    httpx.post(base + "/_sandbox/settings", json={"portal_code_ttl_s": 1}, headers=token, timeout=10)
    _reset(served, holder="run-a")
    assert httpx.get(base + "/_sandbox/faults", timeout=10).json() == []
    assert "portal_code_ttl_s" not in httpx.get(base + "/_sandbox/settings", timeout=10).json()


def test_a_lease_taken_over_http_holds_off_an_in_process_reset(served: SandboxServer) -> None:
    _reset(served, holder="run-a", ttl_s=120)
    with pytest.raises(SandboxBusy) as busy:
        served.leases.reset(served.reset, holder="run-b", ttl_s=60, wait_s=0)
    refused = _reset(served, holder="run-b", wait_s=0)
    assert refused.status_code == 409
    answer = refused.json()
    assert answer["ok"] is False and answer["holder"] == busy.value.lease.holder == "run-a"
    assert 0 < answer["expires_in"] <= 120
