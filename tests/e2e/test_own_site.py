"""A runbook for an application that is not the sandbox, kept in a folder outside the catalog: it validates,
lists, shows its --help, runs against the site (never starting the sandbox) and runs as a pytest case."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sites.own_site import LOOKUP, own_site

# The CLI's own entry point, telling on exit whether the embedded sandbox's server module was ever loaded.
WATCHED = (
    "import atexit, sys\n"
    "atexit.register(lambda: print('SANDBOX-LOADED' if 'automation.sandbox.server' in sys.modules "
    "else 'NO-SANDBOX', file=sys.stderr))\n"
    "from automation.cli.app import main\nsys.argv[0] = 'runbook'\nmain()\n"
)


@pytest.fixture(scope="module")
def site_url() -> Iterator[str]:
    with own_site() as url:
        yield url


@pytest.fixture
def books(tmp_path: Path) -> Path:
    folder = tmp_path / "my-books"
    folder.mkdir()
    (folder / "site-lookup.yaml").write_text(LOOKUP)
    return folder


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "RUNBOOK_TRACES": str(tmp_path / "traces"), "RUNBOOK_DATA": str(tmp_path / "data")}


def runbook(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WATCHED, *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )


def test_a_runbook_outside_the_catalog_validates_lists_and_shows_its_inputs(
    books: Path, cli_env: dict[str, str], tmp_path: Path
) -> None:
    validated = runbook(["validate", str(books)], cli_env, tmp_path)
    assert validated.returncode == 0 and "ok  site-lookup" in validated.stdout, validated.stderr
    listed = runbook(["list", "--json", str(books)], cli_env, tmp_path)
    assert [item["name"] for item in json.loads(listed.stdout)] == ["site-lookup"]
    by_catalog = runbook(["--catalog", str(books), "list", "--json"], cli_env, tmp_path)
    assert "site-lookup" in [item["name"] for item in json.loads(by_catalog.stdout)]
    helped = runbook(["run", str(books / "site-lookup.yaml"), "--help"], cli_env, tmp_path)
    assert helped.returncode == 0 and "--username" in helped.stdout and "The user to look up" in helped.stdout
    named = runbook(["run", "site-lookup", "--catalog", str(books), "--help"], cli_env, tmp_path)
    assert named.returncode == 0 and "--username" in named.stdout, named.stderr


def test_base_url_to_our_own_site_runs_without_the_sandbox(
    books: Path, browser_env: dict[str, str], tmp_path: Path, site_url: str
) -> None:
    args = ["run", str(books / "site-lookup.yaml"), "--username", "ada", "--base-url", f"site={site_url}"]
    proc = runbook([*args, "--json"], browser_env, tmp_path)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    summary = json.loads(proc.stdout)
    assert summary["outcome"] == "found"
    run_json = json.loads((Path(summary["evidence_dir"]) / "run.json").read_text())
    assert run_json["environment"] == "base-url" and run_json["base_urls"] == {"site": site_url}
    assert "NO-SANDBOX" in proc.stderr


def test_a_question_reached_later_without_an_answer_ends_with_exit_2_naming_the_option(
    books: Path, browser_env: dict[str, str], tmp_path: Path, site_url: str
) -> None:
    # the code is asked on one branch only: not demanded up front, refused when the run gets there
    args = ["run", str(books / "site-lookup.yaml"), "--username", "bob", "--base-url", f"site={site_url}"]
    proc = runbook(args, browser_env, tmp_path)
    assert proc.returncode == 2, proc.stderr + proc.stdout
    assert "'code' is needed" in proc.stdout + proc.stderr and "--code VALUE" in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    [run_folder] = (tmp_path / "traces").iterdir()  # the browser ran the steps before the question
    steps = json.loads((run_folder / "run.json").read_text())["steps"]
    assert [s["number"] for s in steps][:4] == ["1", "2", "3", "4"]


def test_a_runbook_outside_the_catalog_runs_as_a_pytest_case(
    books: Path, browser_env: dict[str, str], tmp_path: Path, site_url: str
) -> None:
    proc = runbook(
        ["test", str(books), "--base-url", site_url, "-p", "no:cacheprovider"], browser_env, tmp_path
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed" in proc.stdout
