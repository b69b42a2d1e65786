"""A real OpenID provider for the console's single sign-on tests: node-oidc-provider (npm `oidc-provider`),
installed once into a cache folder (never globally; `make services` does it too) and started per test on
127.0.0.1 with tests/support/oidc_provider.mjs.

No sleep synchronises anything: the provider is ready when it prints its issuer, waited for with a deadline.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from support.console_server import wait_for

SCRIPT = Path(__file__).with_suffix(".mjs")
# The Makefile's `services` target installs into the same folder: keep the two in step.
NPM_PREFIX = Path.home() / ".cache" / "runbook-npm" / "oidc"
PACKAGE = "oidc-provider@9"  # the major version the .mjs is written for
MODULE = NPM_PREFIX / "node_modules" / "oidc-provider" / "lib" / "index.js"


def installed() -> Path:
    """The provider's module, installed from the npm registry the first time (one test worker at a time)."""
    NPM_PREFIX.mkdir(parents=True, exist_ok=True)
    with open(NPM_PREFIX / ".install-lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two xdist workers must not run npm into one folder at once
        if not MODULE.exists():
            npm = shutil.which("npm")
            assert npm, (
                "npm is needed to install oidc-provider for the SSO tests (Debian: apt-get install npm)"
            )
            done = subprocess.run(
                [npm, "install", "--prefix", str(NPM_PREFIX), "--no-audit", "--no-fund", PACKAGE],
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert done.returncode == 0, f"npm install {PACKAGE} failed: {done.stderr[-2000:]}"
    return MODULE


@dataclass
class RunningProvider:
    issuer: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def oidc_provider(
    folder: Path,
    *,
    redirect_uri: str,
    client_id: str,
    client_secret: str,
    accounts: dict[str, dict[str, Any]],
    within_s: float = 30.0,
) -> Iterator[RunningProvider]:
    """The provider, listening; `accounts` are the claims of each login its sign-in page accepts."""
    node = shutil.which("node")
    assert node, "node is needed to run oidc-provider for the SSO tests"
    env = {
        **os.environ,
        "OIDC_PROVIDER_MODULE": str(installed()),
        "OIDC_CLIENT_ID": client_id,
        "OIDC_CLIENT_SECRET": client_secret,
        "OIDC_REDIRECT_URI": redirect_uri,
        "OIDC_ACCOUNTS": json.dumps(accounts),
    }
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "oidc-provider.log"
    with open(log, "wb") as out:  # the child keeps its own descriptor: no pipe to fill up
        proc = subprocess.Popen([node, str(SCRIPT)], env=env, stdout=out, stderr=subprocess.STDOUT)
    running = RunningProvider("", log)
    try:
        running.issuer = wait_for(
            lambda: next(
                (
                    line.split(" ", 1)[1]
                    for line in running.output().splitlines()
                    if line.startswith("issuer ")
                ),
                None,
            ),
            within_s,
            lambda: f"oidc-provider printed no issuer: {running.output()!r}",
            stop=lambda: proc.poll() is not None,
        )
        yield running
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
