"""axe-core in a Playwright page (axe-playwright-python): the serious and critical violations, as lines."""

from __future__ import annotations

from typing import Any


def serious_violations(page: Any) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    violations = Axe().run(page).response["violations"]
    return [f"{v['id']}: {v['help']}" for v in violations if v["impact"] in ("serious", "critical")]
