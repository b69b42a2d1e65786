"""The layout's rules that import-linter does not check: module size, and no private name used across modules.

The layers themselves (imports point down, no cycles, a separate sandbox, frozen migrations) are import-linter
contracts in pyproject.toml, run by `make lint` and CI.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "automation"
MAX_LINES = 400
# One language definition, read as a whole: the runbook schema.
EXEMPT = {"schema.py"}


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "builtin" not in p.parts)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_no_module_is_over_400_lines():
    long = {
        str(p.relative_to(PACKAGE)): n
        for p in _modules()
        if p.name not in EXEMPT and (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert not long, f"split these by job (a module over {MAX_LINES} lines has two): {long}"


def _private_imports(path: Path) -> list[str]:
    """`from automation.x import _y` (or of a private module `_x`) where x is another module."""
    here = _module_name(path)
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if (
            isinstance(node, ast.ImportFrom)
            and node.level == 0
            and (node.module or "").startswith("automation")
        ):
            module = node.module or ""
            private_module = any(part.startswith("_") and part != "__init__" for part in module.split("."))
            for alias in node.names:
                if module != here and (private_module or alias.name.startswith("_")):
                    found.append(f"{here}:{node.lineno} imports {module}.{alias.name}")
    return found


def test_no_module_imports_a_private_name_of_another():
    found = [line for p in _modules() for line in _private_imports(p)]
    assert not found, "make these public or move them where they are used:\n" + "\n".join(found)


def test_the_private_name_check_sees_one(tmp_path, monkeypatch):
    """The check above can fail: a module that imports another's private name is reported."""
    module = PACKAGE / "engine" / "runner.py"
    fake = tmp_path / "automation" / "engine" / "runner.py"
    fake.parent.mkdir(parents=True)
    fake.write_text(module.read_text() + "\nfrom automation.engine.context import _hidden\n")
    monkeypatch.setattr(f"{__name__}.PACKAGE", tmp_path / "automation")
    assert _private_imports(fake) == [
        f"automation.engine.runner:{len(fake.read_text().splitlines())} imports "
        "automation.engine.context._hidden"
    ]
