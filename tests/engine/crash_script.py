"""Run in a subprocess by test_browser_pool.py: kill Chromium mid-run, run again in the same pool, then run
in a worker thread (its own pool). Prints one JSON object."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from automation.api import run
from automation.catalog import Catalog
from automation.engine.browser import close_pool, pool
from automation.environments import Target


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        tree.setdefault(parent, []).append(int(entry.name))
    return tree


def _browser_pids() -> list[int]:
    """Chromium's main processes (not its helpers, which carry --type=) among this process's descendants
    only: the machine may run other browsers, which are none of this test's business."""
    tree, found, todo = _children(), [], [os.getpid()]
    while todo:
        for child in tree.get(todo.pop(), []):
            todo.append(child)
            try:
                argv = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"chrom" in argv[0] and not any(a.startswith(b"--type=") for a in argv):
                found.append(child)
    return found


def _kill_browser_once_waiting(traces: Path) -> None:
    while not list(traces.glob("*/screenshots/001-*.png")):
        time.sleep(0.1)
    time.sleep(0.5)  # inside the long wait of step 2
    for pid in _browser_pids():
        try:
            os.kill(pid, signal.SIGKILL)  # the browser process itself: its helpers go with it
        except ProcessLookupError:
            pass


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
    killer = threading.Thread(target=_kill_browser_once_waiting, args=(traces / "crash",), daemon=True)
    killer.start()
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
