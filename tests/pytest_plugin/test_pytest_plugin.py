"""The QA plugin: runbook cases as pytest items, run by a real `pytest` on tmp copies of runbooks.

Collection runs in process; a run of cases in a subprocess: one process cannot hold two sync Playwright drivers.
"""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from automation.catalog import Catalog
from automation.commands.qa import pytest_args
from automation.loader import LoadedRunbook, walk_steps
from automation.paths import builtin_runbooks
from automation.schema import Use

pytest_plugins = ["pytester"]

RESEND_VERIFY = builtin_runbooks() / "portal" / "resend-verify.yaml"
# read from the file, which the portal runbooks' authors keep extending
CASES = [case.name for case in Catalog([builtin_runbooks()]).load_file(RESEND_VERIFY).model.cases]

MISSING_BUTTON = """\
name: missing-button
title: Click a button the sandbox page does not have
app: portal
outcomes:
  done: {status: resolved}
steps:
  - goto: /auth/resendVerifyCode
  - click: {role: button, name: Nonexistent}
    timeout: 2s
  - end: done
cases:
  - name: clicks-nothing
    expect: done
"""

WRONG_OUTCOME = """\
name: wrong-outcome
title: Open a page and end
app: portal
outcomes:
  done: {status: resolved}
  other: {status: resolved}
steps:
  - goto: /auth/resendVerifyCode
  - end: done
cases:
  - name: expects-other
    expect: other
  - name: expects-done
    expect: done
"""

NEEDS_SANDBOX = """\
name: needs-sandbox
title: Cases that only a sandbox can serve
app: portal
inputs:
  email: {type: email}
  code: {type: secret, required: false}
outcomes:
  done: {status: resolved}
steps:
  - goto: /auth/verifyCode
  - ask: code
    prompt: The code from the mail
    secret: true
    from_mail: {to: "{{ email }}", pattern: 'code is (\\d{6})'}
  - end: done
cases:
  - name: reads-the-mail
    inputs: {email: unverified@example.com}
    expect: done
  - name: sets-a-fault
    inputs: {email: unverified@example.com, code: "123456"}
    sandbox: {settings: {portal_code_ttl_s: -1}}
    expect: done
"""

TIMEOUT = 240  # a hung subprocess fails the test instead of the whole suite


def line_of(text: str, needle: str) -> int:
    return next(number for number, line in enumerate(text.splitlines(), 1) if needle in line)


def used_files(loaded: LoadedRunbook, catalog: Catalog) -> set[Path]:
    """The files of the runbooks `loaded` uses, at any depth."""
    found: set[Path] = set()
    for _, step in walk_steps(loaded.model.steps, ()):
        if isinstance(step, Use):
            sub = catalog.get(step.use)
            assert sub.path is not None
            found |= {sub.path} | used_files(sub, catalog)
    return found


@pytest.fixture
def qa(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.Pytester:
    """A QA person's folder: runbooks/portal/ holding a copy of resend-verify.yaml, and a YAML that is no runbook;
    the runbooks it uses are copied to a library outside it, found through RUNBOOK_PATH (and never collected)."""
    # the outer run may be an xdist worker or carry settings of its own: the inner pytest starts clean
    for name in (
        "PYTEST_XDIST_WORKER",
        "PYTEST_XDIST_WORKER_COUNT",
        "PYTEST_XDIST_TESTRUNUID",
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD",
        "PYTEST_BASE_URL",
        "RUNBOOK_CONFIG",
    ):
        monkeypatch.delenv(name, raising=False)
    folder = pytester.path / "runbooks" / "portal"
    folder.mkdir(parents=True)
    shutil.copy(RESEND_VERIFY, folder)
    (pytester.path / "runbooks" / "checks.yaml").write_text("name: nightly\nchecks: []\n", encoding="utf-8")
    library = tmp_path / "library"
    library.mkdir()
    catalog = Catalog([builtin_runbooks()])
    for used in used_files(catalog.load_file(RESEND_VERIFY), catalog):
        shutil.copy(used, library)
    monkeypatch.setenv("RUNBOOK_PATH", str(library))
    return pytester


def add_runbook(qa: pytest.Pytester, name: str, text: str) -> str:
    path = qa.path / "runbooks" / "portal" / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return f"runbooks/portal/{name}.yaml"


def kept_traces(qa: pytest.Pytester) -> list[str]:
    return sorted(p.parent.name for p in (qa.path / "test-results").glob("*/trace.zip"))


# -- collection (no browser) -------------------------------------------------------------------------------


def test_cases_collect_as_items_named_runbook_and_case(qa: pytest.Pytester) -> None:
    result = qa.runpytest_inprocess("--collect-only", "-q")
    result.stdout.fnmatch_lines(
        [f"runbooks/portal/resend-verify.yaml::resend-verify::{case}" for case in CASES]
        + [f"{len(CASES)} tests collected*"]
    )


def test_marks_select_by_app_and_tag_under_strict_markers(qa: pytest.Pytester) -> None:
    result = qa.runpytest_inprocess(
        "--collect-only", "-q", "--strict-markers", "-m", "portal and verification"
    )
    result.stdout.fnmatch_lines([f"{len(CASES)} tests collected*"])
    result = qa.runpytest_inprocess("--collect-only", "-q", "--strict-markers", "-m", "netsuite")
    result.stdout.fnmatch_lines([f"no tests collected ({len(CASES)} deselected)*"])


def test_malformed_runbook_is_a_collection_error_naming_its_line(qa: pytest.Pytester) -> None:
    path = add_runbook(qa, "typo", MISSING_BUTTON.replace("- click:", "- clik:"))
    result = qa.runpytest_inprocess("--collect-only", path)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(
        [f"{path}:{line_of(MISSING_BUTTON, '- click:')}:5: step 2: *(did you mean click?)"]
    )


@pytest.mark.parametrize("how", ["flag", "ini"])
def test_runbook_env_names_an_environment_as_flag_or_ini(qa: pytest.Pytester, how: str) -> None:
    if how == "ini":
        qa.makeini("[pytest]\nrunbook_env = nowhere\n")
    result = qa.runpytest_inprocess(*(["--runbook-env", "nowhere"] if how == "flag" else []))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --runbook-env nowhere: no such environment in *"])


def test_base_url_skips_cases_that_need_the_sandbox_without_a_browser(
    qa: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    marker = tmp_path / "BROWSER-STARTED"
    fake = tmp_path / "fake-chromium"
    fake.write_text(f"#!/bin/sh\ntouch {marker}\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("RUNBOOK_CHROMIUM", str(fake))
    path = add_runbook(qa, "needs-sandbox", NEEDS_SANDBOX)
    result = qa.runpytest_inprocess(path, "--base-url", "http://127.0.0.1:9", "-rs", "-v")
    result.assert_outcomes(skipped=2)
    has_none = "; --base-url http://127.0.0.1:9 has none"
    result.stdout.fnmatch_lines_random(
        [
            f"SKIPPED * {path}: needs the sandbox (it reads 'code' from the sandbox's mail outbox){has_none}",
            f"SKIPPED * {path}: needs the sandbox (it sets sandbox settings: portal_code_ttl_s){has_none}",
        ]
    )
    assert not marker.exists(), "a browser was started for skipped cases"


def test_pytest_args_default_to_the_catalog_folder_and_pass_k_and_n(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNBOOK_PATH", str(tmp_path))
    assert pytest_args(keyword="already", workers=2, extra=["-x"]) == [
        str(tmp_path),
        "-k",
        "already",
        "-n",
        "2",
        "-x",
    ]
    assert pytest_args(["a.yaml"]) == ["a.yaml"]


# -- runs in real Chromium against the plugin's sandbox ------------------------------------------------------


@pytest.fixture
def chromium_qa(qa: pytest.Pytester, browser_env: dict[str, str]) -> pytest.Pytester:
    """`qa` for a test whose inner pytest runs the cases in real Chromium: browser_env marks it `browser`."""
    return qa


def test_cases_pass_in_parallel_and_junit_lists_each_case(chromium_qa: pytest.Pytester) -> None:
    result = chromium_qa.runpytest_subprocess("-n", "2", "--junitxml=junit.xml", timeout=TIMEOUT)
    result.assert_outcomes(passed=len(CASES))
    result.stdout.fnmatch_lines(["created: 2/2 workers"])
    cases = list(ET.parse(chromium_qa.path / "junit.xml").getroot().iter("testcase"))
    assert sorted(c.get("name") for c in cases) == sorted(CASES)
    assert {c.get("classname") for c in cases} == {"runbooks.portal.resend-verify.yaml.resend-verify"}
    assert all(len(c) == 0 for c in cases), "a testcase carries a failure, error or skip"
    assert kept_traces(chromium_qa) == []


def test_k_selects_cases(chromium_qa: pytest.Pytester) -> None:
    result = chromium_qa.runpytest_subprocess("-k", "already-verified", "-v", timeout=TIMEOUT)
    result.assert_outcomes(passed=1, deselected=len(CASES) - 1)
    result.stdout.fnmatch_lines(["*resend-verify.yaml::resend-verify::already-verified PASSED*"])


def test_failing_step_reports_its_yaml_line_locator_page_and_evidence(chromium_qa: pytest.Pytester) -> None:
    path = add_runbook(chromium_qa, "missing-button", MISSING_BUTTON)
    result = chromium_qa.runpytest_subprocess(path, timeout=TIMEOUT)
    result.assert_outcomes(failed=1)
    folder = "test-results/runbooks-portal-missing-button-yaml-missing-button-clicks-nothing"
    result.stdout.fnmatch_lines(
        [
            f"{path}:{line_of(MISSING_BUTTON, 'clicks-nothing')}: case missing-button::clicks-nothing expected outcome "
            "'done', got no outcome (the run failed)",
            f"  failed step 2 (click: *) at {path}:{line_of(MISSING_BUTTON, '- click:')}",
            '    locator: role=button[name="Nonexistent"]',
            "    page: http://127.0.0.1:*/auth/resendVerifyCode",
            f"  screenshot: {folder}/screenshots/002-*.png",
            f"  trace: {folder}/trace.zip  (open it: runbook trace {folder})",
        ]
    )
    assert kept_traces(chromium_qa) == [Path(folder).name]


def test_wrong_outcome_fails_and_only_failing_cases_keep_a_trace_by_default(
    chromium_qa: pytest.Pytester,
) -> None:
    path = add_runbook(chromium_qa, "wrong-outcome", WRONG_OUTCOME)
    result = chromium_qa.runpytest_subprocess(path, timeout=TIMEOUT)
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(
        [
            f"{path}:{line_of(WRONG_OUTCOME, 'expects-other')}: case wrong-outcome::expects-other expected outcome "
            "'other', got 'done'",
            f"  the run ended after step 2 (end: *) at {path}:{line_of(WRONG_OUTCOME, '- end: done')}",
        ]
    )
    assert kept_traces(chromium_qa) == ["runbooks-portal-wrong-outcome-yaml-wrong-outcome-expects-other"]


def test_tracing_off_keeps_no_trace(chromium_qa: pytest.Pytester) -> None:
    path = add_runbook(chromium_qa, "missing-button", MISSING_BUTTON)
    result = chromium_qa.runpytest_subprocess(path, "--tracing", "off", timeout=TIMEOUT)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["  trace: not kept (--tracing)"])
    assert list(chromium_qa.path.rglob("trace.zip")) == []
