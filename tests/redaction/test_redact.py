"""Redactor and scrub_trace: secrets leave text, JSON and real Playwright traces, and the trace still loads."""

from __future__ import annotations

import base64
import html
import json
import shutil
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote_plus, urlsplit

import pytest
from playwright.sync_api import Browser, expect

from automation.errors import EvidenceError
from automation.redaction.canon import SecretTooShort
from automation.redaction.redactor import MARKER, Redactor, scrub_trace
from automation.redaction.scan import find_secrets

PASSWORD = "Canary-Pass-8421!"
CODE = "730519"
SECRETS = (PASSWORD, CODE)


# --- Redactor -------------------------------------------------------------------------------------------


def test_url_json_and_html_encodings_are_all_replaced() -> None:
    redactor = Redactor(['Pa ss/wörd"&!'])

    for form in (
        'Pa ss/wörd"&!',
        "Pa+ss%2Fw%C3%B6rd%22%26%21",
        "Pa+ss%2fw%c3%b6rd%22%26%21",
        "Pa%20ss%2Fw%C3%B6rd%22%26%21",
        'Pa ss/w\\u00f6rd\\"&!',
        'Pa ss/wörd\\"&!',
        "Pa ss/wörd&quot;&amp;!",
    ):
        assert redactor.redact_text(f"[{form}]") == f"[{MARKER}]", form


def test_redact_text_replaces_every_form() -> None:
    redactor = Redactor(SECRETS)

    text = redactor.redact_text(f"fill({PASSWORD}) /echo?password=Canary-Pass-8421%21&code={CODE}")

    assert text == f"fill({MARKER}) /echo?password={MARKER}&code={MARKER}"


def test_the_longest_form_is_replaced_whole() -> None:
    redactor = Redactor(["abcd", "abcd-efgh"])

    assert redactor.redact_text("x abcd-efgh y abcd") == f"x {MARKER} y {MARKER}"


def test_redact_obj_leaves_keys_numbers_and_identifiers_alone() -> None:
    sha1 = f"ab{CODE}0123456789abcdef0123456789abcdef"
    data = {
        CODE: f"code {CODE}",
        "sha1": sha1,
        "_file": f"resources/{sha1}.html",
        "wallTime": 17305190,
        "nested": [{"value": PASSWORD}, 3.5, None, True],
    }

    redacted = Redactor(SECRETS).redact_obj(data)

    assert redacted == {
        CODE: f"code {MARKER}",
        "sha1": sha1,
        "_file": f"resources/{sha1}.html",
        "wallTime": 17305190,
        "nested": [{"value": MARKER}, 3.5, None, True],
    }
    assert data["nested"][0] == {"value": PASSWORD}, "the input is not changed"


def test_redact_obj_walks_tuples_and_leaves_other_types_alone() -> None:
    assert Redactor([CODE]).redact_obj((f"code {CODE}", 1.5, None)) == (f"code {MARKER}", 1.5, None)


def test_a_code_sent_as_a_json_number_is_replaced() -> None:
    assert Redactor([CODE]).redact_obj({"code": int(CODE), "other": int(CODE) + 1}) == {
        "code": MARKER,
        "other": int(CODE) + 1,
    }


def test_redactor_ignores_empty_secrets_and_never_shows_them() -> None:
    redactor = Redactor(["", None, PASSWORD, PASSWORD])

    assert redactor.secrets == (PASSWORD,)
    assert PASSWORD not in repr(redactor)
    assert not Redactor([""]) and Redactor([""]).redact_text("anything") == "anything"


# --- Redactor: decode, then match, then replace the whole value --------------------------------------------

AWKWARD = "Tok~en!* sp|{ac}^e"


@pytest.mark.parametrize(
    "written",
    [
        "Tok%7Een%21%2A+sp%7C%7Bac%7D%5Ee",  # a form post: "+" for the space, every symbol encoded
        "Tok%7een%21%2a%20sp%7c%7bac%7d%5ee",  # lower-case hex, %20 for the space
        "Tok~en!*%20sp|{ac}^e",  # as Chromium leaves a query: only the space encoded
        "Tok%7Een!*+sp|%7Bac}^e",  # partly encoded
        "Tok~en!* sp|&#123;ac&#x7D;^e",  # HTML entities, decimal and hex
        "Tok~en!* sp|\\u007bac\\u007d^e",  # JSON escapes
        "Tok%7Een%21%2A+sp%7C%7Bac%7D%5Ee".replace("%", "%25"),  # encoded twice
        "TOK~EN!* SP|{AC}^E",  # a page that shouts it
        "Tok~en!*   sp|{ac}^e",  # a title that collapsed (or a page that widened) its spaces
    ],
)
def test_every_encoding_of_a_secret_is_decoded_and_replaced(written: str) -> None:
    assert (
        Redactor([AWKWARD]).redact_text(f"GET /q?token={written}&next=1") == f"GET /q?token={MARKER}&next=1"
    )


def test_base64_in_a_header_or_body_is_decoded_and_the_whole_run_replaced() -> None:
    token = base64.b64encode(f"agent:{AWKWARD}".encode()).decode()
    body = base64.b64encode(f"password={quote_plus(AWKWARD)}&x=1".encode()).decode()

    redactor = Redactor([AWKWARD])

    assert redactor.redact_text(f"Basic {token}") == f"Basic {MARKER}"
    assert redactor.redact_text(f'{{"body": "{body}"}}') == f'{{"body": "{MARKER}"}}'


def test_the_whole_value_holding_a_secret_is_replaced_so_no_piece_survives() -> None:
    redactor = Redactor(["s3cret-token"])

    assert redactor.redact_text("/reset?t=xx-s3cret-token.v2&u=1 done") == f"/reset?t={MARKER}&u=1 done"
    assert redactor.redact_text("<b>S3CRET-TOKEN</b>") == f"<b>{MARKER}</b>"


def test_a_secret_used_with_spaces_around_it_is_kept_and_masked_as_used() -> None:
    redactor = Redactor(["  Tok-en-42 "])

    assert redactor.secrets == ("Tok-en-42",)
    assert redactor.redact_text("fill(Tok-en-42)") == f"fill({MARKER})"


@pytest.mark.parametrize("short", ["x", "ab", " ab ", "123"])
def test_a_secret_under_four_characters_is_refused_saying_why(short: str) -> None:
    with pytest.raises(SecretTooShort, match="at least 4 characters"):
        Redactor([short])


def test_labels_run_ids_and_url_paths_are_left_alone() -> None:
    redactor = Redactor(["730519", "Sunshine-Portal-7q"])
    texts = [
        "20261123-014631-resend-verify-98c5",  # a run id
        "step 4.2.1 Open the verification page for the customer's email",  # a label
        "/auth/verifyCode?email=unverified%40example.com",  # a URL path and query
        "started 1795394730519",  # a timestamp holding the code's digits
        f"resources/ab{CODE}0123456789abcdef0123456789abcdef.html",  # a sha1 name holding them
    ]

    assert [redactor.redact_text(text) for text in texts] == texts


def test_a_code_is_replaced_where_it_stands_alone_and_kept_inside_a_longer_number() -> None:
    assert (
        Redactor([CODE]).redact_text(f"code {CODE}, sent at 1{CODE}00") == f"code {MARKER}, sent at 1{CODE}00"
    )


# --- scrub_trace on hand-made traces --------------------------------------------------------------------

SHA1 = f"ab{CODE}0123456789abcdef0123456789abcdef"  # a resource name that happens to contain the code


def _trace(path: Path, trace: list[Any], network: list[Any], **entries: bytes) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("trace.trace", "".join(json.dumps(event) + "\n" for event in trace))
        archive.writestr("trace.network", "".join(json.dumps(event) + "\n" for event in network))
        for name, data in entries.items():
            archive.writestr(name.replace("__", "/"), data)
    return path


def _events(path: Path, name: str) -> list[dict[str, Any]]:
    with zipfile.ZipFile(path) as archive:
        return [json.loads(line) for line in archive.read(name).decode().splitlines() if line]


def _small_trace(path: Path) -> Path:
    fill = {"type": "before", "callId": "call@1", "method": "fill", "params": {"value": CODE}}
    snapshot = {
        "type": "frame-snapshot",
        "snapshot": {
            "callId": "call@1",
            "pageId": f"page@{SHA1[:32]}",
            "html": ["BODY", {}, ["INPUT", {"__playwright_value_": CODE}]],
            "resourceOverrides": [{"url": "http://127.0.0.1/app.css", "sha1": f"{SHA1}.css"}],
            "timestamp": float(f"{CODE}.25"),
        },
    }
    page = {
        "type": "resource-snapshot",
        "snapshot": {
            "request": {"method": "GET", "url": f"http://127.0.0.1/verify?code={CODE}", "headers": []},
            "response": {
                "status": 200,
                "content": {"mimeType": "text/html", "_file": f"resources/{SHA1}.html"},
            },
        },
    }
    return _trace(
        path,
        [fill, snapshot],
        [page],
        **{
            f"resources__{SHA1}.html": f"<p>Your code is {CODE}</p>".encode(),
            f"resources__{SHA1}.css": b"p{}",
        },
    )


def test_a_code_inside_a_sha1_name_does_not_break_references(tmp_path: Path) -> None:
    path = _small_trace(tmp_path / "trace.zip")

    scrub_trace(path, Redactor([CODE]))

    with zipfile.ZipFile(path) as archive:
        assert archive.read(f"resources/{SHA1}.html") == f"<p>Your code is {MARKER}</p>".encode()
        assert f"resources/{SHA1}.css" in archive.namelist()
    (page,) = _events(path, "trace.network")
    assert page["snapshot"]["response"]["content"]["_file"] == f"resources/{SHA1}.html"
    fill, snapshot = _events(path, "trace.trace")
    assert fill["params"]["value"] == MARKER
    assert snapshot["snapshot"]["resourceOverrides"][0]["sha1"] == f"{SHA1}.css"
    assert snapshot["snapshot"]["timestamp"] == float(f"{CODE}.25")
    assert find_secrets(path, [CODE]) == []


def test_a_corrupt_trace_line_withholds_the_trace(tmp_path: Path) -> None:
    path = _trace(tmp_path / "trace.zip", [{"type": "before"}], [])
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("1-trace.trace", '{"type":"before"}\n{"type":"before","params":{"value":"' + CODE)

    with pytest.raises(EvidenceError, match=r"line 2 of 1-trace\.trace is not valid JSON") as caught:
        scrub_trace(path, Redactor([CODE]))

    assert CODE not in str(caught.value)
    assert list(tmp_path.iterdir()) == [], "neither the trace nor a temporary copy is left"


def test_a_secret_that_cannot_be_replaced_withholds_the_trace(tmp_path: Path) -> None:
    # A secret in a key (here an attribute name) is left alone by design, so the final scan must catch it.
    snapshot = {"type": "frame-snapshot", "snapshot": {"html": ["INPUT", {f"data-{PASSWORD}": ""}]}}
    path = _trace(tmp_path / "trace.zip", [snapshot], [])

    with pytest.raises(EvidenceError, match=r"still held a secret.*secret #1 \(raw form\) in trace\.trace"):
        scrub_trace(path, Redactor([PASSWORD]))

    assert not path.exists()


def test_a_file_that_is_not_a_zip_is_withheld(tmp_path: Path) -> None:
    path = tmp_path / "trace.zip"
    path.write_text(f"half-written {PASSWORD}")

    with pytest.raises(EvidenceError, match="not a readable zip"):
        scrub_trace(path, Redactor([PASSWORD]))

    assert not path.exists()


def test_a_damaged_zip_entry_withholds_the_trace(tmp_path: Path) -> None:
    path = tmp_path / "trace.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("trace.trace", json.dumps({"type": "log", "message": f"fill({PASSWORD})"}) * 50)
    data = bytearray(path.read_bytes())
    data[60:70] = b"\x00" * 10  # inside the deflated stream
    path.write_bytes(bytes(data))

    with pytest.raises(EvidenceError, match="withheld and deleted"):
        scrub_trace(path, Redactor([PASSWORD]))

    assert list(tmp_path.iterdir()) == []


def test_a_missing_trace_is_reported(tmp_path: Path) -> None:
    with pytest.raises(EvidenceError, match="No trace to scrub"):
        scrub_trace(tmp_path / "trace.zip", Redactor([PASSWORD]))


def test_cookies_and_authorization_headers_are_masked(tmp_path: Path) -> None:
    request = {
        "headers": [{"name": "Cookie", "value": "sid=s3ss10n"}, {"name": "Accept", "value": "*/*"}],
        "cookies": [{"name": "sid", "value": "s3ss10n"}],
    }
    response = {"headers": [{"name": "set-cookie", "value": "sid=n3w; HttpOnly"}], "cookies": []}
    path = _trace(
        tmp_path / "trace.zip",
        [],
        [{"type": "resource-snapshot", "snapshot": {"request": request, "response": response}}],
    )

    report = scrub_trace(path, Redactor([]))

    (event,) = _events(path, "trace.network")
    assert event["snapshot"]["request"]["headers"] == [
        {"name": "Cookie", "value": MARKER},
        {"name": "Accept", "value": "*/*"},
    ]
    assert event["snapshot"]["request"]["cookies"] == [{"name": "sid", "value": MARKER}]
    assert event["snapshot"]["response"]["headers"][0]["value"] == MARKER
    assert report.headers_masked == 3


def test_without_secrets_the_screencast_is_kept_and_sources_dropped(tmp_path: Path) -> None:
    frame = {"type": "screencast-frame", "pageId": "page@1", "file": "screencast/page@1-1.jpeg"}
    path = _trace(
        tmp_path / "trace.zip",
        [frame],
        [],
        **{"screencast__page@1-1.jpeg": b"\xff\xd8", "src__x.py": b"pw=1"},
    )

    report = scrub_trace(path, Redactor([]))

    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ["screencast/page@1-1.jpeg", "trace.network", "trace.trace"]
    assert (report.frames_dropped, report.sources_dropped) == (0, 1)


def test_old_format_screencast_frames_in_resources_are_dropped(tmp_path: Path) -> None:
    frame = {"type": "screencast-frame", "pageId": "page@1", "sha1": "f" * 40 + ".jpeg"}
    path = _trace(tmp_path / "trace.zip", [frame], [], **{f"resources__{'f' * 40}.jpeg": b"\xff\xd8"})

    report = scrub_trace(path, Redactor([CODE]))

    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ["trace.network", "trace.trace"]
    assert report.frames_dropped == 1 and "screencast frame(s) dropped" in report.summary


# --- scrub_trace on a real trace from Chromium ----------------------------------------------------------

FORM = """<!doctype html><title>Verify</title>
<form method="{method}" action="/echo">
  <label>Code <input type="text" name="code"></label>
  <label>Password <input type="password" name="password"></label>
  <button>Verify</button>
</form>"""

ECHO = """<!doctype html><title>Checked</title><body data-code="{code}">
<p>Your code is {code}</p><p id="api"></p>
<script>
  fetch("/api", {{method: "POST", headers: {{"Content-Type": "application/json"}},
                 body: JSON.stringify({{code: document.body.dataset.code}})}})
    .then(r => r.json()).then(j => {{ document.getElementById("api").textContent = "Confirmed " + j.code; }});
</script>"""


class _Site(BaseHTTPRequestHandler):
    """A form posting a code and a password by GET and by POST, a page echoing the code, a JSON API."""

    def log_message(self, format: str, *args: Any) -> None:  # the request lines hold the canaries
        pass

    def _send(self, body: str, content_type: str) -> None:
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _echo(self, values: dict[str, list[str]]) -> None:
        self._send(ECHO.format(code=html.escape(values["code"][0])), "text/html")

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path in ("/get", "/post"):
            self._send(FORM.format(method=url.path[1:]), "text/html")
        elif url.path == "/echo":
            self._echo(parse_qs(url.query))
        else:
            self.send_error(404)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        if self.path == "/api":
            self._send(
                json.dumps({"code": json.loads(body)["code"], "status": "confirmed"}), "application/json"
            )
        else:
            self._echo(parse_qs(body))


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Site)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(scope="module")
def recorded_trace(browser: Browser, site: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A trace of filling and submitting both forms, as Playwright writes it: full of canaries."""
    path = tmp_path_factory.mktemp("recorded") / "trace.zip"
    context = browser.new_context()
    try:
        context.tracing.start(screenshots=True, snapshots=True, sources=True)
        page = context.new_page()
        for method in ("get", "post"):
            page.goto(f"{site}/{method}")
            page.get_by_label("Code").fill(CODE)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Verify").click()
            expect(page.locator("#api")).to_have_text(f"Confirmed {CODE}")
        context.tracing.stop(path=path)
    finally:
        context.close()
    return path


@pytest.fixture
def trace(recorded_trace: Path, tmp_path: Path) -> Path:
    return Path(shutil.copy(recorded_trace, tmp_path / "trace.zip"))


def _entries_with_hits(path: Path) -> set[str]:
    return {
        hit.entry.split("/")[0] if hit.entry.startswith("resources/") else hit.entry
        for hit in find_secrets(path, SECRETS)
        if hit.entry
    }


@pytest.mark.browser
def test_real_trace_holds_the_canaries_before_scrubbing(trace: Path) -> None:
    hits = find_secrets(trace, SECRETS)

    assert {"trace.trace", "trace.network", "resources"} <= _entries_with_hits(trace)
    resources = {Path(hit.entry).suffix for hit in hits if hit.entry and hit.entry.startswith("resources/")}
    assert resources == {".dat", ".html", ".json"}  # form body, echo page, API request and response
    assert {hit.form for hit in hits if hit.secret == 0} >= {"raw", "percent"}


@pytest.mark.browser
def test_scrubbed_real_trace_holds_no_canary_anywhere(trace: Path) -> None:
    report = scrub_trace(trace, Redactor(SECRETS))

    assert find_secrets(trace, SECRETS) == []
    assert report.values_replaced > 0 and report.entries_rewritten >= 3


@pytest.mark.browser
def test_scrubbed_real_trace_lines_all_still_parse(trace: Path) -> None:
    scrub_trace(trace, Redactor(SECRETS))

    with zipfile.ZipFile(trace) as archive:
        for name in archive.namelist():
            if name.endswith((".trace", ".network", ".stacks")):
                for line in archive.read(name).decode().splitlines():
                    if line:
                        json.loads(line)


@pytest.mark.browser
def test_scrubbed_real_trace_shows_the_fills_with_the_marker(trace: Path, tmp_path: Path) -> None:
    scrub_trace(trace, Redactor(SECRETS))

    def cli(*args: str) -> str:  # `trace open` unpacks into ./.playwright-cli, hence cwd
        done = subprocess.run(
            [sys.executable, "-m", "playwright", "trace", *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    cli("open", str(trace))
    actions = cli("actions")

    assert actions.count(f'Fill "{MARKER}"') == 4
    assert CODE not in actions and PASSWORD not in actions
    assert CODE not in cli("requests")


@pytest.mark.browser
def test_scrubbed_real_trace_drops_screencast_and_sources_and_says_so(trace: Path) -> None:
    report = scrub_trace(trace, Redactor(SECRETS))

    with zipfile.ZipFile(trace) as archive:
        names = archive.namelist()
    assert not [name for name in names if name.startswith(("screencast/", "src/"))]
    assert not [event for event in _events(trace, "trace.trace") if event["type"] == "screencast-frame"]
    assert report.frames_dropped > 0 and report.sources_dropped > 0
    assert "pictures of the page cannot be checked" in report.summary


@pytest.mark.browser
def test_scrubbed_real_trace_keeps_every_resource_it_references(trace: Path) -> None:
    scrub_trace(trace, Redactor(SECRETS))

    with zipfile.ZipFile(trace) as archive:
        names = set(archive.namelist())
    network = [event["snapshot"] for event in _events(trace, "trace.network")]
    referenced = {
        side["_file"]
        for s in network
        for side in (s["response"]["content"], s["request"].get("postData") or {})
        if "_file" in side
    }
    assert referenced and referenced <= names
