"""The state of one run while it executes: its page, variables, secrets, dialogs, records and pictures.

The step wrapper (engine/step_run.py) and the step handlers (engine/steps.py) read and change it; it knows how
to mask a secret, picture the page and say what the page showed, not how a step runs.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlparse

from automation.catalog import Catalog
from automation.engine.answers import Prompter
from automation.engine.conditions import DialogSeen
from automation.engine.lens import MARK_FIELD_JS, Lens, PageView
from automation.engine.shots import UNSTEADY, Shot, withhold_showing
from automation.engine.shots import take as take_screenshot
from automation.environments import Target
from automation.errors import RunStopped, StepFailed
from automation.evidence.folder import RunFolder
from automation.loader import LoadedRunbook
from automation.redaction.canon import SecretTooShort, canonical, check_secret
from automation.redaction.redactor import Redactor
from automation.result import StepRecord
from automation.schema import StepBase
from automation.templating import PLACEHOLDER

ACTION_TIMEOUT = 10.0
EXPECT_TIMEOUT = 5.0
BRANCH_TIMEOUT = 15.0
NAVIGATION_TIMEOUT = 30.0
# Steps after which the page may look different: each gets a screenshot.
CHANGES_PAGE = frozenset(
    {"goto", "fill", "click", "select", "check", "uncheck", "press", "branch", "dialog", "screenshot"}
)
MASK = "••••••"
# Evidence taken on a failure must not outlast the failure: the page may still be loading, or gone.
STATE_TIMEOUT_MS = 1500
# Below this much time left, a wait that timed out was cut short by the run's time limit.
OUT_OF_TIME_S = 0.05
STILL_LOADING = "(the page was still loading)"


@dataclass
class DialogBook:
    """Native dialogs seen in a run and how the next one will be answered (shared with sub-runbooks)."""

    seen: list[DialogSeen] = field(default_factory=list)
    policy: str | None = None
    unexpected: DialogSeen | None = None


@dataclass
class NetLog:
    """The last failed main-frame navigation (shared with sub-runbooks): why a page became chrome-error://."""

    url: str | None = None
    failure: str | None = None


class Ended(Exception):
    """Control flow: an `end` step (or an arm's `end`) was reached."""

    def __init__(self, outcome: str) -> None:
        self.outcome = outcome
        super().__init__(outcome)


class Reporter(Protocol):
    """Live progress: the terminal console implements it; the library's default says nothing."""

    def step_started(self, record: StepRecord) -> None: ...
    def step_finished(self, record: StepRecord) -> None: ...
    def say(self, text: str) -> None: ...


class SilentReporter:
    def step_started(self, record: StepRecord) -> None:
        pass

    def step_finished(self, record: StepRecord) -> None:
        pass

    def say(self, text: str) -> None:
        pass


@dataclass
class Escalation:
    """What an `escalate` step asked for; the ticket is opened at the end, with the finished evidence."""

    queue: str
    title: str
    customer: dict[str, str]
    notes: str
    step_number: str


@dataclass
class RunContext:
    loaded: LoadedRunbook
    catalog: Catalog
    target: Target
    page: Any
    folder: RunFolder
    variables: dict[str, Any]
    given: dict[str, Any]  # answers given up front (options, case answers)
    prompter: Prompter | None
    reporter: Reporter
    started_at: float = field(default_factory=time.time)
    secrets: set[str] = field(default_factory=set)
    records: list[StepRecord] = field(default_factory=list)
    shots: list[Shot] = field(default_factory=list)  # what each screenshot's page showed, in memory only
    dialogs: DialogBook = field(default_factory=DialogBook)
    escalations: list[Escalation] = field(default_factory=list)
    reported: set[int] = field(default_factory=set)
    step_started: float = 0.0  # time.monotonic() at which the step in flight started
    _redactor: Redactor | None = None
    _lens: Lens | None = None
    # the last picture taken, the page as it left it, and a digest of the picture's bytes
    _last_shot: tuple[PageView, Shot, bytes | None] | None = None
    _redactor_key: frozenset[str] = frozenset()
    data_dir: Path | None = None  # where tickets are stored (None: the documented default)
    file: str | None = None  # set for sub-runbooks
    deadline: float | None = None  # time.monotonic() at which the run's time limit is reached
    time_limit_s: float | None = None  # the limit as the user gave it, for messages
    screenshots: str = "each-step"  # result.Screenshots
    limit_text: str = "the run hit its {limit:g}s time limit"
    # Asked between steps and while a step waits: a RunStopped when the run must stop (cancelled), else None.
    stop: Callable[[], RunStopped | None] | None = None
    net: NetLog = field(default_factory=NetLog)

    @property
    def base_url(self) -> str:
        return self.target.base_url(self.loaded.model.app)

    @property
    def mailbox(self) -> str | None:
        return self.target.mailbox

    def report_early(self, record: StepRecord) -> None:
        """Show a step as done before the steps it leads to run (a branch's decision)."""
        record.duration_s = round(time.monotonic() - self.step_started, 3)
        if self.screenshots == "each-step":
            self.screenshot(record)
        self.reporter.step_finished(record)
        self.reported.add(id(record))

    # -- time -------------------------------------------------------------------------------------------

    def time_left(self) -> float | None:
        """Seconds until the run's time limit, or None without one."""
        return None if self.deadline is None else self.deadline - time.monotonic()

    def clamp_s(self, timeout_s: float) -> float:
        """A wait of timeout_s, cut to the time the run has left (never 0: Playwright reads 0 as forever)."""
        left = self.time_left()
        return max(min(timeout_s, left) if left is not None else timeout_s, 0.001)

    def check_stop(self) -> None:
        """Raise the RunStopped the run was asked to stop with (cancelled from the console), if any."""
        stopped = self.stop() if self.stop is not None else None
        if stopped is not None:
            raise stopped

    def out_of_time(self) -> bool:
        left = self.time_left()
        return left is not None and left <= OUT_OF_TIME_S

    def on_request_failed(self, request: Any) -> None:
        """Remember why a main-frame navigation failed (net::ERR_...): the page then shows chrome-error://."""
        try:
            if request.is_navigation_request() and request.frame.parent_frame is None:
                self.net.url, self.net.failure = request.url, request.failure
        except Exception:  # noqa: BLE001 - an event handler must never break the run
            pass

    # -- secrets ----------------------------------------------------------------------------------------

    def add_secret(self, value: Any) -> None:
        """Remember a secret in the form it is used (stripped: what is used is what is masked).

        A secret link's query values are secrets too: traces list them on their own. Screenshots taken
        before that showed the secret are withheld. Raises StepFailed if it is too short to mask.
        """
        if not isinstance(value, str) or not canonical(value):
            return
        try:
            found = {check_secret(value)}
        except SecretTooShort as exc:
            raise StepFailed(f"this value cannot be kept secret: {exc}.") from None
        if "?" in value and "://" in value or value.startswith("/"):
            query = urlparse(canonical(value)).query
            found |= {canonical(item) for _, item in parse_qsl(query) if len(canonical(item)) >= 6}
        new = found - self.secrets
        if new:
            self.secrets |= new
            withhold_showing(self.shots, new)

    @property
    def redactor(self) -> Redactor:
        """The redactor for the secrets known so far (rebuilt when one is added)."""
        key = frozenset(self.secrets)
        if self._redactor is None or self._redactor_key != key:
            self._redactor, self._redactor_key = Redactor(key, marker=MASK), key
        return self._redactor

    def mask(self, text: str | None) -> str | None:
        """Replace every secret, in every encoded form, in text shown or stored."""
        return None if text is None else self.redactor.redact_text(text)

    def masked_variables(self, step: StepBase) -> dict[str, str]:
        """The variables a step used, as the evidence shows them."""
        used: dict[str, str] = {}
        for text in _strings(step.model_dump(by_alias=True, exclude={"label"})):
            for match in PLACEHOLDER.finditer(text):
                head = match.group(1).split(".")[0]
                value = self.variables.get(head)
                if head == "credentials" or (isinstance(value, str) and self.redactor.mentions(value)):
                    used[head] = MASK
                elif value is not None:
                    used[head] = str(value)
        return used

    # -- dialogs ----------------------------------------------------------------------------------------

    def on_dialog(self, dialog: Any) -> None:
        """Answer a native dialog at once (the page is frozen until we do) and record it."""
        book = self.dialogs
        answer = book.policy or "dismiss"
        seen = DialogSeen(kind=dialog.type, message=dialog.message, answered=answer)
        if book.policy is None:
            book.unexpected = seen
            seen.consumed = True
        book.seen.append(seen)
        try:
            dialog.accept() if answer == "accept" else dialog.dismiss()
        except Exception:  # noqa: BLE001 - the page may already be gone; the record stands
            pass

    # -- screenshots ------------------------------------------------------------------------------------

    @property
    def lens(self) -> Lens:
        """The engine's own view of the current page (reads and pictures kept out of the trace)."""
        if self._lens is None or self._lens.page is not self.page:
            self._lens, self._last_shot = Lens(self.page), None
        return self._lens

    def typed_secret(self, locator: Any) -> None:
        """After fill() typed a secret into `locator`: mask that field in every later picture of its page."""
        with contextlib.suppress(Exception):  # gone already (the page moved on): nothing of it to picture
            locator.evaluate(MARK_FIELD_JS, timeout=STATE_TIMEOUT_MS)

    def screenshot(self, record: StepRecord, *, own: bool = False) -> None:
        """Take the step's screenshot with secrets masked; a failure to take it never fails the run.

        Masked: fields typed a secret into, fields whose value holds a secret (pre-filled by the page),
        elements showing one in any form. What the page showed is kept in memory, so that a screenshot is
        withheld if a value it showed is learned as a secret later. A page that looks exactly as the last
        picture left it (same document, markup, fields, scroll, focus, and no style or layout pass since) is
        not pictured again, and a picture identical to the last one, byte for byte, is not kept twice: the
        step points to that picture and says so (a `screenshot:` step and a failure are always pictured). A
        page not yet navigated (about:blank) is not pictured at all: nothing has been shown.
        """
        if not own and record.action != "screenshot" and self._nothing_shown():
            return  # a step before the first navigation (an ask, a branch on answers): a blank page is no evidence
        path = self.folder.screenshot_path(record.number, record.label)
        # A `screenshot:` step asked for a picture of its own, by name, and a failure (`own`) is the picture a
        # reader looks for first: they always get one.
        last = None if own or record.action == "screenshot" else self._last_shot
        if last is not None and last[1].record.screenshot is None:  # withheld since: nothing to point to
            last = None
        try:
            picture = take_screenshot(self.lens, path, self.redactor, last[0] if last else None)
        except Exception as exc:  # noqa: BLE001 - the page may be closing; the trace still has its snapshots
            path.unlink(missing_ok=True)
            self._note(
                record,
                f"no screenshot: {self.mask(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)}",
            )
            return
        if not picture.kept:
            self._note(record, UNSTEADY)
            return
        digest = None if picture.unchanged else _digest(path)
        # The same picture of the same document: point to it, keep one file (a new document gets its own).
        shown = picture.view.document
        same_document = last is not None and shown is not None and shown == last[0].document
        if last and (picture.unchanged or (digest == last[2] and same_document)):
            if not picture.unchanged:
                path.unlink(missing_ok=True)
            taken = last[1]
            record.screenshot = taken.record.screenshot
            # Kept for the evidence's reader, not the step's detail: an agent watching live has nothing to do
            # with it.
            record.picture_note = f"same screenshot as step {taken.record.number} (the page did not change)"
            self.shots.append(Shot(record, taken.path, picture.seen))
            return
        record.screenshot = self.folder.relative(path)
        shot = Shot(record, path, picture.seen)
        self.shots.append(shot)
        self._last_shot = (picture.view, shot, digest)

    def _nothing_shown(self) -> bool:
        """Whether the page has not been navigated yet (about:blank): its picture would be a white rectangle."""
        try:
            return self.page is None or self.page.url == "about:blank"
        except Exception:  # noqa: BLE001 - a closed page: the picture's own attempt says why there is none
            return False

    @staticmethod
    def _note(record: StepRecord, note: str) -> None:
        record.detail = f"{record.detail}; {note}" if record.detail else note

    def page_state(self) -> tuple[str | None, str | None]:
        """The URL and the visible text (alerts first), as shown in a failure report.

        Bounded: one evaluation with a timeout (evaluations without one wait for a pending navigation)."""
        try:
            url = self.mask(self.page.url)  # a goto may have put a secret in the query
        except Exception:  # noqa: BLE001 - the page may be gone
            return None, None
        try:
            texts, body = self.page.locator("body").evaluate(_PAGE_TEXT_JS, timeout=STATE_TIMEOUT_MS)
        except Exception as exc:  # noqa: BLE001 - still loading, or gone: say so rather than wait
            gone = "closed" in str(exc) or "crash" in str(exc).lower()
            return url, "(the browser was gone)" if gone else STILL_LOADING
        texts = [t.strip() for t in texts if t.strip()]
        text = " | ".join(texts) + ("\n" if texts else "") + " ".join(body.split())[:600]
        return url, self.mask(text.strip())


def _digest(path: Path) -> bytes | None:
    """A digest of a picture file's bytes: two pictures with the same digest show the same pixels."""
    try:
        return hashlib.blake2b(path.read_bytes(), digest_size=16).digest()
    except OSError:
        return None


_PAGE_TEXT_JS = """body => [
  Array.from(document.querySelectorAll('[role=alert], [role=status], .uir-alert-box')).map(e => e.innerText),
  body.innerText,
]"""


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []
