"""A login reached on one path only is not checked before the run; when its variable is unset, the step's
failure names the variable to set instead of saying a key 'is not known'."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from automation.engine.rendering import render_text
from automation.errors import StepFailed


def _ctx(credentials: dict, credential_env: dict) -> SimpleNamespace:
    target = SimpleNamespace(credential_env=credential_env)
    return SimpleNamespace(target=target, variables={"credentials": credentials})


def test_an_unset_password_variable_is_named() -> None:
    ctx = _ctx({"site": {"user": "ops"}}, {"site": {"user": "SITE_USER", "password": "SITE_PASSWORD"}})
    with pytest.raises(StepFailed, match=r"SITE_PASSWORD is not set") as failure:
        render_text(ctx, "{{ credentials.site.password }}")  # type: ignore[arg-type]
    assert "credentials 'site' has no password" in str(failure.value)


def test_a_key_with_no_variable_keeps_the_plain_message() -> None:
    ctx = _ctx({"site": {"user": "ops"}}, {})
    with pytest.raises(
        StepFailed, match=r"'credentials.site.password' has no value: 'password' is not known"
    ):
        render_text(ctx, "{{ credentials.site.password }}")  # type: ignore[arg-type]
