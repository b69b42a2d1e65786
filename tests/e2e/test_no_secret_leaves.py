"""Secrets never leave the run: every case of every runbook, run with unique canary secrets, and every byte of
every artifact it leaves (evidence folder with the trace unzipped, run.json, report, screenshots, ticket store,
audit log, terminal and --json output) scanned for each secret in every decoded form: zero hits. Every picture is
read back (tests/support/pictures.py): each place a page showed a secret (a field typed one into, a code on the
page) is painted over, OCR reads the secret on the unmasked page where it was readable, and reads no secret on
any kept picture. The command line itself is run once as a subprocess, with a secret that needs normalising and
encoding."""

from __future__ import annotations

import io
import itertools
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from support.pictures import PictureSpy, check_pictures

from automation.api import run
from automation.catalog import Catalog
from automation.cli.terminal import ConsoleReporter, render_result
from automation.environments import Target
from automation.loader import walk_steps
from automation.redaction.scan import find_secrets
from automation.sandbox.store import DEFAULT_SEED
from automation.schema import Ask

CATALOG = Catalog.default()
CASES = [
    (rb.name, case.name) for rb in sorted(CATALOG.all(), key=lambda r: r.name) for case in rb.model.cases
]
_serial = itertools.count(1)


def _secret_names() -> set[str]:
    """Every input of type secret and every `ask` marked secret, in any runbook (answers reach sub-runbooks)."""
    names: set[str] = set()
    for rb in CATALOG.all():
        names |= {n for n, spec in rb.model.inputs.items() if spec.type == "secret"}
        names |= {s.ask for _, s in walk_steps(rb.model.steps, ()) if isinstance(s, Ask) and s.secret}
    return names


def _seed_passwords() -> set[str]:
    """Passwords the sandbox's fixture fixes: a case cannot change them, so they are scanned for as they are."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key == "password" and isinstance(item, str):
                    found.add(item)
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(yaml.safe_load(DEFAULT_SEED.read_text()))
    return found


SECRET_NAMES = _secret_names()
SEED_PASSWORDS = _seed_passwords()


def canary(value: Any) -> str:
    """A unique value of the same shape: a 6-digit code, a reset link, or a password meeting every policy."""
    n = next(_serial)
    text = str(value)
    if re.fullmatch(r"\d{6}", text):
        return f"{(739100 + n * 7919) % 900000 + 100000}"
    if "token=" in text:
        return re.sub(r"token=\S+", f"token=canary{n:04d}tok", text)
    return f"Canary{n:04d}-Xy9!k"


def with_canaries(values: dict[str, Any]) -> dict[str, Any]:
    return {
        k: canary(v) if k in SECRET_NAMES and str(v) not in SEED_PASSWORDS else v for k, v in values.items()
    }


def mailed_secrets(target: Target) -> set[str]:
    """Codes and token links the sandbox mailed during the run: secrets the run typed or opened."""
    found: set[str] = set()
    for mail in httpx.get(target.mailbox or "", timeout=10).json():
        found |= set(re.findall(r"\b\d{6}\b", mail["text"]))
        found |= {link for link in mail["links"] if "token=" in link}
        found |= {link.split("token=", 1)[1] for link in mail["links"] if "token=" in link}
    return found


@pytest.mark.parametrize(("runbook", "case_name"), CASES, ids=[f"{r}::{c}" for r, c in CASES])
def test_no_secret_in_any_artifact(
    runbook: str,
    case_name: str,
    sandbox_env: Target,
    tmp_path: Path,
    browser: Any,
    picture_spy: PictureSpy,
) -> None:
    loaded = CATALOG.get(runbook)
    case = next(c for c in loaded.model.cases if c.name == case_name)
    inputs, answers = with_canaries(case.inputs), with_canaries(case.answers)
    terminal = io.StringIO()
    result = run(
        loaded,
        inputs,
        answers=answers,
        target=sandbox_env,
        sandbox=case.sandbox,
        catalog=CATALOG,
        reporter=ConsoleReporter(terminal),
        evidence_root=tmp_path / "traces",
        data_dir=tmp_path / "data",
        browser=browser,
    )
    assert result.outcome == case.expect, result.error
    terminal.write(render_result(result) + json.dumps(result.to_json()))
    (tmp_path / "terminal.txt").write_text(terminal.getvalue())

    secrets = {str(v) for k, v in {**inputs, **answers}.items() if k in SECRET_NAMES}
    secrets |= {c["password"] for c in sandbox_env.credentials.values() if c.get("password")}
    secrets |= mailed_secrets(sandbox_env)
    hits = find_secrets(tmp_path, sorted(secrets))
    assert not hits, [f"{h.path.relative_to(tmp_path)} {h.entry or ''} form={h.form}" for h in hits]

    pictures = check_pictures(Path(result.evidence_dir), picture_spy, sorted(secrets), ocr_check="always")
    assert not pictures.problems, pictures.problems

    trace = Path(result.evidence_dir) / "trace.zip"
    if trace.exists():  # a scrubbed trace still loads: every JSON line parses
        with zipfile.ZipFile(trace) as zf:
            for name in (n for n in zf.namelist() if n.endswith((".trace", ".network"))):
                for line in zf.read(name).decode().splitlines():
                    if line.strip():
                        json.loads(line)


def test_the_command_line_shows_no_secret_in_its_output_or_evidence(
    tmp_path: Path, browser_env: dict[str, str]
) -> None:
    # Spaces around it (used stripped, so masked stripped), and "~", "!" with "*", a space: a form post
    # sends those encoded in ways a list of encodings missed.
    password = " Canary~Pass!*9 x "
    args = ["--email", "symbol-end@example.com", "--new-password", password, "--json"]

    done = subprocess.run(
        [sys.executable, "-m", "automation.cli", "run", "reset-password", *args],
        env=browser_env,  # evidence and data under tmp_path
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["outcome"] == "password-reset"
    (tmp_path / "stdout.json").write_text(done.stdout)
    (tmp_path / "stderr.txt").write_text(done.stderr)
    hits = find_secrets(tmp_path, [password.strip()])
    assert not hits, [f"{h.path.relative_to(tmp_path)} {h.entry or ''} form={h.form}" for h in hits]
    (evidence,) = (tmp_path / "traces").iterdir()
    pictures = check_pictures(evidence, None, [password.strip()])  # another process: read by OCR only
    assert not pictures.problems and pictures.read == pictures.pictures > 0, pictures
