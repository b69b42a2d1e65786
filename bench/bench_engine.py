"""What the runbook engine costs next to raw Playwright doing the same clicks, in one process (prints figures,
writes bench/results.json; asserts nothing).

Every comparison alternates its variants round after round, the order flipped every round (run_bench.alternate),
on one browser with a fresh context per run, against an embedded sandbox (in this process):

1. engine_vs_raw_same_evidence, per flow (synthetic-login, resend-verify already verified, change-customer-email
   for a customer without access): the engine with `screenshots="off"` against raw Playwright with the engine's
   own tracing options; beside it the engine as it runs by default (a picture per page-changing step) against raw
   with a PNG per page-changing step too.
2. engine_full_vs_raw_traced, per flow: the engine with all its evidence against raw with tracing on.
3. share_of_run: the engine's own functions wrapped with timers from outside (see `instrument`), over 1 and 2;
   beside it raw Playwright's own context open (new_context, tracing.start, new_page), the same calls.
4. reuse_runs_per_min / browser_per_run_runs_per_min: engine runs of synthetic-login on one reused browser,
   against a browser launched (and closed) per run; alternating run by run.
5. rss_mb: this process (it hosts the sandbox too), the Playwright driver and Chromium, with 1 and 8 contexts
   open at once, each having logged in.

    .venv/bin/python bench/bench_engine.py        BENCH_QUICK=1: fewer rounds and runs
"""

from __future__ import annotations

import functools
import os
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, expect
from playwright.sync_api import Error as PlaywrightError
from run_bench import QUICK, alternate, compare, print_compare, rss_mb, spread, summary, write_results

from automation.api import run
from automation.chromium import launch_options
from automation.engine.browser import pool
from automation.environments import Target, sandbox_target
from automation.sandbox import SandboxServer

ROUNDS = 3  # with 50 + 50 throughput runs, what fits make bench in 10 min (4 rounds took it to 10 min 25 s)
THROUGHPUT_RUNS = 10 if QUICK else 50
RSS_ROUNDS = 2
MONITOR = ("monitor@example.com", "Monitor-Check-5x")  # the sandbox seed's accounts (environments.yaml)
ADMIN = ("admin@example.com", "Admin-Sandbox-9z")
VIEWPORT = {"width": 1280, "height": 900}
# The engine's tracing options (runner._open_context), for raw Playwright's "same tracing".
TRACING = {"screenshots": False, "snapshots": True, "sources": False}  # as the engine traces

Shoot = Callable[[], None]
LOWER_BOUND = (
    "a lower bound: while a screenshot is taken the page goes on loading, which a step without it waits for"
)


# -- the flows, raw -------------------------------------------------------------------------------------------------


def raw_login(page: Page, urls: dict[str, str], shot: Shoot) -> None:
    page.goto(f"{urls['portal']}/auth/login")
    shot()
    page.get_by_label("Email").fill(MONITOR[0])
    shot()
    page.get_by_label("Password").fill(MONITOR[1])
    shot()
    page.get_by_role("button", name="Log In").click()
    shot()
    expect(page.get_by_role("heading", name="My Account")).to_be_visible()
    shot()
    expect(page.get_by_text(f"Signed in as {MONITOR[0]}")).to_be_visible()


def raw_resend(page: Page, urls: dict[str, str], shot: Shoot) -> None:
    page.goto(f"{urls['portal']}/auth/resendVerifyCode")
    shot()
    page.get_by_label("Email").fill("verified@example.com")
    shot()
    page.get_by_role("button", name="Submit").click()
    shot()
    expect(page.get_by_text("This email address has already been verified.").first).to_be_visible()
    shot()


def raw_change_email(page: Page, urls: dict[str, str], shot: Shoot) -> None:
    page.goto(f"{urls['netsuite']}/app/common/entity/custjoblist.nl")  # netsuite-login, as a `use`
    shot()
    expect(page.locator("#login-submit").first).to_be_visible()
    shot()
    page.locator("#email").fill(ADMIN[0])
    shot()
    page.locator("#password").fill(ADMIN[1])
    shot()
    page.locator("#login-submit").click()
    shot()
    expect(page.locator("#ns-user").first).to_be_visible()
    shot()
    page.goto(f"{urls['netsuite']}/app/common/entity/custjob.nl?id=1002&e=T")
    shot()
    page.locator("#email").fill("noah.new@example.com")
    shot()
    page.locator("#btn_multibutton_submitter").click()
    shot()
    expect(page.get_by_text("Record has been saved.").first).to_be_visible()
    shot()


def raw_shot(page: Page, path: Path) -> None:
    """page.screenshot(), once more if Chromium could not capture (a navigation committing), as a script would."""
    try:
        page.screenshot(path=str(path))
    except PlaywrightError:
        page.screenshot(path=str(path))


@dataclass(frozen=True)
class Flow:
    name: str
    inputs: dict[str, Any]
    outcome: str
    raw: Callable[[Page, dict[str, str], Shoot], None]


FLOWS = (
    Flow("synthetic-login", {}, "signed-in", raw_login),
    Flow("resend-verify", {"email": "verified@example.com"}, "already-verified", raw_resend),
    Flow(
        "change-customer-email",
        {"customer_id": 1002, "new_email": "noah.new@example.com"},
        "saved",
        raw_change_email,
    ),
)


# -- timers around the engine's own functions ---------------------------------------------------------------------


class Probe:
    """Seconds spent in the wrapped engine functions during the current run, and how often each was called."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    def clear(self) -> None:
        self.spent.clear()

    def timed(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.spent[name] += time.perf_counter() - started
                self.calls[name] += 1

        return wrapper


PROBE = Probe()
# What the wrappers measure (screenshots are inside steps; trace_stop is worked out, see parts_of).
PARTS = (
    "context_open",
    "steps",
    "screenshots",
    "trace_stop",
    "trace_scrub",
    "context_close",
    "run_json",
    "report",
    "audit",
)
# Disjoint parts of a run, in order: they add up to the run.
DISJOINT = (
    "context_open",
    "steps_without_screenshots",
    "screenshots",
    "trace_stop",
    "trace_scrub",
    "context_close",
    "run_json",
    "report",
    "audit",
    "everything_else",  # loading and checking the runbook, the sandbox lease, the rest of finishing
)


def instrument() -> None:
    """Wrap the engine's functions from outside (this process only; production code is untouched)."""
    from automation.engine import context, finish, runner
    from automation.evidence import audit, report
    from automation.redaction import redactor as redact

    t = PROBE.timed
    runner.execute = t("execute", runner.execute)  # api.run imports it at call time
    runner._open_context = t("context_open", runner._open_context)
    runner._run_main = t("steps", runner._run_main)
    context.RunContext.screenshot = t("screenshots", context.RunContext.screenshot)  # type: ignore[method-assign]
    finish._stop_trace = t("trace_stop_and_scrub", finish._stop_trace)
    finish.scrub_trace = redact.scrub_trace = t("trace_scrub", redact.scrub_trace)
    finish._close = t("context_close", finish._close)
    finish._write_run_json = t("run_json", finish._write_run_json)
    report.write_report = t("report", report.write_report)  # finish imports it at call time
    audit.append = t("audit", audit.append)


def parts_of(spent: dict[str, float]) -> dict[str, float]:
    """One run's seconds per part; trace_stop is tracing.stop() and the renames, without the scrub."""
    out = {part: spent.get(part, 0.0) for part in PARTS if part != "trace_stop"}
    out["trace_stop"] = spent.get("trace_stop_and_scrub", 0.0) - out["trace_scrub"]
    return out


# -- one run of each kind -----------------------------------------------------------------------------------------


@dataclass
class Bench:
    """What every run needs: the sandbox, the browser the raw runs use, a scratch folder; the probes of runs."""

    server: SandboxServer
    target: Target
    browser: Browser
    root: Path
    probes: dict[str, list[dict[str, float]]]
    count: int = 0
    raw_context_open: list[float] = field(
        default_factory=list
    )  # raw's new_context + tracing.start + new_page

    def scratch(self, suffix: str) -> Path:
        self.count += 1
        return self.root / "raw" / f"{self.count}{suffix}"

    def raw(self, flow: Flow, *, tracing: bool = True, shots: bool = False) -> float:
        """One raw Playwright run of a flow in a fresh context; returns its seconds."""
        started = time.perf_counter()
        context = self.browser.new_context(viewport=VIEWPORT)
        if tracing:
            context.tracing.start(**TRACING)
        page = context.new_page()
        if tracing:
            self.raw_context_open.append(time.perf_counter() - started)
        flow.raw(
            page,
            self.server.urls,
            (lambda: raw_shot(page, self.scratch(".png"))) if shots else (lambda: None),
        )
        if tracing:
            context.tracing.stop(path=str(self.scratch(".zip")))
        context.close()
        return time.perf_counter() - started

    def engine(self, flow: Flow, browser: Browser | None = None, *, screenshots: str = "each-step") -> float:
        """One engine run from the YAML (all evidence by default); returns its seconds, keeps its probe."""
        PROBE.clear()
        started = time.perf_counter()
        result = run(
            flow.name,
            flow.inputs,
            target=self.target,
            browser=browser,  # None: the pool's browser, as `runbook run` and `checks serve` use it
            reset_sandbox=False,
            evidence_root=self.root / "traces",
            data_dir=self.root / "data",
            screenshots=screenshots,
        )
        elapsed = time.perf_counter() - started
        if result.outcome != flow.outcome:
            raise RuntimeError(f"{flow.name} ended {result.status}/{result.outcome}: {result.error}")
        self.probes.setdefault(flow.name, []).append({"run": elapsed, **parts_of(PROBE.spent)})
        return elapsed


# -- 1 and 2: the comparisons -------------------------------------------------------------------------------------


def same_evidence(bench: Bench, flow: Flow) -> dict[str, Any]:
    print(f"engine vs raw with the same tracing: {flow.name}", flush=True)
    before = len(bench.probes.get(flow.name, []))
    times = alternate(
        {
            "raw": lambda: bench.raw(flow),
            "raw+shots": lambda: bench.raw(flow, shots=True),
            "engine": lambda: bench.engine(flow),
            "engine, no pictures": lambda: bench.engine(flow, screenshots="off"),
        },
        ROUNDS,
        flow.name,
    )
    pictured = [p for p in bench.probes[flow.name][before:] if p["screenshots"] > 0]
    shots = [p["screenshots"] for p in pictured]
    without = [e - s for e, s in zip(times["engine"], shots, strict=True)]
    same = compare(times["engine, no pictures"], times["raw"])
    print_compare("engine, --screenshots off", "raw Playwright, the engine's tracing", same)
    c = compare(times["engine"], times["raw"])
    print_compare("engine (all evidence, as it is)", "raw Playwright, the engine's tracing", c)
    print(f"  per-step screenshots inside the engine run: {spread(summary(shots))}")
    c_without = compare(without, times["raw"])
    c_shots = compare(times["engine"], times["raw+shots"])
    print(f"  engine minus its screenshots vs raw: {c_without['ratio']:.3f}x ({LOWER_BOUND})")
    print(
        f"  raw with a PNG per page-changing step {spread(c_shots['b'])}; the engine against it {c_shots['ratio']:.3f}x"
    )
    return {
        **same,
        "with_step_screenshots": c,
        "ratio_without_screenshots": c_without["ratio"],
        "without_screenshots_is": LOWER_BOUND,
        "paired_ratio_without_screenshots": c_without["paired_ratio"],
        "screenshots_s": summary(shots),
        "vs_raw_with_step_pngs": {"ratio": c_shots["ratio"], "raw_with_step_pngs": c_shots["b"]},
        "engine_screenshots": "off (api.run(screenshots='off')); with_step_screenshots is the engine as it runs by default",
    }


def full_vs_traced(bench: Bench) -> dict[str, Any]:
    """Per flow: the engine with all its evidence against raw Playwright with tracing on (and off, for scale)."""
    figures: dict[str, Any] = {}
    for flow in FLOWS:
        print(f"engine with all its evidence vs raw Playwright with tracing on: {flow.name}", flush=True)
        times = alternate(
            {
                "raw untraced": lambda flow=flow: bench.raw(flow, tracing=False),
                "raw traced": lambda flow=flow: bench.raw(flow),
                "engine": lambda flow=flow: bench.engine(flow),
            },
            ROUNDS,
            "full",
        )
        c = compare(times["engine"], times["raw traced"])
        print_compare("engine (all evidence)", "raw Playwright, tracing on", c)
        plain = compare(times["raw traced"], times["raw untraced"])
        print(f"  (raw without tracing {spread(plain['b'])}: tracing costs raw {plain['ratio']:.3f}x)")
        figures[flow.name] = {**c, "raw_untraced": plain["b"], "raw_traced_vs_untraced": plain["ratio"]}
    return figures


# -- 3: where the engine's time goes ------------------------------------------------------------------------------


def share_of_run(probes: dict[str, list[dict[str, float]]], raw_context_open: list[float]) -> dict[str, Any]:
    """Each part's median ms, and its share of the run (its total over the runs' total), over every engine run
    of synthetic-login so far; the shares are of disjoint parts and add up to 1."""
    runs = [{**p, "steps_without_screenshots": p["steps"] - p["screenshots"]} for p in probes[FLOWS[0].name]]
    for p in runs:
        p["everything_else"] = p["run"] - sum(p[part] for part in DISJOINT[:-1])
    total = sum(p["run"] for p in runs)
    ms = {part: statistics.median(p[part] for p in runs) * 1000 for part in (*DISJOINT, "steps")}
    shares = {part: sum(p[part] for p in runs) / total for part in DISJOINT}
    missing = [part for part in PARTS if PROBE.calls[part] == 0 and part != "trace_stop"]
    run_s = statistics.median(p["run"] for p in runs)
    print(
        f"share of a synthetic-login run ({len(runs)} runs, median {run_s:.3f} s; median ms per part, share of all)"
    )
    for part in DISJOINT:
        print(f"  {part:<28} {ms[part]:7.1f} ms  {shares[part]:6.1%}")
    raw_open_ms = statistics.median(raw_context_open) * 1000 if raw_context_open else None
    if (
        raw_open_ms is not None
    ):  # the same calls raw Playwright makes: what of context_open is the engine's own
        print(f"  (raw Playwright's own new_context + tracing.start + new_page: {raw_open_ms:.1f} ms)")
    if missing:
        print(f"  ! never called, so not measured (the engine changed?): {', '.join(missing)}")
    return {
        "raw_context_open_ms": raw_open_ms,
        "flow": FLOWS[0].name,
        "runs": len(runs),
        "run_s": run_s,
        "ms": ms,
        "shares": shares,
        "not_seen": missing,
    }


# -- 4: runs per minute, one browser against a browser per run ------------------------------------------------------


def throughput(bench: Bench) -> dict[str, dict[str, Any]]:
    flow = FLOWS[0]
    launcher = bench.browser.browser_type

    def fresh_browser() -> float:
        started = time.perf_counter()
        browser = launcher.launch(**launch_options())
        try:
            bench.engine(flow, browser=browser)
        finally:
            browser.close()
        return time.perf_counter() - started

    print(
        f"{flow.name} engine runs, {THROUGHPUT_RUNS} each: one browser reused vs a browser per run",
        flush=True,
    )
    times = alternate(
        {"reuse": lambda: bench.engine(flow), "per run": fresh_browser}, THROUGHPUT_RUNS, "runs"
    )
    out = {}
    for name, key in (("reuse", "reuse_runs_per_min"), ("per run", "browser_per_run_runs_per_min")):
        rate = len(times[name]) / sum(times[name]) * 60
        out[key] = {"runs_per_min": rate, "runs": len(times[name]), "run_s": summary(times[name])}
        print(f"  {name:<8} {rate:6.1f} runs/min  (run {spread(out[key]['run_s'])})")
    return out


# -- 5: memory ----------------------------------------------------------------------------------------------------


def open_contexts(bench: Bench, count: int) -> dict[str, float]:
    """`count` traced contexts open at once, each logged in; the RSS while they are all open."""
    contexts = []
    try:
        for _ in range(count):
            context = bench.browser.new_context(viewport=VIEWPORT)
            context.tracing.start(**TRACING)
            raw_login(context.new_page(), bench.server.urls, lambda: None)
            contexts.append(context)
        return rss_mb()
    finally:
        for context in contexts:
            context.close()


def memory(bench: Bench) -> dict[str, Any]:
    samples: dict[int, list[dict[str, float]]] = {1: [], 8: []}
    for round_ in range(RSS_ROUNDS):
        for count in (1, 8) if round_ % 2 == 0 else (8, 1):
            samples[count].append(open_contexts(bench, count))
    out: dict[str, Any] = {}
    print("RSS with contexts open at once (this process hosts the sandbox too)")
    for count, taken in samples.items():
        out[str(count)] = {
            who: summary([s[who] for s in taken]) for who in ("runner", "driver", "chromium", "chromium_pss")
        }
        shown = ", ".join(f"{who} {spread(s, 'MB')}" for who, s in out[str(count)].items())
        print(f"  {count} context{'s' if count > 1 else ' '}: {shown}")
    return out


# -- all of it ----------------------------------------------------------------------------------------------------


def warm_up(bench: Bench) -> None:
    """First runs pay imports, Chromium's caches and the sandbox's first pages: not measured."""
    for flow in FLOWS:
        bench.raw(flow, shots=True)
        bench.engine(flow)
    bench.probes.clear()
    bench.raw_context_open.clear()


def main() -> None:
    began = time.perf_counter()
    instrument()
    with SandboxServer() as server, tempfile.TemporaryDirectory(prefix="bench-engine-") as tmp:
        root = Path(tmp)
        (root / "raw").mkdir()
        bench = Bench(server, sandbox_target(server), pool().browser(), root, {})
        warm_up(bench)
        figures: dict[str, Any] = {
            "engine_vs_raw_same_evidence": {f.name: same_evidence(bench, f) for f in FLOWS}
        }
        figures["engine_full_vs_raw_traced"] = full_vs_traced(bench)
        figures["share_of_run"] = share_of_run(bench.probes, bench.raw_context_open)
        figures.update(throughput(bench))
        figures["rss_mb"] = memory(bench)
    elapsed = time.perf_counter() - began
    print(
        f"bench_engine took {elapsed:.0f} s{' (BENCH_QUICK=1)' if QUICK else ''}; machine load {os.getloadavg()}"
    )
    write_results(
        {**figures, "engine.quick": QUICK, "engine.seconds": elapsed, "engine.load": os.getloadavg()}
    )


if __name__ == "__main__":
    main()
