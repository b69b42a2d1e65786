"""What the distributed mode sustains on this machine (prints figures, writes bench/fleet_results.json; asserts
nothing). Real redis-server and PostgreSQL on free loopback ports (tests/sites/servers.py), the
embedded sandbox, `runbook checks worker` / `runbook checks beat` as subprocesses.

1. runs per minute with 1 and 2 worker processes: a backlog of synthetic-login ticks, one due tick per check,
   is put on the broker as beat puts it (workers refuse a tick beat did not send) and drained; the rate is taken between the first and the last recorded run (browser start-up
   of the first run left out);
2. dispatch latency, tick -> browser start (the run's recorded start): beat and 2 worker processes on checks
   that are never backlogged; p50 and p95;
3. scheduling overhead: beat over N = 10, 100, 1,000 checks `every: 10s`, served by a worker whose task only
   claims the tick and records a passed run (no browser): ticks sent per second and beat's CPU share;
4. the dispatcher alone, in-process: one pass of Dispatcher.due + sent over N checks, all due, on PostgreSQL
   (what beat does per due tick, without Celery): ticks per second of that loop.

    make bench-fleet  (about 4 minutes; the machine should be quiet)

    .venv/bin/python bench/bench_fleet.py        BENCH_QUICK=1: shorter windows

A part that cannot be measured is written to the JSON as its reason ({"error": ...}), the other parts still
run, and the bench exits non-zero naming it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis as redis_client
from celery import Celery

from automation.checks.config.load import load_checks
from automation.checks.fleet.celery_app import QUEUE, RUN_TASK, settings
from automation.checks.fleet.ticks import Dispatcher
from automation.checks.model import CheckRun
from automation.checks.storage.history import History

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from sites.servers import postgres_server, redis_server  # noqa: E402

RESULTS = ROOT / "bench" / "fleet_results.json"
QUICK = os.environ.get("BENCH_QUICK") == "1"
RUNBOOK = str(Path(sys.executable).with_name("runbook"))
BACKLOG = 8 if QUICK else 12
LATENCY_S = 20 if QUICK else 30
OVERHEAD_S = 8 if QUICK else 12
CHECK_COUNTS = (10, 100, 1000)
CLK_TCK = os.sysconf("SC_CLK_TCK")


# -- the record-only task (part 3): this module is also the worker's Celery app -------------------------------

record_app = Celery("bench-record")
record_app.conf.update(settings(os.environ.get("RUNBOOK_BROKER_URL", "redis://127.0.0.1:6379/0")))
_history: History | None = None


@record_app.task(name=RUN_TASK)
def record_only(check: str, tick: str) -> str:
    """What a run costs the fleet without the browser: the claim and the record."""
    global _history
    if _history is None:
        _history = History(os.environ["RUNBOOK_DATABASE_URL"])
    at = datetime.fromisoformat(tick)
    if not _history.claim(check, at):
        return "duplicate"
    now = datetime.now(UTC)
    _history.record(CheckRun(check=check, runbook="synthetic-login", env="fleet", scheduled_at=at,
                             started_at=now, finished_at=now, status="passed", duration_s=0.0,
                             summary="passed (recorded only)"))  # fmt: skip
    return "passed"


# -- processes ------------------------------------------------------------------------------------------------


def start(argv: list[str], env: dict[str, str], log: Path, cwd: Path = ROOT) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen(
            argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def stop(*procs: subprocess.Popen[bytes]) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def checks_file(folder: Path, count: int, every: str, env: str) -> Path:
    lines = ["defaults:", f"  env: {env}", "  timeout: 1m", "  retries: {attempts: 1}", "checks:"]
    for i in range(count):
        lines += [f"  check-{i:04d}:", "    runbook: synthetic-login", f"    every: {every}"]
    path = folder / f"checks-{count}-{every}.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def all_runs(url: str) -> list[CheckRun]:
    with History(url) as history:
        return [r for name in history.checks() for r in history.runs(name)]


def refusals(url: str) -> list[CheckRun]:
    with History(url) as history:
        return [r for name in history.checks() for r in history.refusals(name)]


def wait_runs(url: str, count: int, timeout_s: float) -> list[CheckRun]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        runs = all_runs(url)
        if len(runs) >= count:
            return runs
        refused = refusals(url)
        if refused:  # the worker will not run them: say why now rather than after the whole wait
            raise SystemExit(f"the worker refused {len(refused)} task(s): {refused[0].summary}")
        time.sleep(1)
    raise SystemExit(f"only {len(all_runs(url))} of {count} runs recorded in {timeout_s:.0f} s")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# -- the three parts ------------------------------------------------------------------------------------------


def runs_per_minute(env: dict[str, str], folder: Path, processes: int, broker: str) -> float:
    checks = checks_file(folder, BACKLOG, "1m", "fleet")
    env = {**env, "RUNBOOK_CHECKS": str(checks)}
    send_backlog(env, checks, broker)
    worker = start(
        [RUNBOOK, "checks", "worker", "--concurrency", str(processes)], env, folder / f"rpm-{processes}.log"
    )
    try:
        runs = wait_runs(env["RUNBOOK_DATABASE_URL"], BACKLOG, 600)
    finally:
        stop(worker)
    ends = sorted(r.finished_at for r in runs)[processes - 1 :]  # each process's first run starts its browser
    return (len(ends) - 1) / (ends[-1] - ends[0]).total_seconds() * 60


def send_backlog(env: dict[str, str], checks: Path, broker: str) -> None:
    """One due tick per check on the broker, sent as beat sends it (a worker refuses a tick beat did not send
    or one off the check's schedule). `every: 1m` keeps each tick within the ten minutes a worker accepts."""
    with environ(env):
        config = load_checks(checks)
    sender = Celery(broker=broker)
    with History(env["RUNBOOK_DATABASE_URL"]) as history:
        dispatcher = Dispatcher(config, history)
        for check, tick in dispatcher.due(datetime.now(UTC)):
            stamp = tick.isoformat()
            sender.send_task(RUN_TASK, args=(check.name, stamp), queue=QUEUE, task_id=f"{check.name}@{stamp}")
            dispatcher.sent(check, tick)


def dispatch_latency(env: dict[str, str], folder: Path) -> dict[str, float]:
    checks = checks_file(folder, 2, "10s", "fleet")
    env = {**env, "RUNBOOK_CHECKS": str(checks)}
    beat = start([RUNBOOK, "checks", "beat"], env, folder / "latency-beat.log")
    worker = start([RUNBOOK, "checks", "worker", "--concurrency", "2"], env, folder / "latency-worker.log")
    time.sleep(LATENCY_S)
    stop(beat, worker)
    runs = all_runs(env["RUNBOOK_DATABASE_URL"])[2:]  # the first runs wait for the browsers to start
    delays = [
        ((r.attempts[0].started_at if r.attempts else r.started_at) - r.scheduled_at).total_seconds()
        for r in runs
    ]
    return {
        "runs": len(delays),
        "p50_s": round(statistics.median(delays), 3),
        "p95_s": round(percentile(delays, 0.95), 3),
    }


def scheduling_overhead(env: dict[str, str], folder: Path, count: int, broker: str) -> dict[str, float]:
    checks = checks_file(folder, count, "10s", "fleet")
    env = {**env, "RUNBOOK_CHECKS": str(checks)}
    worker = start([sys.executable, "-m", "celery", "-A", "bench_fleet:record_app", "worker", "--concurrency", "2",
                    "--queues", QUEUE, "--without-gossip", "--without-mingle", "--loglevel", "WARNING"],
                   env, folder / f"overhead-worker-{count}.log", cwd=ROOT / "bench")  # fmt: skip
    beat = start([RUNBOOK, "checks", "beat"], env, folder / f"overhead-beat-{count}.log")
    time.sleep(12)  # start-up and the first pass over every check (their spread covers one interval)
    queued = redis_client.Redis.from_url(broker)
    before, cpu_before, t0 = (
        len(all_runs(env["RUNBOOK_DATABASE_URL"])) + queued.llen(QUEUE),
        cpu_s(beat.pid),
        time.monotonic(),
    )
    time.sleep(OVERHEAD_S)
    after, cpu_after, t1 = (
        len(all_runs(env["RUNBOOK_DATABASE_URL"])) + queued.llen(QUEUE),
        cpu_s(beat.pid),
        time.monotonic(),
    )
    recorded = len(all_runs(env["RUNBOOK_DATABASE_URL"]))
    stop(beat, worker)
    return {
        "checks": count,
        "expected_ticks_per_s": count / 10,
        "ticks_per_s": round((after - before) / (t1 - t0), 1),
        "beat_cpu_percent": round(100 * (cpu_after - cpu_before) / (t1 - t0), 1),
        "recorded": recorded,
    }


@contextlib.contextmanager
def environ(env: dict[str, str]) -> Iterator[None]:
    """The subprocesses' environment for an in-process part: the checks file names the bench's own environment
    ('fleet'), which only its RUNBOOK_CONFIG knows."""
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def dispatcher_pass(url: str, folder: Path, count: int, env: dict[str, str]) -> dict[str, float]:
    with environ(env):
        config = load_checks(checks_file(folder, count, "10s", "fleet"))
    with History(url) as history:
        dispatcher = Dispatcher(config, history)
        t0, cpu0 = time.perf_counter(), time.process_time()
        due = dispatcher.due(datetime.now(UTC))
        for check, tick in due:
            dispatcher.sent(check, tick)
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    return {"checks": count, "due": len(due), "wall_s": round(wall, 3), "ticks_per_s": round(len(due) / wall, 1),
            "cpu_s": round(cpu, 3)}  # fmt: skip


def main() -> None:
    from automation.sandbox import SandboxServer

    figures: dict[str, Any] = {"quick": QUICK}
    with (
        tempfile.TemporaryDirectory(prefix="bench-fleet-") as tmp,
        SandboxServer() as sandbox,
        postgres_server() as pg,
    ):
        folder = Path(tmp)
        (folder / "environments.yaml").write_text(
            "default: fleet\nenvironments:\n  fleet:\n"
            f"    apps: {{portal: '{sandbox.urls['portal']}', netsuite: '{sandbox.urls['netsuite']}'}}\n"
            "    credentials:\n      portal_monitor: {user: monitor@example.com, password: Monitor-Check-5x}\n"
        )
        base = {**os.environ, "RUNBOOK_CONFIG": str(folder / "environments.yaml"), "RUNBOOK_DATA": str(folder / "data"),
                "RUNBOOK_EVIDENCE_ROOT": str(folder / "evidence"), "PYTHONUNBUFFERED": "1"}  # fmt: skip

        def fresh(name: str, broker: str) -> dict[str, str]:
            return {**base, "RUNBOOK_BROKER_URL": broker, "RUNBOOK_DATABASE_URL": pg.create_database(name)}

        for processes in (1, 2):
            with redis_server() as rd:
                # each lambda is called at once, inside its loop turn: the defaults only say so to the linter
                rate = part(figures, f"runs_per_min_{processes}_process",
                            lambda n=processes, url=rd.url: round(runs_per_minute(fresh(f"rpm{n}", url), folder, n, url), 1))  # fmt: skip
            print(f"runs/min with {processes} worker process(es): {rate}", flush=True)
        with redis_server() as rd:
            latency = part(figures, "dispatch_latency", lambda url=rd.url: dispatch_latency(fresh("latency", url), folder))  # fmt: skip
        print(f"dispatch latency tick -> browser start: {latency}", flush=True)
        figures["scheduling_overhead"] = []
        for count in CHECK_COUNTS:
            with redis_server() as rd:
                row = part(figures, "scheduling_overhead",
                           lambda n=count, url=rd.url: scheduling_overhead(fresh(f"overhead{n}", url), folder, n, url))  # fmt: skip
            print(f"scheduling {count} checks every 10s: {row}", flush=True)
        figures["dispatcher_pass"] = []
        for count in CHECK_COUNTS:
            row = part(figures, "dispatcher_pass",
                       lambda n=count: dispatcher_pass(pg.create_database(f"dispatch{n}"), folder, n, base))  # fmt: skip
            print(f"dispatcher, one pass over {count} due checks: {row}", flush=True)
    RESULTS.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"figures written to {RESULTS}", flush=True)
    failed = [name for name, value in figures.items() if _failed(value)]
    if failed:
        raise SystemExit(
            f"bench-fleet: {', '.join(failed)} could not be measured (the reason is in {RESULTS})"
        )


def part(figures: dict[str, Any], name: str, measure: Callable[[], Any]) -> Any:
    """One figure, measured; a part that fails is kept as its reason, so the other parts and the JSON still come.

    A list-valued part (one row per check count) gets the row or its reason appended."""
    try:
        value = measure()
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - any failure of one part is that part's figure
        value = {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"}
        print(f"bench-fleet: {name} could not be measured: {value['error']}", file=sys.stderr, flush=True)
    if isinstance(figures.get(name), list):
        figures[name].append(value)
    else:
        figures[name] = value
    return value


def _failed(value: Any) -> bool:
    if isinstance(value, list):
        return any(_failed(row) for row in value)
    return isinstance(value, dict) and "error" in value


if __name__ == "__main__":
    main()
