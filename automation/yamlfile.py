"""YAML text -> data and the position of every key, within limits, with file:line:column on every error.

Shared by every file the user writes: runbooks, the checks file and the environments file. The text is
composed once into nodes (the pure-Python parser, which lets us count depth and aliases while composing) to keep
each key's position; booleans follow YAML 1.2 (only true/false), so `on:` stays a key. The one pipeline from a
validation error to a message lives here too: `Where` (an error at a key's line), `data_path` (pydantic's location
walked against the data), `vocabulary` and `suggest` (the nearest valid key).
"""

from __future__ import annotations

import difflib
import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from automation.errors import RunbookLoadError

if TYPE_CHECKING:
    from pydantic import BaseModel

# pydantic is named for type hints only: `runbook run --help` reads the catalog's names through this module
# without paying for it (tests/test_startup.py).

Path_ = tuple[str | int, ...]

# Runbooks are a few KB. The limits keep every load bounded (well under a second with the pure-Python
# parser, which is the one that lets us count depth and aliases while composing): a small hostile file
# (billion laughs, a recursive alias, 10 000 nested brackets) is refused, never expanded.
MAX_YAML_BYTES = 64 * 1024
MAX_DEPTH = 64  # a runbook nests about 5 levels per branch: room for a dozen nested branches
MAX_ALIASES = 100
MAX_NODES = 50_000  # after aliases are expanded: more than any file within MAX_YAML_BYTES holds without them

_BOOL_12 = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")


class _LimitError(yaml.MarkedYAMLError):
    """Valid YAML that a runbook file has no business containing (too deep, too many aliases, ...)."""

    def __init__(self, problem: str, mark: yaml.Mark | None) -> None:
        super().__init__(problem=problem, problem_mark=mark)


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans (only true/false: `on:` stays the key "on") that refuses nesting
    deeper than MAX_DEPTH and more than MAX_ALIASES aliases while it composes, before anything is built."""

    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._aliases = 0
        self.constructing: yaml.Node | None = None  # for the line of a value Python cannot convert

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        self.constructing = node
        return super().construct_object(node, deep)

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise _LimitError(
                    f"more than {MAX_ALIASES} aliases (*name): write the values out", event.start_mark
                )
        if self._depth >= MAX_DEPTH:
            raise _LimitError(f"nested more than {MAX_DEPTH} levels deep", event.start_mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)  # type: ignore[no-any-return]
        finally:
            self._depth -= 1


_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", _BOOL_12, list("tTfF"))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_graph(root: yaml.Node) -> None:
    """Refuse what aliases make of the node graph (a cycle, a huge or too deep expansion) and duplicate
    keys, before a single Python object is built. Iterative: a hostile graph cannot exhaust the stack."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    open_: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            kids = _children(node)
            size[key] = 1 + sum(size[id(k)] for k in kids)
            depth[key] = 1 + max((depth[id(k)] for k in kids), default=0)
            open_.discard(key)
            if size[key] > MAX_NODES:
                raise _LimitError(f"aliases expand this to more than {MAX_NODES} values", node.start_mark)
            if depth[key] > MAX_DEPTH:
                raise _LimitError(f"aliases nest this more than {MAX_DEPTH} levels deep", node.start_mark)
            continue
        if key in size:
            continue
        if key in open_:
            raise _LimitError("an alias refers to the node that contains it (a loop)", node.start_mark)
        if isinstance(node, yaml.MappingNode):
            _check_duplicate_keys(node)
        open_.add(key)
        stack.append((node, True))
        stack.extend((kid, False) for kid in _children(node) if id(kid) not in size)


def _check_duplicate_keys(node: yaml.MappingNode) -> None:
    seen: dict[tuple[str, str], yaml.Mark] = {}
    for key_node, _ in node.value:
        if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
            continue
        first = seen.setdefault((key_node.tag, key_node.value), key_node.start_mark)
        if first is not key_node.start_mark:
            raise _LimitError(
                f"duplicate key '{key_node.value}' (first at line {first.line + 1}): keep one of them",
                key_node.start_mark,
            )


def _positions(node: yaml.Node, here: Path_, out: dict[Path_, tuple[int, int]]) -> None:
    out.setdefault(here, (node.start_mark.line + 1, node.start_mark.column + 1))
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            # the key's own position wins: "line of the key" is what a person looks for
            out[here + (key,)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            _positions(value_node, here + (key,), out)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _positions(item, here + (index,), out)


def _snippet(text: str, line: int | None, column: int | None) -> str | None:
    if line is None:
        return None
    lines = text.splitlines()
    if not 1 <= line <= len(lines):
        return None
    out = []
    for number in range(max(1, line - 1), min(len(lines), line + 1) + 1):
        out.append(f"{number:>5} | {lines[number - 1][:200]}")
        if number == line and column:
            out.append("      | " + " " * min(column - 1, 200) + "^")
    return "\n".join(out)


def error_at(
    message: str, source: str, text: str, line: int | None, column: int | None = None
) -> RunbookLoadError:
    """A RunbookLoadError naming source:line:column, with the lines around it."""
    return RunbookLoadError(
        message, path=source, line=line, column=column, snippet=_snippet(text, line, column)
    )


def _yaml_error(exc: yaml.YAMLError, text: str, source: str) -> RunbookLoadError:
    if isinstance(exc, yaml.reader.ReaderError):  # a character YAML does not allow (NUL, escape codes)
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        return error_at(
            f"character U+{ord(exc.character) if isinstance(exc.character, str) else exc.character:04X} "
            "is not allowed in a YAML file: remove it",
            source,
            text,
            line,
            column,
        )
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        problem = " ".join(p for p in (exc.context, exc.problem) if p)
        prefix = "" if isinstance(exc, _LimitError) else "this is not valid YAML: "
        return error_at(prefix + problem, source, text, line, column)
    return RunbookLoadError(f"this is not valid YAML: {exc}", path=source)


def parse_yaml(text: str, source: str) -> tuple[Any, dict[Path_, tuple[int, int]]]:
    """Parse YAML text within the limits; returns the data and a map of key paths to (line, column).

    Refuses (RunbookLoadError with source:line) text over MAX_YAML_BYTES, nesting over MAX_DEPTH, more
    than MAX_ALIASES aliases or an alias expansion over MAX_NODES, a recursive alias, duplicate keys."""
    if len(text) > MAX_YAML_BYTES:
        raise RunbookLoadError(_too_big(len(text)), path=source)
    loader: _Loader | None = None
    try:
        loader = _Loader(text)
        node = loader.get_single_node()
        if node is None:
            return None, {}
        _check_graph(node)
        data = loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, text, source) from None
    except ValueError as exc:  # e.g. an integer with thousands of digits: Python refuses to convert it
        mark = loader.constructing.start_mark if loader and loader.constructing else None
        raise error_at(
            f"this value cannot be read ({str(exc).split(';')[0]})",
            source,
            text,
            mark.line + 1 if mark else None,
            mark.column + 1 if mark else None,
        ) from None
    finally:
        if loader is not None:
            loader.dispose()
    positions: dict[Path_, tuple[int, int]] = {}
    _positions(node, (), positions)
    return data, positions


def _too_big(size: int, limit: int = MAX_YAML_BYTES) -> str:
    return (
        f"the file is too big ({size // 1024} KiB; the limit is {limit // 1024} KiB): "
        "split it into smaller files"
    )


def read_yaml_text(path: Path, *, max_bytes: int = MAX_YAML_BYTES) -> str:
    """The UTF-8 text of a YAML file. Raises RunbookLoadError (unreadable, not a regular file, bigger than
    max_bytes, or not UTF-8: with the line of the first bad byte)."""
    source = display_path(path)
    try:
        # O_NONBLOCK: a FIFO named x.yaml must be refused, not waited on.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise RunbookLoadError(f"cannot read the file: {exc.strerror}", path=source) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):  # a folder, a FIFO, a device
            raise RunbookLoadError("this is not a regular file", path=source)
        data = os.read(fd, max_bytes + 1)
    except OSError as exc:
        raise RunbookLoadError(f"cannot read the file: {exc.strerror}", path=source) from None
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise RunbookLoadError(_too_big(max(info.st_size, len(data)), max_bytes), path=source)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise RunbookLoadError(
            f"byte 0x{data[exc.start]:02X} is not UTF-8 text: save the file as UTF-8",
            path=source,
            line=line,
            column=column,
        ) from None


def error_at_key(
    message: str, source: str, text: str, positions: dict[Path_, tuple[int, int]], where: Path_
) -> RunbookLoadError:
    """A RunbookLoadError for the key path `where` (from parse_yaml's positions): 'a.0.b: message' at the
    line of that key, or of its nearest parent that has one."""
    pos = None
    probe = where
    while probe and pos is None:
        pos = positions.get(probe)
        probe = probe[:-1]
    line, column = pos if pos else (None, None)
    key_path = ".".join(str(p) for p in where)
    if key_path:
        message = f"{key_path}: {message}"
    return error_at(message, source, text, line, column)


def display_path(file: Path) -> str:
    """The file as an error names it: relative to the current folder when it is inside it."""
    try:
        return str(file.relative_to(Path.cwd()))
    except ValueError:
        return str(file)


# -- from a validation error to a message at a key's line ---------------------------------------------------


@dataclass(frozen=True)
class Where:
    """A YAML file's text and key positions (from parse_yaml), to point an error at the line of a key."""

    source: str
    text: str
    positions: dict[Path_, tuple[int, int]]

    def error(self, message: str, path: Path_) -> RunbookLoadError:
        """'a.0.b: message' at the line of the key path `path` (or of its nearest parent that has one)."""
        return error_at_key(message, self.source, self.text, self.positions, path)


def data_path(data: Any, loc: tuple[Any, ...]) -> Path_:
    """Walk pydantic's error location against the data, skipping the union tags and model names it inserts."""
    here: list[str | int] = []
    current = data
    for part in loc:
        if isinstance(current, dict) and part in current:
            current = current[part]
            here.append(part)
        elif isinstance(current, list) and isinstance(part, int) and part < len(current):
            current = current[part]
            here.append(part)
    return tuple(here)


def first_problem(errors: list[Any], data: Any, keys: Iterable[str]) -> tuple[str, Path_, dict[str, Any]]:
    """The deepest of pydantic's errors (`exc.errors(include_url=False)`) said for a person: an unknown key
    with the nearest of `keys`, a missing one, or the validator's own words. Returns (message, the key path in
    `data`, the error itself: a caller may say a kind of its own in its own words)."""
    first = sorted(errors, key=lambda e: -len(e["loc"]))[0]
    path = data_path(data, first["loc"])
    if first["type"] == "extra_forbidden":
        bad = str(first["loc"][-1])
        return f"unknown key '{bad}'{suggest(bad, keys)}", path, first
    if first["type"] == "missing":
        return f"'{first['loc'][-1]}' is required here", path, first
    return first["msg"].removeprefix("Value error, "), path, first


def vocabulary(models: Iterable[type[BaseModel]]) -> list[str]:
    """Every key the models accept, as it is written (the alias when there is one), sorted."""
    return sorted({info.alias or name for model in models for name, info in model.model_fields.items()})


def suggest(word: str, choices: Iterable[str]) -> str:
    """' (did you mean fill?)' for a near miss among the choices, else ''. Never the word itself."""
    others = [c for c in choices if c != word]
    close = difflib.get_close_matches(word, others, n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""
