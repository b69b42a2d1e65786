"""What a whole `runbook` process costs: a run against a served sandbox next to a raw Playwright process doing the
same, the embedded sandbox's start, `runbook --help` and `runbook validate` (prints figures, writes
bench/results.json; asserts nothing).

1. process_vs_raw_process: `runbook run synthetic-login --env served`, an environments file (RUNBOOK_CONFIG) whose
   `served` environment names a running sandbox's URLs (not resettable: no reset, as on a real target), against
   a raw Python process that launches Chromium with the engine's launch arguments, logs in with the engine's
   tracing on, saves the trace and closes; and `runbook run synthetic-login` on the embedded sandbox, whose
   extra time is the sandbox's start (also timed inside a process of its own, as a check on the difference).
   They alternate, the order flipped every round.
2. cli_help_s and validate_s: `runbook --help` and `runbook validate` (all runbooks), alternating, with
   `python -c "import automation.cli"` beside them for what importing alone costs.

    .venv/bin/python bench/bench_cli.py        BENCH_QUICK=1: fewer rounds
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from run_bench import QUICK, alternate, compare, print_compare, spread, summary, write_results

from automation.chromium import launch_options
from automation.sandbox import SandboxServer

ROOT = Path(__file__).resolve().parent.parent
RUNBOOK = str(Path(sys.executable).with_name("runbook"))
PROCESS_ROUNDS = 2 if QUICK else 4
CLI_ROUNDS = 5 if QUICK else 8
CREDENTIALS = {
    "portal_monitor": {"user": "monitor@example.com", "password": "Monitor-Check-5x"},
    "netsuite_admin": {"user": "admin@example.com", "password": "Admin-Sandbox-9z"},
}

# The raw process: what `runbook run synthetic-login` does, written with Playwright directly.
RAW_LOGIN = """
import json, sys
from playwright.sync_api import expect, sync_playwright

options, portal, trace, user, password = json.loads(sys.argv[1])
with sync_playwright() as playwright:
    browser = playwright.chromium.launch(**options)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.tracing.start(screenshots=True, snapshots=True, sources=False)
    page = context.new_page()
    page.goto(portal + "/auth/login")
    page.get_by_label("Email").fill(user)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log In").click()
    expect(page.get_by_role("heading", name="My Account")).to_be_visible()
    expect(page.get_by_text("Signed in as " + user)).to_be_visible()
    context.tracing.stop(path=trace)
    context.close()
    browser.close()
"""


# The embedded sandbox's start as `runbook run` pays it: importing it, the store from its seed, both apps up.
SANDBOX_START = """
import time
started = time.perf_counter()
from automation.environments import embedded_sandbox
embedded_sandbox()
print(time.perf_counter() - started)
"""


def environments_file(folder: Path, urls: dict[str, str]) -> Path:
    """An environments file with the embedded sandbox and `served`, the running sandbox's URLs."""
    config = {
        "default": "sandbox",
        "environments": {
            "sandbox": {"sandbox": True, "mailbox": "sandbox", "credentials": CREDENTIALS},
            "served": {
                "apps": urls,
                "mailbox": f"{urls['portal']}/_sandbox/mail",
                "credentials": CREDENTIALS,
            },
        },
    }
    path = folder / "environments.yaml"
    path.write_text(json.dumps(config, indent=2), encoding="utf-8")  # JSON is YAML
    return path


def timed(command: list[str], env: dict[str, str] | None = None) -> float:
    """Seconds from start to exit of a process; raises if it fails."""
    started = time.perf_counter()
    finished(command, env)
    return time.perf_counter() - started


def finished(command: list[str], env: dict[str, str] | None = None) -> str:
    """Run a process to its end; returns its output; raises if it fails."""
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done.stdout


# -- 1: a whole run -----------------------------------------------------------------------------------------------


def processes(server: SandboxServer, folder: Path) -> dict[str, Any]:
    env = {**os.environ, "RUNBOOK_CONFIG": str(environments_file(folder, server.urls))}
    env["RUNBOOK_DATA"] = str(folder / "data")
    run = [RUNBOOK, "run", "synthetic-login", "--no-input", "--traces", str(folder / "traces"), "--env"]
    script = folder / "raw_login.py"
    script.write_text(RAW_LOGIN, encoding="utf-8")
    user, password = CREDENTIALS["portal_monitor"].values()
    raw_args = json.dumps([launch_options(), server.urls["portal"], str(folder / "raw.zip"), user, password])
    variants = {
        "runbook served": lambda: timed([*run, "served"], env),
        "raw process": lambda: timed([sys.executable, str(script), raw_args], env),
        "runbook embedded": lambda: timed([*run, "sandbox"], env),
        "sandbox start": lambda: float(finished([sys.executable, "-c", SANDBOX_START], env).split()[-1]),
    }
    for variant in variants.values():  # warm-up: the disk cache, Chromium's profile start
        variant()
    print("a whole process: runbook run synthetic-login vs raw Playwright (launch, flow, close)", flush=True)
    times = alternate(variants, PROCESS_ROUNDS, "process")
    c = compare(times["runbook served"], times["raw process"])
    print_compare("runbook run synthetic-login --env served", "raw Python process, same flow and tracing", c)
    extra = [e - s for e, s in zip(times["runbook embedded"], times["runbook served"], strict=True)]
    embedded = summary(times["runbook embedded"])
    print(f"  runbook run synthetic-login, embedded sandbox   {spread(embedded)}")
    print(f"  the embedded sandbox's start (embedded - served, per round): {spread(summary(extra))}")
    direct = summary(times["sandbox start"])
    print(f"  the embedded sandbox's start, timed inside a process (imports included): {spread(direct)}")
    return {
        **c,
        "embedded": embedded,
        "embedded_sandbox_s": statistics.median(times["runbook embedded"])
        - statistics.median(times["runbook served"]),
        "embedded_minus_served_per_round": summary(extra),
        "embedded_sandbox_start_timed_s": direct,
        "served_env": "not resettable: no reset before the run (the raw process resets nothing either)",
    }


# -- 2: the CLI's start ---------------------------------------------------------------------------------------------


def cli() -> dict[str, Any]:
    variants = {
        "--help": lambda: timed([RUNBOOK, "--help"]),
        "validate": lambda: timed([RUNBOOK, "validate"]),
        "import": lambda: timed([sys.executable, "-c", "import automation.cli"]),
    }
    for variant in variants.values():
        variant()
    print(
        "the CLI's start: runbook --help, runbook validate (all runbooks), import automation.cli", flush=True
    )
    times = alternate(variants, CLI_ROUNDS, "cli")
    figures = {name: summary(values) for name, values in times.items()}
    for name, aim in (("--help", "0.3"), ("validate", "0.5"), ("import", "-")):
        print(f"  {name:<10} {spread(figures[name])}   aim <= {aim} s")
    return {
        "cli_help_s": figures["--help"],
        "validate_s": figures["validate"],
        "cli_import_s": figures["import"],
    }


def main() -> None:
    began = time.perf_counter()
    with SandboxServer() as server, tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
        figures: dict[str, Any] = {"process_vs_raw_process": processes(server, Path(tmp))}
    figures.update(cli())
    elapsed = time.perf_counter() - began
    print(
        f"bench_cli took {elapsed:.0f} s{' (BENCH_QUICK=1)' if QUICK else ''}; machine load {os.getloadavg()}"
    )
    write_results({**figures, "cli.quick": QUICK, "cli.seconds": elapsed, "cli.load": os.getloadavg()})


if __name__ == "__main__":
    main()
