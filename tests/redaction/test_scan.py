"""find_secrets: every form of every secret, in every file, zip entry and name; never printing the secret."""

from __future__ import annotations

import base64
import gzip
import io
import json
import re
import zipfile
from pathlib import Path
from urllib.parse import quote_plus

from automation.redaction.scan import find_secrets

PASSWORD = "Pa ss/wörd&<1!"
CODE = "730519"


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_finds_the_secret_in_each_encoding_a_browser_or_server_writes(tmp_path: Path) -> None:
    lines = {
        "raw": PASSWORD,
        "url-plus": quote_plus(PASSWORD),
        "url-plus-lower": re.sub("%[0-9A-F]{2}", lambda m: m[0].lower(), quote_plus(PASSWORD)),
        "json": json.dumps(PASSWORD)[1:-1],
        "html": "Pa ss/wörd&amp;&lt;1!",
    }
    for name, text in lines.items():
        (tmp_path / f"{name}.txt").write_text(f"before {text} after", encoding="utf-8")

    hits = find_secrets(tmp_path, [PASSWORD])

    assert {hit.path.stem for hit in hits} == set(lines)


def test_hits_name_the_decoders_that_revealed_the_secret(tmp_path: Path) -> None:
    (tmp_path / "raw.txt").write_text("Canary-Pass-8421!")
    (tmp_path / "percent.txt").write_text("p=Canary-Pass-8421%21")
    (tmp_path / "stacked.json").write_text('{"body": "p=Canary\\u002dPass-8421%21"}')  # JSON, then URL

    forms = {hit.path.name: hit.form for hit in find_secrets(tmp_path, ["Canary-Pass-8421!"])}

    assert forms == {"raw.txt": "raw", "percent.txt": "percent", "stacked.json": "percent>json"}


def test_looks_inside_zip_entries_nested_zips_and_gzip(tmp_path: Path) -> None:
    inner = _zip({"deep/note.txt": f"code {CODE}".encode()})
    (tmp_path / "trace.zip").write_bytes(
        _zip({"trace.trace": f'{{"value":"{CODE}"}}'.encode(), "inner.zip": inner})
    )
    (tmp_path / "app.log.gz").write_bytes(gzip.compress(f"sent {CODE} to user".encode()))

    hits = find_secrets(tmp_path, [CODE])

    assert [(hit.path.name, hit.entry) for hit in hits] == [
        ("app.log.gz", "<gunzip>"),
        ("trace.zip", "inner.zip!deep/note.txt"),
        ("trace.zip", "trace.trace"),
    ]


def test_finds_the_secret_in_file_and_entry_names(tmp_path: Path) -> None:
    (tmp_path / f"reset-{CODE}.txt").write_text("nothing here")
    (tmp_path / "bundle.zip").write_bytes(_zip({f"resources/code-{CODE}.txt": b"clean"}))

    hits = find_secrets(tmp_path, [CODE])

    assert sorted((hit.path.name, hit.entry, hit.offset) for hit in hits) == [
        ("bundle.zip", f"resources/code-{CODE}.txt", -1),
        (f"reset-{CODE}.txt", None, -1),
    ]


def test_code_inside_a_longer_number_or_a_hash_is_not_a_leak(tmp_path: Path) -> None:
    sha1 = "5f0ecd2b" + CODE + "8468bff455ed7f7423b5dd12345678"
    (tmp_path / "run.json").write_text(
        json.dumps(
            {"started": 1795394730519, "time": float(f"2.{CODE}"), "sha1": sha1, "page": f"page@{sha1}"}
        )
    )

    assert find_secrets(tmp_path, [CODE]) == []
    embedded = find_secrets(tmp_path, [CODE], include_embedded=True)
    assert len(embedded) == 4 and all(hit.embedded for hit in embedded)


def test_code_at_the_end_of_a_sentence_or_as_a_json_number_is_a_leak(tmp_path: Path) -> None:
    (tmp_path / "ticket.txt").write_text(f"Your code is {CODE}.")
    (tmp_path / "body.json").write_text(json.dumps({"code": int(CODE), "t": float(f"{CODE}.5")}))

    hits = find_secrets(tmp_path, [CODE])

    assert [(hit.path.name, hit.embedded) for hit in hits] == [("body.json", False), ("ticket.txt", False)]


def test_finds_a_password_inside_a_basic_authorization_header(tmp_path: Path) -> None:
    token = base64.b64encode(b"agent@example.com:Canary-Pass-8421!").decode()
    (tmp_path / "trace.network").write_text(json.dumps({"name": "Authorization", "value": f"Basic {token}"}))

    hits = find_secrets(tmp_path, ["Canary-Pass-8421!"])

    assert len(hits) == 1 and hits[0].form == "base64"


def test_a_hit_never_shows_the_secret(tmp_path: Path) -> None:
    (tmp_path / "log.txt").write_text(f"password={PASSWORD}")

    (hit,) = find_secrets(tmp_path, ["unused-secret", PASSWORD])

    assert hit.secret == 1
    assert PASSWORD not in str(hit) and PASSWORD not in repr(hit)
    assert str(hit).endswith("secret #2 (raw form) at byte 9")


def test_scans_a_single_file_and_ignores_empty_secrets(tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    path.write_text(f"<td>{CODE}</td>")

    assert [hit.offset for hit in find_secrets(path, ["", CODE])] == [4]
    assert find_secrets(path, [""]) == []


def _damage_second_entry(archive: bytes) -> bytes:
    """Flip bytes in the compressed data of the zip's second entry (its local header stays readable)."""
    second = archive.index(b"PK\x03\x04", 4)
    name_len, extra_len = (
        int.from_bytes(archive[second + 26 : second + 28], "little"),
        int.from_bytes(archive[second + 28 : second + 30], "little"),
    )
    start = second + 30 + name_len + extra_len
    return archive[:start] + bytes(b ^ 0xFF for b in archive[start : start + 8]) + archive[start + 8 :]


def test_a_damaged_entry_is_a_finding_and_the_entries_around_it_keep_their_hits(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("trace.trace", f'{{"value": "{PASSWORD}"}}')
        archive.writestr("resources/page.html", "<p>" + "filler " * 400 + "</p>")
    (tmp_path / "trace.zip").write_bytes(_damage_second_entry(buffer.getvalue()))
    hits = find_secrets(tmp_path, [PASSWORD])
    assert [h.entry for h in hits if not h.unreadable] == ["trace.trace"]
    assert [h.entry for h in hits if h.unreadable] == ["resources/page.html"]
    assert "cannot be unpacked" in str(next(h for h in hits if h.unreadable))


def test_a_gzip_that_cannot_be_unpacked_is_a_finding(tmp_path: Path) -> None:
    (tmp_path / "log.gz").write_bytes(gzip.compress(b"nothing to see")[:12])
    assert [h.unreadable for h in find_secrets(tmp_path, [PASSWORD])] == [True]
