"""What the agent console costs between the engine and the agent's page (prints figures; asserts nothing).

A real `runbook server --port 0` process (its executor, its browsers, the embedded sandbox it starts) in a
folder of its own, driven over HTTP with an admin's API token, the event stream read as a browser's
EventSource reads it (text/event-stream over a held connection):

(a) Start to first step: from the POST /api/runs request to the first `step` event on the run's stream, with
    a warm pool (every executor thread has run before). Alternated, round after round, with the runbook's own
    time to its first step: a raw `api.run` in this process (its browser warm too), from the call to its
    reporter's first step. Aim: (a) under 300 ms plus the runbook's own time.
(b) Step end to the agent: from a step's end in the engine to its event read by an SSE client, p50 and p95.
    The event carries no engine time: the server process is started through a bootstrap that wraps the store
    reporter's step_finished to write time.monotonic() (one clock for every process on Linux) to a file,
    before the event is written; the client stamps each event's arrival with the same clock. Aim: p95 < 100 ms.
(c) Load: 20 runs started at once on a pool of 2 and 50 watchers on one of them (the last: they hold their
    connections through the whole queue): the server's CPU (its process, then its Chromium and driver
    processes) and memory, sampled from /proc, and whether anything was dropped: each watcher must have seen
    every event id of its run, and every run must end.

    .venv/bin/python bench/bench_console.py        BENCH_QUICK=1: fewer rounds, fewer runs
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from run_bench import QUICK, summary

from automation import api
from automation.console.store import ConsoleStore
from automation.console.tokens import create_token

ROOT = Path(__file__).resolve().parents[1]
RUNBOOK = "synthetic-login"  # no inputs, no questions: the console's own cost stands out
ROUNDS = 3 if QUICK else 8
LOAD_RUNS = 8 if QUICK else 20
WATCHERS = 20 if QUICK else 50
POOL = 2
SAMPLE_S = 0.25
FINAL = {"passed", "escalated", "failed", "error", "aborted", "timed-out", "cancelled", "unanswered"}

# The server process: its store reporter also stamps each step's end (before the event is written) into a file.
BOOT = """
import json, os, sys, time
from automation.console.runs import channel
stamps = open(os.environ["BENCH_STAMPS"], "a", buffering=1)
original = channel.StoreReporter.step_finished
def step_finished(self, record):
    stamps.write(json.dumps([self.line.run_id, record.number, time.monotonic()]) + "\\n")
    original(self, record)
channel.StoreReporter.step_finished = step_finished
from automation.cli import main
sys.argv = ["runbook", *sys.argv[1:]]
main()
"""


# -- the server -----------------------------------------------------------------------------------------------


@dataclass
class Server:
    folder: Path
    proc: subprocess.Popen[bytes] | None = None
    url: str = ""
    token: str = ""

    @property
    def stamps(self) -> Path:
        return self.folder / "stamps.jsonl"

    def start(self) -> None:
        data, traces = self.folder / "data", self.folder / "traces"
        data.mkdir(parents=True)
        with ConsoleStore(data) as store:
            self.token = create_token(store, "bench", role="admin").token
        config = self.folder / "console.yaml"
        config.write_text(
            f"teams:\n  bench:\n    runbooks: [{RUNBOOK}]\nserver:\n  concurrency: {POOL}\n"
            "  secure_cookie: false\n",
            encoding="utf-8",
        )
        env = {
            # the person's own RUNBOOK_* would point the server at their folders; their Chromium may stay
            **{
                k: v for k, v in os.environ.items() if not k.startswith("RUNBOOK_") or k == "RUNBOOK_CHROMIUM"
            },
            "RUNBOOK_DATA": str(data),
            "RUNBOOK_TRACES": str(traces),
            "RUNBOOK_PATH": str(ROOT / "runbooks"),
            "BENCH_STAMPS": str(self.stamps),
        }
        log = open(self.folder / "server.log", "wb")  # noqa: SIM115 - the child keeps writing to it
        self.proc = subprocess.Popen(
            [sys.executable, "-c", BOOT, "server", "--port", "0", "--config", str(config)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.folder,
        )
        deadline = time.monotonic() + 60
        while not self.url:
            found = re.search(
                r"Console (http://\S+)/ ", (self.folder / "server.log").read_text(errors="replace")
            )
            if found:
                self.url = found.group(1)
            elif self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"runbook server did not start: {(self.folder / 'server.log').read_text()}")
            else:
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=60)

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url,
            headers={"authorization": f"Bearer {self.token}"},
            timeout=httpx.Timeout(30, read=90),
        )

    def step_ends(self) -> dict[tuple[str, str], float]:
        """(run id, step number) -> monotonic time the engine finished the step (its last attempt)."""
        ends = {}
        for line in self.stamps.read_text().splitlines():
            run_id, number, at = json.loads(line)
            ends[(run_id, number)] = at
        return ends


# -- a watcher: the event stream as an EventSource reads it ---------------------------------------------------------


@dataclass
class Event:
    id: int
    kind: str
    data: dict[str, Any]
    arrived: float  # time.monotonic() when its blank line (the event's end) was read


def events(client: httpx.Client, run_id: str) -> Iterator[Event]:
    with client.stream("GET", f"/api/runs/{run_id}/events", headers={"accept": "text/event-stream"}) as reply:
        if reply.status_code != 200:
            raise SystemExit(f"events of {run_id}: {reply.status_code} {reply.read()!r}")
        fields: dict[str, str] = {}
        for line in reply.iter_lines():
            if line == "":
                if "data" in fields:
                    yield Event(
                        int(fields.get("id", "0")),
                        fields.get("event", "message"),
                        json.loads(fields["data"]),
                        time.monotonic(),
                    )
                fields = {}
            elif not line.startswith(":"):
                name, _, value = line.partition(":")
                fields[name] = value.removeprefix(" ")


def start(client: httpx.Client) -> tuple[str, float]:
    """(run id, monotonic time the request was sent)."""
    sent = time.monotonic()
    reply = client.post("/api/runs", json={"runbook": RUNBOOK, "inputs": {}})
    if reply.status_code != 201:
        raise SystemExit(f"start: {reply.status_code} {reply.text}")
    return str(reply.json()["id"]), sent


def read_to_end(client: httpx.Client, run_id: str) -> list[Event]:
    return list(events(client, run_id))


# -- (a) start to the first step --------------------------------------------------------------------------------


def console_first_step(client: httpx.Client, seen: list[tuple[str, list[Event]]]) -> float:
    run_id, sent = start(client)
    read = read_to_end(client, run_id)
    seen.append((run_id, read))
    first = next(e for e in read if e.kind == "step")
    return first.arrived - sent


@dataclass
class FirstStep:
    """A reporter for raw api.run: when its first step started (the console's first `step` event is that)."""

    first: float | None = None

    def step_started(self, record: Any) -> None:
        if self.first is None:
            self.first = time.monotonic()

    def step_finished(self, record: Any) -> None:
        pass

    def say(self, text: str) -> None:
        pass


def raw_first_step(traces: Path) -> float:
    reporter = FirstStep()
    called = time.monotonic()
    result = api.run(RUNBOOK, {}, reporter=reporter, evidence_root=traces)
    if result.status != "passed" or reporter.first is None:
        raise SystemExit(f"raw api.run: {result.status} {result.error}")
    return reporter.first - called


# -- (c) load -----------------------------------------------------------------------------------------------------


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = defaultdict(list)
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            children[int(stat.rsplit(")", 1)[1].split()[1])].append(int(entry))
    found, todo = [], list(children[pid])
    while todo:
        child = todo.pop()
        found.append(child)
        todo += children[child]
    return found


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


@dataclass
class Usage:
    """CPU seconds and RSS of the server process and of its descendants (Chromium, the Playwright driver)."""

    pid: int
    samples: list[tuple[float, float]] = field(default_factory=list)  # (server RSS, descendants' RSS)
    stop: threading.Event = field(default_factory=threading.Event)

    def cpu(self) -> tuple[float, float]:
        others = 0.0
        for child in descendants(self.pid):
            try:
                others += cpu_s(child)
            except OSError:  # ended meanwhile
                pass
        return cpu_s(self.pid), others

    def sample(self) -> None:
        while not self.stop.wait(SAMPLE_S):
            self.samples.append((rss_mb(self.pid), sum(rss_mb(c) for c in descendants(self.pid))))


def load(server: Server) -> dict[str, Any]:
    """LOAD_RUNS runs started at once, WATCHERS watchers on the last one."""
    assert server.proc is not None
    usage = Usage(server.proc.pid)
    sampler = threading.Thread(target=usage.sample, daemon=True)
    cpu_before, wall_before = usage.cpu(), time.monotonic()
    sampler.start()
    client = server.client()
    runs = [start(client)[0] for _ in range(LOAD_RUNS)]
    watched = runs[-1]
    seen: dict[int, list[Event]] = {}
    failures: list[str] = []

    def watch(number: int) -> None:
        with server.client() as own:
            try:
                seen[number] = list(events(own, watched))
            except httpx.HTTPError as exc:
                failures.append(f"watcher {number}: {exc!r}")

    watchers = [threading.Thread(target=watch, args=(n,)) for n in range(WATCHERS)]
    for thread in watchers:
        thread.start()
    for thread in watchers:
        thread.join()
    statuses = {}
    for run_id in runs:  # every run must end: read each stream to its `finished`
        ending = read_to_end(client, run_id)[-1]
        statuses[run_id] = (
            ending.data.get("status") if ending.kind == "finished" else f"no end ({ending.kind})"
        )
    wall = time.monotonic() - wall_before
    cpu_after = usage.cpu()
    usage.stop.set()
    sampler.join()
    reference = [e.id for e in read_to_end(client, watched)]  # the whole stream, read after the run ended
    complete = sum(1 for read in seen.values() if [e.id for e in read] == reference)
    under_load = latencies_of(server, [(watched, read) for read in seen.values()])
    client.close()
    return {
        "runs": LOAD_RUNS,
        "watchers": WATCHERS,
        "wall_s": wall,
        "server_cpu_s": cpu_after[0] - cpu_before[0],
        "browsers_cpu_s": cpu_after[1] - cpu_before[1],
        "server_rss_mb": summary([s[0] for s in usage.samples]),
        "browsers_rss_mb": summary([s[1] for s in usage.samples]),
        "events_in_watched_run": len(reference),
        "watchers_complete": complete,
        "step_end_to_watchers_ms": percentiles(under_load),
        "watcher_failures": failures,
        "statuses": sorted(statuses.values()),
        "runs_ended": sum(1 for s in statuses.values() if s in FINAL),
    }


# -- the whole bench ----------------------------------------------------------------------------------------------


def percentiles(latencies: list[float]) -> dict[str, float]:
    """p50, p95 and max in ms, and how many."""
    if not latencies:
        return {"p50": float("nan"), "p95": float("nan"), "max": float("nan"), "n": 0}
    return {
        "p50": percentile(latencies, 0.5) * 1000,
        "p95": percentile(latencies, 0.95) * 1000,
        "max": max(latencies) * 1000,
        "n": len(latencies),
    }


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-console-") as tmp:
        folder = Path(tmp)
        os.environ["RUNBOOK_DATA"] = str(folder / "raw-data")  # the raw runs' audit log and tickets
        os.environ["RUNBOOK_PATH"] = str(ROOT / "runbooks")
        traces = folder / "raw-traces"
        server = Server(folder / "server")
        server.folder.mkdir()
        server.start()
        try:
            measure(server, traces)  # prints its figures
        finally:
            server.stop()


def measure(server: Server, traces: Path) -> dict[str, Any]:
    client = server.client()
    print(
        f"server {server.url}: warming its pool ({POOL} runs at once) and this process's browser", flush=True
    )
    warm = [start(client)[0] for _ in range(POOL)]
    for run_id in warm:
        read_to_end(client, run_id)
    raw_first_step(traces)

    print(f"(a) start to first step, {ROUNDS} rounds, console and raw api.run alternating", flush=True)
    streams: list[tuple[str, list[Event]]] = []
    console, raw = [], []
    for round_ in range(ROUNDS):
        order = ("console", "raw") if round_ % 2 == 0 else ("raw", "console")
        for name in order:
            if name == "console":
                console.append(console_first_step(client, streams))
            else:
                raw.append(raw_first_step(traces))
        print(f"  round {round_ + 1}/{ROUNDS}: console {console[-1]:.3f} s  raw {raw[-1]:.3f} s", flush=True)
    overhead = [c - r for c, r in zip(console, raw, strict=True)]

    step_latency = latencies_of(server, streams)
    print(f"(b) step end to the client: {len(step_latency)} steps", flush=True)

    print(f"(c) {LOAD_RUNS} runs on a pool of {POOL}, {WATCHERS} watchers on the last", flush=True)
    loaded = load(server)
    client.close()
    figures = {
        "a_start_to_first_step_s": summary(console),
        "a_raw_api_run_first_step_s": summary(raw),
        "a_console_overhead_s": summary(overhead),
        "b_step_end_to_client_ms": percentiles(step_latency),
        "c_load": loaded,
    }
    report(figures)
    return figures


def latencies_of(server: Server, streams: list[tuple[str, list[Event]]]) -> list[float]:
    """Step end in the engine -> its event read by the client, for every finished step the client read."""
    ends = server.step_ends()
    found = []
    for run_id, read in streams:
        for event in read:
            if event.kind == "step" and event.data.get("status") != "running":
                at = ends.get((run_id, event.data["number"]))
                if at is not None:
                    found.append(event.arrived - at)
    return found


def report(f: dict[str, Any]) -> None:
    a, raw, over = f["a_start_to_first_step_s"], f["a_raw_api_run_first_step_s"], f["a_console_overhead_s"]
    b, c = f["b_step_end_to_client_ms"], f["c_load"]
    print("\n== the agent console")
    print(
        f"  (a) Start request -> first step event        {a['median'] * 1000:7.0f} ms median "
        f"(min {a['min'] * 1000:.0f}, max {a['max'] * 1000:.0f})"
    )
    print(
        f"      raw api.run -> its first step             {raw['median'] * 1000:7.0f} ms median "
        f"(min {raw['min'] * 1000:.0f}, max {raw['max'] * 1000:.0f})"
    )
    print(
        f"      the console's part (paired, per round)   {over['median'] * 1000:7.0f} ms median "
        f"(min {over['min'] * 1000:.0f}, max {over['max'] * 1000:.0f})   aim < 300 ms"
    )
    print(
        f"  (b) step end in the engine -> SSE client     p50 {b['p50']:.1f} ms  p95 {b['p95']:.1f} ms  "
        f"max {b['max']:.1f} ms  ({b['n']} steps)   aim p95 < 100 ms"
    )
    print(f"  (c) {c['runs']} runs on a pool of {POOL}, {c['watchers']} watchers on one: {c['wall_s']:.1f} s")
    print(
        f"      server process CPU {c['server_cpu_s']:.1f} s ({100 * c['server_cpu_s'] / c['wall_s']:.0f}% of "
        f"one core); its browsers and driver {c['browsers_cpu_s']:.1f} s"
    )
    print(
        f"      server RSS {c['server_rss_mb']['median']:.0f} MB median, {c['server_rss_mb']['max']:.0f} max; "
        f"browsers and driver {c['browsers_rss_mb']['median']:.0f} MB median, "
        f"{c['browsers_rss_mb']['max']:.0f} max"
    )
    print(
        f"      watchers that saw every one of the run's {c['events_in_watched_run']} events: "
        f"{c['watchers_complete']} of {c['watchers']}; runs ended: {c['runs_ended']} of {c['runs']} "
        f"({', '.join(sorted(set(c['statuses'])))}); watcher failures: {len(c['watcher_failures'])}"
    )
    w = c["step_end_to_watchers_ms"]
    print(
        f"      step end -> each of the {c['watchers']} watchers: p50 {w['p50']:.1f} ms  p95 {w['p95']:.1f} ms  "
        f"max {w['max']:.1f} ms  ({w['n']} deliveries)"
    )


if __name__ == "__main__":
    main()
