"""`runbook checks web`: the status page, /api/status, /metrics and /healthz with no scheduler in the process.

Everything is read from the history store, so with RUNBOOK_DATABASE_URL naming the fleet's database this shows
every check whichever worker or machine ran it; /metrics asks the database at each scrape
(metrics.from_store).
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
from automation.listen import listen

if TYPE_CHECKING:
    from automation.checks.storage.history import History


@dataclass
class StatusServer:
    config: ChecksConfig
    history: History
    evidence_root: Path
    clock: Callable[[], datetime]
    address: str = "127.0.0.1"
    port: int = 8780
    url: str = ""

    def app(self) -> Any:
        """The FastAPI app: the same pages as `checks serve`, metrics from the database."""
        from automation.checks.metrics.from_store import FleetMetrics
        from automation.checks.web.app import create_app

        checks = self.config.checks
        return create_app(
            self.history,
            [c.info() for c in checks.values()],
            metrics=FleetMetrics(self.history),
            evidence_root=self.evidence_root,
            in_maintenance=lambda name, at: name in checks and in_window(checks[name], at) is not None,
            clock=self.clock,
            healthy=self.health,
        )

    def health(self) -> dict[str, Any]:
        """Healthy while the database answers: a status server that cannot read history shows nothing true."""
        with self.history.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return {
            "ok": True,
            "checks": len(self.config.checks),
            "database": self.history.engine.dialect.name,
        }

    def run(self, on_ready: Any = None) -> None:
        """Serve until SIGTERM or Ctrl-C (uvicorn's own handling). Raises TargetUnreachableError (port taken)."""
        import uvicorn

        sock = listen(self.address, self.port, who="checks web")
        self.url = f"http://{self.address}:{sock.getsockname()[1]}"
        if on_ready is not None:
            on_ready(self.url)
        config = uvicorn.Config(self.app(), lifespan="off", log_level="warning", access_log=False)
        uvicorn.Server(config).run(sockets=[sock])
