"""A secret answer crosses the store sealed to the run that asked: the run makes a key pair for each secret
question and publishes the public half with it; whoever answers (any server, any replica) seals the answer to
that key; only the run, which holds the private half in memory, can open it, and it wipes the sealed text once
taken. So the store never holds a secret anyone could read, and the answer need not pass through one server's
memory (the next step: runs on Celery workers)."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

# RSA-OAEP with SHA-256 seals up to 190 bytes with a 2048-bit key: codes and passwords fit; the answer form
# caps a secret's length below that (answers.MAX_SECRET_BYTES).
MAX_SEALED_BYTES = 190
_OAEP = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


class SealError(ValueError):
    """The answer cannot be sealed (too long) or opened (not sealed to this key)."""


@dataclass
class KeyPair:
    """One question's key pair; the private half never leaves the run's memory."""

    _private: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )

    @property
    def public_pem(self) -> str:
        return (
            self._private.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode("ascii")
        )

    def open(self, sealed: str) -> str:
        try:
            return self._private.decrypt(base64.b64decode(sealed), _OAEP).decode("utf-8")
        except (ValueError, TypeError) as exc:
            raise SealError("the sealed answer does not open with this question's key") from exc


def seal(public_pem: str, text: str) -> str:
    """`text` sealed to the public key, as base64. Raises SealError if it is too long to seal."""
    data = text.encode("utf-8")
    if len(data) > MAX_SEALED_BYTES:
        raise SealError(f"a secret answer is at most {MAX_SEALED_BYTES} bytes")
    key = serialization.load_pem_public_key(public_pem.encode("ascii"))
    assert isinstance(key, rsa.RSAPublicKey)
    return base64.b64encode(key.encrypt(data, _OAEP)).decode("ascii")
