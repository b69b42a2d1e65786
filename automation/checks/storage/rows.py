"""Rows of the history store to the model's dataclasses and back: runs with their attempts and steps, and the
JSON kept for the dataclasses stored whole (CheckState, Notification). Kept apart from history.py, which holds
the queries; the tables are automation.store.tables.history.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Table, insert, select
from sqlalchemy.engine import Connection

from automation.checks.model import Attempt, CheckRun, StepTiming
from automation.store.tables.history import attempts, runs, steps, utc

# -- rows <-> model -------------------------------------------------------------------------------------------
# Attempt and StepTiming fields map to same-named columns; a field added to the model later is simply not
# stored until a column is added for it (and reads back as its default).


def insert_run(conn: Connection, run: CheckRun) -> int:
    row = columns_of(runs, run) | {"check_name": run.check, "slow_steps": json.dumps(list(run.slow_steps))}
    row.pop("id", None)
    key = conn.execute(insert(runs).values(**row)).inserted_primary_key
    assert key is not None
    run_id = int(key[0])
    if run.attempts:
        conn.execute(
            insert(attempts), [columns_of(attempts, a) | {"check_run_id": run_id} for a in run.attempts]
        )
    if run.steps:
        rows = [
            columns_of(steps, s) | {"check_run_id": run_id, "position": i} for i, s in enumerate(run.steps)
        ]
        conn.execute(insert(steps), rows)
    return run_id


def columns_of(table: Table, obj: Any) -> dict[str, Any]:
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj) if f.name in table.c}


def from_row(cls: Any, row: Any) -> Any:
    return cls(**{f.name: row[f.name] for f in dataclasses.fields(cls) if f.name in row})


def load_runs(conn: Connection, rows: Any) -> list[CheckRun]:
    ids = [r["id"] for r in rows]
    tried: dict[int, list[Attempt]] = {i: [] for i in ids}
    timed: dict[int, list[StepTiming]] = {i: [] for i in ids}
    for chunk in chunks(ids):
        query = select(attempts).where(attempts.c.check_run_id.in_(chunk)).order_by(attempts.c.number)
        for a in conn.execute(query).mappings():
            tried[a["check_run_id"]].append(from_row(Attempt, a))
        query = select(steps).where(steps.c.check_run_id.in_(chunk)).order_by(steps.c.position)
        for s in conn.execute(query).mappings():
            timed[s["check_run_id"]].append(from_row(StepTiming, {**s, "slow": bool(s["slow"])}))
    return [
        from_row(
            CheckRun,
            {
                **r,
                "check": r["check_name"],
                "slow_steps": tuple(json.loads(r["slow_steps"])),
                "attempts": tuple(tried[r["id"]]),
                "steps": tuple(timed[r["id"]]),
            },
        )
        for r in rows
    ]


def evidence_dirs(conn: Connection, run_ids: list[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for chunk in chunks(run_ids):
        query = select(attempts.c.check_run_id, attempts.c.evidence_dir).where(
            attempts.c.check_run_id.in_(chunk), attempts.c.evidence_dir.is_not(None)
        )
        for run_id, folder in conn.execute(query):
            found.setdefault(run_id, []).append(folder)
    return found


# JSON for the dataclasses kept whole (CheckState, Notification): datetimes tagged, lists back to tuples, and
# unknown keys ignored, so fields added to the model later with defaults read old rows unchanged.


def encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$dt": utc(value).isoformat()}
    if isinstance(value, tuple | list):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {k: encode(v) for k, v in value.items()}
    return value


def decode(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$dt"}:
            return datetime.fromisoformat(value["$dt"])
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return tuple(decode(v) for v in value)
    return value


def to_json(obj: Any) -> str:
    return json.dumps({f.name: encode(getattr(obj, f.name)) for f in dataclasses.fields(obj)})


def from_json(cls: Any, raw: str) -> Any:
    data = json.loads(raw)
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: decode(v) for k, v in data.items() if k in names})


def chunks(items: list[int], size: int = 500) -> Iterator[list[int]]:
    # SQLite caps the number of bound parameters in one statement.
    for start in range(0, len(items), size):
        yield items[start : start + size]
