"""Loading runbooks: every mistake is reported with file:line:column, the key, and a suggestion."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from automation.catalog import Catalog, load_runbook
from automation.errors import RunbookLoadError
from automation.loader import load_text
from automation.paths import builtin_runbooks
from automation.yamlfile import MAX_YAML_BYTES, parse_yaml, read_yaml_text

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


# -- hostile or broken YAML: a clean file:line error, bounded work, never a traceback ----------------------

LAUGHS = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
)


def test_billion_laughs_is_refused_before_it_expands() -> None:
    err = error_of(LAUGHS)
    assert "aliases expand this to more than" in str(err) and err.line is not None


def test_many_aliases_are_refused() -> None:
    err = error_of("a: &a x\nb: [" + ", ".join(["*a"] * 200) + "]\n")
    assert "more than 100 aliases" in str(err) and err.line == 2


@pytest.mark.parametrize("text", ["a: &a [*a]\n", "a: &a {b: {c: *a}}\n"])
def test_recursive_alias_is_refused(text: str) -> None:
    err = error_of(text)
    assert "refers to the node that contains it" in str(err) and err.line == 1


@pytest.mark.parametrize("text", ["[" * 5000 + "]" * 5000, "".join("  " * i + "-\n" for i in range(100))])
def test_deep_nesting_is_refused_with_its_line(text: str) -> None:
    err = error_of(text)
    assert "nested more than 64 levels deep" in str(err) and err.line is not None


def test_aliases_that_nest_too_deep_together_are_refused() -> None:
    deep = "[" * 40 + "1" + "]" * 40
    err = error_of(f"a: &a {deep}\nb: {'[' * 40}*a{']' * 40}\n")
    assert "aliases nest this more than 64 levels deep" in str(err)


def test_duplicate_key_names_the_line_of_the_second() -> None:
    err = error_of(HEAD + "steps:\n  - goto: /\napp: netsuite\n")
    assert (err.line, err.column) == (7, 1)
    assert "duplicate key 'app' (first at line 3)" in str(err)


def test_integer_python_cannot_convert_is_a_load_error() -> None:
    err = error_of("name: " + "9" * 5000 + "\n")
    assert err.line == 1 and "cannot be read" in str(err)


def test_control_character_in_the_text_names_its_place() -> None:
    err = error_of("name: x\ntitle: a\x07b\n")
    assert (err.line, err.column) == (2, 9) and "U+0007" in str(err)


def test_non_utf8_file_names_the_line_of_the_bad_byte(tmp_path: Path) -> None:
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes(HEAD.encode() + "steps:\n  - say: Caf\xe9\n".encode("latin-1"))
    with pytest.raises(RunbookLoadError) as info:
        Catalog([tmp_path]).load_file(bad)
    assert info.value.line == 6 and "byte 0xE9 is not UTF-8" in str(info.value)


def test_file_over_the_size_limit_is_refused_unread(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_text(HEAD + "description: " + "x" * (MAX_YAML_BYTES + 10) + "\nsteps: []\n")
    with pytest.raises(RunbookLoadError, match="too big"):
        read_yaml_text(big)


def test_a_fifo_is_refused_rather_than_waited_on(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    with pytest.raises(RunbookLoadError, match="not a regular file"):
        read_yaml_text(fifo)


def test_parse_yaml_gives_data_and_key_positions() -> None:
    data, positions = parse_yaml("a:\n  b: [1, 2]\n", "any.yaml")
    assert data == {"a": {"b": [1, 2]}} and positions[("a", "b")] == (2, 3)


def test_on_is_a_key_and_yes_a_string_as_in_yaml_1_2() -> None:
    loaded = load_text(
        HEAD + "steps:\n  - press: Enter\n    on: {label: Email}\n  - say: yes\n  - end: done\n"
    )
    press = loaded.model.steps[0]
    assert press.on is not None and press.on.label == "Email"  # type: ignore[attr-defined]
    assert loaded.model.steps[1].say == "yes"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "goto",
    [
        "file:///etc/passwd",
        "chrome://version",
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "' javascript:alert(1)'",
        '"java\\nscript:alert(1)"',
        "data:text/html,hi",
        "'file://{{ email }}'",
    ],
)
def test_goto_refuses_anything_but_app_paths_and_http_urls(goto: str) -> None:
    err = error_of(HEAD + "inputs: {email: {type: email}}\nsteps:\n  - goto: " + goto + "\n")
    assert err.line == 7 and "step 1 (goto)" in str(err)
    assert "http(s) URL can be opened" in str(err) or "control character" in str(err)


@pytest.mark.parametrize("goto", ["/auth/login?next=a:b", "https://app.example.com/x", "'{{ link }}'"])
def test_goto_accepts_paths_http_urls_and_templates(goto: str) -> None:
    load_text(HEAD + "inputs: {link: {type: string}}\nsteps:\n  - goto: " + goto + "\n")


def test_a_broken_file_in_the_catalog_does_not_stop_the_others(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text(HEAD.replace("name: x", "name: good") + "steps:\n  - end: done\n")
    (tmp_path / "bomb.yaml").write_text("name: bomb\nsteps: []\n" + LAUGHS)
    (tmp_path / "latin1.yaml").write_bytes(b"name: caf\xe9\nsteps: []\n")
    catalog = Catalog([tmp_path])
    loaded, problems = catalog.load_all()
    assert [r.name for r in loaded] == ["good"]
    assert sorted(Path(p.path or "").name for p in problems) == ["bomb.yaml", "latin1.yaml"]
    assert all(p.line for p in problems)
    assert catalog.get("good").name == "good"


def test_a_folder_given_as_a_runbook_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RunbookLoadError, match="not a regular file"):
        load_runbook(tmp_path)


def test_a_key_in_the_wrong_place_says_where_it_belongs_not_itself() -> None:
    err = error_of(HEAD + "inputs:\n  code: {type: string, check_before_run: false}\nsteps:\n  - goto: /\n")
    assert "did you mean check_before_run" not in str(err)
    assert "'check_before_run' belongs on an ask step" in str(err) and err.line == 6


def test_load_errors_number_steps_as_the_run_does() -> None:
    # the terminal and run.json number the third step 3, a branch arm's second step 3.2, finally's first f1
    err = error_of(HEAD + "steps:\n  - goto: /\n  - say: a\n  - clik: {text: Go}\n")
    assert "step 3:" in str(err) and "steps.2" not in str(err)
    arm = "      when:\n        - text: hi\n          steps:\n            - say: x\n            - clik: {text: Go}\n"
    err = error_of(HEAD + "steps:\n  - goto: /\n  - say: a\n  - branch:\n" + arm)
    assert "step 3.2:" in str(err) and err.line == 13
    err = error_of(HEAD + "steps:\n  - goto: /\nfinally:\n  - fill: {label: Email, lable: x}\n    with: a\n")
    assert "step f1 (fill.lable):" in str(err)


def test_an_unknown_name_says_which_folders_were_searched(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text(HEAD.replace("name: x", "name: good") + "steps:\n  - end: done\n")
    missing = tmp_path / "elsewhere"
    with pytest.raises(RunbookLoadError) as info:
        Catalog([tmp_path, missing]).get("goods")
    message = info.value.message
    assert "no runbook named 'goods' (did you mean good?); known: good" in message
    assert f"(looked in: {tmp_path}, {missing} (not a folder))" in message


def test_an_empty_catalog_says_where_it_looked_and_how_to_add_runbooks(tmp_path: Path) -> None:
    with pytest.raises(RunbookLoadError) as info:
        Catalog([tmp_path]).get("resend-verify")
    message = info.value.message
    assert f"the catalog is empty (looked in: {tmp_path})" in message
    assert "--catalog DIR" in message and "RUNBOOK_PATH" in message and "runbook init" in message


def test_without_runbooks_here_the_default_catalog_is_the_built_in_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RUNBOOK_PATH", raising=False)
    catalog = Catalog.default()
    assert catalog.roots[-1] == builtin_runbooks()
    assert "resend-verify" in catalog.names()


def test_list_of_an_empty_catalog_says_where_it_looked(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from automation.cli.app import app

    monkeypatch.setenv("RUNBOOK_PATH", str(tmp_path))
    result = CliRunner().invoke(app, ["list"])
    assert result.exit_code == 0
    assert f"looked in: {tmp_path}" in result.stderr and "runbook init" in result.stderr
