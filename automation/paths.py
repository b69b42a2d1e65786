"""Every RUNBOOK_* variable and every default folder, in one place.

Each function reads the environment when called (never at import), so a test, the scheduler or a worker that
sets a variable sees it at once. Nothing here imports the rest of the package (but errors, when a value is
wrong): every layer may import it.

| variable               | what it names                                        | default                        |
|------------------------|------------------------------------------------------|--------------------------------|
| RUNBOOK_PATH           | runbook folders, os.pathsep-separated                | ./runbooks, else builtin_runbooks() |
| RUNBOOK_CONFIG         | the environments file                                | ./environments.yaml, else ours |
| RUNBOOK_ENV            | the environment to run in                            | the file's `default:`          |
| RUNBOOK_SECRETS_FILE   | KEY=value lines read before the environment          | ~/.config/runbook/secrets.env  |
| RUNBOOK_BASE_URL_<APP> | an app's base URL (written in environments.yaml)     | -                              |
| RUNBOOK_DATA           | the ticket store, check history and audit log folder | ./.runbook                     |
| RUNBOOK_TRACES         | the evidence root of runs                            | ./traces                       |
| RUNBOOK_EVIDENCE_ROOT  | the fleet's shared evidence folder (before TRACES)   | -                              |
| RUNBOOK_CHECKS         | the checks file                                      | checks.yaml beside the runbooks|
| RUNBOOK_DATABASE_URL   | one shared database instead of the SQLite files      | -                              |
| RUNBOOK_BROKER_URL     | the Celery broker: set, checks run on workers        | -                              |
| RUNBOOK_CHROMIUM       | the Chromium executable                              | /usr/bin/chromium              |
| RUNBOOK_PUBLIC_URL     | the console's address as people open it (links)     | -                              |
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import urlsplit

RUNBOOK_PATH_VAR = "RUNBOOK_PATH"
CONFIG_VAR = "RUNBOOK_CONFIG"
ENV_VAR = "RUNBOOK_ENV"
SECRETS_FILE_VAR = "RUNBOOK_SECRETS_FILE"
DATA_VAR = "RUNBOOK_DATA"
TRACES_VAR = "RUNBOOK_TRACES"
EVIDENCE_ROOT_VAR = "RUNBOOK_EVIDENCE_ROOT"
CHECKS_VAR = "RUNBOOK_CHECKS"
DATABASE_URL_VAR = "RUNBOOK_DATABASE_URL"
BROKER_URL_VAR = "RUNBOOK_BROKER_URL"
CHROMIUM_VAR = "RUNBOOK_CHROMIUM"
PUBLIC_URL_VAR = "RUNBOOK_PUBLIC_URL"

PACKAGE_DIR = Path(__file__).resolve().parent
# The environments file the package ships: the embedded sandbox, the default target.
PACKAGED_ENVIRONMENTS = PACKAGE_DIR / "environments.yaml"
DEFAULT_TRACES = Path("traces")
DEFAULT_DATA = Path(".runbook")
DEFAULT_CHROMIUM = "/usr/bin/chromium"
# The shipped runbooks and checks file. In a checkout, automation/builtin is a link to the project's runbooks/;
# the wheel carries the files themselves there.
BUILTIN_RUNBOOKS = PACKAGE_DIR / "builtin"


def _env(name: str) -> str | None:
    return os.environ.get(name) or None


def data_dir() -> Path:
    """Where the local ticket store, check history and audit log live: RUNBOOK_DATA, else ./.runbook."""
    return Path(_env(DATA_VAR) or DEFAULT_DATA)


def evidence_root() -> Path:
    """Where runs keep their evidence: RUNBOOK_TRACES, else ./traces."""
    return Path(_env(TRACES_VAR) or DEFAULT_TRACES)


def fleet_evidence_root() -> Path | None:
    """RUNBOOK_EVIDENCE_ROOT: the fleet's shared evidence folder (a mount every worker and the web share)."""
    value = _env(EVIDENCE_ROOT_VAR)
    return Path(value) if value else None


def environments_file() -> Path:
    """RUNBOOK_CONFIG, else ./environments.yaml, else the packaged file (the embedded sandbox)."""
    configured = _env(CONFIG_VAR)
    if configured:
        return Path(configured)
    local = Path.cwd() / "environments.yaml"
    return local if local.exists() else PACKAGED_ENVIRONMENTS


def environment_name() -> str | None:
    """RUNBOOK_ENV, or None for the environments file's default."""
    return _env(ENV_VAR)


def secrets_file() -> Path:
    """RUNBOOK_SECRETS_FILE, else ~/.config/runbook/secrets.env."""
    return Path(_env(SECRETS_FILE_VAR) or Path.home() / ".config" / "runbook" / "secrets.env")


def runbook_path() -> list[Path] | None:
    """The folders RUNBOOK_PATH names (os.pathsep-separated), or None when it is unset."""
    value = _env(RUNBOOK_PATH_VAR)
    return [Path(p) for p in value.split(os.pathsep) if p] if value else None


def builtin_runbooks() -> Path:
    """The built-in catalog: the procedures and checks file the package ships (used when nothing else is given)."""
    return BUILTIN_RUNBOOKS


def checks_file() -> Path | None:
    """RUNBOOK_CHECKS, or None to look beside the runbooks."""
    value = _env(CHECKS_VAR)
    return Path(value) if value else None


def database_url() -> str | None:
    """RUNBOOK_DATABASE_URL: one shared database (PostgreSQL), or None for the SQLite files in the data folder."""
    return _env(DATABASE_URL_VAR)


def broker_url() -> str | None:
    """RUNBOOK_BROKER_URL: set, it selects the distributed mode (Celery workers on that broker)."""
    return _env(BROKER_URL_VAR)


def chromium_path() -> str:
    """RUNBOOK_CHROMIUM if set, else /usr/bin/chromium, else whatever `chromium` is on PATH."""
    configured = _env(CHROMIUM_VAR)
    if configured:
        return configured
    if Path(DEFAULT_CHROMIUM).exists():
        return DEFAULT_CHROMIUM
    return shutil.which("chromium") or shutil.which("chromium-browser") or DEFAULT_CHROMIUM


def public_url() -> str | None:
    """RUNBOOK_PUBLIC_URL: the console's address as people open it (https://runbook.example.com), without a
    trailing slash; None when unset. Alerts, tickets and the terminal link to runs under it.

    Raises ConfigError when it is not an http(s) URL with a host."""
    value = _env(PUBLIC_URL_VAR)
    if value is None:
        return None
    value = value.strip()
    try:
        parts = urlsplit(value)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname) and not parts.query
    except ValueError:  # e.g. an unclosed [ in the host
        valid = False
    if not valid or any(c.isspace() for c in value):
        from automation.errors import ConfigError

        raise ConfigError(
            f"{PUBLIC_URL_VAR}={value!r} is not an http(s) address: give the console's address as people open "
            "it, e.g. https://runbook.example.com (or unset it)"
        )
    return value.rstrip("/")


def run_page_url(run_id: str) -> str | None:
    """The run's page on the console ({RUNBOOK_PUBLIC_URL}/runs/RUN_ID), or None without a public URL.

    Raises ConfigError as public_url does."""
    base = public_url()
    return f"{base}/runs/{run_id}" if base else None
