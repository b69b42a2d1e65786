"""The two emulated apps and the `/_sandbox` control routes both of them carry.

Control routes (on either app's base URL; they act on the shared state):
    POST   /_sandbox/reset              restore the seed fixture (and clear faults); JSON {"holder": RUN}
                                        also takes the reset lease for that run (see lease.py); 409 if
                                        another run holds it past the wait
    POST   /_sandbox/release            {"lease": TOKEN}: give the lease back at the end of the run
    GET    /_sandbox/mail?to=ADDRESS    the mail outbox as JSON, newest first
    GET    /_sandbox/outbox             the mail outbox as a page
    GET    /_sandbox/faults             the active fault rules
    POST   /_sandbox/faults             add a rule (JSON body, see faults.FaultRule)
    DELETE /_sandbox/faults             clear every rule
    GET    /_sandbox/settings           the switches (e.g. netsuite_refusal: alert | banner)
    POST   /_sandbox/settings           set switches (JSON object)
    GET    /_sandbox/health             {"ok": true, "app": NAME}

Every route that changes state (POST, DELETE) takes only JSON (`Content-Type: application/json`, else 415)
carrying the sandbox's token in the X-Runbook-Sandbox-Token header (else 403). A web page on another site
can send a form to a loopback address, never a JSON body with a custom header (the browser asks first, and
the sandbox answers no CORS): no page can reset or reconfigure a served sandbox. The token is made at random
by each SandboxServer; the embedded one hands it to the engine in process, `runbook sandbox serve` writes it
to a file of the data folder (RUNBOOK_SANDBOX_TOKEN gives it to an engine elsewhere).
"""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Body, Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.middleware.trustedhost import TrustedHostMiddleware

from automation.httpsecurity import INLINE_PAGES_POLICY, LOOPBACK_HOSTS, SecurityHeaders
from automation.sandbox.faults import FaultMiddleware, FaultRule, Faults
from automation.sandbox.lease import Leases, ResetRequest, SandboxBusy
from automation.sandbox.store import Store
from automation.sandbox.web import render, store_of

TOKEN_HEADER = "X-Runbook-Sandbox-Token"
_CHANGES_STATE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _json_with_token(request: Request) -> None:
    """Refuse a state-changing control request that is not JSON (415) or lacks the sandbox's token (403)."""
    if request.method not in _CHANGES_STATE:
        return
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if request.method != "DELETE" and media_type != "application/json":
        raise HTTPException(
            415,
            "the sandbox's control routes take JSON only (Content-Type: application/json), never a form: "
            "a page on another site could post a form here",
        )
    given = request.headers.get(TOKEN_HEADER, "")
    if not secrets.compare_digest(given.encode(), request.app.state.token.encode()):
        raise HTTPException(
            403,
            f"this control route needs the sandbox's token in the {TOKEN_HEADER} header "
            + ("(the one given is not it)" if given else "(none was given)")
            + ": `runbook sandbox serve` says where it wrote it; engines read it from there or from "
            "RUNBOOK_SANDBOX_TOKEN",
        )


control = APIRouter(prefix="/_sandbox", dependencies=[Depends(_json_with_token)])


@control.get("/health")
def health(request: Request) -> dict[str, Any]:
    return {"ok": True, "app": request.app.state.name}


@control.post("/reset")
def reset(request: Request, body: ResetRequest | None = Body(default=None)) -> JSONResponse:
    # A plain `def`: FastAPI runs it in its thread pool, so waiting for a held lease blocks no other request.
    spec = body or ResetRequest()
    state = request.app.state

    def do_reset() -> None:
        store_of(request).reset()
        state.faults.clear()

    try:
        lease = state.leases.reset(do_reset, holder=spec.holder, ttl_s=spec.ttl_s, wait_s=spec.wait_s)
    except SandboxBusy as busy:
        held = busy.lease
        return JSONResponse(
            {"ok": False, "holder": held.holder, "expires_in": round(held.expires_in()), "error": str(busy)},
            status_code=409,
        )
    if lease is None:
        return JSONResponse({"ok": True})
    return JSONResponse({"ok": True, "lease": lease.token, "holder": lease.holder, "expires_in": spec.ttl_s})


@control.post("/release")
def release(request: Request, body: dict[str, str] = Body(...)) -> dict[str, Any]:
    return {"ok": True, "released": request.app.state.leases.release(body.get("lease", ""))}


@control.get("/mail")
def mail(request: Request, to: str | None = None) -> list[dict[str, Any]]:
    return store_of(request).mail(to)


@control.get("/outbox", response_class=HTMLResponse)
def outbox(request: Request, to: str | None = None) -> HTMLResponse:
    return render(request, "outbox.html", messages=store_of(request).mail(to), to=to or "")


@control.get("/faults")
def list_faults(request: Request) -> list[dict[str, Any]]:
    return request.app.state.faults.describe()


@control.post("/faults")
def add_fault(request: Request, rule: FaultRule) -> list[dict[str, Any]]:
    request.app.state.faults.add(rule)
    return request.app.state.faults.describe()


@control.delete("/faults")
def clear_faults(request: Request) -> list[dict[str, Any]]:
    request.app.state.faults.clear()
    return []


@control.get("/settings")
def get_settings(request: Request) -> dict[str, Any]:
    rows = store_of(request).all("SELECT key FROM settings ORDER BY key")
    return {r["key"]: store_of(request).setting(r["key"]) for r in rows}


@control.post("/settings")
def set_settings(request: Request, values: dict[str, Any] = Body(...)) -> JSONResponse:
    for key, value in values.items():
        store_of(request).set_setting(key, value)
    return JSONResponse(get_settings(request))


def _make(
    name: str, title: str, router: APIRouter, store: Store, faults: Faults, leases: Leases, token: str
) -> Any:
    app = FastAPI(title=title, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.name = name
    app.state.token = token
    app.state.store = store
    app.state.faults = faults
    app.state.leases = leases
    app.include_router(control)
    app.include_router(router)
    faulty = FaultMiddleware(app, faults=faults, app_name=name)
    # Loopback Host names only (a rebound DNS name gets 400), and the security headers on every answer.
    return SecurityHeaders(
        TrustedHostMiddleware(faulty, allowed_hosts=LOOPBACK_HOSTS), policy=INLINE_PAGES_POLICY
    )


def create_apps(
    store: Store, faults: Faults | None = None, leases: Leases | None = None, *, token: str
) -> dict[str, Any]:
    """Both ASGI apps over one store, one set of faults, one reset lease and one control token:
    {"portal": app, "netsuite": app}."""
    from automation.sandbox import netsuite, portal  # imported here so that each registers its tables first

    faults = faults or Faults()
    leases = leases or Leases()
    return {
        "portal": _make("portal", "Customer Portal (sandbox)", portal.router, store, faults, leases, token),
        "netsuite": _make("netsuite", "NetSuite (sandbox)", netsuite.router, store, faults, leases, token),
    }
