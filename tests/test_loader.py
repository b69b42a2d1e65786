"""Loading runbooks: every mistake is reported with file:line:column, the key, and a suggestion."""

from __future__ import annotations

from pathlib import Path

import pytest

from automation.errors import RunbookLoadError
from automation.loader import Catalog, load_runbook, load_text

HEAD = "name: x\ntitle: t\napp: portal\noutcomes: {done: {status: resolved}}\n"


def error_of(text: str, source: str = "x.yaml") -> RunbookLoadError:
    with pytest.raises(RunbookLoadError) as info:
        load_text(text, source)
    return info.value


def test_malformed_yaml_names_file_line_and_column() -> None:
    err = error_of("name: x\ntitle: t\n  app: portal\n")
    assert (err.path, err.line, err.column) == ("x.yaml", 3, 6)
    assert "not valid YAML" in str(err) and "  app: portal" in str(err)


def test_unknown_step_suggests_the_nearest_action() -> None:
    err = error_of(HEAD + "steps:\n  - goto: /\n  - fil: {label: Email}\n    with: a\n")
    assert err.line == 7 and "did you mean fill?" in str(err)


def test_step_with_two_actions_is_refused() -> None:
    err = error_of(HEAD + "steps:\n  - goto: /\n    click: {text: Go}\n")
    assert "goto and click" in str(err) and err.line == 6


def test_unknown_key_inside_a_step_is_pointed_at() -> None:
    err = error_of(HEAD + "steps:\n  - fill: {label: Email, lable: x}\n    with: a\n")
    assert "unknown key 'lable'" in str(err) and (err.line, err.column) == (6, 26)


def test_unknown_variable_is_a_load_error() -> None:
    err = error_of(
        HEAD + "inputs: {email: {type: email}}\nsteps:\n  - fill: {label: Email}\n    with: '{{ emial }}'\n"
    )
    assert "unknown variable 'emial'" in str(err) and "did you mean email?" in str(err) and err.line == 7


def test_variable_from_an_earlier_ask_is_known() -> None:
    loaded = load_text(
        HEAD + "steps:\n  - ask: code\n    prompt: Code?\n  - fill: {label: Code}\n    with: '{{ code }}'\n"
    )
    assert loaded.name == "x"


def test_template_with_an_expression_is_refused() -> None:
    err = error_of(HEAD + "steps:\n  - goto: '/{{ 1 + 1 }}'\n")
    assert "not a variable name" in str(err)


def test_unknown_outcome_suggests_a_declared_one() -> None:
    err = error_of(HEAD + "steps:\n  - end: don\n")
    assert "unknown outcome 'don'" in str(err) and "did you mean done?" in str(err)


def test_retry_on_a_submitting_click_needs_safe_to_repeat() -> None:
    err = error_of(HEAD + "steps:\n  - click: {role: button, name: Save}\n    retry: {attempts: 3}\n")
    assert "safe_to_repeat" in str(err)
    ok = (
        HEAD
        + "steps:\n  - click: {role: button, name: Save}\n    retry: {attempts: 3}\n    safe_to_repeat: true\n"
    )
    assert load_text(ok).model.steps[0].retry.attempts == 3


def test_secret_written_into_the_runbook_is_refused() -> None:
    err = error_of(
        HEAD + "steps:\n  - fill: {label: Password}\n    with: Hunter2-Secret!\n    secret: true\n"
    )
    assert "secret value is written into the runbook" in str(err)


def test_locator_needs_exactly_one_kind() -> None:
    err = error_of(HEAD + "steps:\n  - click: {label: A, text: B}\n")
    assert "exactly one of role, label" in str(err)


def test_bad_duration_is_explained() -> None:
    err = error_of(HEAD + "steps:\n  - goto: /\n    timeout: soon\n")
    assert "'soon' is not a duration" in str(err)


def test_use_checks_the_sub_runbooks_inputs(tmp_path: Path) -> None:
    (tmp_path / "sub.yaml").write_text(
        "name: sub\ntitle: s\napp: portal\ninputs: {email: {type: email}}\noutputs: [token]\n"
        "outcomes: {ok: {status: resolved}, nope: {status: failed}}\nsteps:\n  - end: ok\n"
    )
    main = tmp_path / "main.yaml"
    main.write_text(HEAD + "steps:\n  - use: sub\n    with: {emial: a@b.c}\n")
    with pytest.raises(RunbookLoadError, match="sub has no input 'emial' \\(did you mean email\\?\\)"):
        load_runbook(main, catalog=Catalog([tmp_path]))
    main.write_text(HEAD + "steps:\n  - use: sub\n    with: {email: a@b.c}\n")
    with pytest.raises(RunbookLoadError, match="can end in 'nope' \\(failed\\)"):
        load_runbook(main, catalog=Catalog([tmp_path]))
    main.write_text(
        HEAD
        + "steps:\n  - use: sub\n    with: {email: a@b.c}\n    outputs: [token]\n    then: {nope: done}\n"
    )
    assert load_runbook(main, catalog=Catalog([tmp_path])).name == "x"


def test_case_expecting_an_undeclared_outcome_is_refused() -> None:
    err = error_of(HEAD + "steps:\n  - end: done\ncases:\n  - name: c\n    expect: resolved\n")
    assert "case 'c' expects unknown outcome 'resolved'" in str(err)


def test_every_shipped_runbook_validates() -> None:
    names = Catalog.default().names()
    assert "resend-verify" in names
    for loaded in Catalog.default().all():
        assert loaded.model.outcomes and loaded.model.steps


def test_published_json_schema_matches_the_models() -> None:
    import json

    from automation.schema import json_schema

    published = Path(__file__).resolve().parent.parent / "runbooks" / "runbook.schema.json"
    assert json.loads(published.read_text()) == json_schema(), (
        "run: runbook schema > runbooks/runbook.schema.json"
    )


def test_every_declared_outcome_has_an_example_case() -> None:
    for loaded in Catalog.default().all():
        covered = {case.expect for case in loaded.model.cases}
        assert covered == set(loaded.model.outcomes), (
            f"{loaded.name}: no case for {set(loaded.model.outcomes) - covered}"
        )


def test_invalid_regular_expression_in_an_input_is_a_load_error() -> None:
    err = error_of(HEAD + "inputs: {code: {type: string, pattern: '(\\d{6}'}}\nsteps:\n  - goto: /\n")
    assert "not a valid regular expression" in str(err) and err.line == 5
