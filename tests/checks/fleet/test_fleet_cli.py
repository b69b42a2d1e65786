"""`runbook checks worker/beat` refuse a missing or wrong broker before starting anything (exit 2), and
`checks serve` does not start a second scheduler beside the fleet's beat."""

from __future__ import annotations

import os
import subprocess

from conftest import REPO, RUNBOOK


def _runbook(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k != "RUNBOOK_BROKER_URL"}
    return subprocess.run([RUNBOOK, "checks", *args], cwd=REPO, env={**clean, **env}, capture_output=True,
                          text=True, timeout=60)  # fmt: skip


def test_a_worker_without_a_broker_says_which_variable_to_set() -> None:
    done = _runbook("worker")
    assert done.returncode == 2
    assert "RUNBOOK_BROKER_URL" in done.stderr and "Traceback" not in done.stderr


def test_a_beat_given_a_broker_that_is_not_redis_names_the_option() -> None:
    done = _runbook("beat", "--broker", "amqp://127.0.0.1:5672//")
    assert done.returncode == 2
    assert "--broker" in done.stderr and "redis://" in done.stderr


def test_serve_in_the_distributed_mode_points_at_beat_worker_and_web() -> None:
    done = _runbook("serve", "--port", "0", RUNBOOK_BROKER_URL="redis://127.0.0.1:1/0")
    assert done.returncode == 2
    assert "runbook checks beat" in done.stderr and "runbook checks web" in done.stderr
