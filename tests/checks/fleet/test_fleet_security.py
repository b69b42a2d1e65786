"""The fleet on a Redis that wants a password and speaks TLS only, as deploy/ runs it: a redis-server started
here with an ACL user, the default user off, a TLS port and certificates made here (a CA of the test's own).
A client without the password is refused; a real worker with the password over rediss:// runs a check in real
Chromium; forged Celery messages published to that Redis (a disabled check, a tick off the schedule) run no
browser and are recorded as refused; nobody on the broker can reach the worker's remote control; the worker's
log never holds the broker's password."""

from __future__ import annotations

import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis as redis_client
from celery import Celery
from conftest import Fleet, checks_yaml, descendants, process_name
from sites.servers import free_port, redis_binary
from support.leakscan import scan

from automation.checks.config.load import load_checks
from automation.checks.config.schedule import previous_tick
from automation.checks.fleet.celery_app import QUEUE, RUN_TASK

pytestmark = pytest.mark.browser

USER = "runbook"
PASSWORD = "Broker-Pass-7f3c9a"
CHECKS = """\
  portal-login:
    runbook: synthetic-login
    every: 1m
  paused:
    runbook: synthetic-login
    every: 1m
    enabled: false
"""


@dataclass
class SecureRedis:
    port: int
    ca: Path
    proc: subprocess.Popen[bytes]

    def url(self, password: str | None = PASSWORD) -> str:
        auth = f"{USER}:{password}@" if password is not None else ""
        return f"rediss://{auth}127.0.0.1:{self.port}/0"

    def client(self, password: str | None = PASSWORD) -> redis_client.Redis:
        return redis_client.Redis.from_url(
            self.url(password), ssl_ca_certs=str(self.ca), ssl_cert_reqs="required", socket_timeout=5
        )


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def make_certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A CA of the test's own and a server certificate it signs for 127.0.0.1: (ca, cert, key)."""
    ca_key, ca, key, csr, cert = (
        folder / n for n in ("ca.key", "ca.pem", "redis.key", "redis.csr", "redis.pem")
    )
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key), "-out", str(ca),
             "-days", "1", "-subj", "/CN=runbook test CA")  # fmt: skip
    _openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        str(key),
        "-out",
        str(csr),
        "-subj",
        "/CN=127.0.0.1",
    )
    ext = folder / "san.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1\n")
    _openssl("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial",
             "-out", str(cert), "-days", "1", "-extfile", str(ext))  # fmt: skip
    return ca, cert, key


@pytest.fixture
def secure_redis() -> Iterator[SecureRedis]:
    with tempfile.TemporaryDirectory(prefix="runbook-redis-tls-") as name:
        folder = Path(name)
        ca, cert, key = make_certificates(folder)
        acl = folder / "users.acl"
        # The default user off: nobody gets in without a name and a password. The fleet's user may use
        # everything a Celery worker and RedBeat need (all keys, all channels, all commands of a client).
        acl.write_text(f"user default off\nuser {USER} on >{PASSWORD} ~* &* +@all\n")
        port = free_port()
        argv = [redis_binary(), "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
                "--tls-cert-file", str(cert), "--tls-key-file", str(key), "--tls-ca-cert-file", str(ca),
                "--tls-auth-clients", "no", "--aclfile", str(acl), "--save", "", "--appendonly", "no",
                "--dir", str(folder)]  # fmt: skip
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        server = SecureRedis(port, ca, proc)
        try:
            _wait_until_it_answers(server)
            yield server
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def _wait_until_it_answers(server: SecureRedis, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert server.proc.poll() is None, "redis-server with TLS exited: see its arguments above"
        try:
            if server.client().ping():
                return
        except (redis_client.ConnectionError, OSError):
            time.sleep(0.1)  # a polling interval: what is waited for is the PING, under the deadline
    pytest.fail("redis-server with TLS did not answer within 30 s")


def test_redis_refuses_a_client_without_the_password_or_without_tls(secure_redis: SecureRedis) -> None:
    assert secure_redis.client().ping() is True
    with pytest.raises(redis_client.AuthenticationError):  # NOAUTH: the default user is off
        secure_redis.client(password=None).ping()
    with pytest.raises(redis_client.AuthenticationError):
        secure_redis.client(password="guessed").ping()
    plain = redis_client.Redis(host="127.0.0.1", port=secure_redis.port, username=USER, password=PASSWORD,
                               socket_timeout=3)  # fmt: skip
    with pytest.raises((redis_client.ConnectionError, redis_client.TimeoutError)):
        plain.ping()  # the password in clear over the network: the TLS port does not even answer it


def test_a_worker_over_tls_runs_a_check_and_refuses_forged_tasks(
    fleet: Fleet, secure_redis: SecureRedis
) -> None:
    (fleet.folder / "checks.yaml").write_text(checks_yaml(CHECKS))
    config = load_checks(fleet.folder / "checks.yaml")
    fleet.env["RUNBOOK_BROKER_URL"] = secure_redis.url()
    fleet.env["RUNBOOK_BROKER_CA"] = str(secure_redis.ca)
    worker = fleet.start("worker", "--concurrency", "1")
    fleet.wait_for("the worker ready on the TLS broker", worker.ready)

    sender = Celery(broker=secure_redis.url())
    sender.conf.broker_use_ssl = {"ssl_cert_reqs": ssl.CERT_REQUIRED, "ssl_ca_certs": str(secure_redis.ca)}
    now = datetime.now(UTC)
    genuine = previous_tick(config.checks["portal-login"].schedule, now)
    paused = previous_tick(config.checks["paused"].schedule, now)
    assert genuine is not None and paused is not None
    # Forged: a disabled check at one of its own ticks, and an enabled one at a tick its schedule never has.
    sender.send_task(RUN_TASK, args=("paused", paused.isoformat()), queue=QUEUE)
    sender.send_task(
        RUN_TASK, args=("portal-login", (genuine + timedelta(seconds=17)).isoformat()), queue=QUEUE
    )

    def refusals() -> dict[str, list[str]]:
        with fleet.history() as history:
            return {name: [r.summary for r in history.refusals(name)] for name in ("paused", "portal-login")}

    fleet.wait_for("both forged tasks refused", lambda: all(refusals().values()), then=refusals)
    found = refusals()
    assert "the check is disabled" in found["paused"][0]
    assert "is not on the schedule (every 1m)" in found["portal-login"][0]
    # Nothing ran: no browser under the worker, no run in the history, no evidence.
    assert not [p for p in descendants(worker.popen.pid) if "chrom" in process_name(p)]
    assert fleet.runs("portal-login") == [] and fleet.runs("paused") == []
    assert not (fleet.folder / "evidence").exists() or not any((fleet.folder / "evidence").rglob("run.json"))
    assert "refused a task" in worker.text()

    # Nobody on the broker reaches the worker's remote control: no pidbox answers a ping (nor a shutdown).
    assert sender.control.ping(timeout=2.0) == []

    sender.send_task(RUN_TASK, args=("portal-login", genuine.isoformat()), queue=QUEUE)
    fleet.wait_for("the genuine tick run", lambda: fleet.runs("portal-login"), timeout_s=120)
    run = fleet.runs("portal-login")[0]
    assert (run.status, run.scheduled_at) == ("passed", genuine), run.summary

    findings = scan([p.log for p in fleet.procs], [PASSWORD])
    assert findings.clean, str(findings)
    assert f"rediss://{USER}:**@127.0.0.1:{secure_redis.port}" in worker.text()  # Celery's banner, masked
