"""The checks behind the console's door: the status page, its JSON and the checks' evidence under /checks/
(automation.checks.web's own app, mounted as it is), and the checks' metrics at /metrics.

Who may see them is one question to permissions.allowed: Action.CHECKS_VIEW (operations, admin). Anyone else
the gate let through gets 403: the console's error page, or JSON on the paths that take an API token
(gate.takes_token: /metrics and /checks/api/..., for Prometheus and scripts; the pages need a session). The
checks' /healthz is behind the same door here: the console's own /healthz is the public one.

A console started without a checks file has no checks pages: /checks/ and /metrics then say so (404), and how to
give it one. The checks never import the console (pyproject.toml's layers): the console comes to them.

`runbook checks web` and `checks serve` serve the same pages at their own root, behind the same door (`door`,
handed to automation.checks.web.server.StatusServer and automation.checks.watchdog.serve.Service by the
command line): the console's sign-in page, its sessions and its API tokens, read from the same store
(RUNBOOK_DATA's console.db or RUNBOOK_DATABASE_URL). A token opens /api/status and /metrics (Prometheus's
`authorization` scrape setting), never a page; /healthz alone is open and says only ok or not. With no user in
the store yet, everything but /healthz answers 401 saying how to create the first one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from automation.console import pages
from automation.console.context import Console
from automation.console.evidence_routes import REPORT_POLICY
from automation.console.gate import Gate, takes_token
from automation.console.permissions import Action, Actor, Team, allowed
from automation.console.security import SecurityHeaders, require_csrf
from automation.console.store import ConsoleStore
from automation.store.tables.console import users

if TYPE_CHECKING:
    from automation.catalog import Catalog
    from automation.checks.storage.history import History
    from automation.checks.web.app import MetricsSource

PREFIX = "/checks"
EVIDENCE = PREFIX + "/evidence/"
REFUSED = (
    "Your role does not show the checks (their status page and /metrics): "
    "ask an admin for the operations role if you need them."
)


@dataclass(frozen=True)
class ChecksSite:
    """The checks one console shows: the checks' web app over their history, and the metrics it serves."""

    app: ASGIApp
    metrics: MetricsSource
    history: History
    source: Path  # the checks file or folder, to say at start which one

    def close(self) -> None:
        self.history.close()


def open_checks(file: Path | None, catalog: Catalog) -> ChecksSite | None:
    """The checks of `file`, else of the file `runbook checks web` finds (RUNBOOK_CHECKS, then the catalog's
    checks.yaml or checks/); None when none was named and there is none. History and evidence are where
    `checks web` reads them (RUNBOOK_DATA, RUNBOOK_EVIDENCE_ROOT or RUNBOOK_TRACES). Raises ChecksFileError
    (a named file missing, or a file that does not validate: file:line)."""
    from automation.checks.config.load import checks_path, load_checks
    from automation.checks.config.resolved import in_window
    from automation.checks.metrics.from_store import FleetMetrics
    from automation.checks.places import Places
    from automation.checks.web.app import create_app
    from automation.checks.web.server import database_health

    path = file or checks_path(catalog)
    if file is None and not path.exists():
        return None
    config = load_checks(path, catalog=catalog)
    host = Places(checks_file=path).host()
    checks = config.checks
    metrics = FleetMetrics(host.history)
    app = create_app(
        host.history,
        [c.info() for c in checks.values()],
        metrics=metrics,
        evidence_root=host.evidence_root,
        in_maintenance=lambda name, at: name in checks and in_window(checks[name], at) is not None,
        clock=host.clock,
        healthy=lambda: database_health(host.history),
        # No self-reload here: it fails WCAG 2.2.1 (timing adjustable), and a page that reloads every minute
        # would keep its session alive past the idle timeout. The page says to reload it.
        refresh_s=None,
    )
    return ChecksSite(app=app, metrics=metrics, history=host.history, source=config.path or path)


def checks_at_start(file: Path | None, catalog: Catalog) -> tuple[ChecksSite | None, str]:
    """The checks `runbook server` shows, and the line it says about them once at start.

    A file named with --checks must load: ChecksFileError (exit 2, naming the line) otherwise. A file only
    found (RUNBOOK_CHECKS, the runbooks' checks.yaml) that does not load costs the console its checks pages,
    not its start: the agents' runs do not wait on a check's environment."""
    from automation.checks.config.load import ChecksFileError, checks_path

    try:
        site = open_checks(file, catalog)
    except ChecksFileError as exc:
        if file is not None:
            raise
        return None, (
            "The checks file does not load, so the console serves no checks pages "
            f"(`runbook checks validate` checks it): {exc}"
        )
    if site is None:
        return None, (
            f"No checks file at {checks_path(catalog)}: the console serves no checks pages "
            "(name one with --checks FILE or RUNBOOK_CHECKS)."
        )
    return site, f"Checks from {site.source}: /checks/ and /metrics (operations and admins)"


def may_see_checks(actor: Actor | None, teams: Mapping[str, Team] | None = None) -> bool:
    """The checks are a site-wide grant: teams do not enter into it (they are passed for the one door's sake)."""
    return actor is not None and allowed(actor, Action.CHECKS_VIEW, None, teams or {})


# For the header's navigation (base.html), as run_pages does for the audit log.
pages.templates.globals.update(may_see_checks=may_see_checks)


def install(app: FastAPI, site: ChecksSite | None) -> None:
    """Mount the checks at /checks/ and their metrics at /metrics, both behind CHECKS_VIEW."""
    inner: ASGIApp = site.app if site is not None else _missing
    app.mount(PREFIX, Guarded(inner), name="checks")
    metrics: ASGIApp = _metrics_app(site.metrics) if site is not None else _missing
    app.add_route("/metrics", Guarded(metrics), methods=["GET"], include_in_schema=False)  # type: ignore[arg-type]


class Guarded:
    """ASGI: lets through only an actor who may see the checks; a report under `evidence` (/checks/evidence/ in
    the console) gets the console's sandboxed report policy (it carries its own inline style and script)."""

    def __init__(self, app: ASGIApp, evidence: str = EVIDENCE) -> None:
        self.app = app
        self.evidence = evidence

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        console = request.app.state.console
        if not may_see_checks(getattr(request.state, "actor", None), console.config.teams):
            await _refusal(request, 403, REFUSED)(scope, receive, send)
            return
        if not scope["path"].startswith(self.evidence):
            await self.app(scope, receive, send)
            return

        async def send_report(message: Message) -> None:
            if message["type"] == "http.response.start" and _is_html(message):
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() != b"content-security-policy"
                ]
                headers.append((b"content-security-policy", REPORT_POLICY.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_report)


def _is_html(message: Message) -> bool:
    kinds = [v for k, v in message.get("headers", []) if k.lower() == b"content-type"]
    return any(v.startswith(b"text/html") for v in kinds)


def _refusal(request: Request, status: int, message: str) -> Response:
    if takes_token(request.url.path):
        return JSONResponse({"error": message}, status_code=status)
    return pages.render(request, "error.html", status, status=status, message=message)


def _metrics_app(metrics: MetricsSource) -> ASGIApp:
    async def serve(scope: Scope, receive: Receive, send: Send) -> None:
        body, content_type = await run_in_threadpool(metrics.render)  # FleetMetrics asks the database
        await Response(content=body, headers={"Content-Type": content_type})(scope, receive, send)

    return serve


async def _missing(scope: Scope, receive: Receive, send: Send) -> None:
    message = (
        "This console was started without a checks file, so it shows no checks: start it with "
        "`runbook server --checks FILE` (or set RUNBOOK_CHECKS)."
    )
    await _refusal(Request(scope), 404, message)(scope, receive, send)


# -- `runbook checks web` and `checks serve`: the checks' own servers behind the console's door ------------------

FIRST_USER = (
    "No one can sign in here yet: there is no user. Create the first with `runbook users add NAME --role admin` "
    "(with the same RUNBOOK_DATA or RUNBOOK_DATABASE_URL as this server), then sign in; for Prometheus, "
    "`runbook tokens create prometheus --role operations` makes the bearer token its scrape sends."
)
CONSOLE_CSS = Path(__file__).parent / "static" / "console.css"


def open_door(config: Path | None, allowed_hosts: Sequence[str], catalog: Catalog | None = None) -> Door:
    """The door of `checks web` and `checks serve` as the command line opens it: the console's store (where
    `runbook users` and `runbook tokens` write), console.yaml as `runbook server` reads it (`config`, else
    ./console.yaml when there is one: session timeouts, the Secure cookie, allowed_hosts), and the Host names
    answered (`allowed_hosts`, else console.yaml's). Raises ConsoleFileError (file:line, exit 2)."""
    from automation.catalog import Catalog
    from automation.console.config import ConsoleConfig, ServerSpec, console_path, load_console_config

    catalog = catalog or Catalog.default()
    if config is None and not console_path().is_file():
        loaded = ConsoleConfig(teams={}, server=ServerSpec())
    else:
        loaded = load_console_config(config, catalog=catalog)
    console = Console(store=ConsoleStore(), config=loaded, catalog=catalog)
    return Door(console, tuple(allowed_hosts) or tuple(loaded.server.allowed_hosts))


@dataclass(frozen=True)
class Door:
    """The door `checks web` and `checks serve` are given: called with the checks' app
    (automation.checks.web.app), it returns `standalone`, answering only to the Host names in `allowed_hosts`."""

    console: Console
    allowed_hosts: tuple[str, ...]

    def __call__(self, checks_app: ASGIApp) -> FastAPI:
        return standalone(checks_app, self.console, self.allowed_hosts)

    @property
    def secure_cookie(self) -> bool:
        return self.console.config.server.secure_cookie


def standalone(checks_app: ASGIApp, console: Console, allowed_hosts: Sequence[str]) -> FastAPI:
    """The checks' pages at the root, behind the console's door. The layers, outermost first: the security
    headers, the Host check, the first-user check, the gate (session or token), then the sign-in routes, the
    open /healthz, and the checks' own app for whoever may see the checks (CHECKS_VIEW)."""
    app = FastAPI(title="runbook checks", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.console = console
    app.include_router(_sign_in_routes())
    app.add_api_route("/static/console.css", _console_css, methods=["GET"], include_in_schema=False)
    app.add_route("/healthz", checks_app)  # type: ignore[arg-type]  # the checks' own: ok or not, nothing more
    app.mount("/", Guarded(checks_app, evidence="/evidence/"), name="checks")
    app.add_exception_handler(StarletteHTTPException, _http_error)
    # add_middleware puts each new one outside the others: the gate is innermost, the headers outermost
    app.add_middleware(Gate, console=console)
    app.add_middleware(FirstUserNeeded, store=console.store)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))
    app.add_middleware(SecurityHeaders)
    return app


def _sign_in_routes() -> APIRouter:
    """The console's own sign-in and sign-out (pages.py), without its other pages."""
    router = APIRouter(dependencies=[Depends(require_csrf)], include_in_schema=False)
    router.add_api_route("/login", pages.login_page, methods=["GET"])
    router.add_api_route("/login", pages.login, methods=["POST"])
    router.add_api_route("/logout", pages.logout, methods=["POST"])
    return router


def _console_css() -> FileResponse:
    return FileResponse(CONSOLE_CSS, media_type="text/css")


async def _http_error(request: Request, exc: Exception) -> Response:
    """The door's own refusals (a form without its CSRF token, an unknown route): the message only."""
    assert isinstance(exc, StarletteHTTPException)
    message = "There is no such page." if exc.status_code == 404 else str(exc.detail)
    return _refusal(request, exc.status_code, message)


def has_users(store: ConsoleStore) -> bool:
    with store.reading() as conn:
        return conn.execute(select(users.c.name).limit(1)).first() is not None


class FirstUserNeeded:
    """ASGI: while the store has no user, every request but /healthz gets 401 saying how to make the first one
    (a fresh install is closed, not open). Once one exists it is not asked again: users are disabled, never
    deleted."""

    def __init__(self, app: ASGIApp, store: ConsoleStore) -> None:
        self.app = app
        self.store = store
        self.found = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] != "/healthz" and not self.found:
            self.found = await run_in_threadpool(has_users, self.store)
            if not self.found:
                await _no_user_yet(scope)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _no_user_yet(scope: Scope) -> Response:
    if takes_token(scope["path"]):
        return JSONResponse({"error": FIRST_USER}, status_code=401, headers={"www-authenticate": "Bearer"})
    return PlainTextResponse(FIRST_USER, status_code=401)
