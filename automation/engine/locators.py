"""Runbook locators -> Playwright's own locators (strict and auto-waiting, as Playwright makes them)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..schema import Locator
from .templating import render


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
