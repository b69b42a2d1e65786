"""`runbook checks web`: the status page, /api/status, /metrics and /healthz with no scheduler in the process.

Everything is read from the history store, so with RUNBOOK_DATABASE_URL naming the fleet's database this shows
every check whichever worker or machine ran it; /metrics asks the database at each scrape
(metrics.from_store).

Who may read them is not the checks' to decide: the caller hands in a `door` (the console's sign-in, sessions
and API tokens, automation.console.checks_site.door), which wraps the checks' app. The checks import nothing
of the console (pyproject.toml's layers): the command line, above both, joins them. The server listens on
loopback only; from elsewhere it is reached through a reverse proxy that adds TLS (README: Security).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from automation.checks.config.load import ChecksConfig
from automation.checks.config.resolved import in_window
from automation.errors import ConfigError
from automation.httpsecurity import is_loopback
from automation.listen import listen

if TYPE_CHECKING:
    from automation.checks.storage.history import History

# The door: takes the checks' own app (every route open) and returns the app to serve (the same routes behind
# a sign-in). Only /healthz may stay open.
Door = Callable[[Any], Any]


def require_loopback(address: str, who: str) -> None:
    """Refuse to listen anywhere but loopback. Raises ConfigError (exit 2) saying what to do instead."""
    if not is_loopback(address):
        raise ConfigError(
            f"{who} listens on loopback only (127.0.0.1, ::1 or localhost), not on {address}: to reach it "
            "from other machines, put a reverse proxy with TLS in front of it on this machine (nginx, Caddy; "
            "README: Security) and list the name people use with --allowed-host."
        )


def database_health(history: History) -> dict[str, Any]:
    """Healthy while the database answers: a status server that cannot read history shows nothing true.
    Raises the driver's error otherwise (the app logs it; /healthz says only that it is not ok)."""
    with history.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    return {"ok": True}


@dataclass
class StatusServer:
    config: ChecksConfig
    history: History
    evidence_root: Path
    clock: Callable[[], datetime]
    door: Door
    address: str = "127.0.0.1"
    port: int = 8780
    url: str = ""

    def app(self) -> Any:
        """The app served: the checks' pages (metrics from the database) behind the door."""
        from automation.checks.metrics.from_store import FleetMetrics
        from automation.checks.web.app import create_app

        checks = self.config.checks
        inner = create_app(
            self.history,
            [c.info() for c in checks.values()],
            metrics=FleetMetrics(self.history),
            evidence_root=self.evidence_root,
            in_maintenance=lambda name, at: name in checks and in_window(checks[name], at) is not None,
            clock=self.clock,
            healthy=self.health,
        )
        return self.door(inner)

    def health(self) -> dict[str, Any]:
        return database_health(self.history)

    def run(self, on_ready: Any = None) -> None:
        """Serve until SIGTERM or Ctrl-C (uvicorn's own handling). Raises ConfigError (not loopback) or
        TargetUnreachableError (port taken)."""
        import uvicorn

        require_loopback(self.address, "checks web")
        app = self.app()
        sock = listen(self.address, self.port, who="checks web")
        self.url = f"http://{self.address}:{sock.getsockname()[1]}"
        if on_ready is not None:
            on_ready(self.url)
        config = uvicorn.Config(
            app, lifespan="off", log_level="warning", access_log=False, server_header=False
        )
        uvicorn.Server(config).run(sockets=[sock])
