"""Property: whatever the secret, and however a page sends it on, no artifact of the run holds it in any form.

Secrets are drawn from printable Unicode (spaces, `~ ! * | { } ^ % + & # " < >` and letters whose upper case
is longer, such as "ß", included). Each is given as a secret input to a runbook that fills it into a form,
posts it, has the page show it (text, upper case, title, a pre-filled field), log it, alert it, send it in a
JSON fetch with a header and a cookie, then opens it in a query string and escalates. Every artifact of that
run, the terminal and `--json` output, run.json, report.html, the trace unzipped, the screenshots, the ticket
store and the audit log, is scanned for it in every decoded form (scan.py): zero hits. Every picture is read back
(tests/support/pictures.py): each place the page showed the secret is painted over, and OCR, which reads the
secret on the unmasked page, does not read it on any picture; a step from the fill on without a picture says
why.

Bounded in `make test` (each example is a real Chromium run); RUNBOOK_FUZZ=long runs many more.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from sites.leak_site import Site, serve
from support.pictures import PictureSpy, check_pictures

from automation.api import run
from automation.catalog import Catalog
from automation.cli.terminal import ConsoleReporter, render_result
from automation.engine.context import CHANGES_PAGE
from automation.environments import Target
from automation.redaction.canon import MIN_SECRET_LENGTH, canonical
from automation.redaction.scan import find_secrets
from automation.result import RunResult

LONG = os.environ.get("RUNBOOK_FUZZ") == "long"
PROBE = """name: leak-probe
title: Send a secret every way a page can
app: site
inputs:
  secret: {type: secret, help: The value the page is sent}
outcomes:
  sent: {status: escalated, summary: The secret went every way a page can send it.}
steps:
  - goto: /form
  - fill: {label: Secret}
    with: "{{ secret }}"
  - click: {role: button, name: Post}
  - expect: {text: Posted Echoed}
  - click: {role: button, name: Alert}
  - dialog: accept
  - click: {role: button, name: Fetch}
  - expect: {text: Fetched}
  - goto: "/query?s={{ secret }}"
  - expect: {text: Query Echoed}
  - escalate: {queue: security, title: Leak probe, customer: {account: probe}, notes: Sent every way}
  - end: sent
"""
# Without the fetch: a page opened with user:pass@ in its URL may not fetch (the URL it resolves holds them).
URL_PROBE = PROBE.replace("name: leak-probe", "name: url-probe").replace(
    "  - click: {role: button, name: Fetch}\n  - expect: {text: Fetched}\n", ""
)
# Fails on the page a secret query opened: the failure names that page.
FAILING_PROBE = """name: failing-probe
title: Fail on a page opened with a secret in its query
app: site
inputs:
  secret: {type: secret}
outcomes:
  sent: {status: resolved}
steps:
  - goto: "/query?s={{ secret }}"
  - expect: {text: This never appears}
    timeout: 1s
  - end: sent
"""
BASELINE_SECRET = "Baseline-Secret-4821"
# What Chromium leaves unencoded in a query or encodes unusually, and what escapes HTML, JSON and forms.
AWKWARD = " ~!*|{}^%+&#\"'<>\\/=?;:@,ßİﬀ"
SECRETS = st.text(
    alphabet=st.one_of(
        st.sampled_from(AWKWARD),
        st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Co", "Cn", "Zl", "Zp", "Zs", "Cf")),
    ),
    min_size=MIN_SECRET_LENGTH,
    max_size=24,
).filter(lambda s: len(canonical(s)) >= MIN_SECRET_LENGTH)


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    with serve() as running:
        yield running


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    books = tmp_path_factory.mktemp("books")
    (books / "leak-probe.yaml").write_text(PROBE)
    (books / "url-probe.yaml").write_text(URL_PROBE)
    (books / "failing-probe.yaml").write_text(FAILING_PROBE)
    return Catalog([books])


def probe(site: Site, catalog: Catalog, browser: Any, root: Path, secret: str) -> RunResult:
    """Run the probe, as the CLI does: terminal output and --json are written next to the evidence."""
    terminal = io.StringIO()
    result = run(
        "leak-probe",
        {"secret": secret},
        target=Target(name="site", apps={"site": site.url}),
        catalog=catalog,
        reporter=ConsoleReporter(terminal),
        evidence_root=root / "traces",
        data_dir=root / "data",
        browser=browser,
    )
    terminal.write(render_result(result) + "\n" + json.dumps(result.to_json()))
    (root / "terminal.txt").write_text(terminal.getvalue())
    return result


@dataclass(frozen=True)
class Baseline:
    root: Path
    result: RunResult
    spy: PictureSpy


@pytest.fixture(scope="module")
def baseline(
    site: Site, catalog: Catalog, browser: Any, tmp_path_factory: pytest.TempPathFactory
) -> Baseline:
    """The artifacts of a run with a known secret: a drawn secret already in them is not told apart. Its
    pictures were watched being taken (a readable secret: OCR's own proof)."""
    root = tmp_path_factory.mktemp("baseline")
    spy = PictureSpy(tmp_path_factory.mktemp("baseline-controls"))
    with pytest.MonkeyPatch.context() as patch:
        spy.install(patch)
        result = probe(site, catalog, browser, root, BASELINE_SECRET)
    assert result.outcome == "sent", result.error
    return Baseline(root, result, spy)


def assert_pictures_hide(result: RunResult, spy: PictureSpy, secrets: list[str], *, readable: bool) -> None:
    """Every picture of the run hides the secrets from a reader (masks over every place, OCR reads none of
    them); `readable`: OCR must read them on every page that showed them unmasked. From the fill on, a step
    without a picture says why."""
    report = check_pictures(
        Path(result.evidence_dir),
        spy,
        secrets,
        require_control=readable,
        ocr_check="always" if readable else "proven",
    )
    assert not report.problems, report.problems
    for step in result.steps[1:]:
        if step.screenshot is None:
            assert step.action not in CHANGES_PAGE or "screenshot withheld" in (step.detail or ""), (
                f"step {step.number} has no screenshot and does not say why"
            )


def reached(secret: str, received: str | None) -> bool:
    """Whether an echo page got the secret whole (a "&" or "#" in a query cuts it short)."""
    return received is not None and secret.casefold() in received.casefold()


@settings(
    max_examples=200 if LONG else 15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(secret=SECRETS)
@example(secret=" Tok~en!*  sp|{ac}^e ")  # the shapes the review used: spaces around, ~, ! with *, | { } ^
@example(secret="straße-Œuvre-ﬀ")  # upper case is longer than the secret, or folds differently
@example(secret="00µ秘")  # "µ" upper-cases to the Greek "Μ": shown unmasked until the pictures were read back
def test_no_secret_reaches_any_artifact(
    secret: str,
    site: Site,
    catalog: Catalog,
    browser: Any,
    baseline: Baseline,
    tmp_path_factory: Any,
    picture_spy: PictureSpy,
) -> None:
    used = canonical(secret)
    assume(not find_secrets(baseline.root, [used]))  # e.g. "Post" or "null": part of every run's own evidence
    root = tmp_path_factory.mktemp("probe")

    result = probe(site, catalog, browser, root, secret)

    assert result.outcome == "sent", result.error
    assert result.ticket and result.ticket.get("id"), result.ticket
    assert (root / "data" / "audit.log").exists() and (Path(result.evidence_dir) / "trace.zip").exists()
    hits = find_secrets(root, [used])
    assert not hits, [str(hit.path.relative_to(root)) + f" {hit.entry or ''} {hit.form}" for hit in hits]
    assert reached(used, site.received.get("form")), "a form post carries any value whole"
    assert_pictures_hide(result, picture_spy, [used], readable=False)  # OCR reads few drawn secrets


def test_no_picture_shows_a_readable_secret_to_a_reader(baseline: Baseline) -> None:
    """The secret was on the page from the fill on: typed into a password field, then shown as text, in upper
    case, in a field and as a fetched answer. OCR reads it on the unmasked pages, and on no kept picture."""
    report = check_pictures(Path(baseline.result.evidence_dir), baseline.spy, [BASELINE_SECRET])

    assert not report.problems, report.problems
    assert report.controls >= 2 and report.read == report.pictures and report.places >= 8, report


def test_a_password_in_the_app_url_is_a_secret(
    site: Site, catalog: Catalog, browser: Any, tmp_path: Path, picture_spy: PictureSpy
) -> None:
    password = "Url-Pass-9931"
    with_credentials = site.url.replace("http://", f"http://probe:{password}@")

    result = run(
        "url-probe",
        {"secret": BASELINE_SECRET},
        target=Target(name="site", apps={"site": with_credentials}),
        catalog=catalog,
        evidence_root=tmp_path / "traces",
        data_dir=tmp_path / "data",
        browser=browser,
    )

    assert result.outcome == "sent", result.error
    assert list((tmp_path / "data").rglob("*.db")), "the ticket store is scanned too"
    hits = find_secrets(tmp_path, [password, BASELINE_SECRET])
    assert not hits, [f"{hit.path.relative_to(tmp_path)} {hit.entry or ''} {hit.form}" for hit in hits]
    assert_pictures_hide(result, picture_spy, [password, BASELINE_SECRET], readable=True)


def test_a_failure_on_a_page_opened_with_a_secret_query_shows_no_secret(
    site: Site, catalog: Catalog, browser: Any, tmp_path: Path, picture_spy: PictureSpy
) -> None:
    secret = "Tok|{en}^ with spaces"  # Chromium sends | { } ^ as they are, and spaces as %20

    terminal = io.StringIO()
    result = run(
        "failing-probe",
        {"secret": secret},
        target=Target(name="site", apps={"site": site.url}),
        catalog=catalog,
        reporter=ConsoleReporter(terminal),
        evidence_root=tmp_path / "traces",
        data_dir=tmp_path / "data",
        browser=browser,
    )

    assert result.status == "failed" and "/query?s=" in (result.steps[1].page_url or "")
    (tmp_path / "terminal.txt").write_text(terminal.getvalue() + render_result(result))
    (tmp_path / "result.json").write_text(json.dumps(result.to_json()))  # what --json prints
    hits = find_secrets(tmp_path, [secret])
    assert not hits, [f"{hit.path.relative_to(tmp_path)} {hit.entry or ''} {hit.form}" for hit in hits]
    assert_pictures_hide(result, picture_spy, [secret], readable=True)
