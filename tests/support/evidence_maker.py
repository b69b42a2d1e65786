"""A folder of generated evidence like a day of runs, for the scanner's tests and its benchmark."""

from __future__ import annotations

import base64
import html
import json
import random
import sqlite3
import zipfile
from pathlib import Path


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def make_evidence(root: Path, megabytes: int, *, text_heavy: bool = False, seed: int = 1) -> None:
    """A folder like a day of runs, about `megabytes` MB: per run, screenshots (incompressible pictures), a
    report holding them inline as base64, a trace zip of JSON lines (timestamps, ids, hashes, URLs, HTML
    snapshots, cookies in base64), run.json; and a checks database. `text_heavy`: mostly traces, no pictures
    (the slowest kind of evidence to scan: every line decodes)."""
    rng = random.Random(seed)
    target, run, size = megabytes << 20, 0, 0

    def line() -> str:
        sha = f"{rng.getrandbits(160):040x}"
        url = f"http://127.0.0.1:8080/portal?next=%2Faccount%2F{rng.getrandbits(32)}&lang=en"
        kind = rng.random()
        if kind < 0.4:
            snapshot = f'["DIV",{{"class":"row"}},"Order &amp; invoice #{rng.getrandbits(20)}","\\n  "]'
            return json.dumps({"type": "frame-snapshot", "wallTime": 1712000000000 + rng.getrandbits(24),
                               "pageId": f"page@{sha[:32]}", "html": snapshot, "frameUrl": url})  # fmt: skip
        if kind < 0.7:
            return json.dumps({"type": "resource-snapshot", "_sha1": f"{sha}.png", "url": url,
                               "headers": [{"name": "cookie", "value": b64(rng.randbytes(24))}],
                               "time": rng.random() * 1000})  # fmt: skip
        return json.dumps(
            {"type": "log", "callId": f"call@{rng.getrandbits(16)}", "message": f"wait for {url}"}
        )

    while size < target:
        run += 1
        folder = root / f"20261204-0930{run:02d}-resend-verify-{rng.getrandbits(16):04x}"
        (folder / "screenshots").mkdir(parents=True)
        pictures = [] if text_heavy else [b"\x89PNG\r\n\x1a\n" + rng.randbytes(45_000) for _ in range(8)]
        for n, picture in enumerate(pictures):
            (folder / "screenshots" / f"{n:03d}-step.png").write_bytes(picture)
        with zipfile.ZipFile(folder / "trace.zip", "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("trace.trace", "\n".join(line() for _ in range(6000 if text_heavy else 400)))
            archive.writestr("trace.network", "\n".join(line() for _ in range(3000 if text_heavy else 200)))
            archive.writestr(f"resources/{rng.getrandbits(160):040x}.html", "<p>Welcome &amp; more</p>" * 80)
        steps = "".join(f"<tr><td>{html.escape(line())}</td></tr>" for _ in range(40))
        shots = "".join(f'<img src="data:image/png;base64,{b64(p)}">' for p in pictures)
        (folder / "report.html").write_text(f"<table>{steps}</table>{shots}")
        (folder / "run.json").write_text(json.dumps({"steps": [line() for _ in range(60)]}))
        size += sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    db = sqlite3.connect(root / "checks.db")
    db.execute("CREATE TABLE runs (id INTEGER PRIMARY KEY, check_name TEXT, summary TEXT, evidence TEXT)")
    db.executemany("INSERT INTO runs (check_name, summary, evidence) VALUES (?, ?, ?)",
                   [("portal-login", line(), f"/evidence/{i}") for i in range(2000)])  # fmt: skip
    db.commit()
    db.close()
