"""How a step is named where people read it: its default label, and the file it comes from.

A default label reads as a support agent would say it on the phone ("Click the Need Help link", "Fill Email",
"Check that the page shows "Saved"") rather than as the runbook's code. It is made from the step as written,
never rendered: a `fill`'s value is not part of it, and a {{ variable }} stays a name, so no secret can enter it.

Language level (the catalog view, the checks file and the engine all name steps the same way), so it imports
nothing of the runner.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # only for the hint: naming a step must not build the schema (start-up cost, issue 12)
    from automation.schema import StepBase

# A branch whose arms do not fit in this many characters is named without them.
BRANCH_LABEL_MAX = 90
# What a role is called in speech; a role not listed is named as it is ("the Help tab").
_ROLE_NOUNS = {
    "textbox": "field",
    "searchbox": "search field",
    "combobox": "list",
    "listbox": "list",
    "spinbutton": "field",
    "checkbox": "checkbox",
    "radio": "option",
    "menuitem": "menu item",
    "menuitemcheckbox": "menu item",
    "menuitemradio": "menu item",
    "tabpanel": "tab panel",
    "gridcell": "cell",
    "columnheader": "column heading",
    "rowheader": "row heading",
    "img": "image",
    "alertdialog": "dialog",
}
_ONE_VARIABLE = re.compile(r"^\s*\{\{\s*([A-Za-z_][\w.]*)\s*\}\}\s*$")


def describe_step(step: StepBase) -> str:
    """A default label in plain English: 'Click the Submit button', 'Open /auth/login'."""
    namer = _NAMERS.get(step.action)
    if namer is not None:
        return namer(step)
    return step.action.replace("_", " ").capitalize()  # a step kind added later: at least its name


# -- locators ---------------------------------------------------------------------------------------------------


def element(loc: Any) -> str:
    """A locator as a person names the element: 'the Need Help link', 'the "#email" element'."""
    if loc.role:
        noun = _ROLE_NOUNS.get(loc.role, loc.role)
        named = f"the {loc.name} {noun}" if loc.name else f"the {noun}"
    elif loc.label:
        named = f"the {loc.label} field"
    elif loc.text:
        named = f'"{loc.text}"'
    elif loc.placeholder:
        named = f'the "{loc.placeholder}" field'
    elif loc.test_id:
        named = f'the element with test id "{loc.test_id}"'
    elif loc.title:
        named = f'the element titled "{loc.title}"'
    else:
        named = f'the element "{loc.css}"'
    return named + _nth(loc)


def field_name(loc: Any) -> str:
    """A form field by the name an agent reads beside it ('New Password'), else as `element` names it."""
    name = loc.label or loc.placeholder or (loc.name if loc.role in _FIELD_ROLES else None)
    return f"{name}{_nth(loc)}" if name else element(loc)


_FIELD_ROLES = frozenset({"textbox", "searchbox", "combobox", "listbox", "spinbutton", "checkbox", "radio"})


def _nth(loc: Any) -> str:
    if loc.nth is None:
        return ""
    return f" (the {_ordinal(loc.nth + 1)} one)"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


# -- conditions ------------------------------------------------------------------------------------------------


def condition(cond: Any) -> str:
    """What a condition says about the page, as a clause: 'the page shows "Saved"'."""
    if getattr(cond, "value", None) is not None and cond.of is not None:
        return f'{field_name(cond.of)} holds "{cond.value}"'
    if getattr(cond, "contains", None) is not None and cond.of is not None:
        return f'{element(cond.of)} says "{cond.contains}"'
    if cond.visible is not None:
        return f"{element(cond.visible)} is shown"
    if cond.hidden is not None:
        return f"{element(cond.hidden)} is gone"
    if cond.text is not None:
        return f'the page shows "{cond.text}"'
    if cond.url is not None:
        return f"the page is {cond.url}"
    if cond.dialog is not None:
        return f'a dialog says "{cond.dialog}"'
    return " and ".join(f"{_spoken(k)} is {_value(v)}" for k, v in (cond.equals or {}).items())


def _spoken(name: str) -> str:
    """A variable's name as words: can_log_in -> 'can log in'."""
    return name.replace("_", " ")


def _value(value: Any) -> str:
    if value is True:
        return "yes"
    if value is False:
        return "no"
    return str(value)


def _target(text: str) -> str:
    """A goto target: a lone {{ variable }} is named in words ('the reset link'), anything else as written."""
    match = _ONE_VARIABLE.match(text)
    return f"the {_spoken(match.group(1).split('.')[-1])}" if match else text


# -- one namer per step kind -------------------------------------------------------------------------------------


def _branch(step: Any) -> str:
    arms = [condition(arm) for arm in step.branch.when]
    if step.branch.else_ is not None and (step.branch.else_.steps or step.branch.else_.end):
        arms.append("otherwise")
    named = "Decide: " + (" or ".join(arms[:-1]) + " or " + arms[-1] if len(arms) > 1 else arms[0])
    if len(named) <= BRANCH_LABEL_MAX:
        return named
    return f"Decide what to do next ({len(step.branch.when)} possibilities)"


def _press(step: Any) -> str:
    return f"Press {step.press}" + (f" in {field_name(step.on)}" if step.on is not None else "")


def _dialog(step: Any) -> str:
    verb = "Accept" if step.dialog == "accept" else "Dismiss"
    return f"{verb} the dialog" + (f' that says "{step.message}"' if step.message else "")


_NAMERS: dict[str, Any] = {
    "goto": lambda s: f"Open {_target(s.goto)}",
    "fill": lambda s: f"Fill {field_name(s.fill)}",
    "click": lambda s: f"Click {element(s.click)}",
    "select": lambda s: f'Choose "{s.option}" in {field_name(s.select)}',
    "check": lambda s: f"Tick {field_name(s.check)}",
    "uncheck": lambda s: f"Untick {field_name(s.uncheck)}",
    "press": _press,
    "wait": lambda s: f"Wait until {condition(s.wait)}",
    "expect": lambda s: f"Check that {condition(s.expect)}",
    "screenshot": lambda s: f"Take a screenshot ({s.screenshot})",
    "extract": lambda s: f"Read {element(s.extract)} into {s.into}",
    "ask": lambda s: s.prompt,
    "say": lambda s: s.say,
    "use": lambda s: f"Run the {s.use} procedure",
    "dialog": _dialog,
    "escalate": lambda s: f"Open a ticket in the {s.escalate.queue} queue",
    "end": lambda s: f"Finish with outcome {s.end}",
    "branch": _branch,
}


def display_path(path: Path | None) -> str | None:
    """A runbook's file as reports show it: relative to the working folder when inside it, else absolute."""
    if path is None:
        return None
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
