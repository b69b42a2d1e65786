"""RUNBOOK_* variables read by automation.paths: the console's public address."""

from __future__ import annotations

import pytest

from automation.errors import ConfigError
from automation.paths import public_url, run_page_url


def test_the_public_url_is_read_without_its_trailing_slash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNBOOK_PUBLIC_URL", "https://runbook.example.com/support/")
    assert public_url() == "https://runbook.example.com/support"
    assert run_page_url("r-1") == "https://runbook.example.com/support/runs/r-1"


def test_without_a_public_url_there_is_no_run_page(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RUNBOOK_PUBLIC_URL", raising=False)
    assert public_url() is None and run_page_url("r-1") is None


@pytest.mark.parametrize(
    "value",
    ["runbook.example.com", "ftp://runbook.example.com", "https://", "https://x.com/a b", "http://[::1"],
)
def test_a_public_url_that_is_not_http_is_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("RUNBOOK_PUBLIC_URL", value)
    with pytest.raises(ConfigError, match="RUNBOOK_PUBLIC_URL") as caught:
        public_url()
    assert "https://runbook.example.com" in str(caught.value)
