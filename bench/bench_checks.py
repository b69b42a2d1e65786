"""What `runbook checks serve` sustains and costs on this machine (prints figures, writes bench/results.json; asserts
nothing).

A Scheduler over a checks file of synthetic-login checks (two more than its concurrency; `every: 1s`, so they are
always due; one attempt) against one embedded sandbox, driven by `tick()` in a loop with short sleeps; its worker
threads each own a browser:

1. runs per minute at concurrency 1, 2 and 4: the levels alternate, round after round (ABC, CBA, ...); each
   level's scheduler (and its browsers) lives through all rounds; medians over rounds, with min and max;
2. the scheduler's own cost per run (claiming the tick, the history, the alert policy, metrics: everything
   around `execute`) as a share of the run; `execute` and `settle` are wrapped with timers;
3. memory over 200 runs at concurrency 1: RSS of this process, of Chromium and of the Playwright driver every 10
   runs, and the least-squares slope (MB per 100 runs) after the first 20 runs.

    .venv/bin/python bench/bench_checks.py        BENCH_QUICK=1: fewer runs
"""

from __future__ import annotations

import logging
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from run_bench import QUICK, rss_mb, write_results

import automation.checks.watchdog.scheduler as scheduler_module
from automation.checks.config.load import Check, ChecksConfig, load_checks
from automation.checks.model import CheckRun
from automation.checks.storage.history import History
from automation.checks.watchdog.run_check import Host
from automation.checks.watchdog.scheduler import Deadline, Scheduler
from automation.environments import sandbox_target
from automation.sandbox import SandboxServer

LEVELS = (1, 2, 4)
SPARE_CHECKS = (
    2  # checks beyond the concurrency: every worker always has a due check waiting, the backlog is short
)
ROUNDS = 1 if QUICK else 2
RUNS_PER_LEVEL = 8 if QUICK else 12  # a multiple of every level: the runs end on a full wave
MEMORY_RUNS = 20 if QUICK else 200  # quick: a sample at 10 and 20 runs; the slope needs the full size
SAMPLE_EVERY = 10
SKIP_RUNS = 20  # the memory fit starts after this many runs (browser and caches warming up)
POLL_S = 0.05
SERVE_POLL_S = 1.0  # `checks serve`'s default tick interval, for the cost of idle ticks per run


# -- the checks file ----------------------------------------------------------------------------------------------


def checks_config(folder: Path, count: int) -> ChecksConfig:
    """`count` synthetic-login checks, always due, one attempt each."""
    lines = ["defaults:", "  env: sandbox", "  timeout: 1m", "  retries: {attempts: 1}", "checks:"]
    for index in range(1, count + 1):
        lines += [f"  login-{index}:", "    runbook: synthetic-login", "    every: 1s"]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "checks.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return load_checks(path)


# -- timers around the scheduler --------------------------------------------------------------------------------


@dataclass
class Timers:
    """Per-run timings of one scheduler, filled from its worker threads and the ticking thread."""

    execute_s: list[float] = field(default_factory=list)  # the run itself (the browser, the evidence)
    run_s: list[float] = field(default_factory=list)  # Scheduler._run: execute + settle + its own bookkeeping
    settle_s: list[float] = field(default_factory=list)  # history, alert policy, notifications, metrics
    start_s: list[float] = field(default_factory=list)  # _start_if_due for a check it started
    idle_tick_s: list[float] = field(default_factory=list)  # a whole tick() that started nothing
    queued_s: list[float] = field(default_factory=list)  # from being started by a tick to a worker taking it
    done_at: list[float] = field(default_factory=list)  # perf_counter() at the end of each run
    statuses: list[str] = field(default_factory=list)
    evidence: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    after_run: Callable[[int], None] | None = None  # called with the run count, outside the timed part

    def add(self, name: str, value: float) -> None:
        with self.lock:
            getattr(self, name).append(value)


_BY_HOST: dict[int, Timers] = {}
_SETTLE = scheduler_module.settle


def _timed_settle(check: Check, run: CheckRun, host: Host, config: ChecksConfig | None = None) -> CheckRun:
    started = time.perf_counter()
    try:
        return _SETTLE(check, run, host, config)
    finally:
        timers = _BY_HOST.get(id(host))
        if timers is not None:
            timers.add("settle_s", time.perf_counter() - started)


def instrument(scheduler: Scheduler) -> Timers:
    """Wrap the scheduler's execute, _run and _start_if_due (and, once, the scheduler module's settle)."""
    timers = Timers()
    _BY_HOST[id(scheduler.host)] = timers
    scheduler_module.settle = _timed_settle  # type: ignore[assignment]
    execute, run, start = scheduler.execute, scheduler._run, scheduler._start_if_due

    def timed_execute(check: Check, tick: datetime, host: Host, *, deadline: Any = None) -> CheckRun:
        started = time.perf_counter()
        result = execute(check, tick, host, deadline=deadline)
        timers.add("execute_s", time.perf_counter() - started)
        with timers.lock:
            timers.statuses.append(result.status)
            timers.evidence.update(str(a.evidence_dir) for a in result.attempts if a.evidence_dir)
        return result

    def timed_run(check: Check, tick: datetime, deadline: Deadline) -> None:
        # The run's time limit started when the tick queued it: what is gone of it is the wait for a worker.
        timers.add("queued_s", check.timeout_s - deadline.remaining())
        started = time.perf_counter()
        run(check, tick, deadline)
        ended = time.perf_counter()
        timers.add("run_s", ended - started)
        timers.add("done_at", ended)
        if timers.after_run is not None:
            timers.after_run(len(timers.done_at))

    def timed_start(check: Check, now: datetime) -> bool:
        started = time.perf_counter()
        began = start(check, now)
        if began:
            timers.add("start_s", time.perf_counter() - started)
        return began

    scheduler.execute = timed_execute
    scheduler._run = timed_run  # type: ignore[method-assign]
    scheduler._start_if_due = timed_start  # type: ignore[method-assign]
    return timers


# -- driving ---------------------------------------------------------------------------------------------------


def make_scheduler(server: SandboxServer, folder: Path, concurrency: int) -> Scheduler:
    config = checks_config(folder, concurrency + SPARE_CHECKS)
    host = Host(
        history=History(data_dir=folder / "data"),
        evidence_root=folder / "traces",
        data_dir=folder / "data",
        target_for=lambda env: sandbox_target(server),
    )
    return Scheduler(config, host, concurrency=concurrency, grace_s=30.0)


def drive(scheduler: Scheduler, timers: Timers, runs: int) -> float:
    """Tick until `runs` more runs have ended, then let the ones in flight end; returns runs per minute."""
    target = len(timers.done_at) + runs
    began = time.perf_counter()
    while len(timers.done_at) < target:
        tick(scheduler, timers)
        time.sleep(POLL_S)
    ended = timers.done_at[target - 1]
    while scheduler.running:
        time.sleep(POLL_S)
    return runs / (ended - began) * 60


def tick(scheduler: Scheduler, timers: Timers) -> None:
    started = time.perf_counter()
    if not scheduler.tick():
        timers.add("idle_tick_s", time.perf_counter() - started)


# -- 1 and 2: throughput per level, overhead per run -------------------------------------------------------------


def throughput(server: SandboxServer, root: Path) -> tuple[dict[int, list[float]], dict[int, Timers]]:
    """Runs per minute per level, one figure per round; levels alternate ABC, CBA, ..."""
    schedulers = {n: make_scheduler(server, root / f"c{n}", n) for n in LEVELS}
    timers = {n: instrument(s) for n, s in schedulers.items()}
    rates: dict[int, list[float]] = {n: [] for n in LEVELS}
    try:
        for n in LEVELS:  # warm-up: every worker launches its browser; not measured
            drive(schedulers[n], timers[n], n)
            reset(timers[n])
        for round_ in range(ROUNDS):
            for n in LEVELS if round_ % 2 == 0 else tuple(reversed(LEVELS)):
                rates[n].append(drive(schedulers[n], timers[n], RUNS_PER_LEVEL))
                print(f"  round {round_ + 1}, concurrency {n}: {rates[n][-1]:6.1f} runs/min", flush=True)
    finally:
        for s in schedulers.values():
            s.shutdown()
    print_throughput(rates)
    for n in LEVELS:
        print_overhead(f"concurrency {n}", timers[n])
    return rates, timers


def reset(timers: Timers) -> None:
    """Forget the warm-up's timings (done_at stays: drive() counts from its length)."""
    with timers.lock:
        for name in ("execute_s", "run_s", "settle_s", "start_s", "idle_tick_s", "queued_s", "statuses"):
            getattr(timers, name).clear()
        timers.evidence.clear()


def print_throughput(rates: dict[int, list[float]]) -> None:
    base = statistics.median(rates[1])
    print(
        f"checks serve throughput (concurrency + {SPARE_CHECKS} checks, {RUNS_PER_LEVEL} runs per level per round, {ROUNDS} rounds)"
    )
    for n in LEVELS:
        mid = statistics.median(rates[n])
        print(
            f"  concurrency {n}: median {mid:6.1f} runs/min (min {min(rates[n]):.1f}, max {max(rates[n]):.1f})"
            f"   {mid / base:4.2f}x concurrency 1"
        )


def overhead(timers: Timers) -> dict[str, float]:
    """Medians in ms, and the scheduler's share of a run (the claim + everything in _run but execute)."""
    own = [r - e for r, e in zip(timers.run_s, timers.execute_s, strict=False)]
    start = statistics.median(timers.start_s) if timers.start_s else 0.0
    per_run = statistics.median(own) + start
    execute = statistics.median(timers.execute_s)
    idle = statistics.median(timers.idle_tick_s) if timers.idle_tick_s else 0.0
    # `checks serve` ticks once a second: the idle ticks between two runs of one worker, charged to that run
    idle_per_run = idle * execute / SERVE_POLL_S
    return {
        "runs": len(timers.execute_s),
        "execute_ms": execute * 1000,
        "settle_ms": statistics.median(timers.settle_s) * 1000,
        "start_ms": start * 1000,
        "own_ms": per_run * 1000,
        "idle_tick_ms": idle * 1000,
        "queued_ms": statistics.median(timers.queued_s) * 1000 if timers.queued_s else 0.0,
        "share": per_run / (per_run + execute),
        "share_with_idle_ticks": (per_run + idle_per_run) / (per_run + idle_per_run + execute),
        "not_passed": sum(s != "passed" for s in timers.statuses),
        "evidence_dirs": len(timers.evidence),
    }


def print_overhead(label: str, timers: Timers) -> dict[str, float]:
    o = overhead(timers)
    print(
        f"  overhead, {label} ({o['runs']:.0f} runs, medians): run {o['execute_ms']:.0f} ms; scheduler "
        f"{o['own_ms']:.1f} ms (claim {o['start_ms']:.1f}, settle {o['settle_ms']:.1f}) = {o['share']:.2%} "
        f"of a run, {o['share_with_idle_ticks']:.2%} with 1 s idle ticks ({o['idle_tick_ms']:.1f} ms each; "
        f"aim under 2 %); queued {o['queued_ms']:.0f} ms; not passed {o['not_passed']:.0f}"
    )
    if o["evidence_dirs"] < o["runs"]:
        print(f"  ! {o['runs'] - o['evidence_dirs']:.0f} runs shared an evidence folder with another run")
    return o


# -- 3: memory -------------------------------------------------------------------------------------------------


def memory(server: SandboxServer, root: Path) -> dict[str, Any]:
    scheduler = make_scheduler(server, root / "memory", 1)
    timers = instrument(scheduler)
    samples: list[tuple[int, dict[str, float]]] = []

    def sample(count: int) -> None:
        if count % SAMPLE_EVERY == 0:
            samples.append((count, rss_mb()))
            print(
                f"  {count:>4} runs: " + ", ".join(f"{k} {v:.0f} MB" for k, v in samples[-1][1].items()),
                flush=True,
            )

    timers.after_run = sample
    print(f"memory at concurrency 1, RSS every {SAMPLE_EVERY} runs", flush=True)
    try:
        drive(scheduler, timers, MEMORY_RUNS)
    finally:
        scheduler.shutdown()
    return report_memory(samples, timers)


def slope(points: list[tuple[int, float]]) -> float:
    """Least-squares MB per 100 runs."""
    if len(points) < 2:
        return float("nan")
    xs, ys = zip(*points, strict=True)
    return statistics.linear_regression(xs, ys).slope * 100


def report_memory(samples: list[tuple[int, dict[str, float]]], timers: Timers) -> dict[str, Any]:
    after = [(n, s) for n, s in samples if n > SKIP_RUNS]
    fitted, skipped = (after, SKIP_RUNS) if len(after) >= 2 else (samples, 0)  # BENCH_QUICK: too few after
    kinds = ("runner", "chromium", "driver")  # chromium_pss is another view of chromium: not added
    slopes = {k: slope([(n, s[k]) for n, s in fitted]) for k in kinds}
    slopes["total"] = slope([(n, sum(s[k] for k in kinds)) for n, s in fitted])
    print(f"memory over {len(timers.done_at)} runs at concurrency 1")
    print(
        f"  slope over the samples after {skipped} runs (MB per 100 runs; aim: 0): "
        + ", ".join(f"{k} {v:+.2f}" for k, v in slopes.items())
    )
    settles = timers.settle_s
    tenth = max(1, len(settles) // 10)
    print(
        f"  settle, first {tenth} runs vs last {tenth}: {statistics.median(settles[:tenth]) * 1000:.1f} ms vs "
        f"{statistics.median(settles[-tenth:]) * 1000:.1f} ms (the history grows)"
    )
    over = print_overhead("memory run", timers)
    return {
        "runs": len(timers.done_at),
        "fit_after_runs": skipped,
        "samples": [{"runs": n, **s} for n, s in samples],
        "slope_mb_per_100_runs": slopes,
        "settle_ms_first_last": [
            statistics.median(settles[:tenth]) * 1000,
            statistics.median(settles[-tenth:]) * 1000,
        ],
        "overhead": over,
    }


# -- results ---------------------------------------------------------------------------------------------------


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    began = time.perf_counter()
    with SandboxServer() as server, tempfile.TemporaryDirectory(prefix="bench-checks-") as tmp:
        root = Path(tmp)
        rates, timers = throughput(server, root)
        over = {n: overhead(t) for n, t in timers.items()}
        mem = memory(server, root)
    elapsed = time.perf_counter() - began
    print(f"bench_checks took {elapsed:.0f} s{' (BENCH_QUICK=1)' if QUICK else ''}")
    write_results(
        {
            "checks.quick": QUICK,
            "checks.runs_per_min": {
                str(n): {"median": statistics.median(r), "min": min(r), "max": max(r), "rounds": r}
                for n, r in rates.items()
            },
            "checks.overhead": {str(n): o for n, o in over.items()},
            "checks.memory": mem,
            "checks.seconds": elapsed,
        }
    )


if __name__ == "__main__":
    main()
