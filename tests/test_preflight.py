"""What is checked before the browser starts: the questions every path reaches, and the credentials used."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from automation.catalog import Catalog
from automation.errors import ConfigError
from automation.loader import load_text
from automation.preflight import asks_on_every_path

HEAD = "name: x\ntitle: t\napp: site\noutcomes: {done: {status: resolved}, stop: {status: failed}}\n"
ASK = "  - ask: code\n    prompt: The code\n"


def asked_up_front(steps: str) -> list[str]:
    return [step.ask for step in asks_on_every_path(load_text(HEAD + "steps:\n" + steps), Catalog([]))]


def test_a_question_on_the_main_path_is_reached_by_every_run() -> None:
    assert asked_up_front("  - goto: /\n" + ASK) == ["code"]


def test_a_question_inside_a_branch_arm_is_not() -> None:
    arm = "  - branch:\n      when:\n        - text: Code\n          steps:\n"
    ask = "            - ask: code\n              prompt: The code\n"
    assert asked_up_front("  - goto: /\n" + arm + ask) == []


def test_a_question_after_a_branch_that_may_end_the_run_is_not() -> None:
    branch = "  - branch:\n      when:\n        - text: Gone\n          end: stop\n"
    assert asked_up_front("  - goto: /\n" + branch + ASK) == []


RUNBOOK = HEAD + (
    "steps:\n  - goto: /\n  - fill: {label: User}\n    with: '{{ credentials.site_admin.user }}'\n"
    "  - fill: {label: Password}\n    with: '{{ credentials.site_admin.password }}'\n    secret: true\n"
)


def run_with(tmp_path: Path, env: dict[str, str], config: str) -> subprocess.CompletedProcess[str]:
    book, environments = tmp_path / "login.yaml", tmp_path / "environments.yaml"
    book.write_text(RUNBOOK)
    environments.write_text(config)
    return subprocess.run(
        [sys.executable, "-m", "automation.cli", "run", str(book)],
        env={**env, "RUNBOOK_CONFIG": str(environments)},
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def assert_refused_before_browser(proc: subprocess.CompletedProcess[str], env: dict[str, str]) -> None:
    assert proc.returncode == 2, proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr
    assert not (Path(env["RUNBOOK_TRACES"]).parent / "BROWSER-STARTED").exists(), "a browser was started"


STAGING = "default: staging\nenvironments:\n  staging:\n    apps: {site: 'http://127.0.0.1:9'}\n"


def test_an_unknown_credential_is_refused_before_the_browser(tmp_path: Path, env: dict[str, str]) -> None:
    proc = run_with(tmp_path, env, STAGING + "    credentials:\n      other: {user: a, password: b}\n")
    assert_refused_before_browser(proc, env)
    assert "credentials 'site_admin'" in proc.stderr and "(it has: other)" in proc.stderr


@pytest.mark.parametrize("unset", ["SITE_ADMIN_USER", "SITE_ADMIN_PASSWORD"])
def test_an_unset_credential_variable_is_named_before_the_browser(
    tmp_path: Path, env: dict[str, str], unset: str
) -> None:
    given = {"SITE_ADMIN_USER": "admin", "SITE_ADMIN_PASSWORD": "Sesame-Open-42"}
    del given[unset]
    credentials = "      site_admin: {user_env: SITE_ADMIN_USER, password_env: SITE_ADMIN_PASSWORD}\n"
    env = {k: v for k, v in env.items() if not k.startswith("SITE_ADMIN")} | given
    env["RUNBOOK_SECRETS_FILE"] = str(tmp_path / "no-secrets.env")
    proc = run_with(tmp_path, env, STAGING + "    credentials:\n" + credentials)
    assert_refused_before_browser(proc, env)
    assert (
        "credentials 'site_admin'" in proc.stderr and f"the variable {unset}, which is not set" in proc.stderr
    )


def test_a_login_the_runbook_may_skip_does_not_need_its_variables_up_front() -> None:
    # e.g. netsuite-login with a saved session: "already signed in?" may end the run before the login
    from automation.environments import Target
    from automation.preflight import check_credentials

    skippable = RUNBOOK.replace(
        "  - goto: /\n",
        "  - goto: /\n  - branch:\n      when:\n        - text: Welcome\n          end: done\n",
    )
    target = Target(
        name="staging",
        apps={"site": "http://127.0.0.1:9"},
        credentials={"site_admin": {}},
        credential_env={"site_admin": {"user": "SITE_ADMIN_USER", "password": "SITE_ADMIN_PASSWORD"}},
    )
    check_credentials(load_text(skippable), target, Catalog([]))  # no ConfigError
    with pytest.raises(ConfigError, match="SITE_ADMIN_PASSWORD, which is not set"):
        check_credentials(load_text(RUNBOOK), target, Catalog([]))
