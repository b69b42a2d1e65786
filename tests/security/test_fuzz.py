"""Fuzzing the two ways bad input comes in, the command line and runbook files: whatever arrives, the answer
is one of our errors (exit 2, a message) or a result, never a traceback, never a hang, and never a browser for
input that is refused.

Bounded in `make test`; `make fuzz` (RUNBOOK_FUZZ=long) runs many more examples."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from automation.catalog import Catalog
from automation.errors import RunbookError, RunbookLoadError, TargetUnreachableError
from automation.loader import load_text
from automation.paths import builtin_runbooks

FUZZ = settings.get_profile("runbook-fuzz")
SHIPPED = sorted(builtin_runbooks().rglob("*.yaml"))
NAMES = sorted(Catalog([builtin_runbooks()]).names())
WORDS = sorted(
    {"name", "title", "app", "inputs", "outcomes", "steps", "cases", "finally", "goto", "fill", "with"}
    | {"click", "press", "on", "branch", "when", "else", "ask", "use", "end", "escalate", "type", "status"}
    | {"resolved", "failed", "label", "role", "css", "timeout", "retry", "secret", "pattern", "expect"}
)
# Odd characters people and scripts really send: surrogates (bytes that were not UTF-8), controls, bidi.
ODD = st.sampled_from(
    ["\udcff", "\udce9", "\x00", "\x07", "\x1b[2J", "\t", "\n", "\u202e", "\ufeff", "é", "{{"]
)


# -- the command line ---------------------------------------------------------------------------------------

COMMANDS: list[list[str]] = [
    ["run"],
    *(["run", name] for name in NAMES),
    ["list"],
    ["show"],
    ["validate"],
    ["schema"],
    ["trace"],
    ["tickets", "list"],
    ["tickets", "show"],
    ["tickets", "export"],
    ["tickets", "retry"],
    [],
]
OPTIONS = [
    "--json", "--env", "--base-url", "--answer", "--traces", "--no-input", "--help", "--email", "--code",
    "--password", "--customer-id", "--actions", "--status", "--queue", "--", "-k", "--chromium",
]  # fmt: skip
VALUES = [
    "sandbox", "production", "nope", "portal=javascript:alert(1)", "portal=http://127.0.0.1:9",
    "a@example.com", "not-an-email", "123456", "RB-1", "1234567890123456789012345", "last",
    "/dev/null/x", "/etc/passwd", ".", "code=12", "=", "x=", "-1", "9" * 40,
]  # fmt: skip
TOKEN = st.one_of(
    st.sampled_from(OPTIONS),
    st.sampled_from(VALUES),
    st.sampled_from(NAMES),
    st.text(max_size=12),
    st.builds(lambda a, b: a + b, st.text(max_size=6), ODD),
)


class BrowserSpy:
    """Stands in for the browser pool's launch: it counts the launches and hands the engine a browser that
    cannot open a page, so a valid command line ends as unreachable (exit 3) without a real Chromium."""

    def __init__(self) -> None:
        self.launches = 0

    def browser(self, *args: Any, **kwargs: Any) -> Any:
        self.launches += 1
        return self

    def new_context(self, *args: Any, **kwargs: Any) -> Any:
        raise TargetUnreachableError("fuzz: no browser in this test")


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[BrowserSpy]:
    """Everything a command may touch under tmp_path; the browser pool's launch replaced by a spy (the engine
    itself runs); and a 'Chromium' that only leaves a marker, should anything start one past the pool."""
    fake = tmp_path / "fake-chromium"
    fake.write_text(f"#!/bin/sh\ntouch {tmp_path / 'BROWSER-STARTED'}\nexit 1\n")
    fake.chmod(0o755)
    config = tmp_path / "environments.yaml"
    config.write_text(
        "default: bare\nenvironments:\n  bare:\n"
        "    apps: {portal: 'http://127.0.0.1:9', netsuite: 'http://127.0.0.1:9'}\n"
    )
    for name, value in {
        "RUNBOOK_CHROMIUM": str(fake),
        "RUNBOOK_TRACES": str(tmp_path / "traces"),
        "RUNBOOK_DATA": str(tmp_path / "data"),
        "RUNBOOK_CONFIG": str(config),
        "RUNBOOK_PATH": str(builtin_runbooks()),
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("RUNBOOK_ENV", raising=False)
    spy = BrowserSpy()
    monkeypatch.setattr("automation.engine.browser.BrowserPool.browser", spy.browser)
    monkeypatch.chdir(tmp_path)
    yield spy
    assert not (tmp_path / "BROWSER-STARTED").exists(), "a Chromium was started past the browser pool"


def invoke(argv: list[str]) -> Any:
    from automation.cli.app import app

    return CliRunner().invoke(app, argv, catch_exceptions=True)


@FUZZ
@given(command=st.sampled_from(COMMANDS), tokens=st.lists(TOKEN, max_size=8))
def test_fuzz_cli_argv_never_gives_a_traceback(
    isolated: BrowserSpy, command: list[str], tokens: list[str]
) -> None:
    argv = command + tokens
    isolated.launches = 0
    result = invoke(argv)
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{argv!r} raised {result.exception!r}"
    )
    assert "Traceback" not in result.output, argv
    assert result.exit_code in (0, 1, 2, 3), (argv, result.exit_code, result.output)
    if result.exit_code == 2:
        assert isolated.launches == 0, f"{argv!r} was refused (exit 2) after a browser was started"
    if isolated.launches:  # only a run the engine started, which the spy's browser ends as unreachable
        assert (argv[0], result.exit_code) == ("run", 3), (argv, result.exit_code, result.output)


BAD_RUNS = {
    "unknown-runbook": ["run", "nope", "--no-input"],
    "missing-input": ["run", "resend-verify", "--no-input"],
    "bad-email": ["run", "resend-verify", "--email", "not-an-email", "--no-input"],
    "bad-code": ["run", "resend-verify", "--email", "a@example.com", "--code", "12", "--no-input"],
    "unknown-env": ["run", "resend-verify", "--email", "a@example.com", "--env", "production", "--no-input"],
    "script-url": ["run", "resend-verify", "--email", "a@example.com", "--base-url", "portal=javascript:x"],
    "missing-password": ["run", "create-account-probe", "--email", "a@example.com", "--no-input"],
}


@pytest.mark.parametrize("argv", BAD_RUNS.values(), ids=BAD_RUNS.keys())
def test_a_refused_run_starts_no_browser(isolated: BrowserSpy, argv: list[str]) -> None:
    result = invoke(argv)
    assert (result.exit_code, isolated.launches) == (2, 0), result.output


def test_a_valid_run_reaches_the_browser_spy(isolated: BrowserSpy) -> None:
    # The spy is where a browser would start: without this, "no launch" above could be true of a dead spy.
    result = invoke(["run", "resend-verify", "--email", "a@example.com", "--no-input"])
    assert (result.exit_code, isolated.launches) == (3, 1), result.output
    assert "fuzz: no browser in this test" in result.output


# -- runbook documents --------------------------------------------------------------------------------------

SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.sampled_from(WORDS),
    st.sampled_from(["/auth/login", "javascript:alert(1)", "file:///etc/passwd", "{{ email }}", "{{ x.y }}"]),
    st.text(max_size=20),
)
DOCUMENT = st.recursive(
    SCALAR,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(st.one_of(st.sampled_from(WORDS), st.text(max_size=8)), children, max_size=6),
    ),
    max_leaves=40,
)


def assert_loads_or_refuses(text: str, source: str = "fuzz.yaml") -> None:
    """Loading either succeeds or raises RunbookLoadError (exit 2) with a message; nothing else escapes."""
    try:
        load_text(text, source, catalog=Catalog([builtin_runbooks()]))
    except RunbookLoadError as exc:
        assert exc.exit_code == 2 and exc.message and str(exc).startswith(source)
    except RunbookError as exc:  # pragma: no cover - a failure message, should it ever happen
        pytest.fail(f"{type(exc).__name__} is not a load error: {exc}")


@FUZZ
@given(document=DOCUMENT)
def test_fuzz_random_yaml_structures_load_or_are_refused(document: Any) -> None:
    assert_loads_or_refuses(yaml.safe_dump(document, allow_unicode=True))


@FUZZ
@given(document=st.fixed_dictionaries({"name": st.just("x"), "title": st.just("t"), "app": st.just("portal"),
                                       "outcomes": st.just({"done": {"status": "resolved"}}),
                                       "steps": st.lists(DOCUMENT, max_size=4)}))  # fmt: skip
def test_fuzz_random_steps_load_or_are_refused(document: Any) -> None:
    assert_loads_or_refuses(yaml.safe_dump(document, allow_unicode=True))


MUTATION_TOKENS = st.sampled_from(
    [":", "- ", "[", "]", "{", "}", "&a ", "*a", "*b", "<<: *a", "\t", "  ", "on: ", "'", '"', "|", ">", "\n",
     "!!binary ", "!!python/object:os.system ", "{{", "}}", "goto: javascript:x", "9" * 5000, "&a [*a]"]
)  # fmt: skip


@st.composite
def mutated_runbook(draw: st.DrawFn) -> str:
    """A shipped runbook with a few random edits: deletions, insertions, repeated or swapped lines."""
    text = draw(st.sampled_from(SHIPPED)).read_text(encoding="utf-8")
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["delete", "insert", "repeat", "swap"]))
        at = draw(st.integers(0, len(text)))
        if kind == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 40)) :]
        elif kind == "insert":
            text = text[:at] + draw(st.one_of(MUTATION_TOKENS, ODD, st.text(max_size=6))) + text[at:]
        else:
            lines = text.splitlines(keepends=True)
            i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
            if kind == "repeat":
                lines.insert(j, lines[i])
            else:
                lines[i], lines[j] = lines[j], lines[i]
            text = "".join(lines)
    return text


@FUZZ
@given(text=mutated_runbook())
def test_fuzz_mutated_runbooks_load_or_are_refused(text: str) -> None:
    assert_loads_or_refuses(text)


@st.composite
def alias_graph(draw: st.DrawFn) -> str:
    """Anchors whose values alias earlier anchors, many times over: billion laughs and its cousins."""
    lines = ["a0: &a0 [lol, lol]"]
    for n in range(1, draw(st.integers(1, 12))):
        refs = draw(st.lists(st.integers(0, n), min_size=1, max_size=12))  # n itself: a loop
        inner = ", ".join(f"*a{r}" for r in refs)
        lines.append(f"a{n}: &a{n} " + ("{" + f"k: [{inner}]" + "}" if draw(st.booleans()) else f"[{inner}]"))
    return "\n".join(lines) + "\n"


@FUZZ
@given(text=alias_graph())
def test_fuzz_alias_graphs_are_bounded(text: str) -> None:
    assert_loads_or_refuses(text)


@FUZZ
@given(data=st.binary(max_size=300), head=st.sampled_from([b"", b"name: x\nsteps:\n  - "]))
def test_fuzz_arbitrary_bytes_in_a_catalog_file(tmp_path: Path, data: bytes, head: bytes) -> None:
    file = tmp_path / "fuzz.yaml"
    file.write_bytes(head + data)
    try:
        Catalog([tmp_path]).load_file(file)
    except RunbookLoadError as exc:
        assert exc.exit_code == 2 and re.match(r"^\S*fuzz\.yaml", str(exc))
