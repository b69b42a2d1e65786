"""All benchmarks, one after the other (make bench). Each prints ratios; none asserts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent

for script in ("bench_sandbox.py", "bench_engine.py", "bench_redaction.py", "bench_checks.py"):
    print(f"== {script}", flush=True)
    subprocess.run([sys.executable, str(HERE / script)], check=True)
