"""Installed, not only cloned: the wheel, in a fresh virtual environment, run from an empty folder.

The wheel must carry the product's content (the built-in runbooks and checks file) so that a new user who
installs it gets the same `runbook list`, `run` and `checks validate` as a checkout. Its dependencies come from
the project's own environment through a .pth line (they are the same versions; downloading them again would
only test pip), but the package itself is the installed wheel, never the checkout.
"""

from __future__ import annotations

import os
import site
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.browser


def _run(
    args: list[str], cwd: Path, env: dict[str, str], timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A fresh venv outside the checkout with the wheel built from it installed: (its bin folder, environment)."""
    base = tmp_path_factory.mktemp("wheel")
    wheels = base / "dist"
    built = _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(wheels),
            str(ROOT),
        ],
        cwd=base,
        env=dict(os.environ),
    )
    assert built.returncode == 0, built.stderr
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    clean = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    wheel = next(wheels.glob("runbook-*.whl"))
    pip = _run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps", str(wheel)], base, clean
    )
    assert pip.returncode == 0, pip.stderr
    # Only now the dependencies: before, pip would take the project's own editable install for this one.
    purelib = Path(sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)}))
    (purelib / "project-deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNBOOK_") and k != "PYTHONPATH"}
    env["RUNBOOK_DATA"] = str(base / "data")
    env["RUNBOOK_TRACES"] = str(base / "traces")
    return venv / "bin", env


@pytest.fixture
def empty_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "empty"
    folder.mkdir()
    return folder


def test_installed_package_is_the_wheel_not_the_checkout(installed, empty_folder):
    bin_dir, env = installed
    where = _run(
        [str(bin_dir / "python"), "-c", "import automation; print(automation.__file__)"], empty_folder, env
    )
    assert where.returncode == 0, where.stderr
    assert str(bin_dir.parent) in where.stdout and str(ROOT) not in where.stdout


def test_installed_runbook_lists_the_builtin_runbooks(installed, empty_folder):
    bin_dir, env = installed
    listed = _run([str(bin_dir / "runbook"), "list"], empty_folder, env)
    assert listed.returncode == 0, listed.stderr
    for name in ("resend-verify", "unknown-login-error", "change-customer-email"):
        assert name in listed.stdout


def test_installed_runbook_validates_the_builtin_checks(installed, empty_folder):
    bin_dir, env = installed
    checked = _run([str(bin_dir / "runbook"), "checks", "validate"], empty_folder, env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "checks OK" in checked.stdout


def test_installed_runbook_runs_resend_verify_on_the_sandbox(installed, empty_folder):
    bin_dir, env = installed
    ran = _run(
        [str(bin_dir / "runbook"), "run", "resend-verify", "--email", "unverified@example.com"],
        empty_folder,
        env,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "RESOLVED: verified" in ran.stdout


def test_installed_runbook_init_copies_the_builtin_catalog(installed, empty_folder):
    bin_dir, env = installed
    copied = _run([str(bin_dir / "runbook"), "init"], empty_folder, env)
    assert copied.returncode == 0, copied.stderr
    assert (empty_folder / "runbooks" / "portal" / "resend-verify.yaml").is_file()
    assert (empty_folder / "runbooks" / "checks.yaml").is_file()
    again = _run([str(bin_dir / "runbook"), "init"], empty_folder, env)
    assert again.returncode == 2 and "--force" in again.stderr
