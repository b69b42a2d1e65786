"""Where a runbook load error points and what it says: pydantic's errors in the words of the language (the
nearest valid name, where a misplaced key belongs), and a step named by the number a run gives it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from automation.errors import RunbookLoadError
from automation.yamlfile import Path_, Where, data_path, error_at, error_at_key, suggest, vocabulary

if TYPE_CHECKING:
    from pydantic import ValidationError


def error_at_step(
    message: str, source: str, text: str, positions: dict[Path_, tuple[int, int]], where: Path_
) -> RunbookLoadError:
    """The error at `where`'s line, its step named by the number the terminal and run.json show."""
    at = error_at_key(message, source, text, positions, where)
    number, rest = step_number(where)
    if number is None:
        return at
    inside = f" ({'.'.join(str(p) for p in rest)})" if rest else ""
    return error_at(f"step {number}{inside}: {message}", source, text, at.line, at.column)


class RunbookWhere(Where):
    """A runbook file being read: its errors name a step by the number a run gives it."""

    def error(self, message: str, path: Path_) -> RunbookLoadError:
        return error_at_step(message, self.source, self.text, self.positions, path)


def step_number(where: Path_) -> tuple[str | None, Path_]:
    """('steps', 3, 'fill') -> ('4', ('fill',)): the 1-based number a run gives that step ("4.2" in a
    branch arm, "f1" in finally:), and the keys inside it; (None, where) outside the steps."""
    if len(where) < 2 or where[0] not in ("steps", "finally") or not isinstance(where[1], int):
        return None, where
    number = ("f" if where[0] == "finally" else "") + str(where[1] + 1)
    rest = where[2:]
    while True:  # into a branch arm: ..., 'branch', 'when', a, 'steps', j  or  'branch', 'else', 'steps', j
        if rest[:2] == ("branch", "when") and len(rest) >= 5 and rest[3] == "steps":
            index = rest[4]
            rest = rest[5:]
        elif rest[:3] == ("branch", "else", "steps") and len(rest) >= 4:
            index = rest[3]
            rest = rest[4:]
        else:
            return number, rest
        if not isinstance(index, int):
            return number, rest
        number += f".{index + 1}"


# -- pydantic errors -> our messages ---------------------------------------------------------------------


def _words() -> list[str]:
    """Every word of the runbook language: the actions and the keys of the runbook and its steps."""
    from automation.schema import ACTIONS, Runbook

    return sorted({*ACTIONS, *vocabulary([*ACTIONS.values(), Runbook])})


def _places() -> dict[str, list[type[Any]]]:
    """Where each key of the language may be written, as the models that declare it."""
    from automation.schema import ACTIONS, Case, FromMail, Input, Locator, Outcome, Runbook, StepBase

    places: dict[str, list[type[Any]]] = {}
    for model in (Runbook, Input, Outcome, Case, Locator, FromMail, StepBase, *ACTIONS.values()):
        for name, info in model.model_fields.items():
            key = info.alias or name
            if model is not StepBase and key in StepBase.model_fields:
                continue  # a common option belongs to every step, said once
            places.setdefault(key, []).append(model)
    return places


def _place_name(model: type[Any]) -> str:
    from automation.schema import ACTIONS, Case, FromMail, Input, Locator, Outcome, Runbook, StepBase

    named = {
        Runbook: "the top level of the runbook",
        Input: "an input",
        Outcome: "an outcome",
        Case: "a case",
        Locator: "a locator",
        FromMail: "from_mail:",
        StepBase: "any step",
    }
    if model in named:
        return named[model]
    action = next(a for a, m in ACTIONS.items() if m is model)
    return f"an {action} step" if action[0] in "aeiou" else f"a {action} step"


def _misplaced(key: str) -> str:
    """'; it belongs on an ask step' for a key of the language written in the wrong place, else ''."""
    models = _places().get(key)
    if not models:
        return ""
    where = sorted({_place_name(m) for m in models})
    return f"; '{key}' belongs on {' or '.join(where)}, not here"


def _describe(error: dict[str, Any], data: Any, where: Path_) -> str:
    from automation.schema import ACTIONS, StepBase

    kind, loc = error["type"], error["loc"]
    key = where[-1] if where else None
    if kind == "extra_forbidden":
        bad = str(loc[-1])
        return f"unknown key '{bad}'{_misplaced(bad) or suggest(bad, _words())}"
    if kind == "unknown_step":
        step = _value_at(data, where)
        if isinstance(step, dict):
            actions = [k for k in step if k in ACTIONS]
            if len(actions) > 1:
                return f"a step does one thing: it has {' and '.join(actions)}; split it into steps"
            others = [k for k in step if k not in StepBase.model_fields]
            hint = suggest(str(others[0]), sorted(ACTIONS)) if others else ""
            return f"this step has no action ({', '.join(sorted(ACTIONS))}){hint}"
        return "a step must be a mapping such as {goto: /path}"
    if kind == "missing":
        return f"'{loc[-1]}' is required here"
    message = error["msg"].removeprefix("Value error, ")
    return f"'{key}': {message}" if key is not None else message


def _value_at(data: Any, where: Path_) -> Any:
    for part in where:
        data = data[part]
    return data


def validation_error(exc: ValidationError, data: Any, where: Where) -> RunbookLoadError:
    """The deepest of pydantic's errors, in the words of the language, at its step and line."""
    errors = exc.errors(include_url=False)
    # One clear message beats a union's worth of alternatives: report the deepest error first.
    errors.sort(key=lambda e: -len(e["loc"]))
    first = errors[0]
    path = data_path(data, first["loc"])
    message = _describe(first, data, path)
    extra = len({data_path(data, e["loc"]) for e in errors}) - 1
    if extra > 0:
        message += f" (and {extra} more problem{'s' if extra > 1 else ''})"
    return error_at_step(message, where.source, where.text, where.positions, path)
