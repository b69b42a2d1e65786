"""How long `runbook sandbox serve` takes to answer on both apps (the target: under 2 s). Prints, asserts nothing.

.venv/bin/python bench/bench_sandbox.py [N]
"""

from __future__ import annotations

import os
import re
import signal
import statistics
import subprocess
import sys
import time

import httpx


def once() -> float:
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "automation.cli", "sandbox", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    urls = []
    assert proc.stdout is not None
    for line in proc.stdout:
        urls += (
            re.findall(r"http://127\.0\.0\.1:\d+", line) if line.startswith(("portal", "netsuite")) else []
        )
        if len(urls) == 2:
            break
    for url in urls:
        httpx.get(url + "/_sandbox/health").raise_for_status()
    elapsed = time.perf_counter() - started
    os.killpg(proc.pid, signal.SIGINT)
    proc.wait(timeout=20)
    return elapsed


def main(n: int = 5) -> None:
    times = [once() for _ in range(n)]
    print(
        f"sandbox serve, start to both apps answering: median {statistics.median(times):.2f} s "
        f"(min {min(times):.2f}, max {max(times):.2f}; target under 2 s = {statistics.median(times) / 2:.2f}x budget)"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
