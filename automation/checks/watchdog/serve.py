"""`runbook checks serve`: the scheduler in the foreground and, beside it, the status page, /metrics and /healthz
on one loopback port (uvicorn in a thread). SIGTERM or SIGINT stops it as scheduler.Scheduler.shutdown says.

The pages are served behind the `door` the caller hands in (the console's sign-in and tokens: see
automation.checks.web.server); only /healthz stays open, and it says only ok or not.
"""

from __future__ import annotations

import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from automation.checks.config.load import ChecksConfig
from automation.checks.config.resolved import in_window
from automation.checks.watchdog.run_check import Host
from automation.checks.watchdog.scheduler import Scheduler
from automation.checks.web.server import Door, require_loopback
from automation.listen import listen


@dataclass
class Service:
    config: ChecksConfig
    host: Host
    door: Door
    address: str = "127.0.0.1"
    port: int = 8780
    concurrency: int = 2
    grace_s: float = 30.0
    poll_s: float = 1.0
    scheduler: Scheduler = field(init=False)
    url: str = field(init=False, default="")
    _server: Any = field(init=False, default=None)
    _thread: threading.Thread | None = field(init=False, default=None)
    _signals: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.scheduler = Scheduler(self.config, self.host, concurrency=self.concurrency, grace_s=self.grace_s)
        self.host.prime_metrics(self.config.checks)

    def start_web(self) -> Service:
        """Serve the status page, /metrics and /healthz behind the door. Raises ConfigError (an address that is
        not loopback) or TargetUnreachableError (the port is taken)."""
        import uvicorn

        from automation.checks.web.app import create_app

        require_loopback(self.address, "checks serve")
        inner = create_app(
            self.host.history,
            [c.info() for c in self.config.checks.values()],
            metrics=self.host.metrics,
            evidence_root=self.host.evidence_root,
            in_maintenance=lambda name, at: (
                name in self.config.checks and in_window(self.config.checks[name], at) is not None
            ),
            clock=self.host.clock,
            healthy=self.health,
        )
        app = self.door(inner)
        sock = listen(self.address, self.port, who="checks serve")
        self.url = f"http://{self.address}:{sock.getsockname()[1]}"
        config = uvicorn.Config(
            app, lifespan="off", log_level="warning", access_log=False, server_header=False
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="checks-web", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started and time.monotonic() < deadline and self._thread.is_alive():
            time.sleep(0.02)
        return self

    def health(self) -> dict[str, Any]:
        return {
            "ok": not self.host.stop.is_set(),
            "checks": len(self.config.checks),
            "running": self.scheduler.running,
            "queued": self.scheduler.queued,
            "runs_started": self.scheduler.runs_started,
        }

    def install_signals(self) -> None:
        """SIGTERM/SIGINT: stop scheduling, let runs finish within the grace period; a second one cuts it short."""

        def _stop(signum: int, _frame: Any) -> None:
            self._signals += 1
            if self._signals > 1:
                self.scheduler.grace_s = 0.0
            self.host.stop.set()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)

    def run(self) -> list[str]:
        """Schedule until stopped; returns the checks whose runs were cut short at the end."""
        try:
            return self.scheduler.serve(self.poll_s)
        finally:
            self.stop_web()

    def stop_web(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
