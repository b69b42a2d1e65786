"""How long the tests' independent secrets scanner (tests/support/leakscan.py) takes over generated evidence:
CPU seconds for 50 MB like a day of runs, and for 50 MB of text-heavy traces (every line decodes). Prints; never
asserts.

    .venv/bin/python bench/bench_leakscan.py        BENCH_QUICK=1: 10 MB
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.evidence_maker import make_evidence  # noqa: E402
from support.leakscan import scan  # noqa: E402

SECRETS = ["Pa ss/wörd&<1!", "123456", "deadbeef"]


def main() -> None:
    megabytes = 10 if os.environ.get("BENCH_QUICK") else 50
    for text_heavy in (False, True):
        with tempfile.TemporaryDirectory() as folder:
            make_evidence(Path(folder), megabytes, text_heavy=text_heavy)
            started = time.process_time()
            findings = scan([Path(folder)], SECRETS)
            took = time.process_time() - started
        kind = "text-heavy traces" if text_heavy else "like a day of runs"
        print(
            f"leakscan: {megabytes} MB {kind}: {took:.1f} s CPU ({'clean' if findings.clean else 'FINDINGS'})"
        )


if __name__ == "__main__":
    main()
