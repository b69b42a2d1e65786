"""Single sign-on: the console's sign-in through an OpenID Connect provider (console.yaml `sso:`).

The authorization code flow with PKCE (S256), state and nonce, built from authlib's protocol pieces (the
authorization URL, the token request, the S256 challenge) with httpx for the calls and joserfc (authlib's JOSE
library) for the ID token:

- `start`: a new random state, kept in console_sso_logins as its hash, bound to the browser's pre-login id
  (the anonymous id its login page set; never promoted); the PKCE verifier and the nonce are HMACs of the
  state under that id, so the store holds nothing that finishes a sign-in and only that browser can.
- `finish`: the state must be known, this browser's, unexpired and unused (it is marked used before anything
  else: a replay is refused); the code is exchanged with the verifier; the ID token's signature (the
  provider's JWKS), issuer, audience, expiry and nonce are checked (`verify_id_token`); the claims are mapped
  to a role and a team by console.yaml's data (`map_claims`); the user row is made or updated
  (accounts.upsert_sso_user). The caller then opens a NEW session, as the password sign-in does.

Nothing secret is written anywhere: no code, no token in a page, the log or the store; a refusal tells the
person what to do and the log why (`SsoRefused.reason`), without either.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from sqlalchemy import delete, insert, select, update

from automation.console.accounts import User, upsert_sso_user
from automation.console.config import SsoSpec
from automation.console.sso_claims import (
    TRY_AGAIN,
    Identity,
    SsoRefused,
    map_claims,
    verify_id_token,
)
from automation.console.store import ConsoleStore
from automation.console.values import AccountExists, AccountValueError
from automation.store.tables.console import sso_logins

log = logging.getLogger(__name__)

CALLBACK_PATH = "/login/sso/callback"
PENDING_FOR = timedelta(minutes=10)  # from the button to the provider's answer: time to type a password
HTTP_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Provider:
    """The endpoints of the provider's discovery document."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    token_auth_methods: tuple[str, ...]


# -- the browser's binding -------------------------------------------------------------------------------------


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def derived(browser_id: str, state: str, purpose: str) -> str:
    """A value only the browser holding `browser_id` can make again: the PKCE verifier or the nonce of
    `state` (43 URL-safe characters, a valid RFC 7636 verifier)."""
    mac = hmac.new(browser_id.encode(), f"runbook-sso-{purpose}:{state}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def redirect_uri(public_url: str | None, base_url: str) -> str:
    """Where the provider sends the browser back: the console's public address when set (behind a proxy
    the request's own may be an internal one), else the request's."""
    return (public_url or base_url).rstrip("/") + CALLBACK_PATH


# -- the provider ------------------------------------------------------------------------------------------------


def discover(spec: SsoSpec, http: httpx.Client) -> Provider:
    """The provider's discovery document, which must name the configured issuer."""
    url = spec.issuer.rstrip("/") + "/.well-known/openid-configuration"
    document = _get_json(http, url, "its discovery document")
    if document.get("issuer") != spec.issuer:
        raise SsoRefused(
            "Single sign-on is not set up correctly; ask an administrator.",
            f"the provider at {url} names issuer {str(document.get('issuer'))[:200]!r}, console.yaml says"
            f" {spec.issuer!r}: they must be the same",
            502,
        )
    try:
        return Provider(
            issuer=spec.issuer,
            authorization_endpoint=str(document["authorization_endpoint"]),
            token_endpoint=str(document["token_endpoint"]),
            jwks_uri=str(document["jwks_uri"]),
            token_auth_methods=tuple(
                document.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
            ),
        )
    except KeyError as missing:
        raise _unavailable(f"the discovery document at {url} has no {missing}") from None


def _get_json(http: httpx.Client, url: str, what: str) -> dict[str, Any]:
    try:
        reply = http.get(url, timeout=HTTP_TIMEOUT_S)
        reply.raise_for_status()
        found = reply.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise _unavailable(f"could not read {what} at {url}: {type(exc).__name__}: {exc}") from None
    if not isinstance(found, dict):
        raise _unavailable(f"{what} at {url} is not a JSON object")
    return found


def _unavailable(reason: str) -> SsoRefused:
    return SsoRefused("The sign-in service cannot be reached just now; try again in a minute.", reason, 502)


def client_secret(spec: SsoSpec, environ: Mapping[str, str]) -> str | None:
    """The client secret from its variable; None for a public client. SsoRefused when the variable is empty."""
    if spec.client_secret_env is None:
        return None
    secret = environ.get(spec.client_secret_env, "")
    if not secret:
        raise SsoRefused(
            "Single sign-on is not set up correctly; ask an administrator.",
            f"console.yaml's sso: client_secret_env names {spec.client_secret_env}, which is not set in the"
            " server's environment",
            503,
        )
    return secret


# -- start -------------------------------------------------------------------------------------------------------


def start(
    store: ConsoleStore,
    spec: SsoSpec,
    http: httpx.Client,
    *,
    browser_id: str,
    next_path: str,
    callback: str,
    now: datetime,
) -> str:
    """Begin a sign-in for the browser holding `browser_id`: the provider's authorization URL to send it to."""
    provider = discover(spec, http)
    state = secrets.token_urlsafe(32)
    with store.transaction() as conn:
        conn.execute(delete(sso_logins).where(sso_logins.c.expires < now - PENDING_FOR))  # long gone
        conn.execute(
            insert(sso_logins).values(
                state_hash=_digest(state),
                browser_hash=_digest(browser_id),
                next=next_path,
                created=now,
                expires=now + PENDING_FOR,
            )
        )
    verifier = derived(browser_id, state, "pkce")
    return str(
        prepare_grant_uri(
            provider.authorization_endpoint,
            client_id=spec.client_id,
            response_type="code",
            redirect_uri=callback,
            scope=" ".join(spec.scopes),
            state=state,
            nonce=derived(browser_id, state, "nonce"),
            code_challenge=create_s256_code_challenge(verifier),
            code_challenge_method="S256",
        )
    )


# -- finish ------------------------------------------------------------------------------------------------------


def consume_state(store: ConsoleStore, state: str, browser_id: str | None, now: datetime) -> str:
    """Mark the state used, once, and return the page to go to; SsoRefused for a state that is unknown,
    another browser's, expired or used before (a replay)."""
    if not state or len(state) > 200 or not browser_id:
        raise SsoRefused(
            TRY_AGAIN, "a callback without a state, or from a browser without its pre-login id", 400
        )
    key = _digest(state)
    with store.transaction() as conn:
        row = conn.execute(select(sso_logins).where(sso_logins.c.state_hash == key)).mappings().first()
        if row is None:
            raise SsoRefused(TRY_AGAIN, "a callback with a state this console never gave", 400)
        if row["used"] is not None:
            raise SsoRefused(TRY_AGAIN, "a callback with a state already used (a replay)", 400)
        conn.execute(update(sso_logins).where(sso_logins.c.state_hash == key).values(used=now))
    # Checked after marking it used: a state seen by another browser is spent either way.
    if not hmac.compare_digest(row["browser_hash"], _digest(browser_id)):
        raise SsoRefused(
            TRY_AGAIN, "a callback in another browser than the one that started the sign-in", 400
        )
    if now >= row["expires"]:
        raise SsoRefused(TRY_AGAIN, "a callback after the sign-in's 10 minutes", 400)
    return str(row["next"])


def finish(
    store: ConsoleStore,
    spec: SsoSpec,
    http: httpx.Client,
    *,
    params: Mapping[str, str],
    teams: Collection[str],
    browser_id: str | None,
    callback: str,
    environ: Mapping[str, str],
    now: datetime,
) -> tuple[User, str]:
    """The provider's answer (the callback's query) checked to the end: (the user, the page to go to)."""
    state = params.get("state", "")
    next_path = consume_state(store, state, browser_id, now)
    assert browser_id is not None  # consume_state refused a callback without it
    if params.get("iss", spec.issuer) != spec.issuer:  # RFC 9207: an answer from another provider (mix-up)
        raise SsoRefused(TRY_AGAIN, f"the answer names issuer {params['iss'][:200]!r}, not {spec.issuer!r}")
    if "error" in params:
        error = params["error"][:60]
        raise SsoRefused(
            f"The sign-in service did not sign you in ({error}).", f"the provider answered {error}"
        )
    code = params.get("code", "")
    if not code:
        raise SsoRefused(TRY_AGAIN, "a callback without a code", 400)
    provider = discover(spec, http)
    id_token = exchange(
        provider,
        spec,
        http,
        code=code,
        verifier=derived(browser_id, state, "pkce"),
        callback=callback,
        secret=client_secret(spec, environ),
    )
    jwks = _get_json(http, provider.jwks_uri, "its signing keys (JWKS)")
    claims = verify_id_token(
        id_token,
        jwks=jwks,
        issuer=spec.issuer,
        client_id=spec.client_id,
        nonce=derived(browser_id, state, "nonce"),
        now=int(now.timestamp()),
    )
    identity = map_claims(spec, claims, teams)
    user = _account(store, spec, identity, now)
    return user, next_path


def exchange(
    provider: Provider,
    spec: SsoSpec,
    http: httpx.Client,
    *,
    code: str,
    verifier: str,
    callback: str,
    secret: str | None,
) -> str:
    """The ID token the token endpoint gives for `code` and the PKCE verifier."""
    fields: dict[str, Any] = {"code": code, "redirect_uri": callback, "code_verifier": verifier}
    auth: tuple[str, str] | None = None
    if secret is None or "client_secret_basic" not in provider.token_auth_methods:
        fields["client_id"] = spec.client_id
        if secret is not None:
            fields["client_secret"] = secret  # client_secret_post
    else:  # RFC 6749 2.3.1: both parts form-encoded inside Basic
        auth = (quote(spec.client_id, safe=""), quote(secret, safe=""))
    body = prepare_token_request("authorization_code", **fields)
    headers = {"content-type": "application/x-www-form-urlencoded", "accept": "application/json"}
    try:
        reply = http.post(
            provider.token_endpoint, content=body, headers=headers, auth=auth, timeout=HTTP_TIMEOUT_S
        )
        answer = reply.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise _unavailable(f"the token endpoint did not answer: {type(exc).__name__}") from None
    if reply.status_code != 200 or not isinstance(answer, dict) or not answer.get("id_token"):
        error = answer.get("error", "no id_token") if isinstance(answer, dict) else "not JSON"
        # the provider's error name only: its description may repeat what was sent
        raise SsoRefused(TRY_AGAIN, f"the token endpoint refused the code: {reply.status_code} {error}")
    return str(answer["id_token"])


def _account(store: ConsoleStore, spec: SsoSpec, identity: Identity, now: datetime) -> User:
    try:
        user = upsert_sso_user(
            store,
            identity.name,
            identity.role,
            identity.team,
            issuer=spec.issuer,
            subject=identity.subject,
            now=now,
        )
    except (AccountExists, AccountValueError) as exc:
        raise SsoRefused(f"{exc} Ask an administrator.", f"{identity.name}: {exc}") from None
    if user.disabled:
        raise SsoRefused("Your account is disabled here; ask an administrator.", f"{user.name} is disabled")
    return user


def refused_in_log(refusal: SsoRefused) -> None:
    """One line in the server's log: why a sign-in was refused (never a code or a token)."""
    log.warning("single sign-on refused: %s", refusal.reason)
