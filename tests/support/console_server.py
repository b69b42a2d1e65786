"""A real `runbook server` process for the console's acceptance tests, with its own folders, and the clients a
test drives it with: an API token, a signed-in session (cookie and CSRF token, as the pages' scripts send them),
the run's event stream, and the embedded sandbox's mail outbox inside the server process.

Nothing here sleeps to synchronise: each wait is on a condition (a line in the server's output, an event in the
stream, a status) with a deadline, and fails saying what it waited for.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from automation.console.accounts import add_user
from automation.console.store import CONSOLE_DB, ConsoleStore
from automation.console.tokens import create_token
from automation.store.database import sqlite_url

ROOT = Path(__file__).resolve().parents[2]
RUNBOOK = [sys.executable, "-m", "automation.cli"]
PASSWORD = "correct horse battery staple"
# What the person's own shell may have set that would point the server elsewhere than its test folders.
FOREIGN = (
    "RUNBOOK_ENV",
    "RUNBOOK_CONFIG",
    "RUNBOOK_DATABASE_URL",
    "RUNBOOK_PUBLIC_URL",
    "RUNBOOK_BASE_URL_",
    "RUNBOOK_CHECKS",
    "RUNBOOK_EVIDENCE_ROOT",
)
STREAM_S = 120.0  # the longest a test reads one run's stream (a run here takes seconds)
CSRF_INPUT = re.compile(r'name="csrf_token"\s+value="([^"]+)"')


@dataclass(frozen=True)
class Event:
    """One Server-Sent Event of a run's stream."""

    id: int
    kind: str
    data: dict[str, Any]


@dataclass
class Client:
    """An httpx client of the console acting as one person (token or session)."""

    http: httpx.Client
    who: str

    def start(self, runbook: str, inputs: dict[str, Any], **more: Any) -> httpx.Response:
        return self.http.post("/api/runs", json={"runbook": runbook, "inputs": inputs, **more})

    def started(self, runbook: str, inputs: dict[str, Any], **more: Any) -> str:
        """Start a run that must be accepted; its id."""
        reply = self.start(runbook, inputs, **more)
        assert reply.status_code == 201, (
            f"{self.who} could not start {runbook}: {reply.status_code} {reply.text}"
        )
        return str(reply.json()["id"])

    def state(self, run_id: str) -> dict[str, Any]:
        reply = self.http.get(f"/api/runs/{run_id}")
        assert reply.status_code == 200, f"{self.who}: GET run {reply.status_code} {reply.text}"
        return dict(reply.json())

    def answer(self, run_id: str, name: str, value: Any) -> httpx.Response:
        return self.http.post(f"/api/runs/{run_id}/answers", json={"name": name, "value": value})

    def answered(self, run_id: str, name: str, value: Any) -> None:
        reply = self.answer(run_id, name, value)
        assert reply.status_code == 204, (
            f"{self.who} could not answer {name}: {reply.status_code} {reply.text}"
        )

    def cancel(self, run_id: str) -> httpx.Response:
        return self.http.post(f"/api/runs/{run_id}/cancel")

    def events(self, run_id: str, after: int = 0, within_s: float = STREAM_S) -> Iterator[Event]:
        """The run's events after `after` (Last-Event-ID), as they come, until the stream ends; AssertionError
        if it has not ended within `within_s` (looked at on each line: an event, or the server's ping every
        15 s), so a run that hangs fails the test instead of holding it."""
        headers = {"last-event-id": str(after), "accept": "text/event-stream"}
        deadline = time.monotonic() + within_s
        timeout = httpx.Timeout(10.0, read=30.0)
        with self.http.stream("GET", f"/api/runs/{run_id}/events", headers=headers, timeout=timeout) as reply:
            assert reply.status_code == 200, f"{self.who}: events {reply.status_code} {reply.read()!r}"
            yield from parse_sse(_until(reply.iter_lines(), deadline, run_id))

    def until(self, run_id: str, kinds: tuple[str, ...], after: int = 0) -> tuple[Event, list[Event]]:
        """Read the stream from `after` to the first event of `kinds`: (that event, every event read)."""
        seen: list[Event] = []
        for event in self.events(run_id, after):
            seen.append(event)
            if event.kind in kinds:
                return event, seen
        raise AssertionError(f"the stream of {run_id} ended without {kinds}: {[e.kind for e in seen]}")

    def finish(self, run_id: str, answers: dict[str, Any], after: int = 0) -> tuple[Event, list[Event]]:
        """Answer each question the run asks from `answers` (by name) until it ends: the `finished` event and
        every event read."""
        seen: list[Event] = []
        while True:
            event, read = self.until(run_id, ("question", "finished"), after)
            seen += read
            after = event.id
            if event.kind == "finished":
                return event, seen
            name = event.data["name"]
            assert name in answers, f"{run_id} asked {name!r}, which this test has no answer for"
            self.answered(run_id, name, answers[name])


def _until(lines: Iterator[str], deadline: float, run_id: str) -> Iterator[str]:
    for line in lines:
        if time.monotonic() > deadline:
            raise AssertionError(f"the event stream of {run_id} was still open at its deadline")
        yield line


def parse_sse(lines: Iterator[str]) -> Iterator[Event]:
    """Events from the lines of a text/event-stream (comments and pings skipped)."""
    fields: dict[str, str] = {}
    for line in lines:
        if line == "":
            if "data" in fields:
                yield Event(
                    int(fields.get("id", "0")), fields.get("event", "message"), json.loads(fields["data"])
                )
            fields = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")


@dataclass
class ConsoleProcess:
    """`runbook server --port 0` in a folder of its own: console.db under data/, evidence under traces/, its
    output (stdout and stderr, the server log) in server.log."""

    folder: Path
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None
    url: str = ""
    clients: list[httpx.Client] = field(default_factory=list)

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def traces(self) -> Path:
        return self.folder / "traces"

    @property
    def log(self) -> Path:
        return self.folder / "server.log"

    def database_files(self) -> list[Path]:
        """console.db and its -wal / -shm, as they stand."""
        return sorted(self.data.glob("console.db*"))

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    # -- the command line -----------------------------------------------------------------------------------

    def runbook(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*RUNBOOK, *args], input=stdin, env=self.env, capture_output=True, text=True, timeout=60
        )

    def must(self, *args: str, stdin: str | None = None) -> str:
        done = self.runbook(*args, stdin=stdin)
        assert done.returncode == 0, f"runbook {' '.join(args)}: {done.stderr or done.stdout}"
        return done.stdout

    def store(self) -> ConsoleStore:
        """The server's console.db, opened from the test's process (SQLite in WAL: safe beside the server)."""
        self.data.mkdir(parents=True, exist_ok=True)
        return ConsoleStore(url=sqlite_url(self.data, CONSOLE_DB))

    def add_user(self, name: str, role: str, team: str | None = None, password: str = PASSWORD) -> None:
        """As `runbook users add` does (test_console_server.py runs that command itself), without a process."""
        with self.store() as store:
            add_user(store, name, role, password, team=team)

    def token(self, name: str, role: str | None = None, team: str | None = None) -> tuple[int, str]:
        """(id, token) of a new API token; named after a user, it acts as that user."""
        with self.store() as store:
            made = create_token(store, name, role=role, team=team)
        return made.info.id, made.token

    # -- clients ------------------------------------------------------------------------------------------------

    def http(self) -> httpx.Client:
        client = httpx.Client(base_url=self.url, timeout=30.0)
        self.clients.append(client)
        return client

    def with_token(self, token: str, who: str = "token") -> Client:
        client = self.http()
        client.headers["authorization"] = f"Bearer {token}"
        return Client(client, who)

    def signed_in(self, name: str, password: str = PASSWORD) -> Client:
        """A session as the sign-in page makes one: its form's CSRF token, a new session cookie; the client then
        sends the session's CSRF token on every request, as the console's scripts do."""
        client = self.http()
        form = client.get("/login")
        assert form.status_code == 200, form.text
        anonymous = CSRF_INPUT.search(form.text)
        assert anonymous, "the sign-in form carries no csrf_token"
        reply = client.post(
            "/login", data={"name": name, "password": password, "csrf_token": anonymous.group(1), "next": "/"}
        )
        assert reply.status_code == 303, f"{name} could not sign in: {reply.status_code}"
        page = client.get("/")
        token = CSRF_INPUT.search(page.text)
        assert page.status_code == 200 and token, f"{name}'s first page: {page.status_code}"
        client.headers["x-csrf-token"] = token.group(1)
        return Client(client, name)

    # -- the embedded sandbox inside the server -------------------------------------------------------------------

    def sandbox_portal(self) -> str:
        """The portal URL of the sandbox the server started for its runs (a `sandbox: true` environment): the
        one socket of the server process that answers /_sandbox/health as the portal. Only once a run started."""
        assert self.proc is not None
        for port in sorted(listening_ports(self.proc.pid)):
            base = f"http://127.0.0.1:{port}"
            try:
                health = httpx.get(f"{base}/_sandbox/health", timeout=5)
            except httpx.HTTPError:
                continue
            if health.status_code == 200 and health.json().get("app") == "portal":
                return base
        raise AssertionError("the server process has no sandbox listening (has a run started yet?)")

    def mailed_code(self, to: str) -> str:
        """The newest verification code the sandbox mailed to `to` (what the customer reads out)."""
        mails = httpx.get(f"{self.sandbox_portal()}/_sandbox/mail", params={"to": to}, timeout=10).json()
        for mail in mails:
            if found := re.search(r"verification code is (\d{6})", mail["text"]):
                return found.group(1)
        raise AssertionError(f"no verification code was mailed to {to}: {[m['subject'] for m in mails]}")

    # -- life -----------------------------------------------------------------------------------------------------

    def start(self, config: Path, within_s: float = 60.0, args: tuple[str, ...] = ()) -> None:
        with open(self.log, "wb") as log:  # the child keeps its own descriptor: no pipe to fill up
            self.proc = subprocess.Popen(
                [*RUNBOOK, "server", "--port", "0", "--config", str(config), *args],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.url = wait_for(
            lambda: _printed_url(self.output()),
            within_s,
            lambda: f"runbook server printed no URL: {self.output()!r}",
            stop=lambda: self.proc is not None and self.proc.poll() is not None,
        )

    def stop(self) -> None:
        for client in self.clients:
            client.close()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=40)  # the executor lets runs in flight end (30 s at most)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def _printed_url(output: str) -> str | None:
    found = re.search(r"Console (http://\S+)/ ", output)
    return found.group(1) if found else None


def wait_for(
    condition: Callable[[], Any],
    within_s: float,
    failure: Callable[[], str] | str,
    *,
    stop: Callable[[], bool] = lambda: False,
    every_s: float = 0.05,
) -> Any:
    """The first truthy value of `condition`, looked at every `every_s` until `within_s` has passed (or `stop`
    says it never will); then AssertionError with `failure`."""
    deadline = time.monotonic() + within_s
    while True:
        value = condition()
        if value:
            return value
        if stop() or time.monotonic() > deadline:
            raise AssertionError(failure() if callable(failure) else failure)
        time.sleep(every_s)


def listening_ports(pid: int) -> set[int]:
    """The TCP ports process `pid` listens on (Linux: its socket descriptors matched in /proc/PID/net/tcp*)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:  # closed meanwhile
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for table in ("tcp", "tcp6"):
        path = Path(f"/proc/{pid}/net/{table}")
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            parts = line.split()
            if parts[3] == "0A" and parts[9] in inodes:  # 0A: LISTEN
                ports.add(int(parts[1].rsplit(":", 1)[1], 16))
    return ports


def server_env(folder: Path, **extra: str) -> dict[str, str]:
    """The environment of a server (and of the CLI commands beside it) whose every file is under `folder`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(FOREIGN)}
    return {
        **env,
        "RUNBOOK_DATA": str(folder / "data"),
        "RUNBOOK_TRACES": str(folder / "traces"),
        "RUNBOOK_PATH": str(ROOT / "runbooks"),
        **extra,
    }


@contextmanager
def console_server(
    folder: Path,
    console_yaml: str,
    *,
    users: tuple[tuple[str, str, str | None], ...] = (),
    environments_yaml: str | None = None,
    env: dict[str, str] | None = None,
    args: tuple[str, ...] = (),
) -> Iterator[ConsoleProcess]:
    """A running `runbook server` under `folder` with `console_yaml`, the `users` (name, role, team) added
    with PASSWORD, given `environments_yaml`, that environments file (RUNBOOK_CONFIG), `env` added to its
    environment (e.g. RUNBOOK_SANDBOX_TOKEN for a sandbox the test serves) and `args` to its command line
    (e.g. --checks FILE)."""
    folder.mkdir(parents=True, exist_ok=True)
    extra = dict(env or {})
    if environments_yaml is not None:
        (folder / "environments.yaml").write_text(environments_yaml, encoding="utf-8")
        extra["RUNBOOK_CONFIG"] = str(folder / "environments.yaml")
    config = folder / "console.yaml"
    config.write_text(console_yaml, encoding="utf-8")
    server = ConsoleProcess(folder, server_env(folder, **extra))
    for name, role, team in users:
        server.add_user(name, role, team)
    try:
        server.start(config, args=args)
        yield server
    finally:
        server.stop()


@contextmanager
def watched_page(browser: Any, base_url: str) -> Iterator[Any]:
    """A page of a new context on `base_url` whose console errors and uncaught exceptions fail the test when
    it ends: every page we serve must load without one."""
    context = browser.new_context(base_url=base_url)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        yield page
    finally:
        context.close()
    assert errors == [], f"the pages logged errors: {errors}"
