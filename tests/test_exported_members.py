"""The public API is what automation/__init__.py exports: a change to it is a deliberate one."""

from __future__ import annotations

import automation


def test_all_exports_exist_and_are_sorted() -> None:
    assert automation.__all__ == sorted(automation.__all__)
    for name in automation.__all__:
        assert hasattr(automation, name), name


def test_importing_the_package_does_not_import_playwright_or_the_sandbox() -> None:
    import subprocess
    import sys

    code = "import sys, automation, automation.cli; print(sorted(m for m in sys.modules if m.split('.')[0] in ('playwright', 'fastapi', 'uvicorn')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
