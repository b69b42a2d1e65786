"""All benchmarks, one after the other (make bench), then one table of every figure with its aim; and the
harness the engine and CLI benches share. Each bench prints figures; none asserts.

The harness: `alternate()` runs the variants of one comparison in one process, round after round, the order
flipped every round (AB BA AB ...), so that drift of a loaded machine lands on every variant alike;
`summary()` is a median with its spread (min, max, IQR); `compare()` the ratio of two medians with the spread
of the per-round ratios; `write_results()` merges a bench's keys into bench/results.json.

    .venv/bin/python bench/run_bench.py        BENCH_QUICK=1: fewer rounds, a fast pass

bench_checks.py runs at its BENCH_QUICK size in every pass: at its full size (200 runs for the memory slope)
it alone takes most of the 10 minutes `make bench` has. BENCH_CHECKS_FULL=1 runs it at its full size.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
RESULTS = HERE / "results.json"
QUICK = os.environ.get("BENCH_QUICK") == "1"
CHECKS_FULL = os.environ.get("BENCH_CHECKS_FULL") == "1"
SCRIPTS = (
    "bench_sandbox.py",
    "bench_engine.py",
    "bench_cli.py",
    "bench_redaction.py",
    "bench_leakscan.py",
    "bench_checks.py",
    "bench_large_page.py",
    "bench_real_app.py",
)


# -- the harness --------------------------------------------------------------------------------------------------


def alternate(variants: dict[str, Callable[[], float]], rounds: int, label: str) -> dict[str, list[float]]:
    """Each variant once per round, the order flipped every round; each call returns the seconds it measured."""
    names = list(variants)
    times: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(rounds):
        order = names if round_ % 2 == 0 else names[::-1]
        for name in order:
            times[name].append(variants[name]())
        if rounds <= 12 or (round_ + 1) % 10 == 0:  # long series: every tenth round
            shown = "  ".join(f"{name} {times[name][-1]:.3f}" for name in names)
            print(f"  {label} round {round_ + 1}/{rounds}: {shown}", flush=True)
    return times


def summary(values: list[float]) -> dict[str, Any]:
    """Median, min, max and the interquartile range of some measurements."""
    ordered = sorted(values)
    q1, q3 = (statistics.quantiles(ordered, n=4)[::2]) if len(ordered) >= 2 else (ordered[0], ordered[0])
    return {
        "median": statistics.median(ordered),
        "min": ordered[0],
        "max": ordered[-1],
        "iqr": [q1, q3],
        "n": len(ordered),
    }


def compare(a: list[float], b: list[float]) -> dict[str, Any]:
    """a against b: the ratio of the medians, and the spread of the per-round ratios (rounds are pairs)."""
    paired = [x / y for x, y in zip(a, b, strict=True)]
    return {
        "ratio": statistics.median(a) / statistics.median(b),
        "paired_ratio": summary(paired),
        "a": summary(a),
        "b": summary(b),
    }


def spread(s: dict[str, Any], unit: str = "s", scale: float = 1.0) -> str:
    """'1.234 s (min 1.100, max 1.500)' for a summary()."""
    return f"{s['median'] * scale:.3f} {unit} (min {s['min'] * scale:.3f}, max {s['max'] * scale:.3f})"


def print_compare(name_a: str, name_b: str, c: dict[str, Any]) -> None:
    p = c["paired_ratio"]
    print(f"  {name_a:<44} {spread(c['a'])}")
    print(f"  {name_b:<44} {spread(c['b'])}")
    print(f"  ratio {c['ratio']:.3f}x (per-round ratios: min {p['min']:.3f}, max {p['max']:.3f})", flush=True)


def write_results(figures: dict[str, Any]) -> None:
    """Merge a benchmark's keys into bench/results.json (other benchmarks' keys stay)."""
    results = read_results()
    results.update(figures)
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"figures written to {RESULTS}", flush=True)


def read_results() -> dict[str, Any]:
    try:
        return json.loads(RESULTS.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}


def rss_mb() -> dict[str, float]:
    """MB: VmRSS of this process, of its Chromium descendants and of its other descendants (the Playwright
    driver); and Chromium's PSS, since a sum of RSS counts the pages its processes share once per process."""
    children: dict[int, list[int]] = defaultdict(list)
    for entry in os.listdir("/proc"):
        stat = _read(f"/proc/{entry}/stat") if entry.isdigit() else ""
        if stat:
            children[int(stat[stat.rindex(")") + 2 :].split()[1])].append(int(entry))
    sums = {"runner": _vm_kb(os.getpid(), "status", "VmRSS:") / 1024, "driver": 0.0, "chromium": 0.0}
    sums["chromium_pss"] = 0.0
    todo = list(children[os.getpid()])
    while todo:
        pid = todo.pop()
        todo += children[pid]
        stat = _read(f"/proc/{pid}/stat")
        kind = "chromium" if "chrom" in stat[stat.find("(") + 1 : stat.rfind(")")] else "driver"
        sums[kind] += _vm_kb(pid, "status", "VmRSS:") / 1024
        if kind == "chromium":
            sums["chromium_pss"] += _vm_kb(pid, "smaps_rollup", "Pss:") / 1024
    return sums


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return ""


def _vm_kb(pid: int, name: str, key: str) -> int:
    for line in _read(f"/proc/{pid}/{name}").splitlines():
        if line.startswith(key):
            return int(line.split()[1])
    return 0


# -- the final table ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One figure of the final table: where it is in results.json, its aim, and the bench that writes it."""

    label: str
    path: tuple[str, ...]
    aim: str
    script: str
    unit: str = "x"

    def value(self, results: dict[str, Any]) -> Any:
        found: Any = results
        for key in self.path:
            if not isinstance(found, dict) or key not in found:
                return None
            found = found[key]
        return found


def _engine_rows() -> list[Row]:
    same = [
        Row(
            f"engine vs raw, same tracing: {flow}",
            ("engine_vs_raw_same_evidence", flow, "ratio"),
            "<= 1.03",
            "e",
        )
        for flow in ("synthetic-login", "resend-verify", "change-customer-email")
    ]
    no_shots = [
        Row(
            f"  the same, per-step screenshots subtracted: {flow}",
            ("engine_vs_raw_same_evidence", flow, "ratio_without_screenshots"),
            "<= 1.03",
            "e",
        )
        for flow in ("synthetic-login", "resend-verify", "change-customer-email")
    ]
    pngs = [
        Row(
            f"  engine vs raw + a PNG per page-changing step: {flow}",
            ("engine_vs_raw_same_evidence", flow, "vs_raw_with_step_pngs", "ratio"),
            "",
            "e",
        )
        for flow in ("synthetic-login", "resend-verify", "change-customer-email")
    ]
    shares = [
        Row(f"  share of run: {part}", ("share_of_run", "shares", part), "", "e", "%")
        for part in (
            "context_open",
            "steps_without_screenshots",
            "screenshots",
            "trace_stop",
            "trace_scrub",
            "context_close",
            "run_json",
            "report",
            "audit",
            "everything_else",
        )
    ]
    return [
        *same,
        *no_shots,
        *pngs,
        *[
            Row(
                f"engine, all evidence, vs raw traced: {flow}",
                ("engine_full_vs_raw_traced", flow, "ratio"),
                "<= 1.15",
                "e",
            )
            for flow in ("synthetic-login", "resend-verify", "change-customer-email")
        ],
        Row("  raw Playwright's own context open", ("share_of_run", "raw_context_open_ms"), "", "e", "ms"),
        Row("runs/min, one browser reused", ("reuse_runs_per_min", "runs_per_min"), "", "e", "/min"),
        Row(
            "runs/min, a browser per run",
            ("browser_per_run_runs_per_min", "runs_per_min"),
            "",
            "e",
            "/min",
        ),
        *[
            Row(
                f"RSS {who}, {n} context{'s' if n > 1 else ''}",
                ("rss_mb", str(n), who, "median"),
                "",
                "e",
                "MB",
            )
            for n in (1, 8)
            for who in ("runner", "driver", "chromium", "chromium_pss")
        ],
        *shares,
    ]


def _cli_rows() -> list[Row]:
    return [
        Row("runbook run process vs raw process", ("process_vs_raw_process", "ratio"), "<= 1.3", "c"),
        Row(
            "  embedded sandbox start (embedded - served)",
            ("process_vs_raw_process", "embedded_sandbox_s"),
            "",
            "c",
            "s",
        ),
        Row(
            "  embedded sandbox start, timed in a process",
            ("process_vs_raw_process", "embedded_sandbox_start_timed_s", "median"),
            "",
            "c",
            "s",
        ),
        Row("runbook --help", ("cli_help_s", "median"), "<= 0.3 s", "c", "s"),
        Row("runbook validate", ("validate_s", "median"), "<= 0.5 s", "c", "s"),
    ]


def _checks_rows() -> list[Row]:
    return [
        Row(
            "checks: scheduler share of a run, conc. 1", ("checks.overhead", "1", "share"), "< 2 %", "k", "%"
        ),
        Row(
            "checks: memory slope, total MB/100 runs",
            ("checks.memory", "slope_mb_per_100_runs", "total"),
            "0",
            "k",
            "MB",
        ),
    ]


def _evidence_rows() -> list[Row]:
    """Issue 23: the evidence on a real application (a Django admin) and on a NetSuite-sized page."""
    real = [
        Row(
            f"real app, engine all evidence vs raw traced: {flow}",
            ("real_app", "flows", flow, "ratio"),
            "<= 1.25",
            "r",
        )
        for flow in ("sign-in", "change-email")
    ]
    shares = [
        Row(
            f"  real app {flow}: share of run, {part}",
            ("real_app", "flows", flow, "share_of_run", "shares", part),
            "",
            "r",
            "%",
        )
        for flow in ("sign-in", "change-email")
        for part in ("context_open", "steps_without_screenshots", "screenshots", "trace_scrub")
    ]
    large = [
        Row(
            "large page: engine picture vs Playwright's screenshot",
            ("large_page", "engine_vs_raw", "ratio"),
            "",
            "l",
        ),
        Row("  large page: one read after a step", ("large_page", "read", "median"), "", "l", "s"),
        Row(
            "  large page: one read of an unchanged page",
            ("large_page", "read_unchanged", "median"),
            "",
            "l",
            "s",
        ),
    ]
    return [*real, *shares, *large]


SOURCES = {
    "e": "bench_engine.py",
    "c": "bench_cli.py",
    "k": "bench_checks.py",
    "r": "bench_real_app.py",
    "l": "bench_large_page.py",
}


def _shown(value: Any, unit: str) -> str:
    if not isinstance(value, int | float):
        return "-"
    if unit == "%":
        return f"{value:.1%}"
    if unit == "x":
        return f"{value:.2f}x"
    return f"{value:.3f} s" if unit == "s" else f"{value:.1f} {unit}"


def print_table(failed: set[str]) -> None:
    """Every figure with its aim; a figure whose bench failed this time is marked stale."""
    results = read_results()
    sizes = ", ".join(
        f"{k.split('.')[0]} {'quick' if v else 'full'}" for k, v in results.items() if k.endswith("quick")
    )
    print(
        f"\n== figures (bench/results.json; {sizes}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
    )
    print(f"{'figure':<66} {'value':>12}  {'aim':<9}")
    for row in [*_engine_rows(), *_evidence_rows(), *_cli_rows(), *_checks_rows()]:
        stale = "  (stale: its bench failed)" if SOURCES[row.script] in failed else ""
        print(f"{row.label:<66} {_shown(row.value(results), row.unit):>12}  {row.aim:<9}{stale}")


# -- the driver ---------------------------------------------------------------------------------------------------


def main() -> int:
    failed: set[str] = set()
    took: dict[str, float] = {}
    began = time.perf_counter()
    for script in SCRIPTS:
        print(f"== {script}", flush=True)
        started = time.perf_counter()
        env = dict(os.environ)
        if script == "bench_checks.py" and not CHECKS_FULL:
            env["BENCH_QUICK"] = "1"
        if subprocess.run([sys.executable, str(HERE / script)], env=env, check=False).returncode != 0:
            failed.add(script)
        took[script] = time.perf_counter() - started
    print_table(failed)
    print("\nseconds per bench: " + ", ".join(f"{s} {t:.0f}" for s, t in took.items()))
    print(f"make bench took {time.perf_counter() - began:.0f} s{' (BENCH_QUICK=1)' if QUICK else ''}")
    if failed:
        print(f"failed: {', '.join(sorted(failed))}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
