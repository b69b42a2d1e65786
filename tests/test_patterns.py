"""automation/patterns.py: a runbook's pattern meets outside text with a time limit and a length cap.

No timings are asserted. A catastrophic match runs in a child interpreter: bounded, it ends in PatternTimeout
at once; unbounded, it would run for ages and the child's generous timeout fails the test instead.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from automation import patterns
from automation.errors import PatternTimeout, TextTooLong, UsageError

# Still catastrophic under the `regex` module (it defuses ^(a+)+$ by itself): each extra 'a' doubles the work.
BACKTRACKS = r"^(a|aa)+$"
HOSTILE = "a" * 64 + "!"
WHERE = "runbooks/portal/x.yaml:18"
ROOT = Path(__file__).resolve().parents[1]


def _outcome(call: str) -> str:
    """What `call` (on `patterns`) does in a child interpreter: 'matched', 'no match', or the error's
    class and message. A call that never ends fails the test by the timeout."""
    code = (
        "from automation import patterns\n"
        "from automation.errors import RunbookError\n"
        "try:\n"
        f"    found = patterns.{call}\n"
        "    print('matched' if found else 'no match')\n"
        "except RunbookError as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    return _in_child(code)


def _in_child(code: str) -> str:
    """What `code` prints in a child interpreter; a match that never ends fails the test by the timeout."""
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_pattern_matches_as_re_would_lookaheads_included():
    assert patterns.fullmatch(r"(?=.*\d)(?=.*[a-z])[a-z0-9]{8,}", "abcd1234", where=WHERE)
    assert patterns.fullmatch(r"(?=.*\d)(?=.*[a-z])[a-z0-9]{8,}", "abcdefgh", where=WHERE) is None
    assert patterns.fullmatch(r"\d{6}", "123456", where=WHERE)
    assert patterns.fullmatch(r"\d{6}", "1234567", where=WHERE) is None  # whole value, not a prefix
    found = patterns.search(r"code is (\d{6})", "Hello,\nyour code is 424242.", where=WHERE)
    assert found is not None and patterns.kept(found) == "424242"
    whole = patterns.search(r"\d{6}", "code 424242", where=WHERE)
    assert whole is not None and patterns.kept(whole) == "424242"


def test_a_backtracking_pattern_on_a_typed_value_is_stopped_and_named():
    said = _outcome(f"fullmatch({BACKTRACKS!r}, {HOSTILE!r}, where={WHERE!r})")
    assert said.startswith("PatternTimeout ")
    assert WHERE in said and BACKTRACKS in said
    assert "catastrophic backtracking" in said and "simplify it" in said
    assert issubclass(PatternTimeout, UsageError)  # the CLI exits 2, the console answers 422


def test_a_backtracking_pattern_on_found_text_is_stopped_and_named():
    said = _outcome(f"search({BACKTRACKS!r}, {HOSTILE!r}, where='runbooks/mail.yaml:7')")
    assert said.startswith("PatternTimeout ") and "runbooks/mail.yaml:7" in said


def test_the_issue_pattern_is_answered_at_once():
    """The pattern of the report: `regex` does not backtrack on it, so the value is simply not a match."""
    assert _outcome("fullmatch('^(a+)+$', 'a' * 32 + '!', where='x.yaml:1')") == "no match"


def test_a_typed_value_over_the_cap_is_refused_before_matching():
    at_cap = "a" * patterns.TYPED_MAX_CHARS
    assert patterns.fullmatch(r"a+", at_cap, where=WHERE)
    with pytest.raises(TextTooLong) as caught:
        patterns.fullmatch(r"a+", at_cap + "a", where=WHERE)
    assert f"{patterns.TYPED_MAX_CHARS:,}" in str(caught.value) and WHERE in str(caught.value)


def test_found_text_is_searched_on_its_beginning_only():
    code_late = "x" * patterns.FOUND_MAX_CHARS + " code 424242"
    assert patterns.search(r"code (\d{6})", code_late, where=WHERE) is None
    code_early = "code 424242 " + "x" * patterns.FOUND_MAX_CHARS
    assert patterns.search(r"code (\d{6})", code_early, where=WHERE) is not None


def test_compile_error_keeps_the_language_of_re():
    assert patterns.compile_error(r"code is (\d{6})") is None
    assert patterns.compile_error(r"(?=.*\d).{8,}") is None
    assert "missing )" in (patterns.compile_error(r"(\d{6}") or "")
    # `regex` alone would take these; a runbook's pattern is Python's re, so they stay refused
    assert patterns.compile_error(r"\p{L}+") is not None
    assert patterns.compile_error(r"(?<=a+)b") is not None


def test_place_names_the_file_as_errors_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    assert patterns.place(tmp_path / "runbooks" / "x.yaml", 18) == "runbooks/x.yaml:18"
    assert patterns.place("runbooks/y.yaml", None) == "runbooks/y.yaml"
    assert patterns.place(None, 3) == "<runbook>:3"


FROM_MAIL = """\
import mailbox, time
from email.message import EmailMessage
from automation.engine.answers import read_mailbox
from automation.errors import StepFailed
from automation.mail import MaildirConfig
from automation.schema import FromMail

box = mailbox.Maildir({folder!r}, create=True)
hostile = EmailMessage()
hostile["From"], hostile["To"], hostile["Subject"] = "anyone@example.test", "ana@example.test", "hi"
hostile.set_content({text!r})
box.add(mailbox.MaildirMessage(hostile))
box.flush()
spec = FromMail(to="ana@example.test", pattern={pattern!r})
try:
    read_mailbox(MaildirConfig(type="maildir", path={folder!r}), spec, {{}}, since=time.time() - 60,
                 timeout_s=5, where="runbooks/portal/verify.yaml:12")
    print("no failure")
except StepFailed as exc:
    print("StepFailed", exc)
"""


def test_a_from_mail_pattern_that_backtracks_on_a_mail_fails_the_step_naming_it(tmp_path: Path):
    """Anyone can send a mail to a monitored mailbox: one that makes the pattern backtrack fails the step."""
    said = _in_child(FROM_MAIL.format(folder=str(tmp_path / "Maildir"), text=HOSTILE, pattern=BACKTRACKS))
    assert said.startswith("StepFailed from_mail: "), said
    assert BACKTRACKS in said and "runbooks/portal/verify.yaml:12" in said and "catastrophic" in said


def test_an_extract_pattern_that_backtracks_on_page_text_fails_the_step_naming_it():
    said = _in_child(
        "from automation.engine.answers import found_in\n"
        "from automation.errors import StepFailed\n"
        f"print(found_in('code (\\\\d{{6}})', 'your code 424242', 'x.yaml:3'))\n"
        "try:\n"
        f"    found_in({BACKTRACKS!r}, {HOSTILE!r}, 'runbooks/portal/read.yaml:9')\n"
        "except StepFailed as exc:\n"
        "    print('StepFailed', exc)\n"
    )
    kept, failed = said.splitlines()
    assert kept == "424242"
    assert (
        failed.startswith("StepFailed ") and "runbooks/portal/read.yaml:9" in failed and BACKTRACKS in failed
    )
