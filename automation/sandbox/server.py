"""Serve both emulated apps from one uvicorn server: one socket per app, dispatched by local port.

Started in-process on free loopback ports by the runner and by tests (`SandboxServer().start()`), or in the
foreground by `runbook sandbox serve`. Each server has its own SQLite file, so two servers never share state.
"""

from __future__ import annotations

import secrets
import socket
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from automation.errors import TargetUnreachableError
from automation.listen import listen
from automation.sandbox.store import DEFAULT_SEED, Store

APPS = ("portal", "netsuite")


class _PortDispatch:
    """ASGI app that hands each request to the app whose socket it arrived on."""

    def __init__(self, by_port: dict[int, Any]) -> None:
        self.by_port = by_port

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        port = (scope.get("server") or (None, None))[1]
        app = self.by_port.get(port) or next(iter(self.by_port.values()))
        await app(scope, receive, send)


class SandboxServer:
    """Both apps on `host`; `port` 0 picks free ports, otherwise the portal gets `port`, NetSuite `port+1`."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        seed_path: Path = DEFAULT_SEED,
        db_path: Path | None = None,
    ) -> None:
        self.host, self.port = host, port
        self.seed_path = seed_path
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if db_path is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="runbook-sandbox-")
            db_path = Path(self._tmp.name) / "sandbox.db"
        self.db_path = db_path
        self.urls: dict[str, str] = {}
        # The control routes' token (app.py): made here, so it lives and dies with this server.
        self.token = secrets.token_urlsafe(32)
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.store: Store | None = None

    def _sockets(self) -> list[socket.socket]:
        ports = [0, 0] if self.port == 0 else [self.port, self.port + 1]
        return [listen(self.host, p, who="The sandbox") for p in ports]

    def start(self, timeout: float = 10.0) -> SandboxServer:
        """Start serving in a background thread; returns once both apps answer."""
        import uvicorn

        from automation.sandbox.app import create_apps
        from automation.sandbox.faults import Faults
        from automation.sandbox.lease import Leases

        self.store = Store(self.db_path, self.seed_path)
        self.faults = Faults()
        self.leases = Leases()
        apps = create_apps(self.store, self.faults, self.leases, token=self.token)
        self.store.reset()
        socks = self._sockets()
        by_port: dict[int, Any] = {}
        for name, sock in zip(APPS, socks, strict=True):
            port = sock.getsockname()[1]
            by_port[port] = apps[name]
            self.urls[name] = f"http://{self.host}:{port}"
        config = uvicorn.Config(_PortDispatch(by_port), lifespan="off", log_level="warning", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": socks}, name="runbook-sandbox", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise TargetUnreachableError("The embedded sandbox did not start; see the log above.")
            time.sleep(0.01)
        return self

    @property
    def control_headers(self) -> dict[str, str]:
        """The header a state-changing control request carries (with a JSON body): the token."""
        from automation.sandbox.app import TOKEN_HEADER

        return {TOKEN_HEADER: self.token}

    def reset(self) -> None:
        """Restore the seed fixture and clear faults (what `POST /_sandbox/reset` does), without HTTP."""
        assert self.store is not None, "start() the sandbox first"
        self.store.reset()
        self.faults.clear()

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self.store is not None:
            self.store.close()
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
