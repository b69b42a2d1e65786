"""The runbook language: pydantic models, the single source of the published JSON Schema.

A step is a mapping whose action key names what it does and reads like the knowledge-base article:

    - goto: /auth/resendVerifyCode
    - fill: {label: Email}
      with: "{{ email }}"
    - click: {role: button, name: Submit}
    - branch:
        when:
          - text: This email address has already been verified.
            end: already-verified

Every step also takes the common options `label`, `optional`, `timeout` and `retry` (see StepBase).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator, model_validator

NAME_PATTERN = r"^[a-z][a-z0-9_-]*$"
VAR_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$")

Duration = Annotated[
    float | str,
    Field(description="Seconds, or a string such as '500ms', '10s', '2m'", examples=["10s"]),
]


def seconds(value: float | str | None, default: float | None = None) -> float | None:
    """Turn a Duration into seconds."""
    if value is None:
        return default
    if isinstance(value, int | float):
        return float(value)
    match = _DURATION.match(value)
    if not match:
        raise ValueError(f"'{value}' is not a duration; write e.g. 500ms, 10s or 2m")
    number, unit = float(match.group(1)), match.group(2) or "s"
    return number / 1000 if unit == "ms" else number * 60 if unit == "m" else number


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def _check_duration(value: Any) -> Any:
    if value is not None:
        seconds(value)
    return value


# -- locators ------------------------------------------------------------------------------------------


class Locator(_Model):
    """Where on the page: one of Playwright's own locators (role+name preferred; css is the escape hatch)."""

    role: str | None = Field(default=None, description="ARIA role, e.g. button, link, textbox, checkbox")
    name: str | None = Field(default=None, description="Accessible name, with role")
    exact: bool = Field(default=False, description="Match name/label/text exactly (default: substring)")
    label: str | None = Field(default=None, description="A form field by its label text")
    text: str | None = Field(default=None, description="An element by its text")
    placeholder: str | None = None
    test_id: str | None = Field(default=None, description="data-testid")
    title: str | None = None
    css: str | None = Field(default=None, description="CSS selector, e.g. #email (escape hatch)")
    nth: int | None = Field(
        default=None, description="Pick the n-th match (0-based) instead of requiring one"
    )

    @model_validator(mode="after")
    def _exactly_one_kind(self) -> Locator:
        kinds = [
            k for k in ("role", "label", "text", "placeholder", "test_id", "title", "css") if getattr(self, k)
        ]
        if len(kinds) != 1:
            raise ValueError(
                "a locator needs exactly one of role, label, text, placeholder, test_id, title, css"
                + (f" (got {', '.join(kinds)})" if kinds else "")
            )
        if self.name is not None and not self.role:
            raise ValueError("'name' goes with 'role'")
        return self

    def describe(self) -> str:
        """Human-readable form used in messages: role=button[name="Submit"], label="Email"."""
        if self.role:
            return f"role={self.role}" + (f'[name="{self.name}"]' if self.name else "")
        for kind in ("label", "text", "placeholder", "test_id", "title", "css"):
            value = getattr(self, kind)
            if value:
                return f'{kind}="{value}"' + (f" nth={self.nth}" if self.nth is not None else "")
        return "?"


# -- conditions (wait, expect, branch) -------------------------------------------------------------------


class Condition(_Model):
    """What the page shows (exactly one of these keys)."""

    visible: Locator | None = Field(default=None, description="This element is visible")
    hidden: Locator | None = Field(default=None, description="This element is hidden or absent")
    text: str | None = Field(default=None, description="This text is visible on the page")
    url: str | None = Field(default=None, description="The URL's path is this, or matches this glob")
    dialog: str | None = Field(default=None, description="A native alert/confirm whose message contains this")
    equals: dict[str, Any] | None = Field(
        default=None, description="Variables have these values (e.g. an agent's yes/no answer)"
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> Condition:
        given = [
            k
            for k in ("visible", "hidden", "text", "url", "dialog", "equals")
            if getattr(self, k) is not None
        ]
        if len(given) != 1:
            raise ValueError("a condition needs exactly one of visible, hidden, text, url, dialog, equals")
        return self

    def describe(self) -> str:
        if self.visible:
            return f"visible {self.visible.describe()}"
        if self.hidden:
            return f"hidden {self.hidden.describe()}"
        if self.text is not None:
            return f'text "{self.text}"'
        if self.url is not None:
            return f"url {self.url}"
        if self.dialog is not None:
            return f'dialog "{self.dialog}"'
        return "equals " + ", ".join(f"{k}={v}" for k, v in (self.equals or {}).items())


class Expectation(Condition):
    """`expect`/`wait`: a condition, optionally on a locator's value or text."""

    value: str | None = Field(default=None, description="With `of`: the field's value equals this")
    contains: str | None = Field(default=None, description="With `of`: the element's text contains this")
    of: Locator | None = Field(default=None, description="The element for `value`/`contains`")

    @model_validator(mode="after")
    def _exactly_one(self) -> Expectation:  # type: ignore[override]
        page_kinds = [
            k
            for k in ("visible", "hidden", "text", "url", "dialog", "equals")
            if getattr(self, k) is not None
        ]
        field_kinds = [k for k in ("value", "contains") if getattr(self, k) is not None]
        if len(page_kinds) + len(field_kinds) != 1:
            raise ValueError("expect/wait needs exactly one of visible, hidden, text, url, value, contains")
        if field_kinds and self.of is None:
            raise ValueError(f"'{field_kinds[0]}' needs 'of': the element to read")
        return self

    def describe(self) -> str:
        if self.value is not None and self.of:
            return f'value of {self.of.describe()} is "{self.value}"'
        if self.contains is not None and self.of:
            return f'{self.of.describe()} contains "{self.contains}"'
        return super().describe()


# -- steps ------------------------------------------------------------------------------------------------


class Retry(_Model):
    attempts: int = Field(ge=2, le=10, description="Total attempts, the first included")
    interval: Duration = Field(default="1s", description="Pause between attempts")

    _v = field_validator("interval")(_check_duration)


class StepBase(_Model):
    """Options every step takes."""

    label: str | None = Field(default=None, description="What the agent sees for this step")
    optional: bool = Field(default=False, description="A miss is a warning, not a failure")
    timeout: Duration | None = Field(default=None, description="How long this step may wait")
    retry: Retry | None = Field(default=None, description="Bounded attempts; each is recorded")
    safe_to_repeat: bool = Field(
        default=False, description="This click/press does not submit twice: allows `retry` on it"
    )

    _v = field_validator("timeout")(_check_duration)

    action: ClassVar[str] = ""


def url_problem(target: str) -> str | None:
    """Why a goto target must not be opened, or None: only paths of the app and http(s) URLs are.

    file:, chrome:, javascript:, data: ... would read local files, open browser internals or run code."""
    bad = next((c for c in target if ord(c) < 0x20 or ord(c) == 0x7F), None)
    if bad is not None:  # browsers drop tabs and newlines inside URLs: "java\nscript:" is javascript:
        return f"it contains a control character (U+{ord(bad):04X})"
    try:
        scheme = urlsplit(target.strip()).scheme.lower()
    except ValueError as exc:  # e.g. an unclosed [ in the host
        return f"it is not a URL ({exc})"
    if scheme and scheme not in ("http", "https"):
        return f"only a path of the app (e.g. /auth/login) or an http(s) URL can be opened, not {scheme}:"
    return None


class Goto(StepBase):
    goto: str = Field(description="A path on the runbook's app (e.g. /auth/login) or a full http(s) URL")
    action: ClassVar[str] = "goto"

    @field_validator("goto")
    @classmethod
    def _http_or_path(cls, goto: str) -> str:
        # The part before the first {{ }} is known now; the rendered URL is checked again when it runs.
        problem = url_problem(goto.split("{{")[0])
        if problem:
            raise ValueError(problem)
        return goto


class Fill(StepBase):
    fill: Locator = Field(description="The field to type into")
    with_: str = Field(alias="with", description="The text; may use {{ variables }}")
    secret: bool = Field(default=False, description="The value is secret: masked everywhere")
    action: ClassVar[str] = "fill"


class Click(StepBase):
    click: Locator
    action: ClassVar[str] = "click"


class Select(StepBase):
    select: Locator = Field(description="The <select> element")
    option: str = Field(description="The option's label (or value)")
    action: ClassVar[str] = "select"


class Check(StepBase):
    check: Locator
    action: ClassVar[str] = "check"


class Uncheck(StepBase):
    uncheck: Locator
    action: ClassVar[str] = "uncheck"


class Press(StepBase):
    press: str = Field(description="A key, e.g. Enter, Tab, Control+A")
    on: Locator | None = Field(default=None, description="The element to press it in (default: the page)")
    action: ClassVar[str] = "press"


class Wait(StepBase):
    wait: Expectation
    action: ClassVar[str] = "wait"


class Expect(StepBase):
    expect: Expectation
    action: ClassVar[str] = "expect"


class Screenshot(StepBase):
    screenshot: str = Field(description="A name for the picture, e.g. after-save")
    action: ClassVar[str] = "screenshot"


class Extract(StepBase):
    extract: Locator = Field(description="The element whose text to read")
    into: str = Field(pattern=VAR_PATTERN, description="The variable to store it in")
    pattern: str | None = Field(default=None, description="A regex; its first group (or whole match) is kept")
    secret: bool = False
    action: ClassVar[str] = "extract"


class FromMail(_Model):
    """Read the answer from the environment's mailbox (IMAP, Maildir, mbox or the sandbox's outbox): the newest
    mail to `to` that arrived after the run started and whose text or HTML matches `pattern`."""

    to: str = Field(description="The recipient, e.g. {{ email }}")
    pattern: str = Field(description=r"A regex whose first group is the answer, e.g. 'code is (\d{6})'")
    subject: str | None = Field(default=None, description="Only mails whose subject contains this")
    since: Literal["run", "step"] = Field(
        default="run", description="Only mails that arrived after the run started (run), or this step (step)"
    )
    then: Literal["keep", "mark_read", "delete"] = Field(
        default="keep", description="What to do with the mail once read: keep it, mark it read, or delete it"
    )


class Ask(StepBase):
    ask: str = Field(pattern=VAR_PATTERN, description="The variable the answer goes into")
    prompt: str = Field(description="The question, as the agent reads it")
    kind: Literal["text", "yes_no"] = "text"
    pattern: str | None = Field(default=None, description="A regex the answer must match")
    pattern_hint: str | None = Field(
        default=None, description="The pattern's rule in words, shown to the agent (e.g. 6 digits)"
    )
    secret: bool = Field(default=False, description="The answer is secret (a code, a password)")
    from_mail: FromMail | None = None
    check_before_run: bool = Field(
        default=True,
        description="Without a terminal, an answer backed by an input (--NAME) must be given before the browser "
        "starts; false: only when the run reaches this question",
    )
    action: ClassVar[str] = "ask"


class Say(StepBase):
    say: str = Field(description="An instruction shown to the agent")
    action: ClassVar[str] = "say"


class Use(StepBase):
    use: str = Field(description="Another runbook's name, run as a sub-procedure on the same page")
    with_: dict[str, Any] = Field(default_factory=dict, alias="with", description="Its inputs")
    outputs: list[str] = Field(default_factory=list, description="Variables it hands back")
    then: dict[str, str] = Field(
        default_factory=dict,
        description="Its outcome -> this runbook's outcome, or 'continue'. Resolved ones continue by default.",
    )
    save_outcome: str | None = Field(
        default=None, pattern=VAR_PATTERN, description="Store its outcome's name here"
    )
    action: ClassVar[str] = "use"


class DialogStep(StepBase):
    dialog: Literal["accept", "dismiss"] = Field(description="What to do with the native alert/confirm")
    message: str | None = Field(default=None, description="Its message must contain this")
    save: str | None = Field(default=None, pattern=VAR_PATTERN, description="Store its message here")
    action: ClassVar[str] = "dialog"


class EscalateSpec(_Model):
    queue: str = Field(description="Where the ticket goes, e.g. customer-portal-chat")
    title: str
    customer: dict[str, str] = Field(
        default_factory=dict, description="Identifiers, e.g. email: '{{ email }}'"
    )
    notes: str | None = Field(default=None, description="Notes for the ticket; may use {{ variables }}")
    ask_notes: bool = Field(default=False, description="Ask the agent for notes at run time")


class Escalate(StepBase):
    escalate: EscalateSpec
    action: ClassVar[str] = "escalate"


class End(StepBase):
    end: str = Field(description="The outcome this run ends in")
    action: ClassVar[str] = "end"


class Arm(Condition):
    """One `when` of a branch: a condition, then steps and/or an outcome."""

    steps: list[Step] = Field(default_factory=list)
    end: str | None = Field(default=None, description="End the run with this outcome after the steps")
    save: str | None = Field(default=None, pattern=VAR_PATTERN, description="dialog arms: store the message")
    respond: Literal["accept", "dismiss"] = Field(default="accept", description="dialog arms: answer with")

    def describe(self) -> str:
        return Condition.describe(self)


class ElseArm(_Model):
    steps: list[Step] = Field(default_factory=list)
    end: str | None = None


class BranchSpec(_Model):
    when: list[Arm] = Field(min_length=1, description="Checked together until one holds; the first wins")
    else_: ElseArm | None = Field(default=None, alias="else", description="If none holds within the timeout")


class Branch(StepBase):
    branch: BranchSpec
    action: ClassVar[str] = "branch"


ACTIONS: dict[str, type[StepBase]] = {
    "goto": Goto,
    "fill": Fill,
    "click": Click,
    "select": Select,
    "check": Check,
    "uncheck": Uncheck,
    "press": Press,
    "wait": Wait,
    "expect": Expect,
    "screenshot": Screenshot,
    "extract": Extract,
    "ask": Ask,
    "say": Say,
    "use": Use,
    "dialog": DialogStep,
    "escalate": Escalate,
    "end": End,
    "branch": Branch,
}
SUBMITTING_ACTIONS = frozenset({"click", "press", "escalate", "use"})


def step_action(value: Any) -> str | None:
    """The discriminator: which action key a step mapping carries."""
    if isinstance(value, StepBase):
        return value.action
    if isinstance(value, dict):
        found = [key for key in value if key in ACTIONS]
        if len(found) == 1:
            return found[0]
    return None


Step = Annotated[
    Annotated[Goto, Tag("goto")]
    | Annotated[Fill, Tag("fill")]
    | Annotated[Click, Tag("click")]
    | Annotated[Select, Tag("select")]
    | Annotated[Check, Tag("check")]
    | Annotated[Uncheck, Tag("uncheck")]
    | Annotated[Press, Tag("press")]
    | Annotated[Wait, Tag("wait")]
    | Annotated[Expect, Tag("expect")]
    | Annotated[Screenshot, Tag("screenshot")]
    | Annotated[Extract, Tag("extract")]
    | Annotated[Ask, Tag("ask")]
    | Annotated[Say, Tag("say")]
    | Annotated[Use, Tag("use")]
    | Annotated[DialogStep, Tag("dialog")]
    | Annotated[Escalate, Tag("escalate")]
    | Annotated[End, Tag("end")]
    | Annotated[Branch, Tag("branch")],
    Discriminator(
        step_action,
        custom_error_type="unknown_step",
        custom_error_message="a step needs exactly one action key",
    ),
]


# -- the runbook -------------------------------------------------------------------------------------------


class Input(_Model):
    """A value the runbook needs; each becomes a CLI option (--NAME)."""

    type: Literal["string", "email", "enum", "int", "bool", "secret"] = "string"
    help: str | None = None
    required: bool = True
    default: Any = None
    pattern: str | None = Field(default=None, description="A regex the value must match")
    pattern_hint: str | None = Field(
        default=None, description="The rule in words, shown when the pattern fails"
    )
    choices: list[str] | None = Field(default=None, description="For type enum")
    from_env: str | None = Field(
        default=None, description="Environment variable that supplies it (credentials for real targets)"
    )

    @model_validator(mode="after")
    def _consistent(self) -> Input:
        if self.type == "enum" and not self.choices:
            raise ValueError("an enum input needs 'choices'")
        if self.choices and self.type != "enum":
            raise ValueError("'choices' goes with type: enum")
        if self.type == "secret" and self.default not in (None, ""):
            raise ValueError("a secret input cannot have a default: never write secrets into a runbook")
        if self.default is not None:
            self.required = False
        return self


class Outcome(_Model):
    status: Literal["resolved", "escalated", "failed"]
    summary: str | None = Field(default=None, description="What the agent reads when the run ends here")


class ArrangeRequest(_Model):
    """A form the sandbox receives before the case runs, as a person would send it (e.g. a code request)."""

    app: str = Field(description="The app whose base URL it goes to")
    post: str = Field(description="The path, e.g. /auth/resendVerifyCode")
    form: dict[str, str] = Field(default_factory=dict)


class SandboxArrangement(_Model):
    """The sandbox state a case needs, on top of the seed fixture."""

    settings: dict[str, Any] = Field(default_factory=dict, description="e.g. netsuite_refusal: banner")
    requests: list[ArrangeRequest] = Field(default_factory=list, description="Forms sent before the run")


class Case(_Model):
    """A named example: inputs, the sandbox state it needs, and the expected outcome."""

    name: str = Field(pattern=NAME_PATTERN)
    inputs: dict[str, Any] = Field(default_factory=dict)
    answers: dict[str, Any] = Field(default_factory=dict, description="Answers to `ask` steps")
    sandbox: SandboxArrangement = Field(
        default_factory=SandboxArrangement, description="State this case needs"
    )
    expect: str = Field(description="The outcome this case must end in")
    description: str | None = None


class Runbook(_Model):
    name: str = Field(pattern=NAME_PATTERN, description="How it is called: runbook run NAME")
    title: str
    description: str | None = None
    source: str | None = Field(default=None, description="The knowledge-base article it follows")
    app: str = Field(pattern=NAME_PATTERN, description="The app it targets (portal, netsuite, or any other)")
    tags: list[str] = Field(default_factory=list)
    inputs: dict[str, Input] = Field(default_factory=dict)
    outputs: list[str] = Field(default_factory=list, description="Variables handed back when used by `use`")
    outcomes: dict[str, Outcome] = Field(min_length=1)
    steps: list[Step] = Field(min_length=1)
    finally_: list[Step] = Field(default_factory=list, alias="finally", description="Always runs")
    cases: list[Case] = Field(default_factory=list)

    @field_validator("inputs")
    @classmethod
    def _input_names(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key in value:
            if not re.match(r"^[a-z][a-z0-9_]*$", key):
                raise ValueError(
                    f"input '{key}': use lowercase letters, digits and _ (it is a {{{{ variable }}}})"
                )
        return value

    @field_validator("outcomes")
    @classmethod
    def _outcome_names(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key in value:
            if not re.match(NAME_PATTERN, key):
                raise ValueError(f"outcome '{key}': use lowercase letters, digits, - and _")
        return value


Arm.model_rebuild()
ElseArm.model_rebuild()
BranchSpec.model_rebuild()
Branch.model_rebuild()
Runbook.model_rebuild()


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a runbook file, for editors (yaml-language-server)."""
    schema = Runbook.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "runbook"
    return schema
