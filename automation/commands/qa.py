"""`runbook test`: the runbooks' cases as a pytest regression suite, collected by automation.pytest_plugin (which
also keeps each case's evidence and writes the report of a failing case)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from automation.errors import ConfigError


def default_paths() -> list[str]:
    """The catalog's runbook folders ($RUNBOOK_PATH, else ./runbooks, else the project's). Raises ConfigError."""
    from automation.catalog import Catalog

    roots = Catalog.default().roots
    if not roots:
        raise ConfigError(
            "no runbooks folder: give a path, run in a folder holding runbooks/, or set RUNBOOK_PATH"
        )
    return [str(root) for root in roots]


def pytest_args(
    paths: Sequence[str | Path] = (),
    *,
    keyword: str | None = None,
    workers: int | str | None = None,
    extra: Sequence[str] = (),
) -> list[str]:
    """The pytest command line for these options. Raises ConfigError when no path is given and none is found."""
    args = [str(p) for p in paths] or default_paths()
    if keyword:
        args += ["-k", keyword]
    if workers not in (None, 0, "0"):
        args += ["-n", str(workers)]  # pytest-xdist: one sandbox and one browser per worker
    return args + list(extra)


def run_tests(
    paths: Sequence[str | Path] = (),
    keyword: str | None = None,
    workers: int | str | None = None,
    extra: Sequence[str] = (),
) -> int:
    """Run the cases of the runbooks under `paths` with pytest; returns pytest's exit code. Raises ConfigError."""
    import pytest

    return int(pytest.main(pytest_args(paths, keyword=keyword, workers=workers, extra=extra)))
