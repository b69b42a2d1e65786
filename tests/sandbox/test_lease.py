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


@pytest.fixture
def served() -> Iterator[SandboxServer]:
    with SandboxServer() as server:
        yield server


def _reset(server: SandboxServer, **body: object) -> httpx.Response:
    return httpx.post(server.urls["portal"] + "/_sandbox/reset", json=body, timeout=30)


def test_a_second_reset_waits_then_is_refused_naming_the_holder(served: SandboxServer) -> None:
    assert _reset(served, holder="run-a").json()["lease"]
    refused = _reset(served, holder="run-b", wait_s=0.5)
    assert refused.status_code == 409 and refused.json()["holder"] == "run-a"


def test_a_released_lease_lets_the_next_reset_in(served: SandboxServer) -> None:
    lease = _reset(served, holder="run-a").json()["lease"]
    httpx.post(served.urls["portal"] + "/_sandbox/release", json={"lease": lease}, timeout=10)
    assert _reset(served, holder="run-b", wait_s=0).status_code == 200


def test_a_lapsed_lease_lets_the_next_reset_in(served: SandboxServer) -> None:
    _reset(served, holder="run-that-died", ttl_s=0.3)
    assert _reset(served, holder="run-b", wait_s=5).status_code == 200


def test_a_reset_that_takes_no_lease_respects_a_held_one(served: SandboxServer) -> None:
    _reset(served, holder="run-a")
    assert _reset(served, wait_s=0.2).status_code == 409


def test_prepare_sandbox_says_who_holds_a_busy_sandbox(served: SandboxServer) -> None:
    target = Target(name="local", apps=dict(served.urls), resettable=True)
    mine = prepare_sandbox(target, holder="run-a")
    with pytest.raises(SandboxInUse) as refused:
        prepare_sandbox(target, holder="run-b", lease_wait_s=0.2)
    message = str(refused.value)
    assert f"the sandbox at {served.urls['portal']} is in use by another run (run-a)" in message
    release_sandbox(target, mine)
    assert prepare_sandbox(target, holder="run-b", lease_wait_s=0) is not None
