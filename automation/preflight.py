"""What a run needs before its browser starts, read from the runbook alone: the questions every path
reaches, the credentials it uses, and the apps it opens. Pure functions over the loaded models."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from automation.errors import ConfigError
from automation.templating import references

if TYPE_CHECKING:
    from automation.catalog import Catalog
    from automation.environments import Target
    from automation.loader import LoadedRunbook
    from automation.schema import Ask, StepBase, Use


def asks_on_every_path(loaded: LoadedRunbook, catalog: Catalog | None) -> list[Ask]:
    """The `ask` steps that every run of `loaded` reaches (sub-runbooks' included), in order.

    A question inside a branch arm, or after a step that may end the run (an `end`, a branch with an
    outcome, a sub-runbook that may end it), is reached on some paths only: it is asked when reached."""
    from automation.schema import Ask

    return [step for step in _must_reach(loaded, catalog, {loaded.name}) if isinstance(step, Ask)]


def _must_reach(loaded: LoadedRunbook, catalog: Catalog | None, seen: set[str]) -> Iterator[StepBase]:
    """The steps every run reaches, in order (a branch itself, not its arms; sub-runbooks' steps)."""
    from automation.schema import Branch, End, Use

    for step in loaded.model.steps:
        yield step
        if isinstance(step, Use) and (catalog is None or step.use in seen):
            return  # where it may lead is not known here: what follows is not reached on every path
        if isinstance(step, Use) and catalog is not None:
            sub = catalog.get(step.use)
            yield from _must_reach(sub, catalog, seen | {step.use})
            if _use_may_end(step, sub):
                return
        elif isinstance(step, End) or (isinstance(step, Branch) and _branch_may_end(step, catalog)):
            return


def _branch_may_end(step: StepBase, catalog: Catalog | None) -> bool:
    from automation.loader import walk_steps
    from automation.schema import Branch, End, Use

    assert isinstance(step, Branch)
    arms: list[Any] = [*step.branch.when, *([step.branch.else_] if step.branch.else_ else [])]
    if any(arm.end for arm in arms):
        return True
    for arm in arms:
        for _, inner in walk_steps(arm.steps, ()):
            if isinstance(inner, End) or (isinstance(inner, Branch) and _branch_may_end(inner, catalog)):
                return True
            if isinstance(inner, Use) and catalog is not None:
                if _use_may_end(inner, catalog.get(inner.use)):
                    return True
    return False


def _use_may_end(step: Use, sub: LoadedRunbook) -> bool:
    """A sub-runbook ends its caller in an outcome mapped to something else than `continue`, or (not
    mapped) one that is not resolved."""
    for name, outcome in sub.model.outcomes.items():
        default = "continue" if outcome.status == "resolved" else name
        if step.then.get(name, default) != "continue":
            return True
    return False


# -- credentials -------------------------------------------------------------------------------------------------


def credentials_used(
    loaded: LoadedRunbook, catalog: Catalog | None, *, every_path: bool = False
) -> dict[str, set[str]]:
    """credentials NAME -> the parts (user, password) the runbook and its sub-runbooks use: on any path, or
    (`every_path`) in the steps every run reaches."""
    from automation.schema import Branch

    if every_path:
        steps = [s for s in _must_reach(loaded, catalog, {loaded.name}) if not isinstance(s, Branch)]
        texts: Iterator[str] = (
            t for s in steps for t in _strings(s.model_dump(by_alias=True, exclude={"label"}))
        )
    else:
        texts = (t for book in _books(loaded, catalog, {loaded.name}) for t in _texts(book))
    used: dict[str, set[str]] = {}
    for text in texts:
        for name in references(text):
            head, _, rest = name.partition(".")
            if head == "credentials" and rest:
                cred, _, part = rest.partition(".")
                used.setdefault(cred, set()).update([part] if part else [])
    return used


def check_credentials(loaded: LoadedRunbook, target: Target, catalog: Catalog | None) -> None:
    """Every credential the runbook uses is defined by the environment; each part used on every path (a
    login the runbook may skip, e.g. with a saved session, is not) has its value.

    Raises ConfigError (exit 2) naming the credential and, for a value that comes from the environment,
    the variable to set."""
    needed = credentials_used(loaded, catalog, every_path=True)
    for name in sorted(credentials_used(loaded, catalog)):
        if name not in target.credentials:
            known = ", ".join(sorted(target.credentials)) or "none"
            raise ConfigError(
                f"{loaded.name} uses credentials '{name}', which environment '{target.name}' does not "
                f"define (it has: {known}). Add it under credentials: of '{target.name}' in the "
                "environments file, e.g. "
                f"{name}: {{user_env: {name.upper()}_USER, password_env: {name.upper()}_PASSWORD}}"
            )
        for part in sorted(needed.get(name, set())):
            if target.credentials[name].get(part):
                continue
            variable = target.credential_env.get(name, {}).get(part)
            if variable:
                raise ConfigError(
                    f"credentials '{name}' of environment '{target.name}' takes its {part} from the "
                    f"variable {variable}, which is not set: export {variable}=... (or write it in "
                    "~/.config/runbook/secrets.env, readable by you alone)"
                )
            raise ConfigError(
                f"credentials '{name}' of environment '{target.name}' has no {part}: give it "
                f"{part}_env: VARIABLE in the environments file"
            )


def apps_used(loaded: LoadedRunbook, catalog: Catalog | None) -> set[str]:
    """The apps a run opens: its runbook's and its sub-runbooks'."""
    return {book.model.app for book in _books(loaded, catalog, {loaded.name})}


def _books(loaded: LoadedRunbook, catalog: Catalog | None, seen: set[str]) -> Iterator[LoadedRunbook]:
    from automation.loader import walk_steps
    from automation.schema import Use

    yield loaded
    if catalog is None:
        return
    for block in (loaded.model.steps, loaded.model.finally_):
        for _, step in walk_steps(block, ()):
            if isinstance(step, Use) and step.use not in seen:
                seen.add(step.use)
                yield from _books(catalog.get(step.use), catalog, seen)


def _texts(loaded: LoadedRunbook) -> Iterator[str]:
    from automation.loader import walk_steps

    for block in (loaded.model.steps, loaded.model.finally_):
        for _, step in walk_steps(block, ()):
            yield from _strings(step.model_dump(by_alias=True, exclude={"label"}))


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
