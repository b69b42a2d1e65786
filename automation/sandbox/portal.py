"""Placeholder: the emulated portal (replaced by the full screens)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from .store import Section, Store, register

router = APIRouter()


def _seed(store: Store, data: dict[str, Any]) -> None:
    pass


SECTION = register(Section(name="portal", ddl="", tables=(), seed=_seed))
