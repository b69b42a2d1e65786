"""The `runbook` command on bad input: a clear message naming what is wrong, exit 2, and no browser.

The commands run in process (typer's CliRunner); a new process only where its boundary is under test (argv
bytes that are not UTF-8) or a real run drives Chromium."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from automation.cli.app import app

RUNBOOK = [sys.executable, "-m", "automation.cli"]
HEAD = "name: x\ntitle: t\napp: portal\noutcomes: {done: {status: resolved}}\n"


def runbook(args: Sequence[str], env: dict[str, str], cwd: Path | None = None) -> Result:
    """`runbook ARGS` in this process, with `env` as its environment (and `cwd` as its folder)."""
    with contextlib.chdir(cwd) if cwd else contextlib.nullcontext():
        # catch_exceptions=False: an exception the CLI does not turn into a message fails the test, traceback and all
        return CliRunner().invoke(app, list(args), env=env, catch_exceptions=False, prog_name="runbook")


def runbook_process(args: Sequence[str | bytes], env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    """`runbook ARGS` in a new Python process, for what only a process shows."""
    command = [os.fsencode(a) for a in RUNBOOK] + [os.fsencode(a) if isinstance(a, str) else a for a in args]
    return subprocess.run(command, env=env, capture_output=True, timeout=120, stdin=subprocess.DEVNULL)


def assert_refused_before_browser(result: Result, env: dict[str, str], *needles: str) -> None:
    assert result.exit_code == 2, result.stderr + result.stdout
    for needle in needles:
        assert needle in result.stderr
    assert "Traceback" not in result.stderr
    marker = Path(env["RUNBOOK_TRACES"]).parent / "BROWSER-STARTED"
    assert not marker.exists(), "a browser was started"
    assert not Path(env["RUNBOOK_TRACES"]).exists(), "a run folder was created"


def test_bad_email_option_names_the_input(env: dict[str, str]) -> None:
    proc = runbook(["run", "resend-verify", "--email", "not-an-email"], env)
    assert_refused_before_browser(proc, env, "input 'email'", "'not-an-email' is not an email address")


def test_missing_required_input_says_how_to_give_it(env: dict[str, str]) -> None:
    proc = runbook(["run", "resend-verify"], env)
    assert_refused_before_browser(proc, env, "input 'email'", "--email")


def test_malformed_yaml_file_is_refused_with_its_line(env: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ntitle: t\n  app: portal\n")
    proc = runbook(["run", str(bad)], env)
    assert_refused_before_browser(proc, env, "bad.yaml:3:6", "not valid YAML")


def test_unknown_step_is_refused_with_a_suggestion(env: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(HEAD + "steps:\n  - goto: /\n  - clik: {text: Go}\n")
    proc = runbook(["run", str(bad)], env)
    assert_refused_before_browser(proc, env, "bad.yaml:7:5", "did you mean click?")


def test_unknown_variable_is_refused(env: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(HEAD + "steps:\n  - goto: '/search?q={{ query }}'\n")
    proc = runbook(["run", str(bad)], env)
    assert_refused_before_browser(proc, env, "bad.yaml:6:5", "unknown variable 'query'")


ASKS_CODE = (
    HEAD.replace("app: portal", "app: site")
    + "inputs: {code: {type: string, required: false}}\nsteps:\n  - goto: /\n"
    + "  - ask: code\n    prompt: The code from the email\n"
)


def test_a_question_every_path_reaches_is_demanded_before_the_browser(
    env: dict[str, str], tmp_path: Path
) -> None:
    book = tmp_path / "asks.yaml"
    book.write_text(ASKS_CODE)
    proc = runbook(["run", str(book), "--base-url", "site=http://127.0.0.1:9"], env)
    assert_refused_before_browser(proc, env, "'code' is needed", "pass --code VALUE")


def test_unknown_environment_lists_the_known_ones(env: dict[str, str]) -> None:
    proc = runbook(["run", "resend-verify", "--email", "a@example.com", "--env", "stagin"], env)
    assert_refused_before_browser(proc, env, "--env 'stagin'", "sandbox")


def test_app_without_a_url_says_how_to_give_one(env: dict[str, str], tmp_path: Path) -> None:
    other = tmp_path / "crm.yaml"
    other.write_text(
        "name: crm\ntitle: t\napp: crm\noutcomes: {done: {status: resolved}}\nsteps:\n  - goto: /\n"
    )
    proc = runbook(["run", str(other)], env)
    assert_refused_before_browser(proc, env, "no URL for app 'crm'", "--base-url crm=URL")


def test_validate_passes_for_the_shipped_runbooks(env: dict[str, str]) -> None:
    proc = runbook(["validate"], env)
    assert proc.exit_code == 0, proc.stderr
    assert "ok  resend-verify" in proc.stdout


def test_list_json_shows_inputs_outcomes_and_cases(env: dict[str, str]) -> None:
    proc = runbook(["list", "--json"], env)
    items = {item["name"]: item for item in json.loads(proc.stdout)}
    resend = items["resend-verify"]
    assert resend["app"] == "portal" and "email" in resend["inputs"]
    assert set(resend["outcomes"]) == {
        "verified",
        "already-verified",
        "escalated",
        "not-found",
        "wrong-code",
        "expired",
    }
    assert {c["expect"] for c in resend["cases"]} == set(resend["outcomes"])


def test_run_help_lists_the_runbooks_inputs(env: dict[str, str]) -> None:
    proc = runbook(["run", "resend-verify", "--help"], env)
    assert proc.exit_code == 0 and "--email EMAIL" in proc.stdout and "--code SECRET" in proc.stdout


def test_exit_codes_follow_the_outcome(browser_env: dict[str, str]) -> None:
    resolved = runbook_process(["run", "resend-verify", "--email", "verified@example.com"], browser_env)
    failed = runbook_process(["run", "resend-verify", "--email", "nobody@example.com", "--json"], browser_env)
    assert resolved.returncode == 0, resolved.stderr.decode()
    assert (
        "RESOLVED: already-verified" in resolved.stdout.decode() and "evidence:" in resolved.stdout.decode()
    )
    assert failed.returncode == 1, failed.stderr.decode()
    data = json.loads(failed.stdout)
    assert data["status"] == "failed" and data["outcome"] == "not-found" and data["exit_code"] == 1
    assert {"run_id", "runbook", "artifacts", "ticket"} <= set(data)
    assert Path(data["artifacts"]["trace"]).exists()


# -- bad input of every kind: exit 2, a message that names it, no browser, no traceback ----------------


def test_input_with_non_utf8_bytes_is_refused_before_browser(env: dict[str, str]) -> None:
    # a process boundary: Python decodes argv bytes that are not UTF-8 as surrogate escapes
    raw = runbook_process(["run", "resend-verify", "--email", b"caf\xe9@example.com"], env)
    assert raw.returncode == 2, raw.stderr.decode()
    stderr = raw.stderr.decode()
    assert "input 'email'" in stderr and "is not valid UTF-8 text" in stderr and "Traceback" not in stderr
    assert not (Path(env["RUNBOOK_TRACES"]).parent / "BROWSER-STARTED").exists(), "a browser was started"
    assert not Path(env["RUNBOOK_TRACES"]).exists(), "a run folder was created"


def test_control_character_in_an_input_is_refused_before_browser(env: dict[str, str]) -> None:
    proc = runbook(["run", "resend-verify", "--email", "a\x1b[2J@example.com"], env)
    assert_refused_before_browser(proc, env, "input 'email'", "control character (U+001B")


def test_control_character_in_an_answer_is_refused_before_browser(env: dict[str, str]) -> None:
    proc = runbook(["run", "resend-verify", "--email", "a@example.com", "--answer", "code=12\x0734"], env)
    assert_refused_before_browser(proc, env, "input 'code'", "control character (U+0007")


def test_json_error_before_the_run_is_one_json_object(env: dict[str, str]) -> None:
    for args in (
        ["run", "resend-verify", "--email", "not-an-email", "--json"],
        ["run", "resend-verify", "--json", "--no-such-option"],
        ["run", "no-such-runbook", "--json"],
    ):
        proc = runbook(args, env)
        assert_refused_before_browser(proc, env)
        data = json.loads(proc.stdout)
        assert data["status"] == "error" and data["exit_code"] == 2 and data["error"], args


def test_unwritable_traces_folder_is_refused_before_browser(env: dict[str, str], tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    proc = runbook(["run", "resend-verify", "--email", "a@example.com", "--traces", str(blocker / "t")], env)
    assert_refused_before_browser(proc, env, f"--traces {blocker / 't'}", "is not a folder")


def test_tickets_show_with_a_25_digit_id_is_bad_input(env: dict[str, str]) -> None:
    proc = runbook(["tickets", "show", "1234567890123456789012345"], env)
    assert proc.exit_code == 2 and "is not a ticket id" in proc.stderr and "Traceback" not in proc.stderr


def test_tickets_show_of_an_unknown_ticket_is_bad_input(env: dict[str, str]) -> None:
    proc = runbook(["tickets", "show", "RB-99"], env)
    assert proc.exit_code == 2 and "no ticket RB-99" in proc.stderr


def test_trace_of_an_unknown_run_is_bad_input(env: dict[str, str]) -> None:
    proc = runbook(["trace", "no-such-run", "--actions"], env)
    assert proc.exit_code == 2 and "no single run matches 'no-such-run'" in proc.stderr


def test_tracker_typo_in_the_environments_file_stops_the_run_with_its_line(
    env: dict[str, str], tmp_path: Path
) -> None:
    config = tmp_path / "environments.yaml"
    config.write_text(
        "default: prod\nenvironments:\n  prod:\n    apps: {portal: 'http://127.0.0.1:9'}\n"
        "    tickets: {type: webhok, url: 'https://hooks.example.com'}\n"
    )
    proc = runbook(
        ["run", "resend-verify", "--email", "a@example.com", "--code", "123456"],
        {**env, "RUNBOOK_CONFIG": str(config)},
    )
    assert_refused_before_browser(proc, env, "environments.yaml:5:15", "did you mean webhook?")


@pytest.fixture
def catalog_with_broken_files(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """A catalog of the shipped portal runbooks plus a billion-laughs file and a Latin-1 file."""
    import shutil

    root = tmp_path / "catalog"
    shutil.copytree(Path(__file__).resolve().parents[2] / "runbooks" / "portal", root / "portal")
    laughs = "".join(f"l{i}: &l{i} [{','.join([f'*l{i - 1}'] * 9)}]\n" for i in range(1, 9))
    (root / "bomb.yaml").write_text("name: bomb\nsteps: []\nl0: &l0 lol\n" + laughs)
    (root / "latin1.yaml").write_bytes(b"name: caf\xe9\nsteps: []\n")
    return {**env, "RUNBOOK_PATH": str(root)}


def test_list_reports_broken_files_and_lists_the_others(catalog_with_broken_files: dict[str, str]) -> None:
    proc = runbook(["list", "--json"], catalog_with_broken_files)
    assert proc.exit_code == 0 and "Traceback" not in proc.stderr
    assert "resend-verify" in {item["name"] for item in json.loads(proc.stdout)}
    assert "bomb.yaml:" in proc.stderr and "aliases expand" in proc.stderr
    assert "latin1.yaml:1:10: byte 0xE9 is not UTF-8" in proc.stderr


def test_validate_names_every_broken_file_and_exits_2(catalog_with_broken_files: dict[str, str]) -> None:
    proc = runbook(["validate"], catalog_with_broken_files)
    assert proc.exit_code == 2 and "ok  resend-verify" in proc.stdout
    assert "bomb.yaml:" in proc.stderr and "latin1.yaml:1:10" in proc.stderr
    assert "2 file(s) do not load" in proc.stderr


def test_a_broken_neighbour_does_not_stop_a_run(catalog_with_broken_files: dict[str, str]) -> None:
    proc = runbook(["run", "resend-verify", "--email", "not-an-email"], catalog_with_broken_files)
    assert_refused_before_browser(proc, catalog_with_broken_files, "'not-an-email' is not an email address")


def test_an_unknown_screenshot_policy_is_refused_naming_the_choices(env: dict[str, str]) -> None:
    proc = runbook(["run", "synthetic-login", "--screenshots", "sometimes"], env)
    assert_refused_before_browser(proc, env, "--screenshots", "each-step")


def test_new_writes_a_commented_skeleton_that_validates(env: dict[str, str], tmp_path: Path) -> None:
    made = runbook(["new", "reset-password", "--app", "myapp"], env, cwd=tmp_path)
    assert made.exit_code == 0, made.stderr
    text = (tmp_path / "reset-password.yaml").read_text()
    assert (
        "name: reset-password" in text and "app: myapp" in text and "# give its URL with --base-url" in text
    )
    checked = runbook(["validate", "--json", str(tmp_path)], env, cwd=tmp_path)
    assert json.loads(checked.stdout) == {
        "ok": [{"name": "reset-password", "file": str(tmp_path / "reset-password.yaml")}],
        "problems": [],
    }
    again = runbook(["new", "reset-password", "--app", "myapp"], env, cwd=tmp_path)
    assert again.exit_code == 2 and "already exists" in again.stderr


def test_validate_json_names_each_problem_with_its_line(env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(HEAD + "steps:\n  - goto: /\n  - clik: {text: Go}\n")
    proc = runbook(["validate", "--json", str(tmp_path)], env)
    assert proc.exit_code == 2
    [problem] = json.loads(proc.stdout)["problems"]
    assert problem["line"] == 7 and problem["message"].startswith("step 2:")


def test_show_json_numbers_the_steps_as_a_run_does(env: dict[str, str]) -> None:
    proc = runbook(["show", "resend-verify", "--json"], env)
    assert proc.exit_code == 0, proc.stderr
    shown = json.loads(proc.stdout)
    assert shown["name"] == "resend-verify" and "email" in shown["inputs"]
    assert [s["number"] for s in shown["steps"]][:5] == ["1", "2", "3", "4", "4.1"]


def test_an_unknown_catalog_folder_is_refused_naming_the_option(env: dict[str, str], tmp_path: Path) -> None:
    proc = runbook(["list", "--catalog", str(tmp_path / "nope")], env)
    assert proc.exit_code == 2 and "--catalog" in proc.stderr and "not a folder" in proc.stderr
