"""A real Prometheus (Debian's `prometheus`, installed by `make services`) scrapes `runbook checks web`'s /metrics
with the bearer token of its `authorization` scrape setting, as README's Security section tells operations to:
that target is `up` and its samples are queryable; the same target scraped without the token is down with 401."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sites.servers import free_port
from test_door import PASSWORD, Served, served  # noqa: F401 - `served`: the fixture, `checks web` on loopback

pytestmark = pytest.mark.timing

PROMETHEUS = "/usr/bin/prometheus"


def prometheus_config(target: str, token_file: Path) -> str:
    job = """  - job_name: {name}
    scrape_interval: 1s
    scrape_timeout: 1s
    metrics_path: /metrics
{auth}    static_configs:
      - targets: ['{target}']
"""
    auth = f"    authorization:\n      type: Bearer\n      credentials_file: {token_file}\n"
    return (
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n"
        + job.format(name="checks", auth=auth, target=target)
        + job.format(name="checks-without-token", auth="", target=target)
    )


@pytest.fixture
def prometheus(served: Served, tmp_path: Path) -> Iterator[str]:  # noqa: F811 - the fixture imported above
    """Prometheus on a free loopback port, scraping the served checks with an operations token."""
    assert Path(PROMETHEUS).exists() or shutil.which("prometheus"), (
        "install Debian's prometheus: make services"
    )
    added = served.runbook("users", "add", "olga", "--role", "operations", "--password-stdin", stdin=PASSWORD)
    assert added.returncode == 0, added.stderr
    made = served.runbook("tokens", "create", "prometheus", "--role", "operations")
    assert made.returncode == 0, made.stderr
    token_file = tmp_path / "prometheus.token"
    token_file.write_text(made.stdout.strip().splitlines()[-1])  # printed once, alone on the last line
    token_file.chmod(0o600)
    config = tmp_path / "prometheus.yml"
    config.write_text(prometheus_config(served.url.removeprefix("http://"), token_file))
    port = free_port()
    command = [
        PROMETHEUS,
        f"--config.file={config}",
        f"--storage.tsdb.path={tmp_path / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    log = (tmp_path / "prometheus.log").open("w")
    proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


def targets_when_scraped(prometheus: str, within_s: float = 60.0) -> dict[str, dict[str, Any]]:
    """Prometheus's active targets by job once each has been scraped at least once (health not `unknown`).
    Polled: Prometheus says when it scraped, nothing can be waited on instead."""
    deadline = time.monotonic() + within_s
    found: dict[str, dict[str, Any]] = {}
    while time.monotonic() < deadline:
        try:
            answer = httpx.get(prometheus + "/api/v1/targets", timeout=5).json()
        except httpx.TransportError:  # not listening yet
            answer = {"data": {"activeTargets": []}}
        found = {t["labels"]["job"]: t for t in answer["data"]["activeTargets"]}
        if len(found) == 2 and all(t["health"] != "unknown" for t in found.values()):
            return found
        time.sleep(0.25)  # the polling's pace, not a wait for something
    raise AssertionError(f"Prometheus did not scrape both targets within {within_s:.0f} s: {found}")


def test_prometheus_scrapes_the_checks_metrics_with_its_bearer_token(prometheus: str) -> None:
    targets = targets_when_scraped(prometheus)
    assert targets["checks"]["health"] == "up", targets["checks"]["lastError"]
    assert targets["checks-without-token"]["health"] == "down"
    assert "401" in targets["checks-without-token"]["lastError"]

    up = httpx.get(prometheus + "/api/v1/query", params={"query": "up"}, timeout=5).json()["data"]["result"]
    assert {r["metric"]["job"]: r["value"][1] for r in up} == {"checks": "1", "checks-without-token": "0"}
    success = httpx.get(
        prometheus + "/api/v1/query", params={"query": 'probe_success{check="portal-login"}'}, timeout=5
    ).json()["data"]["result"]
    assert [r["value"][1] for r in success] == ["1"]  # the recorded passed run, read through the door
