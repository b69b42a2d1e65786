"""The append-only audit log of runs: who, when, which runbook and environment, inputs (secrets masked),
outcome, evidence folder. One JSON object per line in <data dir>/audit.log; lines are only ever appended."""

from __future__ import annotations

import getpass
import json
import os
import time
from pathlib import Path
from typing import Any


def _who() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in some containers: the uid still says who
        return f"uid:{os.getuid()}"


def append(
    path: Path,
    *,
    runbook: str,
    environment: str,
    inputs: dict[str, Any],
    status: str,
    outcome: str | None,
    evidence_dir: str,
    run_id: str,
    ticket: str | None,
) -> None:
    """Append one run's line; O_APPEND keeps concurrent runs' lines whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(
        {
            "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "user": _who(),
            "run_id": run_id,
            "runbook": runbook,
            "environment": environment,
            "inputs": inputs,
            "status": status,
            "outcome": outcome,
            "evidence_dir": evidence_dir,
            "ticket": ticket,
        },
        default=str,
    )
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (line + "\n").encode("utf-8"))
    finally:
        os.close(fd)


def read(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
