"""What `runbook` imports before it does anything: every command pays for it, `--help` included (issue 12).

Each test runs a fresh interpreter and asserts on its sys.modules, never on a time: which modules load is
stable from machine to machine, seconds are not.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import typer.main

import automation
from automation.cli.app import app

PROJECT = Path(__file__).resolve().parents[2]

# What only some commands need: the browser, the sandbox and status page, the HTTP client, the history store,
# metrics, templates. pydantic and YAML are what validating a runbook needs, so no --help should load them.
NEVER_AT_START = (
    "playwright",
    "fastapi",
    "starlette",
    "uvicorn",
    "httpx",
    "sqlalchemy",
    "prometheus_client",
    "jinja2",
    "pydantic",
    "yaml",
)

# Run a command of the real entry point in a fresh interpreter, then print the modules it loaded.
PROBE = """
import json, sys
sys.argv = ["runbook", *json.loads(sys.argv[1])]
from automation.cli.app import main
try:
    main()
except SystemExit:
    pass
print("\\nMODULES " + json.dumps(sorted(sys.modules)))
"""


def loaded_by(*args: str) -> set[str]:
    """The modules a fresh `runbook ARGS...` process has imported when it ends."""
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(list(args))],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=PROJECT,
        stdin=subprocess.DEVNULL,
    )
    marker = proc.stdout.rfind("MODULES ")
    assert marker >= 0, proc.stdout + proc.stderr
    return set(json.loads(proc.stdout[marker + len("MODULES ") :]))


def top_level(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted({m.split(".")[0] for m in modules} & set(names))


def test_importing_the_cli_loads_no_library_beyond_typer() -> None:
    code = "import json, sys, automation.cli; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    modules = set(json.loads(out))
    assert top_level(modules, NEVER_AT_START) == []
    assert not modules & {"automation.api", "automation.loader", "automation.schema", "automation.engine"}


def test_help_loads_no_library_beyond_typer() -> None:
    for args in (["--help"], ["checks", "--help"], ["tickets", "--help"], ["sandbox", "--help"]):
        modules = loaded_by(*args)
        # typer may validate its own parameters with pydantic once a group runs: allow that, nothing else
        assert top_level(modules, NEVER_AT_START) in ([], ["pydantic"]), args
        assert "automation.schema" not in modules, args


def test_run_help_lists_runbooks_without_building_the_schema() -> None:
    modules = loaded_by("run", "--help")
    assert "automation.schema" not in modules
    assert top_level(modules, NEVER_AT_START) in (["yaml"], ["pydantic", "yaml"])


def test_validate_loads_neither_the_engine_nor_the_browser() -> None:
    modules = loaded_by("validate")
    assert "automation.schema" in modules  # it did validate
    assert top_level(modules, NEVER_AT_START) == ["pydantic", "yaml"]
    assert not modules & {"automation.api", "automation.engine.context", "automation.evidence"}


def test_checks_validate_loads_no_history_store_metrics_or_browser() -> None:
    modules = loaded_by("checks", "validate")
    assert "automation.checks.config.load" in modules  # it did read the checks file
    forbidden = ("playwright", "fastapi", "uvicorn", "sqlalchemy", "prometheus_client", "jinja2", "httpx")
    assert top_level(modules, forbidden) == []
    assert not modules & {
        "automation.checks.storage.history",
        "automation.checks.watchdog.run_check",
        "automation.api",
    }


def test_help_still_lists_every_command_and_group() -> None:
    group = typer.main.get_group(app)
    assert set(group.commands) >= {"run", "list", "validate", "checks", "tickets", "sandbox", "session"}
    for args, commands in (([], group.commands), (["checks"], group.commands["checks"].commands)):  # type: ignore[attr-defined]
        proc = subprocess.run(
            [sys.executable, "-m", "automation.cli", *args, "--help"],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=PROJECT,
            env={**os.environ, "COLUMNS": "120"},
        )
        assert proc.returncode == 0, proc.stderr
        for name in commands:
            assert f" {name} " in proc.stdout, (args, name)


def test_public_names_load_on_first_use() -> None:
    from automation import api, catalog, result

    assert automation.run is api.run
    assert automation.load_runbook is catalog.load_runbook
    assert automation.RunResult is result.RunResult
    assert "load_runbook" in dir(automation)
    namespace: dict[str, object] = {}
    exec("from automation import *", namespace)
    assert set(automation.__all__) <= set(namespace)


def test_naming_a_ticket_model_loads_no_tracker_adapter() -> None:
    code = "import json, sys\nfrom automation.tickets import Ticket\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    modules = set(json.loads(out))
    assert "automation.tickets.models" in modules
    assert top_level(modules, ("httpx", "sqlalchemy")) == []
    assert not modules & {"automation.tickets.jira", "automation.tickets.store"}


def test_reading_a_tracker_configuration_loads_no_tracker_adapter() -> None:
    code = (
        "import json, sys\nfrom automation.tickets.config import parse_tracker_config\n"
        "parse_tracker_config({'type': 'jira', 'url': 'https://acme.example', 'project': 'SUP'})\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    modules = set(json.loads(out))
    assert top_level(modules, ("httpx", "sqlalchemy")) == []
    assert not modules & {
        "automation.tickets.jira",
        "automation.tickets.zendesk",
        "automation.tickets.webhook_tracker",
    }


def test_resolving_an_environment_without_tracker_or_mailbox_loads_no_ticket_mail_or_http_code(
    tmp_path: Path,
) -> None:
    config = tmp_path / "environments.yaml"
    config.write_text(
        "environments:\n  staging:\n    apps: {portal: https://staging.example.com}\n", encoding="utf-8"
    )
    code = (
        "import json, sys\nimport automation.api\nfrom automation.environments import resolve\n"
        "resolve('staging')\nprint(json.dumps(sorted(sys.modules)))"
    )
    env = {**os.environ, "RUNBOOK_CONFIG": str(config)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    ).stdout
    modules = set(json.loads(out))
    assert top_level(modules, ("httpx", "sqlalchemy", "jinja2")) == []
    assert not {m for m in modules if m.startswith(("automation.tickets", "automation.mail"))}


def test_the_collector_skips_what_lives_until_exit() -> None:
    # Tearing the interpreter down used to collect over every module's objects (0.1-0.25 s of a process).
    code = (
        "import gc, sys\nsys.argv = ['runbook', 'validate']\nfrom automation.cli.app import main\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    print('EXIT', exc.code, 'FROZEN', gc.get_freeze_count())"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=PROJECT
    )
    exit_code, frozen = proc.stdout.split("EXIT ")[-1].split(" FROZEN ")
    assert int(exit_code) == 0
    assert int(frozen) > 10_000  # the modules and their objects: the library's, pydantic's, the schema's
