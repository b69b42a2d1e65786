"""A secret answer sealed to the key of the question that asked it: only that key opens it; too long a one is
refused before it is sealed."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from automation.console.runs.sealing import MAX_SEALED_BYTES, KeyPair, SealError, seal

KEYS = KeyPair()  # a key pair takes a moment to make: one for the round trips


@settings(max_examples=25, deadline=None)
@given(text=st.text(min_size=1, max_size=40))
def test_what_is_sealed_opens_with_its_key_only(text: str) -> None:
    sealed = seal(KEYS.public_pem, text)
    assert len(base64.b64decode(sealed)) == 256  # an RSA-2048 block, whatever the answer's length
    assert KEYS.open(sealed) == text
    assert seal(KEYS.public_pem, text) != sealed  # OAEP is randomised: equal answers do not look equal


def test_another_question_s_key_does_not_open_it() -> None:
    sealed = seal(KEYS.public_pem, "Bright-Morning-4sun")
    with pytest.raises(SealError):
        KeyPair().open(sealed)
    with pytest.raises(SealError):
        KEYS.open("not sealed at all")


def test_the_longest_answer_seals_and_a_longer_one_is_refused() -> None:
    longest = "é" * (MAX_SEALED_BYTES // 2)  # two bytes each in UTF-8
    assert KEYS.open(seal(KEYS.public_pem, longest)) == longest
    with pytest.raises(SealError, match=f"at most {MAX_SEALED_BYTES} bytes"):
        seal(KEYS.public_pem, "x" * (MAX_SEALED_BYTES + 1))
