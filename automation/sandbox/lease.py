"""Reset leases: concurrent runs against one served sandbox, each reset to the seed before it starts.

A run's reset takes a lease, held until the run releases it (or it expires, if the run died). While a lease
is held, another reset waits a bounded time for it, then is refused (409 over HTTP) naming the holder: a
reset never wipes the state a running run depends on. A reset that asks for no lease (a test's) waits for,
and is refused by, a held lease the same way, but takes none.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_TTL_S = 600.0
DEFAULT_WAIT_S = 30.0


class ResetRequest(BaseModel):
    """The optional JSON body of `POST /_sandbox/reset`."""

    model_config = ConfigDict(extra="forbid")

    holder: str | None = Field(default=None, max_length=1000, description="Who takes the lease (a run id)")
    ttl_s: float = Field(
        default=DEFAULT_TTL_S,
        gt=0,
        le=604_800,
        description="When an unreleased lease lapses (a week at most)",
    )
    wait_s: float = Field(
        default=DEFAULT_WAIT_S, ge=0, le=600, description="How long to wait for a held lease"
    )


@dataclass(frozen=True)
class Lease:
    holder: str
    token: str
    expires_at: float  # time.monotonic()

    def expires_in(self) -> float:
        return max(self.expires_at - time.monotonic(), 0.0)


class SandboxBusy(Exception):
    """Another run holds the sandbox; `lease` says who and for how long at most."""

    def __init__(self, lease: Lease) -> None:
        self.lease = lease
        super().__init__(f"in use by {lease.holder} for at most {lease.expires_in():.0f}s more")


class Leases:
    """The one lease of a sandbox; thread-safe (the HTTP routes run in a thread pool)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._held: Lease | None = None

    def _busy(self) -> Lease | None:
        held = self._held
        if held is not None and held.expires_in() <= 0:
            self._held = held = None  # its run died without releasing it
        return held

    def reset(
        self, do_reset: Callable[[], None], *, holder: str | None, ttl_s: float, wait_s: float
    ) -> Lease | None:
        """Reset once no other holder has the sandbox; returns the new lease (None if none was asked for).
        Raises SandboxBusy after wait_s."""
        give_up = time.monotonic() + wait_s
        with self._cond:
            while (held := self._busy()) is not None and held.holder != holder:
                left = give_up - time.monotonic()
                if left <= 0:
                    raise SandboxBusy(held)
                self._cond.wait(min(left, held.expires_in()) or 0.01)
            do_reset()  # under the lock: two resets never interleave
            if holder is None:
                return None
            self._held = Lease(holder, secrets.token_hex(8), time.monotonic() + ttl_s)
            return self._held

    def release(self, token: str) -> bool:
        """Give the lease back; False if it was not (or no longer) held with this token."""
        with self._cond:
            if self._held is None or self._held.token != token:
                return False
            self._held = None
            self._cond.notify_all()
            return True

    def holder(self) -> Lease | None:
        with self._cond:
            return self._busy()
