"""The engine on a real third-party application (issue 23): a Django 5.2 admin, installed by this bench from PyPI
into a virtual environment of its own and served on loopback, driven by two runbooks and by raw Playwright doing
the same clicks (prints figures, writes bench/results.json under "real_app"; asserts nothing).

The application: Django's admin (auth, sessions, messages) on SQLite in a temporary folder, served by waitress,
a production WSGI server: pure Python, so it installs from PyPI alone; threaded in one process, so Chromium's
parallel requests for the admin's CSS and JavaScript are answered at once, as a deployment answers them (Django's
runserver is a development server, and says so); and it takes the socket this bench has already bound, so the
free port is never lost to another process in between. The virtual environment is kept in
~/.cache/runbook-bench/ and reused while the pinned requirements are the same; the site's files, the runbooks
and the set-up scripts are in bench/real_app/.

The flows (bench/real_app/runbooks/, and raw below):
1. sign-in: the login page, Username, Password (a credential of the target, typed as a secret), Log in, the
   "Site administration" heading.
2. change-email: sign in, Users, the ordinary user, Email address (a new address every run), Save, the "was
   changed successfully" message, the new address in the list of users.

Per flow, alternating round by round with the order flipped every round (run_bench.alternate) on one browser
(the engine's pool's), a fresh context per run:
- `engine`: automation.api.run with all its evidence (a picture per page-changing step, the trace, run.json,
  the report, the audit line);
- `raw traced`: raw Playwright with the engine's tracing options, the trace stopped to a zip;
- `raw untraced`: raw Playwright alone, so that the cost of tracing by itself shows.
And the share of an engine run per part (bench_engine's timers around the engine's own functions).

    .venv/bin/python bench/bench_real_app.py       BENCH_QUICK=1: fewer rounds
"""

from __future__ import annotations

import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench_engine import DISJOINT, PROBE, TRACING, VIEWPORT, instrument, parts_of
from playwright.sync_api import Browser, Page, expect
from run_bench import QUICK, alternate, compare, print_compare, spread, write_results

from automation.api import run
from automation.catalog import Catalog
from automation.engine.browser import pool
from automation.environments import Target

HERE = Path(__file__).parent
APP = HERE / "real_app"
RUNBOOKS = APP / "runbooks"
REQUIREMENTS = ("Django>=5.2,<5.3", "waitress>=3,<4")
VENV = Path.home() / ".cache" / "runbook-bench" / "django-5.2-waitress-3"
STAMP = VENV / "requirements.txt"  # written once the install succeeded: what the venv holds
ROUNDS = 3 if QUICK else 5
START_WITHIN_S = 60.0  # how long the server may take to answer its first request
ADMIN = (
    "admin",
    "Bench-Admin-7q2v-Kx",
)  # the superuser the bench creates; its password is the target's secret
USER = ("casey", "casey@example.com")  # the ordinary user whose address change-email changes
APP_NAME = "django-admin"  # the runbooks' app:


# -- the application ----------------------------------------------------------------------------------------------


def django_venv() -> Path:
    """The venv's python, Django and waitress installed from PyPI (only when the pinned requirements changed)."""
    python = VENV / "bin" / "python"
    wanted = "\n".join(REQUIREMENTS) + "\n"
    if python.exists() and STAMP.exists() and STAMP.read_text(encoding="utf-8") == wanted:
        return python
    print(f"installing {', '.join(REQUIREMENTS)} from PyPI into {VENV}", flush=True)
    shutil.rmtree(VENV, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    installed = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *REQUIREMENTS],
        capture_output=True,
        text=True,
        check=False,
    )
    if installed.returncode != 0:
        raise RuntimeError(f"pip install into {VENV} failed:\n{installed.stdout}{installed.stderr}")
    STAMP.write_text(wanted, encoding="utf-8")
    return python


@contextmanager
def django_admin(python: Path, folder: Path) -> Iterator[str]:
    """The admin on a fresh SQLite database in `folder`, served on a free loopback port; yields its base URL.
    The server ends when this ends, and by itself if this process dies (it waits on its stdin: see serve.py)."""
    env = {
        **os.environ,
        "PYTHONPATH": str(APP),
        "DJANGO_SETTINGS_MODULE": "benchsite.settings",
        "BENCH_DJANGO_DB": str(folder / "db.sqlite3"),
        "BENCH_DJANGO_ADMIN_PASSWORD": ADMIN[1],
    }
    subprocess.run([str(python), str(APP / "prepare.py"), ADMIN[0], *USER], env=env, check=True)
    with socket.create_server(("127.0.0.1", 0)) as listening:
        port = listening.getsockname()[1]
        server = subprocess.Popen(
            [str(python), str(APP / "serve.py"), str(listening.fileno())],
            env=env,
            stdin=subprocess.PIPE,
            pass_fds=(listening.fileno(),),
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_answers(f"{url}/admin/login/", server)
        yield url
    finally:
        stop(server)


def wait_until_answers(url: str, server: subprocess.Popen[bytes]) -> None:
    """Ask until the server answers 200 (the socket listens before waitress runs: a request waits for it)."""
    deadline = time.monotonic() + START_WITHIN_S
    while True:
        if server.poll() is not None:
            raise RuntimeError(f"the Django server ended with exit code {server.returncode} before answering")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, TimeoutError, ConnectionError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"the Django server did not answer {url} within {START_WITHIN_S:.0f} s")
        time.sleep(0.05)  # a pause between polls, not a guess at readiness


def stop(server: subprocess.Popen[bytes]) -> None:
    """Close its stdin (it ends by itself then), and terminate it, killing it if it does not end."""
    if server.stdin is not None:
        server.stdin.close()
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def django_version(python: Path) -> str:
    found = subprocess.run(
        [str(python), "-c", "import django, importlib.metadata as m; print(django.get_version(), "
         "m.version('waitress'))"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    django, waitress = found.stdout.split()
    return f"Django {django}, waitress {waitress}"


# -- the flows, raw -------------------------------------------------------------------------------------------------


def raw_sign_in(page: Page, url: str, inputs: dict[str, Any]) -> None:
    page.goto(f"{url}/admin/login/")
    page.get_by_label("Username").fill(ADMIN[0])
    page.get_by_label("Password").fill(ADMIN[1])
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()


def raw_change_email(page: Page, url: str, inputs: dict[str, Any]) -> None:
    raw_sign_in(page, url, inputs)
    page.get_by_role("link", name="Users", exact=True).click()
    page.get_by_role("link", name=inputs["username"], exact=True).click()
    page.get_by_label("Email address").fill(inputs["new_email"])
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("was changed successfully")).to_be_visible()
    expect(page.get_by_role("cell", name=inputs["new_email"], exact=True)).to_be_visible()


def no_inputs(number: int) -> dict[str, Any]:
    return {}


def new_address(number: int) -> dict[str, Any]:
    """A different address every run, so that each Save changes the record."""
    return {"username": USER[0], "new_email": f"casey.{number}@example.com"}


@dataclass(frozen=True)
class Flow:
    name: str
    runbook: str
    outcome: str
    inputs: Callable[[int], dict[str, Any]]
    raw: Callable[[Page, str, dict[str, Any]], None]


FLOWS = (
    Flow("sign-in", "django-admin-sign-in", "signed-in", no_inputs, raw_sign_in),
    Flow("change-email", "django-admin-change-user-email", "email-changed", new_address, raw_change_email),
)


# -- one run of each kind -----------------------------------------------------------------------------------------


@dataclass
class Bench:
    """The served admin, the target and browser both kinds of run use, a scratch folder; each engine run's parts."""

    url: str
    browser: Browser
    root: Path
    probes: dict[str, list[dict[str, float]]] = field(default_factory=dict)
    count: int = 0

    @property
    def target(self) -> Target:
        return Target(
            name="django-bench",
            apps={APP_NAME: self.url},
            credentials={"django_admin": {"user": ADMIN[0], "password": ADMIN[1]}},
        )

    def next_number(self) -> int:
        self.count += 1
        return self.count

    def raw(self, flow: Flow, *, tracing: bool = True) -> float:
        """One raw Playwright run in a fresh context; returns its seconds."""
        number = self.next_number()
        started = time.perf_counter()
        context = self.browser.new_context(viewport=VIEWPORT)
        if tracing:
            context.tracing.start(**TRACING)
        flow.raw(context.new_page(), self.url, flow.inputs(number))
        if tracing:
            context.tracing.stop(path=str(self.root / "raw" / f"{number}.zip"))
        context.close()
        return time.perf_counter() - started

    def engine(self, flow: Flow) -> float:
        """One engine run of the flow's runbook with all its evidence; returns its seconds, keeps its parts."""
        inputs = flow.inputs(self.next_number())
        PROBE.clear()
        started = time.perf_counter()
        result = run(
            flow.runbook,
            inputs,
            target=self.target,
            catalog=Catalog([RUNBOOKS]),
            browser=self.browser,
            evidence_root=self.root / "traces",
            data_dir=self.root / "data",
        )
        elapsed = time.perf_counter() - started
        if result.outcome != flow.outcome:
            raise RuntimeError(f"{flow.runbook} ended {result.status}/{result.outcome}: {result.error}")
        self.probes.setdefault(flow.name, []).append({"run": elapsed, **parts_of(PROBE.spent)})
        return elapsed


# -- the figures --------------------------------------------------------------------------------------------------


def measure(bench: Bench, flow: Flow) -> dict[str, Any]:
    print(f"{flow.name}: engine with all its evidence vs raw Playwright with tracing on", flush=True)
    times = alternate(
        {
            "raw untraced": lambda: bench.raw(flow, tracing=False),
            "raw traced": lambda: bench.raw(flow),
            "engine": lambda: bench.engine(flow),
        },
        ROUNDS,
        flow.name,
    )
    c = compare(times["engine"], times["raw traced"])
    print_compare("engine (all evidence)", "raw Playwright, tracing on", c)
    tracing = compare(times["raw traced"], times["raw untraced"])
    untraced = compare(times["engine"], times["raw untraced"])
    print(
        f"  raw without tracing {spread(tracing['b'])}: tracing costs raw {tracing['ratio']:.3f}x; "
        f"the engine against it {untraced['ratio']:.3f}x"
    )
    return {
        **c,
        "runbook": flow.runbook,
        "raw_untraced": tracing["b"],
        "raw_traced_vs_untraced": tracing["ratio"],
        "engine_vs_raw_untraced": untraced["ratio"],
        "share_of_run": share_of_run(flow.name, bench.probes[flow.name]),
    }


def share_of_run(name: str, probes: list[dict[str, float]]) -> dict[str, Any]:
    """Each part's median ms and its share of the runs' total (bench_engine's disjoint parts, adding up to 1)."""
    runs = [{**p, "steps_without_screenshots": p["steps"] - p["screenshots"]} for p in probes]
    for p in runs:
        p["everything_else"] = p["run"] - sum(p[part] for part in DISJOINT[:-1])
    total = sum(p["run"] for p in runs)
    ms = {part: statistics.median(p[part] for p in runs) * 1000 for part in DISJOINT}
    shares = {part: sum(p[part] for p in runs) / total for part in DISJOINT}
    print(f"  share of a {name} engine run ({len(runs)} runs; median ms per part, share of all)")
    for part in DISJOINT:
        print(f"    {part:<28} {ms[part]:7.1f} ms  {shares[part]:6.1%}")
    return {"runs": len(runs), "ms": ms, "shares": shares}


def warm_up(bench: Bench) -> None:
    """The first runs pay imports, Chromium's caches and Django's first requests: not measured."""
    for flow in FLOWS:
        bench.raw(flow)
        bench.engine(flow)
    bench.probes.clear()


def main() -> None:
    began = time.perf_counter()
    instrument()
    python = django_venv()
    version = django_version(python)
    with tempfile.TemporaryDirectory(prefix="bench-real-app-") as tmp:
        root = Path(tmp)
        (root / "raw").mkdir()
        with django_admin(python, root) as url:
            ready = time.perf_counter() - began
            print(f"{version} serving the admin at {url} ({ready:.1f} s to set up)", flush=True)
            bench = Bench(url, pool().browser(), root)
            warm_up(bench)
            flows = {flow.name: measure(bench, flow) for flow in FLOWS}
    elapsed = time.perf_counter() - began
    print(f"bench_real_app took {elapsed:.0f} s{' (BENCH_QUICK=1)' if QUICK else ''}; load {os.getloadavg()}")
    write_results(
        {
            "real_app": {
                "app": version,
                "flows": flows,
                "rounds": ROUNDS,
                "quick": QUICK,
                "setup_s": ready,
                "seconds": elapsed,
                "load": os.getloadavg(),
            }
        }
    )


if __name__ == "__main__":
    main()
