"""Fault injection for reliability tests: latency, HTTP 500 and intermittent failures on a route.

Rules are switched on and off through `/_sandbox/faults` (see app.py). They live in memory: a fault is a
test's temporary arrangement, and `POST /_sandbox/reset` clears them along with the data.
"""

from __future__ import annotations

import asyncio
import fnmatch
import random
import threading
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

AppName = Literal["portal", "netsuite", "any"]


class FaultRule(BaseModel):
    """One rule. `route` is a path or a glob (`/auth/*`); the control routes `/_sandbox/*` are never faulted."""

    model_config = ConfigDict(extra="forbid")

    route: str = Field(description="Path or glob, e.g. /auth/resendVerifyCode or /app/*")
    app: AppName = "any"
    method: str | None = Field(default=None, description="Only this HTTP method (GET, POST); any if absent")
    latency_ms: int = Field(default=0, ge=0, le=120_000, description="Delay before answering")
    status: int | None = Field(default=None, ge=400, le=599, description="Answer with this status instead")
    rate: float = Field(default=1.0, ge=0.0, le=1.0, description="Share of matching requests affected")
    times: int | None = Field(default=None, ge=1, description="Affect only the next N matching requests")


@dataclass
class _Active:
    rule: FaultRule
    remaining: int | None
    hits: int = 0


@dataclass
class Faults:
    """The active rules, shared by both apps' middleware."""

    _rules: list[_Active] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _rng: random.Random = field(default_factory=lambda: random.Random(7))

    def add(self, rule: FaultRule) -> None:
        with self._lock:
            self._rules.append(_Active(rule, rule.times))

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            return [{**a.rule.model_dump(), "remaining": a.remaining, "hits": a.hits} for a in self._rules]

    def match(self, app: str, method: str, path: str) -> FaultRule | None:
        """The first rule that applies to this request, consuming one of its `times`."""
        if path.startswith("/_sandbox"):
            return None
        with self._lock:
            for active in self._rules:
                rule = active.rule
                if rule.app not in ("any", app):
                    continue
                if rule.method and rule.method.upper() != method.upper():
                    continue
                if not fnmatch.fnmatchcase(path, rule.route):
                    continue
                if active.remaining is not None and active.remaining <= 0:
                    continue
                if rule.rate < 1.0 and self._rng.random() >= rule.rate:
                    continue
                if active.remaining is not None:
                    active.remaining -= 1
                active.hits += 1
                return rule
        return None


class FaultMiddleware:
    """ASGI middleware: delays or fails requests that a rule matches."""

    def __init__(self, app: Any, *, faults: Faults, app_name: str) -> None:
        self.app, self.faults, self.app_name = app, faults, app_name

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rule = self.faults.match(self.app_name, scope["method"], scope["path"])
        if rule is None:
            await self.app(scope, receive, send)
            return
        if rule.latency_ms:
            await asyncio.sleep(rule.latency_ms / 1000)
        if rule.status is None:
            await self.app(scope, receive, send)
            return
        body = f"<h1>{rule.status} Server Error</h1><p>Injected by the sandbox fault switch.</p>".encode()
        await send(
            {
                "type": "http.response.start",
                "status": rule.status,
                "headers": [(b"content-type", b"text/html; charset=utf-8")],
            }
        )
        await send({"type": "http.response.body", "body": body})
