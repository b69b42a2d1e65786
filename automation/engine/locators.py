"""Runbook locators -> Playwright's own locators (strict and auto-waiting, as Playwright makes them)."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from typing import Any

from automation.schema import Locator
from automation.templating import render


def to_playwright(page: Any, loc: Locator, variables: Mapping[str, Any]) -> Any:
    """The Playwright Locator for a runbook locator, with {{ variables }} rendered."""

    def r(value: str | None) -> str | None:
        return render(value, variables) if value is not None else None

    if loc.role:
        found = (
            page.get_by_role(loc.role, name=r(loc.name), exact=loc.exact)
            if loc.name
            else page.get_by_role(loc.role)
        )
    elif loc.label:
        found = page.get_by_label(r(loc.label), exact=loc.exact)
    elif loc.text:
        found = page.get_by_text(r(loc.text), exact=loc.exact)
    elif loc.placeholder:
        found = page.get_by_placeholder(r(loc.placeholder), exact=loc.exact)
    elif loc.test_id:
        found = page.get_by_test_id(r(loc.test_id))
    elif loc.title:
        found = page.get_by_title(r(loc.title), exact=loc.exact)
    else:
        found = page.locator(r(loc.css))
    return found.nth(loc.nth) if loc.nth is not None else found


# -- when a locator matches nothing: the names the page does have ---------------------------------------------

# Roles whose accessible name is the label of a form field (what `label:` finds).
FIELD_ROLES = frozenset(
    {"textbox", "searchbox", "combobox", "listbox", "checkbox", "radio", "spinbutton", "slider", "switch"}
)
_NODE = re.compile(r'^\s*- (?P<role>[a-z]+)(?: "(?P<name>(?:[^"\\]|\\.)*)")?')
_TEXT = re.compile(r"^\s*- text: (?P<text>.+)$")
_SNAPSHOT_TIMEOUT_MS = 2000
# The attributes `placeholder:`, `test_id:` and `title:` match, which the accessibility tree does not show.
_ATTRIBUTE_JS = (
    """([attr]) => Array.from(document.querySelectorAll('[' + attr + ']'), e => e.getAttribute(attr))"""
)
_ATTRIBUTES = {"placeholder": "placeholder", "test_id": "data-testid", "title": "title"}


def step_locator(step: Any) -> Locator | None:
    """The locator a step acts on, if it has one."""
    for key in ("fill", "click", "select", "check", "uncheck", "extract", "on"):
        value = getattr(step, key, None)
        if isinstance(value, Locator):
            return value
    return None


def page_names(page: Any, loc: Locator) -> list[str]:
    """The names on the page of the kind `loc` looks for: labels of fields for `label:`, names of buttons
    for `role: button`, and so on, from Playwright's accessibility snapshot. Empty if the page cannot say."""
    kind = _kind(loc)
    if kind in _ATTRIBUTES:
        found = quietly(lambda: page.evaluate(_ATTRIBUTE_JS, [_ATTRIBUTES[kind]]))
        return _unique(found or [])
    if kind not in ("label", "role", "text"):
        return []
    snapshot = quietly(lambda: page.locator("body").aria_snapshot(timeout=_SNAPSHOT_TIMEOUT_MS)) or ""
    names: list[str] = []
    for line in snapshot.splitlines():
        node, text = _NODE.match(line), _TEXT.match(line)
        if kind == "text" and text:
            names.append(text.group("text").strip().strip('"'))
        if not node or not node.group("name"):
            continue
        role, name = node.group("role"), node.group("name").replace('\\"', '"')
        if (
            (kind == "label" and role in FIELD_ROLES)
            or (kind == "role" and role == loc.role)
            or kind == "text"
        ):
            names.append(name)
    return _unique(names)


def nearest_names(page: Any, loc: Locator, variables: Mapping[str, Any], *, n: int = 3) -> str:
    """' (did you mean 'Username'?; the page's labels: Username, Password)' for a locator that matched
    nothing, or '' when the page has no names of that kind."""
    kind = _kind(loc)
    wanted = loc.name if kind == "role" else getattr(loc, kind, None)
    names = page_names(page, loc)
    if not names:
        return ""
    what = {
        "label": "labels of fields",
        "role": f"{loc.role} names",
        "text": "texts",
        "placeholder": "placeholders",
        "test_id": "test ids",
        "title": "titles",
    }[kind]
    close: list[str] = []
    if wanted:
        target = render(wanted, variables).lower()
        lowered = {name.lower(): name for name in names}
        close = [lowered[c] for c in difflib.get_close_matches(target, list(lowered), n=n, cutoff=0.6)]
    shown = ", ".join(f"'{name[:60]}'" for name in names[:8]) + (", ..." if len(names) > 8 else "")
    guess = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
    return f" ({guess}the page's {what}: {shown})"


def quietly(read: Callable[[], Any]) -> Any:
    """A read for a hint, or None: a hint never replaces the failure it explains (the page may be gone)."""
    try:
        return read()
    except Exception:  # noqa: BLE001 - any Playwright error, a closed page: there is just no hint
        return None


def _kind(loc: Locator) -> str:
    return next(
        k for k in ("role", "label", "text", "placeholder", "test_id", "title", "css") if getattr(loc, k)
    )


def _unique(names: list[Any]) -> list[str]:
    seen: dict[str, None] = {}
    for name in names:
        if isinstance(name, str) and name.strip():
            seen.setdefault(" ".join(name.split()), None)
    return list(seen)
