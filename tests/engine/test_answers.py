"""Answers typed at the prompt are checked like inputs: what the evidence cannot carry is asked again."""

from __future__ import annotations

import pytest

from automation.engine.answers import normalise
from automation.schema import Ask


@pytest.mark.parametrize("typed", ["12\x1b[A34", "ab\x00cd", "bad\udcffbyte"])
def test_an_answer_with_control_characters_or_broken_bytes_is_refused_saying_why(typed: str) -> None:
    step = Ask.model_validate({"ask": "code", "prompt": "The code"})
    with pytest.raises(ValueError, match="control character|not valid UTF-8"):
        normalise(step, typed)


def test_a_plain_answer_is_kept_stripped() -> None:
    step = Ask.model_validate({"ask": "code", "prompt": "The code"})
    assert normalise(step, "  424242 ") == "424242"
