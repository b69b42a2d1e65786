"""Run in a subprocess by test_browser_pool.py: a run whose Chromium the test kills mid-run (when the page
its step 2 opens is held), a run again in the same pool, then one in a worker thread (its own pool). Prints
one JSON object."""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path
from typing import Any

from automation.api import run
from automation.catalog import Catalog
from automation.engine.browser import close_pool, pool
from automation.environments import Target


def _summary(result: Any) -> dict[str, Any]:
    return {
        "status": result.status,
        "exit_code": result.exit_code,
        "error": result.error,
        "steps": [s.status for s in result.steps],
        "folder": result.evidence_dir,
    }


def main() -> None:
    lab, books, traces = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    target = Target(name="lab", apps={"lab": lab})
    catalog = Catalog([books])

    def go(name: str, where: Path) -> Any:
        return run(name, {}, target=target, catalog=catalog, evidence_root=where, data_dir=where / "data")

    out: dict[str, Any] = {}
    first = pool().browser()
    out["crashed"] = _summary(go("long-wait", traces / "crash"))
    out["again"] = _summary(go("quick", traces / "again"))
    out["new_browser"] = pool().browser() is not first

    def in_thread() -> None:
        try:
            out["thread_pool_is_own"] = pool() is not main_pool
            out["thread"] = _summary(go("quick", traces / "thread"))
        finally:
            close_pool()

    main_pool = pool()
    worker = threading.Thread(target=in_thread)
    worker.start()
    worker.join()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
