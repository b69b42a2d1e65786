"""The tests' own secrets scanner (support/leakscan.py): it finds a secret in every encoding, built here with the
standard library; it says clean when the secret is not there; it fails closed (what it cannot read is a finding,
and the hits from what it could read are kept); it reads SQLite through sqlite3 and PostgreSQL through a dump;
it never prints a secret; and it imports nothing of the product."""

from __future__ import annotations

import ast
import base64
import gzip
import html
import io
import json
import os
import random
import re
import sqlite3
import subprocess
import sys
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, quote_plus, unquote

import pytest

from support import leakforms, leakscan, leakstores
from support.evidence_maker import make_evidence
from support.leakscan import Findings, assert_no_secrets, scan, scan_bytes, scan_postgres, scan_sqlite

# A space, non-ASCII letters ("ß" upper-cases to "SS"), what URLs, HTML and JSON escape, and what looks like an
# escape of its own ("%41" is three characters of the secret, not an "A").
SECRET = 'Pa55 wörd/+&"<ß%41'
PLAIN = "Plain-Secret-7x"  # safe in file names
OTHER = "Nothing-Like-It-9q"
TESTS = Path(__file__).resolve().parents[1]


def b64(data: str | bytes, *, urlsafe: bool = False, pad: bool = True) -> str:
    raw = data.encode() if isinstance(data, str) else data
    text = (base64.urlsafe_b64encode if urlsafe else base64.b64encode)(raw).decode()
    return text if pad else text.rstrip("=")


def percent_some(secret: str) -> str:
    """Every other character percent-encoded, in lower-case hex: a partial encoding."""
    return "".join(quote(c, safe="").lower() if i % 2 else c for i, c in enumerate(secret))


def json_all_escaped(secret: str) -> str:
    return "".join(f"\\u{unit:04x}" for unit in _utf16_units(secret))


def _utf16_units(secret: str) -> list[int]:
    data = secret.encode("utf-16-be")
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


# Each builds a blob holding the secret written one way, with the standard library.
ENCODINGS: dict[str, Callable[[str], bytes | str]] = {
    "raw": lambda s: f"before {s} after",
    "upper case": lambda s: f"<h1>{s.upper()}</h1>",
    "whitespace run": lambda s: s.replace(" ", "\n\t "),
    "percent": lambda s: f"GET /login?user=a&password={quote(s, safe='')}&next=%2F",
    "percent, partial and lower-case hex": lambda s: f"q={percent_some(s)}",
    "unquote_plus": lambda s: f"user=a&password={quote_plus(s)}",
    "base64": lambda s: f'{{"auth": "Basic {b64(s)}"}}',
    "base64 url-safe unpadded": lambda s: f"https://x.test/cb?state={b64(s, urlsafe=True, pad=False)}",
    "base64 glued mid-group": lambda s: f"tok{b64('xx' + s)[1:]}",
    "base64 of base64 of base64": lambda s: f"v={b64(b64(b64(s)))} end",
    "json escapes": lambda s: json.dumps({"value": s}),
    "json \\u escapes": lambda s: f'{{"value": "{json_all_escaped(s)}"}}',
    "json \\/ escapes": lambda s: json.dumps({"value": s}, ensure_ascii=False).replace("/", "\\/"),
    "html named": lambda s: f"<input value='{html.escape(s)}'>",
    "html decimal": lambda s: "".join(f"&#{ord(c)};" for c in s),
    "html hex": lambda s: "".join(f"&#x{ord(c):X};" for c in s),
    "utf-16-le": lambda s: b"\x89PNG\x00\x01" + s.encode("utf-16-le") + b"\x00\xff",
    "utf-16-be": lambda s: b"\x00\x07\x01" + s.encode("utf-16-be") + b"\x00\xff",
    "utf-16 with BOM": lambda s: s.encode("utf-16"),
    "gzip stream in a blob": lambda s: b"\x00binary\xff" + gzip.compress(f"log: {s}".encode()) + b"\x00tail",
    "gzip in base64": lambda s: f'{{"body": "{b64(gzip.compress(s.encode()))}"}}',
    "percent in json in base64": lambda s: b64(json.dumps({"url": f"/cb?p={quote(s, safe='')}"})),
    "html in percent in json": lambda s: json.dumps({"q": quote(f"<b>{html.escape(s)}</b>")}),
}


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_a_secret_is_found_however_it_is_written(encoding: str) -> None:
    blob = ENCODINGS[encoding](SECRET)
    findings = scan_bytes(blob, [OTHER, SECRET])
    assert [f.secret for f in findings.secrets] == [1], str(findings)
    assert findings.unreadable == ()


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_the_same_blob_without_the_secret_is_clean(encoding: str) -> None:
    findings = scan_bytes(ENCODINGS[encoding](OTHER), [SECRET])
    assert findings.clean, str(findings)


@pytest.mark.parametrize(
    "text", ["a%2Fb", "%E2%82%ac%zz%4", "100%25 sure%2", "%ff%fe%41 bytes", "caf%C3%A9+x"]
)
def test_percent_is_decoded_as_unquote_decodes_it(text: str) -> None:
    assert leakforms.unescape_round(text)[0] == unquote(text, errors="surrogateescape")


def test_the_form_names_the_decodings_that_revealed_the_secret_outermost_first() -> None:
    forms = {
        "raw": "raw",
        "base64 of base64 of base64": "base64>base64>base64",
        "percent in json in base64": "base64>percent",  # json.dumps escaped nothing of it
        "html in percent in json": "percent>html>percent",  # the last decodes the secret's own "%41"
        "gzip in base64": "base64>gzip",
        "utf-16-be": "utf-16-be",
        "unquote_plus": "percent",  # its "+" is a space: any needle space matches "+"
    }
    for encoding, form in forms.items():
        (finding,) = scan_bytes(ENCODINGS[encoding](SECRET), [SECRET]).secrets
        assert finding.form == form, encoding


def test_files_inline_in_base64_are_opened_as_files() -> None:
    picture = (
        b"\x89PNG\r\n\x1a\n" + os.urandom(3000) + b"tEXtComment\x00" + SECRET.encode() + os.urandom(3000)
    )
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr("notes/secret.txt", f"kept: {PLAIN}")
    page = (
        f'<img src="data:image/png;base64,{b64(picture)}">'
        f'<a href="data:application/zip;base64,{b64(archive.getvalue())}">'
    )
    found = {(f.where, f.form, f.secret) for f in scan_bytes(page, [SECRET, PLAIN]).secrets}
    assert found == {("<data>", "base64", 0), ("<data>!notes/secret.txt", "base64", 1)}


def test_a_stack_inside_a_zip_entry_is_found_with_the_entry_named(tmp_path: Path) -> None:
    # PHP's json_encode escapes "/": the percent-encoded secret (its "/" kept) is then in two JSON pieces
    inner = b64(json.dumps({"next": f"/account?token={quote(SECRET)}"}).replace("/", "\\/"))
    with zipfile.ZipFile(tmp_path / "trace.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("trace.network", f'{{"postData": "{inner}"}}\n')
        archive.writestr("trace.trace", '{"type": "before", "callId": "call@1"}\n')
    (finding,) = scan(tmp_path, [SECRET]).secrets
    assert finding.where == f"{tmp_path}/trace.zip!trace.network"
    assert finding.form == "base64>json>percent"


def test_a_zip_in_a_zip_and_a_gzip_file_are_opened(tmp_path: Path) -> None:
    nested = io.BytesIO()
    with zipfile.ZipFile(nested, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("deep/note.txt", f"the secret: {SECRET}")
    with zipfile.ZipFile(tmp_path / "outer.zip", "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("inner.bin", nested.getvalue())
    (tmp_path / "log.gz").write_bytes(gzip.compress(f"line {SECRET}".encode()))
    found = {(f.where, f.form) for f in scan(tmp_path, [SECRET]).secrets}
    assert found == {(f"{tmp_path}/outer.zip!inner.bin!deep/note.txt", "raw"), (f"{tmp_path}/log.gz", "gzip")}


# -- failing closed ---------------------------------------------------------------------------------------------


def _zip_with_a_damaged_second_entry(path: Path) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("trace.trace", f'{{"value": "{SECRET}"}}\n' * 3)
        archive.writestr("trace.network", "".join(f"line {i} {random.random()}\n" for i in range(2000)))
    data = bytearray(path.read_bytes())
    archive = zipfile.ZipFile(io.BytesIO(bytes(data)))
    info = archive.getinfo("trace.network")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for at in range(start + 20, start + info.compress_size - 20, 7):
        data[at] ^= 0x5A
    path.write_bytes(bytes(data))


def test_a_damaged_zip_entry_is_unreadable_and_the_secret_beside_it_is_still_found(tmp_path: Path) -> None:
    _zip_with_a_damaged_second_entry(tmp_path / "trace.zip")
    with pytest.raises(
        (zipfile.BadZipFile, zlib.error)
    ):  # the damage is real: the standard library refuses it
        zipfile.ZipFile(tmp_path / "trace.zip").read("trace.network")

    findings = scan(tmp_path, [SECRET])
    assert [f.where for f in findings.secrets] == [f"{tmp_path}/trace.zip!trace.trace"]
    assert [(f.where, f.form) for f in findings.unreadable] == [
        (f"{tmp_path}/trace.zip!trace.network", "zip entry")
    ]


def test_a_bad_crc_is_unreadable_and_what_was_read_before_it_is_searched(tmp_path: Path) -> None:
    path = tmp_path / "stored.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("page.html", f"<p>{SECRET}</p><p>tail</p>")
    data = path.read_bytes().replace(b"tail", b"TAIL", 1)
    path.write_bytes(data)
    findings = scan(path, [SECRET])
    assert f"{path}!page.html" in {f.where for f in findings.secrets}  # (and in the zip's raw bytes: stored)
    assert [f.form for f in findings.unreadable] == ["zip entry"]
    assert "Bad CRC-32" in findings.unreadable[0].detail


def test_a_truncated_zip_is_unreadable_and_its_entries_are_salvaged(tmp_path: Path) -> None:
    path = tmp_path / "trace.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("trace.trace", f'{{"value": "{b64(SECRET)}"}}\n')
        archive.writestr("trace.network", "x" * 5000)
    path.write_bytes(path.read_bytes()[:-60])  # the central directory's end is gone
    findings = scan(path, [SECRET])
    assert [(f.where, f.form) for f in findings.secrets] == [(f"{path}!trace.trace", "base64")]
    assert [f.form for f in findings.unreadable] == ["zip"]


def test_a_truncated_gzip_file_is_unreadable_and_its_start_is_searched(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl.gz"
    rest = "".join(f"{random.random()}\n" for _ in range(20000))
    path.write_bytes(gzip.compress(f"{SECRET}\n{rest}".encode())[:-2000])
    findings = scan(path, [SECRET])
    assert [f.form for f in findings.secrets] == ["gzip"]
    assert [(f.form, f.detail) for f in findings.unreadable] == [
        ("gzip", "the gzip stream ends early (truncated)")
    ]


def test_a_path_that_is_missing_or_cannot_be_read_is_a_finding(tmp_path: Path) -> None:
    (tmp_path / "broken").symlink_to(tmp_path / "nowhere")
    findings = scan([tmp_path, tmp_path / "absent"], [SECRET])
    assert sorted((f.where, f.form) for f in findings.unreadable) == [
        (f"{tmp_path}/absent", "path"),
        (f"{tmp_path}/broken", "file"),
    ]


# -- SQLite -----------------------------------------------------------------------------------------------------


def _local_bytes(value: str, page_size: int) -> int:
    """How many characters of `value` SQLite keeps on the table's leaf page before its overflow pages."""
    db = sqlite3.connect(":memory:")
    db.execute(f"PRAGMA page_size={page_size}")
    db.execute("CREATE TABLE notes (body TEXT)")
    db.execute("INSERT INTO notes VALUES (?)", (value,))
    raw = db.serialize()
    low, high = 16, len(value)  # the longest prefix of value found whole in the file's bytes
    while low < high:
        mid = (low + high + 1) // 2
        low, high = (mid, high) if value[:mid].encode() in raw else (low, mid - 1)
    return low


def test_a_secret_split_by_an_sqlite_overflow_page_is_found_by_reading_the_value(tmp_path: Path) -> None:
    rng = random.Random(7)
    filler = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz ") for _ in range(3000))
    split = _local_bytes(filler, 1024)
    at = split - len(PLAIN) // 2  # the secret straddles the end of the leaf page
    value = filler[:at] + PLAIN + filler[at + len(PLAIN) :]
    db = sqlite3.connect(":memory:")
    db.execute("PRAGMA page_size=1024")
    db.execute("CREATE TABLE notes (body TEXT)")
    db.execute("INSERT INTO notes VALUES (?)", (value,))
    path = tmp_path / "history.db"
    path.write_bytes(db.serialize())
    assert PLAIN.encode() not in path.read_bytes()  # the raw bytes hold it in two pieces

    findings = scan_sqlite(path, [PLAIN])
    assert [(f.where, f.form) for f in findings] == [(f"{path}#notes.body[rowid=1]", "sqlite value")]


def test_a_secret_only_in_the_wal_is_found_while_the_writer_holds_the_database_open(tmp_path: Path) -> None:
    path = tmp_path / "checks.db"
    writer = sqlite3.connect(path)
    try:
        writer.execute("PRAGMA journal_mode=WAL")
        writer.execute("CREATE TABLE runs (id INTEGER PRIMARY KEY, summary TEXT, code INTEGER)")
        writer.commit()
        writer.execute("INSERT INTO runs (summary, code) VALUES (?, ?)", (f"sent {b64(PLAIN)}", 482913))
        writer.commit()
        assert PLAIN.encode() not in path.read_bytes() and (tmp_path / "checks.db-wal").exists()

        found = {(f.where, f.form) for f in scan(tmp_path, [PLAIN, "482913"]).secrets}
        assert (f"{path}#runs.summary[rowid=1]", "sqlite value>base64") in found
        assert (f"{path}#runs.code[rowid=1]", "sqlite value") in found
        writer.execute("INSERT INTO runs (summary) VALUES ('the writer still writes')")
        writer.commit()
    finally:
        writer.close()


def test_an_unreadable_table_is_a_finding_and_the_other_tables_are_still_read(tmp_path: Path) -> None:
    path = tmp_path / "tickets.db"
    db = sqlite3.connect(path)
    db.execute("PRAGMA page_size=512")
    db.execute("CREATE TABLE tickets (body TEXT)")
    db.execute("INSERT INTO tickets VALUES (?)", (f"escalated: {quote(PLAIN)}",))
    db.execute("CREATE TABLE audit (line TEXT)")
    db.executemany("INSERT INTO audit VALUES (?)", [(f"line {i} " * 5,) for i in range(200)])
    db.commit()
    (root,) = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'audit'").fetchone()
    db.close()
    with open(path, "r+b") as file:
        file.seek((root - 1) * 512)
        file.write(b"\xff" * 512)

    findings = scan(path, [PLAIN])
    assert (f"{path}#tickets.body[rowid=1]", "sqlite value") in {(f.where, f.form) for f in findings.secrets}
    assert [(f.where, f.form) for f in findings.unreadable] == [(f"{path}#audit", "sqlite table")]


def test_a_file_that_is_not_a_readable_database_is_a_finding(tmp_path: Path) -> None:
    (tmp_path / "broken.db").write_bytes(b"SQLite format 3\x00" + b"\x13" * 4000)
    (tmp_path / "notes.db").write_bytes(b"not a database at all")
    assert [f.form for f in scan(tmp_path / "broken.db", [PLAIN])] == ["sqlite database"]
    assert [f.form for f in scan_sqlite(tmp_path / "notes.db", [PLAIN])] == ["sqlite database"]


def test_an_sqlite_database_inside_a_zip_is_read(tmp_path: Path) -> None:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE kv (k TEXT, v BLOB)")
    db.execute("INSERT INTO kv VALUES ('token', ?)", (gzip.compress(PLAIN.encode()),))
    with zipfile.ZipFile(tmp_path / "backup.zip", "w") as archive:
        archive.writestr("data/store.db", db.serialize())
    found = {(f.where, f.form) for f in scan(tmp_path, [PLAIN]).secrets}
    assert (f"{tmp_path}/backup.zip!data/store.db#kv.v[rowid=1]", "sqlite value>gzip") in found


# -- numbers and hex --------------------------------------------------------------------------------------------

NOISY = (
    '{"wallTime":1712345678901,"monotonicTime":3.1234567,"pageId":"page@0ab123456cd9f8e7d6c5b4a3928171605",'
    '"_file":"resources/9f1234567ab9c8d7e6f5a4b3c2d1e0f9a8b7c6d5.png","id":"123e4567-e89b-12d3-a456-4266141740'
    '00","n":[91234560, 1234567]}'
)


def test_a_code_inside_a_longer_number_or_a_hash_is_not_found() -> None:
    assert scan_bytes(NOISY, ["123456", "234567"]).clean


@pytest.mark.parametrize(
    "text", ["Your code is 123456.", '{"code":"123456"}', "code=123456&x=1", "x123456", b64("code 123456")]
)
def test_a_code_on_its_own_is_found(text: str) -> None:
    assert len(scan_bytes(NOISY + text, ["123456"]).secrets) == 1


def test_a_hex_secret_is_found_unless_inside_a_long_hex_run() -> None:
    assert scan_bytes("sha 0011deadbeef2233445566778899", ["deadbeef"]).clean
    assert len(scan_bytes("key: DeadBeef-2.", ["deadbeef"]).secrets) == 1


# -- never the secret -------------------------------------------------------------------------------------------


def test_findings_never_show_the_secret_not_even_in_a_name(tmp_path: Path) -> None:
    folder = tmp_path / f"run-{PLAIN}"
    folder.mkdir()
    (folder / f"{b64(PLAIN, urlsafe=True)}.txt").write_text(f"value {PLAIN.upper()}")
    with zipfile.ZipFile(folder / "trace.zip", "w") as archive:
        archive.writestr(f"resources/{PLAIN}.json", "{}")
    (folder / f"gone-{PLAIN}").symlink_to(tmp_path / "nowhere")
    findings = scan(tmp_path, [PLAIN])
    forms = {f.form for f in findings.secrets}
    assert {"name", "name>base64", "raw"} <= forms and len(findings.unreadable) == 1
    assert "<name holding secret #1>" in str(findings)
    for shown in (str(findings), repr(findings)):
        assert PLAIN.casefold() not in shown.casefold()
        assert b64(PLAIN, urlsafe=True).rstrip("=") not in shown


def test_assert_no_secrets_fails_without_printing_the_secret(tmp_path: Path) -> None:
    (tmp_path / "run.json").write_text(json.dumps({"inputs": {"password": SECRET}}))
    with pytest.raises(AssertionError) as failed:
        assert_no_secrets(tmp_path, [SECRET])
    assert "secret #1" in str(failed.value) and "run.json" in str(failed.value)
    assert SECRET.casefold() not in str(failed.value).casefold()
    assert_no_secrets(tmp_path, [OTHER])


def test_an_empty_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="secret #2 is empty"):
        scan_bytes(b"", [PLAIN, "  "])


# -- standing apart ---------------------------------------------------------------------------------------------


def test_the_scanner_imports_nothing_of_the_product(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "x.db")
    db.execute("CREATE TABLE t (v)")
    db.commit()
    db.close()
    code = (
        "import sys, support.leakscan as s; "
        f"print(s.scan([{str(tmp_path)!r}], ['abcd1234']).clean); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('automation', 'psycopg')))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=TESTS, capture_output=True, text=True, check=True)
    assert done.stdout.split("\n")[:2] == ["True", "[]"], done.stdout + done.stderr
    for module in (leakscan, leakforms, leakstores):  # not even an import inside a function
        tree = ast.parse(Path(str(module.__file__)).read_text())
        imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        imported |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert not {name for name in imported if name.split(".")[0] == "automation"}, module.__name__


# -- PostgreSQL -------------------------------------------------------------------------------------------------


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> str:
    """A new, empty database on the tests' own PostgreSQL (tests/conftest.py); skipped only without PostgreSQL."""
    if not list(Path("/usr/lib/postgresql").glob("*/bin/postgres")):
        pytest.skip("PostgreSQL is not installed (/usr/lib/postgresql/*/bin/postgres)")
    return str(request.getfixturevalue("postgres_url"))


def _store_secrets(url: str) -> int:
    """Secrets in a bytea, a jsonb, a text (percent-encoded) and a large object (gzip); the object's oid."""
    import psycopg

    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute("CREATE SCHEMA tickets")
        conn.execute("CREATE TABLE tickets.notes (id serial, body text, raw bytea, meta jsonb)")
        conn.execute(
            "INSERT INTO tickets.notes (body, raw, meta) VALUES (%s, %s, %s), (%s, %s, %s)",
            (
                "nothing here",
                b"\x00\x01",
                "{}",
                "tab\there",
                f"blob {SECRET}".encode(),
                json.dumps({"p": PLAIN}),
            ),
        )
        conn.execute("CREATE TABLE runs (id int, summary text)")
        conn.execute("INSERT INTO runs VALUES (1, %s)", (f"resent {quote(SECRET)}",))
        (oid,) = conn.execute("SELECT lo_from_bytea(0, %s)", (gzip.compress(PLAIN.encode()),)).fetchone()
        return int(oid)


def _found(findings: Findings) -> set[tuple[str, str, int | None]]:
    found = {(f.where.split("#", 1)[1], f.form, f.secret) for f in findings.secrets}
    return {(re.sub(r"object \d+", "object N", where), form, secret) for where, form, secret in found}


EXPECTED = {
    ("tickets.notes.raw[row 2]", "postgres value", 0),
    ("tickets.notes.meta[row 2]", "postgres value", 1),
    ("public.runs.summary[row 1]", "postgres value>percent", 0),
    ("large object N", "postgres value>gzip", 1),
}


def test_a_secret_in_postgresql_is_found_in_pg_dump(pg_url: str) -> None:
    _store_secrets(pg_url)
    assert leakstores.pg_dump_binary() is not None
    findings = scan_postgres(pg_url, [SECRET, PLAIN])
    assert findings.unreadable == ()
    assert _found(findings) == EXPECTED


def test_without_pg_dump_every_table_is_selected(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _store_secrets(pg_url)
    monkeypatch.setattr(leakstores, "pg_dump_binary", lambda: None)
    findings = scan_postgres(pg_url, [SECRET, PLAIN])
    assert findings.unreadable == ()
    assert _found(findings) == EXPECTED


def test_a_pg_dump_refusing_the_server_version_falls_back_to_select(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _store_secrets(pg_url)
    fake = tmp_path / "pg_dump"
    fake.write_text(
        "#!/bin/sh\necho 'pg_dump: error: aborting because of server version mismatch' >&2\nexit 1\n"
    )
    fake.chmod(0o755)
    monkeypatch.setattr(leakstores, "pg_dump_binary", lambda: str(fake))
    assert _found(scan_postgres(pg_url, [SECRET, PLAIN])) == EXPECTED


def test_a_database_that_cannot_be_reached_is_a_finding(pg_url: str) -> None:
    findings = scan_postgres("postgresql://postgres@127.0.0.1:1/none", [SECRET])
    assert [f.form for f in findings] == ["postgres database"]


def test_a_clean_postgresql_database_is_clean(pg_url: str) -> None:
    _store_secrets(pg_url)
    assert scan_postgres(pg_url, [OTHER]).clean


# -- how fast ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text_heavy", [False, True], ids=["like-runs", "text-heavy"])
def test_a_folder_like_real_evidence_is_clean(tmp_path: Path, text_heavy: bool) -> None:
    """No false positive in evidence full of timestamps, ids, hashes and pictures (how fast: bench_leakscan)."""
    make_evidence(tmp_path, 2, text_heavy=text_heavy)
    findings = scan(tmp_path, [SECRET, PLAIN, "123456", "deadbeef"])
    assert findings.clean, str(findings)
