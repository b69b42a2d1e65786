"""Conditions on what the page shows, checked without waiting so that a branch can poll them together."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from automation.engine.locators import to_playwright
from automation.schema import Condition, Expectation
from automation.templating import TemplateError, render


@dataclass
class DialogSeen:
    """A native alert/confirm the page opened, as the engine answered it."""

    kind: str
    message: str
    answered: str
    consumed: bool = False


def url_matches(url: str, pattern: str) -> bool:
    """A path (/auth/login) matches the URL's path; a glob (**/verify*) the whole URL or its path."""
    path = urlparse(url).path
    if any(ch in pattern for ch in "*?["):
        glob = pattern.replace("**", "*")
        return fnmatch.fnmatchcase(url, glob) or fnmatch.fnmatchcase(path, glob)
    if pattern.startswith(("http://", "https://")):
        return url.startswith(pattern)
    return path.rstrip("/") == pattern.rstrip("/") or path.startswith(pattern.rstrip("/") + "/")


def _visible(page: Any, loc: Any, variables: Mapping[str, Any]) -> bool:
    # .first: a condition asks "is one there", strictness is for actions
    return bool(to_playwright(page, loc, variables).first.is_visible())


def _same(actual: Any, expected: Any) -> bool:
    def norm(v: Any) -> str:
        if isinstance(v, bool):
            return "yes" if v else "no"
        text = str(v).strip().lower()
        return {"true": "yes", "y": "yes", "false": "no", "n": "no"}.get(text, text)

    return norm(actual) == norm(expected)


def holds(page: Any, cond: Condition, variables: Mapping[str, Any], dialogs: list[DialogSeen]) -> bool:
    """Whether the condition holds right now (no waiting)."""
    if cond.visible is not None:
        return _visible(page, cond.visible, variables)
    if cond.hidden is not None:
        return not _visible(page, cond.hidden, variables)
    if cond.text is not None:
        return bool(page.get_by_text(render(cond.text, variables)).first.is_visible())
    if cond.url is not None:
        return url_matches(page.url, render(cond.url, variables))
    if cond.dialog is not None:
        wanted = render(cond.dialog, variables).lower()
        return any(not d.consumed and wanted in d.message.lower() for d in dialogs)
    if cond.equals is not None:
        return all(_same(variables.get(k), v) for k, v in cond.equals.items())
    return False


def wake_on(page: Any, conds: Sequence[Condition], variables: Mapping[str, Any]) -> Any | None:
    """A locator that becomes visible when one of the conditions comes to hold (a `visible` or a `text`), for a
    wait that the page's change ends at once instead of the next poll; None if no condition has one. Each is
    its `.first`, as `holds` checks it."""
    found = []
    for cond in conds:
        try:
            if cond.visible is not None:
                found.append(to_playwright(page, cond.visible, variables).first)
            elif cond.text is not None:
                found.append(page.get_by_text(render(cond.text, variables)).first)
        except TemplateError:  # checked in its turn, which says what is missing; an earlier one may hold
            continue
    if not found:
        return None
    either = found[0]
    for other in found[1:]:
        either = either.or_(other)
    return either.first


def expectation_holds(
    page: Any, exp: Expectation, variables: Mapping[str, Any], dialogs: list[DialogSeen]
) -> bool:
    """Condition, or a field's value / an element's text."""
    if exp.of is not None and (exp.value is not None or exp.contains is not None):
        target = to_playwright(page, exp.of, variables).first
        if not target.is_visible():
            return False
        if exp.value is not None:
            return bool(target.input_value(timeout=1000) == render(exp.value, variables))
        return render(exp.contains or "", variables).lower() in target.inner_text(timeout=1000).lower()
    return holds(page, exp, variables, dialogs)
