"""`runbook checks serve` as operations run it: a real process, real Chromium, /metrics, a browser killed
mid-run, and SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from automation.checks.storage.history import History
from automation.console.accounts import add_user
from automation.console.store import ConsoleStore
from automation.console.tokens import create_token
from automation.sandbox import SandboxServer

pytestmark = [pytest.mark.browser, pytest.mark.timing]

RUNBOOK = [sys.executable, "-m", "automation.cli"]
HANG_S = 300  # a `runbook checks` process that has not ended by then hangs: a guard, not a measurement
PASSWORD = "a long enough passphrase"


def descendants(pid: int) -> dict[int, str]:
    """pid -> command name of every process below `pid`."""
    parents: dict[int, list[int]] = {}
    names: dict[int, str] = {}
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{entry}/stat").read_text(errors="replace")
        except OSError:
            continue
        names[int(entry)] = stat[stat.index("(") + 1 : stat.rindex(")")]
        parents.setdefault(int(stat[stat.rindex(")") + 2 :].split()[1]), []).append(int(entry))
    found, todo = {}, list(parents.get(pid, []))
    while todo:
        child = todo.pop()
        found[child] = names.get(child, "")
        todo += parents.get(child, [])
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()


def wait_for(what: str, probe: Callable[[], Any], timeout: float = 180) -> Any:
    """Poll until `probe` holds; the deadline only fails a test whose awaited thing never happens."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = probe()
        if value:
            return value
        time.sleep(0.25)  # the pace of the polling, not a wait for anything
    raise AssertionError(f"timed out waiting for {what}")


def hold_the_login_page(sandbox: SandboxServer) -> Callable[[], bool]:
    """The sandbox holds the next run's login page (the run's first step) for two minutes, longer than the
    step waits for it (30 s); the probe returned holds once that request has arrived, i.e. from the moment
    that run is in flight with its browser up."""
    rule = {"route": "/auth/login", "method": "GET", "latency_ms": 120_000, "times": 1}
    faults = sandbox.urls["portal"] + "/_sandbox/faults"
    httpx.post(faults, json=rule, headers=sandbox.control_headers, timeout=10).raise_for_status()
    return lambda: any(f["hits"] for f in httpx.get(faults, timeout=10).json())


def write_files(tmp_path: Path, sandbox: SandboxServer, every: str = "5s") -> dict[str, str]:
    urls = sandbox.urls
    (tmp_path / "environments.yaml").write_text(
        "environments:\n  target:\n"
        f"    apps: {{portal: '{urls['portal']}', netsuite: '{urls['netsuite']}'}}\n"
        "    credentials: {portal_monitor: {user: monitor@example.com, password: Monitor-Check-5x}}\n"
    )
    (tmp_path / "checks.yaml").write_text(
        "defaults: {env: target, retries: {attempts: 1}, timeout: 40s}\n"
        f"checks:\n  portal-login:\n    runbook: synthetic-login\n    every: {every}\n"
    )
    return {**os.environ, "RUNBOOK_CONFIG": str(tmp_path / "environments.yaml"), "PYTHONUNBUFFERED": "1"}


def places(tmp_path: Path) -> list[str]:
    return [
        "--file",
        str(tmp_path / "checks.yaml"),
        "--data",
        str(tmp_path / "data"),
        "--traces",
        str(tmp_path / "traces"),
    ]


def operations_token() -> str:
    """An operations user and Prometheus's API token, in the console store `checks serve` reads (RUNBOOK_DATA):
    the status page, /api/status and /metrics are behind the console's door."""
    with ConsoleStore() as store:
        add_user(store, "olga", "operations", PASSWORD)
        return create_token(store, "prometheus", role="operations").token


def sign_in(client: httpx.Client) -> None:
    """Sign the client in as the operations user (the sign-in form, its CSRF token, the session cookie)."""
    form = client.get("/login").text
    csrf = form.split('name="csrf_token" value="')[1].split('"')[0]
    answer = client.post("/login", data={"name": "olga", "password": PASSWORD, "csrf_token": csrf})
    assert answer.status_code == 303, answer.text


@pytest.fixture
def served(tmp_path: Path, sandbox: SandboxServer) -> Iterator[dict[str, Any]]:
    env = write_files(tmp_path, sandbox)
    token = operations_token()
    (tmp_path / "console.yaml").write_text("server:\n  secure_cookie: false\n")  # plain http on loopback
    command = [*RUNBOOK, "checks", "serve", "--port", "0", "--grace", "2", *places(tmp_path)]
    command += ["--console-config", str(tmp_path / "console.yaml")]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    first = proc.stdout.readline()  # type: ignore[union-attr]
    assert "status page" in first, first + proc.stdout.read()  # type: ignore[union-attr]
    url = first.split("status page ")[1].split()[0].rstrip("/")
    try:
        yield {"proc": proc, "url": url, "data": tmp_path / "data", "sandbox": sandbox, "token": token}
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def metrics(url: str, token: str) -> dict[str, list[Any]]:
    text = httpx.get(url + "/metrics", headers={"authorization": f"Bearer {token}"}, timeout=5).text
    return {f.name: f.samples for f in text_string_to_metric_families(text)}


def runs_of(data: Path) -> list[Any]:
    with History(data_dir=data) as history:
        return history.runs("portal-login")


def test_serve_exposes_metrics_survives_a_browser_kill_and_stops_cleanly_on_sigterm(
    served: dict[str, Any],
) -> None:
    proc, url, data, sandbox = served["proc"], served["url"], served["data"], served["sandbox"]
    wait_for("a first run", lambda: any(r.status == "passed" for r in runs_of(data)))
    assert httpx.get(url + "/metrics", timeout=5).status_code == 401  # no token, no metrics
    series = metrics(url, served["token"])
    assert [s.value for s in series["probe_success"]] == [1.0]
    assert series["probe_duration_seconds"][0].value > 0
    assert series["probe_duration_seconds"][0].labels == {
        "check": "portal-login",
        "runbook": "synthetic-login",
        "env": "target",
    }
    assert any(
        s.name == "probe_all_duration_seconds_count" and s.value >= 1
        for s in series["probe_all_duration_seconds"]
    )
    assert any("Log In" in s.labels["step"] for s in series["probe_step_duration_seconds"])
    assert httpx.get(url + "/healthz", timeout=5).json()["ok"] is True
    assert httpx.get(url + "/", timeout=5).status_code == 303  # to the sign-in page
    with httpx.Client(base_url=url, timeout=5) as client:
        sign_in(client)
        assert "portal-login" in client.get("/").text

    # Chromium dies in the middle of a run: that run is an error, the next one gets a new browser.
    wait_for("a run waiting for its login page", hold_the_login_page(sandbox))
    chromium = [pid for pid, name in descendants(proc.pid).items() if "chrom" in name]
    assert chromium
    for pid in chromium:
        os.kill(pid, signal.SIGKILL)
    killed = wait_for("the killed run", lambda: [r for r in runs_of(data) if r.status == "error"])
    assert "browser" in killed[0].summary
    wait_for(
        "a pass with a new browser",
        lambda: runs_of(data)[0].status == "passed" and runs_of(data)[0].id > killed[0].id,
    )

    browsers = [pid for pid, name in descendants(proc.pid).items() if "chrom" in name]
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=HANG_S)
    assert proc.returncode == 0, out
    assert "Stopped." in out and "Traceback" not in out
    assert not [pid for pid in browsers if alive(pid)]


def test_sigterm_during_a_run_records_it_aborted_with_its_evidence_after_the_grace(
    served: dict[str, Any],
) -> None:
    proc, data, sandbox = served["proc"], served["data"], served["sandbox"]
    # In the login page's 30 s wait (not still launching Chromium): SIGTERM, then the 2 s grace runs out
    # long before that wait would.
    wait_for("a run waiting for its login page", hold_the_login_page(sandbox))
    browsers = [pid for pid, name in descendants(proc.pid).items() if "chrom" in name]
    assert browsers
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=HANG_S)
    assert proc.returncode == 0, out
    assert "Cut short (recorded aborted): portal-login" in out
    run = runs_of(data)[0]
    assert run.status == "aborted" and "scheduler stopped" in run.summary
    assert (Path(run.evidence_dir or "") / "run.json").exists()
    assert not [pid for pid in browsers if alive(pid)]


def test_checks_run_exits_0_when_all_pass_and_1_when_one_fails(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    env = write_files(tmp_path, sandbox)
    command = [*RUNBOOK, "checks", "run", *places(tmp_path)]
    passed = subprocess.run(command, capture_output=True, text=True, env=env, timeout=HANG_S)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "portal-login" in passed.stdout and "passed" in passed.stdout
    httpx.post(
        sandbox.urls["portal"] + "/_sandbox/settings",
        json={"portal_unknown_error_for": ["monitor@example.com"]},
        headers=sandbox.control_headers,
    ).raise_for_status()
    failed = subprocess.run([*command, "--json"], capture_output=True, text=True, env=env, timeout=HANG_S)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert json.loads(failed.stdout)[0]["status"] == "failed"
