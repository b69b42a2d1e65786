"""`runbook server`: the console's FastAPI app (`create_app`) and the uvicorn process that serves it
(`ConsoleServer`).

The layers a request passes, outermost first: the security headers, the Host check (Starlette's
TrustedHostMiddleware: a forged Host gets 400 before anything else runs), the gate (a session or an API
token, or no further), then the routes, each router with the CSRF check.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware

from automation.catalog import Catalog
from automation.console import api_runs, checks_site, evidence_routes, json_api, pages, run_pages, stream
from automation.console.checks_site import ChecksSite
from automation.console.config import ConsoleConfig
from automation.console.context import Console
from automation.console.gate import Gate, is_api
from automation.console.runs.executor import Executor, RunSettings
from automation.console.runs.service import RunService
from automation.console.runs.wakeup import Wakeup
from automation.console.security import SecurityHeaders
from automation.console.store import ConsoleStore
from automation.listen import listen

STATIC = Path(__file__).parent / "static"


def run_service(console: Console, settings: RunSettings | None = None) -> RunService:
    """The runs of this console: a wake-up, and an executor of `server.concurrency` threads."""
    spec = console.config.server
    settings = settings or RunSettings(
        environment=spec.environment, answer_within=spec.answer_limit, public_url=spec.public_url
    )
    wake = Wakeup()
    executor = Executor(console.store, wake, console.catalog, settings, concurrency=spec.concurrency)
    return RunService(console, wake, executor)


def create_app(
    console: Console, settings: RunSettings | None = None, checks: ChecksSite | None = None
) -> FastAPI:
    """The console's app over `console` (its store, console.yaml, catalog); tests and `runbook server` alike.
    `checks`: the checks shown at /checks/ and /metrics (checks_site.open_checks), None for none.

    Its lifespan starts the executor's threads and, at shutdown, lets the runs in flight end."""
    console.runs = console.runs or run_service(console, settings)
    executor = console.runs.executor

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        executor.start()
        try:
            yield
        finally:
            from starlette.concurrency import run_in_threadpool

            await run_in_threadpool(executor.stop)

    app = FastAPI(
        lifespan=lifespan,
        title="Runbook console API",
        version="1",
        description="Runbooks for support agents; authenticate with `Authorization: Bearer <token>`.",
        docs_url=None,  # FastAPI's own pages load scripts from a CDN: /api/docs is ours, behind the gate
        redoc_url=None,
        openapi_url=None,
    )
    app.state.console = console
    app.include_router(pages.router)
    app.include_router(json_api.router)
    app.include_router(api_runs.router)
    app.include_router(stream.router)
    app.include_router(run_pages.router)
    app.include_router(evidence_routes.router)
    _add_site_routes(app)
    checks_site.install(app, checks)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    # add_middleware puts each new one outside the others: the gate is innermost, the headers outermost
    app.add_middleware(Gate, console=console)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=console.config.server.allowed_hosts)
    app.add_middleware(SecurityHeaders)
    return app


def _add_site_routes(app: FastAPI) -> None:
    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, bool]:
        return {"ok": True}  # nothing more: it answers without a session

    @app.get("/api/openapi.json", include_in_schema=False)
    def openapi() -> dict[str, Any]:
        return app.openapi()

    @app.get("/api/docs", include_in_schema=False)
    def docs(request: Request) -> Response:
        return pages.render(request, "api_docs.html", operations=operations(app.openapi()))


def operations(schema: dict[str, Any]) -> list[dict[str, str]]:
    """Each operation of the OpenAPI schema as (method, path, summary, description), for /api/docs."""
    found = []
    for path, methods in schema.get("paths", {}).items():
        for method, operation in methods.items():
            found.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": operation.get("summary", ""),
                    "description": operation.get("description", ""),
                }
            )
    return found


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    message = str(exc.detail)
    if is_api(request.url.path):
        return JSONResponse({"error": message}, status_code=exc.status_code, headers=exc.headers)
    if exc.status_code == 404:
        message = "There is no such page."
    return pages.render(request, "error.html", exc.status_code, status=exc.status_code, message=message)


async def _invalid_request(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
    message = "the request is not valid: " + "; ".join(problems)
    if is_api(request.url.path):
        return JSONResponse({"error": message}, status_code=422)
    return pages.render(request, "error.html", 422, status=422, message=message)  # escaped by the template


@dataclass
class ConsoleServer:
    """The console on a socket: `run` serves until SIGTERM or Ctrl-C."""

    config: ConsoleConfig
    catalog: Catalog
    store: ConsoleStore
    host: str = "127.0.0.1"
    port: int = 8790
    url: str = ""
    checks: ChecksSite | None = None

    def run(self, on_ready: Any = None) -> None:
        """Serve until stopped (uvicorn's own signal handling). Raises TargetUnreachableError (port taken)."""
        import uvicorn

        sock = listen(self.host, self.port, who="runbook server")
        self.url = f"http://{self.host}:{sock.getsockname()[1]}"
        if on_ready is not None:
            on_ready(self.url)
        app = create_app(
            Console(store=self.store, config=self.config, catalog=self.catalog), checks=self.checks
        )
        config = uvicorn.Config(
            app, lifespan="on", log_level="warning", access_log=False, server_header=False
        )
        uvicorn.Server(config).run(sockets=[sock])
