"""What the run pages show, worked out from the runbook, the run's state and its events: plain data the templates
render (run_pages.py holds the routes). No request, no store writes here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from automation.api import asked_in_steps
from automation.console.runs.events import Event
from automation.errors import InputValueError
from automation.loader import LoadedRunbook
from automation.schema import Input

# The HTML control each input type is typed in (bool: yes/no radios; enum: a select).
CONTROLS = {
    "string": "text",
    "email": "email",
    "int": "number",
    "secret": "password",
    "enum": "select",
    "bool": "yesno",
}
INPUT_PREFIX = "input."  # form field names of runbook inputs, apart from csrf_token and external_ticket


@dataclass
class FormField:
    """One runbook input as a form control."""

    name: str
    label: str
    control: str
    required: bool
    help: str | None
    hint: str | None
    choices: list[str] = field(default_factory=list)
    value: str = ""
    error: str | None = None

    @property
    def form_name(self) -> str:
        return INPUT_PREFIX + self.name

    @property
    def dom_id(self) -> str:
        return "input-" + self.name


def label_of(name: str) -> str:
    """customer_id -> "Customer id"."""
    words = name.replace("_", " ").replace("-", " ").strip()
    return words[:1].upper() + words[1:]


def form_fields(
    loaded: LoadedRunbook, values: dict[str, str] | None = None, errors: dict[str, str] | None = None
) -> list[FormField]:
    """The start form: every input the agent gives (those read from the server's environment are not asked).

    Secret values are never put back into the form."""
    values, errors = values or {}, errors or {}
    asked = asked_in_steps(loaded)
    fields = []
    for name, spec in loaded.model.inputs.items():
        if spec.from_env is not None:
            continue
        shown = "" if spec.type == "secret" else values.get(name, _default(spec))
        fields.append(
            FormField(
                name=name,
                label=label_of(name),
                control=CONTROLS[spec.type],
                # an input its own `ask` step asks may be left empty: the run asks for it then
                required=spec.required and spec.default is None and name not in asked,
                help=spec.help,
                hint=_hint(spec),
                choices=list(spec.choices or []),
                value=shown,
                error=errors.get(name),
            )
        )
    return fields


def _default(spec: Input) -> str:
    if spec.default is None:
        return ""
    if isinstance(spec.default, bool):
        return "yes" if spec.default else "no"
    return str(spec.default)


def _hint(spec: Input) -> str | None:
    """The rule a pattern stands for, in words when the runbook gives them."""
    if spec.pattern is None:
        return None
    return spec.pattern_hint or f"In the form {spec.pattern}"


def field_message(exc: InputValueError) -> str:
    """The CLI's message for the field, without the field's name (the page shows it beside the field) and
    without the command line's advice."""
    text = str(exc).removeprefix(f"input '{exc.name}': ")
    if text.startswith("is required"):
        return "This is required."
    return text[:1].upper() + text[1:]


def submitted_inputs(form: dict[str, str]) -> dict[str, str]:
    return {k.removeprefix(INPUT_PREFIX): v for k, v in form.items() if k.startswith(INPUT_PREFIX)}


# -- the run page ---------------------------------------------------------------------------------------------


@dataclass
class Line:
    """A line of the run as the terminal shows it: a step, by number, as it last stood."""

    kind: str  # step
    data: dict[str, Any]


def timeline(found: list[Event]) -> tuple[list[Line], int]:
    """The run's steps in order (where each started, as it last stood) and the last event id read. A `say`
    event is left out: its step (action say) already shows the instruction as its label."""
    lines: list[Line] = []
    steps: dict[str, Line] = {}
    last = 0
    for event in found:
        last = event.id
        if event.kind == "step":
            number = str(event.data.get("number"))
            if number in steps:
                steps[number].data = event.data
            else:
                steps[number] = Line("step", event.data)
                lines.append(steps[number])
    return lines, last


def latest_screenshot(lines: list[Line]) -> dict[str, Any] | None:
    """The last step that has a picture."""
    for line in reversed(lines):
        if line.kind == "step" and line.data.get("screenshot"):
            return line.data
    return None


def ordinal(number: int) -> str:
    """1 -> 1st, 2 -> 2nd, 11 -> 11th."""
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def seconds(value: Any) -> str:
    try:
        return f"{float(value):.1f} s"
    except (TypeError, ValueError):
        return ""


def when(value: datetime | str | None) -> str:
    """A time as the pages show it: 2025-01-31 14:03 UTC."""
    if value is None:
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def question_hint(loaded: LoadedRunbook | None, card: dict[str, Any]) -> str | None:
    """What the answer must look like: the question's own pattern_hint, else the words of the input of the
    same name, else the pattern itself."""
    if card.get("pattern_hint"):
        return str(card["pattern_hint"])
    spec = loaded.model.inputs.get(str(card.get("name"))) if loaded is not None else None
    if spec is not None and (spec.pattern_hint or spec.help):
        return spec.pattern_hint or spec.help
    return f"In the form {card['pattern']}" if card.get("pattern") else None


def question_hints(loaded: LoadedRunbook | None) -> dict[str, str]:
    """For the live page: the hint of each question a runbook's input of the same name describes."""
    if loaded is None:
        return {}
    found = {name: question_hint(loaded, {"name": name}) for name in loaded.model.inputs}
    return {name: hint for name, hint in found.items() if hint}


# -- the history search ---------------------------------------------------------------------------------------


def day_range(since: str, until: str) -> tuple[datetime | None, datetime | None, dict[str, str]]:
    """The dates of the search form (YYYY-MM-DD, both days included) as [since, until) in UTC, and a message
    for each date that is not one."""
    errors: dict[str, str] = {}
    start = _day(since, "since", errors)
    end = _day(until, "until", errors)
    return (
        datetime.combine(start, time(), UTC) if start else None,
        datetime.combine(end + timedelta(days=1), time(), UTC) if end else None,
        errors,
    )


def _day(text: str, name: str, errors: dict[str, str]) -> date | None:
    text = text.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors[name] = f"'{text[:40]}' is not a date: write it as YYYY-MM-DD, e.g. 2025-01-31"
        return None
