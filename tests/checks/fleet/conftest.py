"""A fleet for the distributed-mode tests: real `runbook checks worker` and `runbook checks beat` processes on a
real redis-server, the history in a real PostgreSQL database, runs in real Chromium against the sandbox.

Each process runs in its own session, so stopping it (or the test ending) takes its pool children and their
Chromium with it; logs go to files the tests read (a worker ready, the tasks it received, who holds RedBeat's
lock) and print on failure. Waits poll what can be seen (a log line, a history row, a process) against generous
deadlines, never a fixed sleep.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from automation.checks.storage.history import History
from automation.sandbox import SandboxServer
from automation.store.tables.history import ticks

REPO = Path(__file__).resolve().parents[3]
RUNBOOK = str(Path(sys.executable).with_name("runbook"))
MONITOR_PASSWORD = "Monitor-Check-5x"  # the sandbox monitor's: every run types it, nothing may keep it
STOP_GRACE_S = 90.0  # a stopping process's warm shutdown, before its session is killed
_RECEIVED = re.compile(r"Task [\w.]+\[([0-9a-f-]+)\] received")


def checks_yaml(body: str) -> str:
    return "defaults:\n  env: fleet\n  timeout: 30s\n  retries: {attempts: 1}\nchecks:\n" + body


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def children(self) -> list[int]:
        return _children(self.popen.pid)

    def ready(self) -> bool:
        """A worker that consumes from the broker (Celery logs "<node> ready.")."""
        return " ready." in self.text()

    def received(self) -> set[str]:
        """The ids of the tasks this worker took from the broker."""
        return set(_RECEIVED.findall(self.text()))


@dataclass
class Fleet:
    """Starts and stops the fleet's processes; reads the shared history."""

    folder: Path
    env: dict[str, str]
    database_url: str
    procs: list[Proc] = field(default_factory=list)

    def start(self, kind: str, *args: str) -> Proc:
        name = f"{kind}-{sum(p.name.startswith(kind) for p in self.procs) + 1}"
        log = self.folder / f"{name}.log"
        with open(log, "wb") as out:
            popen = subprocess.Popen([RUNBOOK, "checks", kind, *args], cwd=REPO, env=self.env,
                                     stdout=out, stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        proc = Proc(name, popen, log)
        self.procs.append(proc)
        return proc

    def history(self) -> History:
        return History(self.database_url)

    def runs(self, check: str) -> list[Any]:
        with self.history() as history:
            return sorted(history.runs(check), key=lambda r: r.scheduled_at)

    def claimed(self, check: str) -> list[datetime]:
        with self.history() as history, history.engine.connect() as conn:
            query = select(ticks.c.scheduled_at).where(ticks.c.check_name == check)
            return sorted(conn.execute(query).scalars())

    def notifications(self, check: str) -> list[dict[str, Any]]:
        with self.history() as history:
            return history.notifications(check)

    def wait_for(self, what: str, predicate: Any, timeout_s: float = 90.0, *, then: Any = None) -> Any:
        """Poll until predicate() is truthy; a timeout fails with the processes' logs (and what `then()` says)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = predicate()
            if found:
                return found
            time.sleep(0.5)  # a polling interval: what is waited for is predicate(), under the deadline
        seen = f"\n{then()}" if then is not None else ""
        pytest.fail(f"timed out waiting for {what}{seen}\n{self.logs()}")

    def logs(self) -> str:
        return "\n".join(f"--- {p.name} (exit {p.popen.poll()})\n{p.text()[-3000:]}" for p in self.procs)

    def stop(self) -> None:
        for proc in self.procs:
            if proc.popen.poll() is None:
                # the main process only, as a container runtime does: Celery's warm shutdown lets runs finish
                proc.popen.terminate()
        for proc in self.procs:
            try:  # a run in flight finishes first: its 30 s deadline and its evidence, on a loaded machine
                proc.popen.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                pass
            with suppress(ProcessLookupError):
                os.killpg(
                    proc.popen.pid, signal.SIGKILL
                )  # whatever of its session is left, Chromium included
            proc.popen.wait()


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with suppress(OSError):
                stat = Path(f"/proc/{entry}/stat").read_text()
                if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid:
                    found.append(int(entry))
    return found


def descendants(pid: int) -> list[int]:
    todo, found = [pid], []
    while todo:
        kids = _children(todo.pop())
        found += kids
        todo += kids
    return found


def process_name(pid: int) -> str:
    with suppress(OSError):
        return Path(f"/proc/{pid}/comm").read_text().strip()
    return ""


@pytest.fixture
def fleet(
    tmp_path: Path, sandbox: SandboxServer, redis: Any, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Fleet]:
    """The fleet's environment (broker, database, checks file, evidence root, the sandbox as 'fleet').
    Its workers run checks in real Chromium: the name is in BROWSER_FIXTURES (tests/conftest.py)."""
    environments = {
        "default": "fleet",
        "environments": {
            "fleet": {
                "apps": dict(sandbox.urls),
                "mailbox": sandbox.urls["portal"] + "/_sandbox/mail",
                "credentials": {
                    "portal_monitor": {"user": "monitor@example.com", "password": MONITOR_PASSWORD}
                },
            }
        },
    }
    (tmp_path / "environments.yaml").write_text(yaml.safe_dump(environments))
    env = {
        **os.environ,
        "RUNBOOK_BROKER_URL": redis.url,
        "RUNBOOK_DATABASE_URL": postgres_url,
        "RUNBOOK_CONFIG": str(tmp_path / "environments.yaml"),
        "RUNBOOK_CHECKS": str(tmp_path / "checks.yaml"),
        "RUNBOOK_DATA": str(tmp_path / "data"),
        "RUNBOOK_EVIDENCE_ROOT": str(tmp_path / "evidence"),
        "PYTHONUNBUFFERED": "1",
    }
    for key in ("RUNBOOK_DATABASE_URL", "RUNBOOK_DATA", "RUNBOOK_CONFIG"):
        monkeypatch.setenv(key, env[key])  # this process reads the same tickets and history
    found = Fleet(tmp_path, env, postgres_url)
    try:
        yield found
    finally:
        found.stop()
