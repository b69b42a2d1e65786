"""`{{ name }}` substitution over inputs and variables. No expressions, no code evaluation: by design."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_-]+)*)\s*\}\}")
_ANY_BRACES = re.compile(r"\{\{(.*?)\}\}")


class TemplateError(ValueError):
    """A template names an unknown variable, or has braces that are not a plain name. `name`: the dotted
    name that had no value, when that was the problem."""

    def __init__(self, message: str, name: str | None = None) -> None:
        super().__init__(message)
        self.name = name


def references(text: str) -> list[str]:
    """The variable names a template uses, in order (dotted names keep their first part)."""
    for inner in _ANY_BRACES.findall(text):
        if not PLACEHOLDER.fullmatch("{{" + inner + "}}"):
            raise TemplateError(
                f"'{{{{{inner}}}}}' is not a variable name: templates take {{{{ name }}}} only"
            )
    return [m.group(1) for m in PLACEHOLDER.finditer(text)]


def _lookup(variables: Mapping[str, Any], dotted: str) -> Any:
    head, *rest = dotted.split(".")
    if head not in variables or variables[head] is None:
        raise TemplateError(f"variable '{head}' has no value at this point of the run", dotted)
    value = variables[head]
    for part in rest:
        if not isinstance(value, Mapping) or part not in value:
            raise TemplateError(f"'{dotted}' has no value: '{part}' is not known", dotted)
        value = value[part]
    return value


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def render(text: str, variables: Mapping[str, Any]) -> str:
    """Substitute every {{ name }}; raises TemplateError for a name without a value."""
    return PLACEHOLDER.sub(lambda m: _text(_lookup(variables, m.group(1))), text)


def render_any(value: Any, variables: Mapping[str, Any]) -> Any:
    """Render strings inside lists and dicts; other values pass through."""
    if isinstance(value, str):
        return render(value, variables)
    if isinstance(value, list):
        return [render_any(v, variables) for v in value]
    if isinstance(value, dict):
        return {k: render_any(v, variables) for k, v in value.items()}
    return value
