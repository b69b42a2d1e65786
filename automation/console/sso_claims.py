"""What the provider vouches for: the ID token, verified (signature against the provider's JWKS, issuer,
audience and authorized party, expiry, nonce), and its claims mapped to a console name, role and team by
console.yaml's `sso:` data. Pure functions of their inputs (and `now`), tested without a provider.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from automation.console.config import SsoSpec
from automation.console.permissions import Role
from automation.console.values import TEAM_ROLES

LEEWAY_S = 60  # clocks differ a little between the provider and us
# Asymmetric algorithms only: "none" proves nothing, and an HMAC one would make the client secret a signing key.
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
# Widest reach first: a user in several mapped groups gets the role that reaches furthest.
ROLE_ORDER = (Role.ADMIN, Role.OPERATIONS, Role.LEAD, Role.AGENT)
NO_ROLE = "Your account has no role here; ask an administrator to give your group a role in the console."
TRY_AGAIN = "The sign-in could not be completed; start again with the button below."


class SsoRefused(Exception):
    """A sign-in through the provider that opens no session. `message` is for the person (shown in the
    page), `reason` for the server's log; neither carries a code or a token."""

    def __init__(self, message: str, reason: str | None = None, status: int = 403) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason or message
        self.status = status


@dataclass(frozen=True)
class Identity:
    """Who the provider says signed in, as the console will know them."""

    subject: str
    name: str
    role: Role
    team: str | None


def verify_id_token(
    id_token: str,
    *,
    jwks: Mapping[str, Any],
    issuer: str,
    client_id: str,
    nonce: str,
    now: int,
    leeway: int = LEEWAY_S,
) -> dict[str, Any]:
    """The ID token's claims once its signature (a key of `jwks`, an asymmetric algorithm), issuer,
    audience (and authorized party), expiry and nonce are right; else SsoRefused naming what was wrong."""
    from joserfc import jwt
    from joserfc.errors import JoseError
    from joserfc.jwk import KeySet

    try:
        keys = KeySet.import_key_set(dict(jwks))  # type: ignore[arg-type]
        token = jwt.decode(id_token, keys, algorithms=list(ALGORITHMS))
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise _bad_token(
            f"its signature does not verify with the provider's keys ({type(exc).__name__})"
        ) from None
    registry = jwt.JWTClaimsRegistry(
        now=now,
        leeway=leeway,
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": client_id},
        exp={"essential": True},
        sub={"essential": True},
        nonce={"essential": True, "value": nonce},
    )
    claims = dict(token.claims)
    try:
        registry.validate(claims)
    except JoseError as exc:
        raise _bad_token(f"{exc.error}: {exc.description or ''}".strip(": ")) from None
    audience = claims["aud"]
    if isinstance(audience, list) and len(audience) > 1 and claims.get("azp") != client_id:
        raise _bad_token("it names several audiences and the console is not its authorized party (azp)")
    return claims


def _bad_token(why: str) -> SsoRefused:
    return SsoRefused(TRY_AGAIN, f"the ID token was refused: {why}")


# -- who they are here ------------------------------------------------------------------------------------------


def map_claims(spec: SsoSpec, claims: Mapping[str, Any], teams: Collection[str]) -> Identity:
    """The console name, role and team console.yaml's mapping gives these claims; SsoRefused when it gives
    no role, or an agent or lead no team of `teams` (console.yaml's)."""
    name = str(claims.get(spec.username_claim) or "").strip().casefold()
    if not name:
        raise SsoRefused(
            "The sign-in service did not say your user name; ask an administrator.",
            f"the ID token has no {spec.username_claim!r} claim (sso: username_claim)",
        )
    groups = _groups(claims.get(spec.groups_claim))
    roles = {spec.roles[group] for group in groups if group in spec.roles}
    role = next((r for r in ROLE_ORDER if r in roles), None)
    if role is None:
        raise SsoRefused(NO_ROLE, f"{name}: none of their groups is in sso: roles")
    team = _team(spec, claims, groups) if role in TEAM_ROLES else None
    if role in TEAM_ROLES and team is None:
        raise SsoRefused(
            f"Your account is {role.value} here but has no team; ask an administrator.",
            f"{name}: no team from sso: team_claim or teams",
        )
    if team is not None and team not in teams:
        raise SsoRefused(
            f"Your team ({team[:64]}) has no runbooks in this console; ask an administrator.",
            f"{name}: team {team[:64]!r} is not in console.yaml's teams:",
        )
    return Identity(subject=str(claims["sub"]), name=name, role=role, team=team)


def _groups(value: Any) -> list[str]:
    """A groups claim as a list of names (some providers send one group as a string)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(group) for group in value]
    return []


def _team(spec: SsoSpec, claims: Mapping[str, Any], groups: list[str]) -> str | None:
    if spec.team_claim is not None and isinstance(claims.get(spec.team_claim), str):
        return str(claims[spec.team_claim])
    return next((spec.teams[group] for group in groups if group in spec.teams), None)
