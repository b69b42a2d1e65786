"""Single sign-on without a browser: the ID token's checks with tokens this test signs itself against a JWKS it
serves, the claims -> role and team mapping, the state spent once, the SSO user no password opens, console.yaml's
sso: section at file:line, and the sign-in routes (local login off, the gate open to the SSO routes only)."""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import KeySet, OctKey, RSAKey
from pytest_httpserver import HTTPServer
from sqlalchemy import select

from automation.catalog import Catalog
from automation.console import sso, sso_claims
from automation.console.accounts import add_user, upsert_sso_user, verify_password
from automation.console.config import (
    ConsoleConfig,
    ConsoleFileError,
    ServerSpec,
    SsoSpec,
    load_console_config,
)
from automation.console.context import Console
from automation.console.permissions import Role, Team
from automation.console.server import create_app
from automation.console.sessions import COOKIE
from automation.console.store import ConsoleStore, now_utc
from automation.console.values import AccountExists
from automation.store.tables.console import sso_logins

ROOT = Path(__file__).resolve().parents[2]
ISSUER = "https://login.example.com"
CLIENT_ID = "runbook-console"
NONCE = "the-nonce-of-this-sign-in"
PASSWORD = "a long enough passphrase"
TEAMS = {"portal-support": Team("portal-support", frozenset({"reset-password"}))}


@pytest.fixture(scope="module")
def key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "provider-1", "use": "sig"})


@pytest.fixture
def jwks(key: RSAKey, httpserver: HTTPServer) -> dict[str, Any]:
    """The provider's public keys, served over HTTP and read back as the callback reads them."""
    httpserver.expect_request("/jwks").respond_with_json(KeySet([key]).as_dict(private=False))
    with httpx.Client() as http:
        return sso._get_json(http, httpserver.url_for("/jwks"), "its signing keys (JWKS)")


def claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "iss": ISSUER,
        "aud": CLIENT_ID,
        "sub": "248289761001",
        "exp": now + 300,
        "iat": now,
        "nonce": NONCE,
        "preferred_username": "ana",
        "groups": ["support-agents"],
    }
    return {k: v for k, v in {**base, **changes}.items() if v is not None}


def signed(key: RSAKey | OctKey, body: dict[str, Any], alg: str = "RS256") -> str:
    return jwt.encode({"alg": alg, "kid": "provider-1"}, body, key)


def verify(token: str, jwks: dict[str, Any]) -> dict[str, Any]:
    return sso_claims.verify_id_token(
        token, jwks=jwks, issuer=ISSUER, client_id=CLIENT_ID, nonce=NONCE, now=int(time.time())
    )


def refused(token: str, jwks: dict[str, Any]) -> sso_claims.SsoRefused:
    with pytest.raises(sso_claims.SsoRefused) as caught:
        verify(token, jwks)
    assert (
        caught.value.message == sso_claims.TRY_AGAIN
    )  # the person is told to start again, never why in detail
    assert token not in caught.value.reason
    return caught.value


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


# -- the ID token ---------------------------------------------------------------------------------------------


def test_a_token_the_provider_signed_for_us_gives_its_claims(key: RSAKey, jwks: dict[str, Any]) -> None:
    assert verify(signed(key, claims()), jwks)["groups"] == ["support-agents"]


def test_a_tampered_token_is_refused(key: RSAKey, jwks: dict[str, Any]) -> None:
    header, _payload, signature = signed(key, claims()).split(".")
    forged = ".".join([header, b64(claims(groups=["admins"])), signature])
    assert "signature" in refused(forged, jwks).reason


def test_a_token_signed_with_another_key_is_refused(jwks: dict[str, Any]) -> None:
    other = RSAKey.generate_key(2048, parameters={"kid": "provider-1"})
    assert "signature" in refused(signed(other, claims()), jwks).reason


def test_a_token_for_another_client_is_refused(key: RSAKey, jwks: dict[str, Any]) -> None:
    assert "aud" in refused(signed(key, claims(aud="another-app")), jwks).reason


def test_a_token_for_several_clients_needs_us_as_its_authorized_party(
    key: RSAKey, jwks: dict[str, Any]
) -> None:
    assert "azp" in refused(signed(key, claims(aud=[CLIENT_ID, "another-app"])), jwks).reason
    assert verify(signed(key, claims(aud=[CLIENT_ID, "another-app"], azp=CLIENT_ID)), jwks)


def test_an_expired_token_is_refused(key: RSAKey, jwks: dict[str, Any]) -> None:
    long_ago = int(time.time()) - 3600
    assert "exp" in refused(signed(key, claims(exp=long_ago, iat=long_ago - 300)), jwks).reason
    assert "exp" in refused(signed(key, claims(exp=None)), jwks).reason  # an ID token must expire


def test_a_token_of_another_issuer_or_sign_in_is_refused(key: RSAKey, jwks: dict[str, Any]) -> None:
    assert "iss" in refused(signed(key, claims(iss="https://evil.example.com")), jwks).reason
    assert "nonce" in refused(signed(key, claims(nonce="another-sign-in")), jwks).reason
    assert "nonce" in refused(signed(key, claims(nonce=None)), jwks).reason


def test_an_unsigned_token_or_one_signed_with_a_shared_secret_is_refused(jwks: dict[str, Any]) -> None:
    unsigned = f"{b64({'alg': 'none'})}.{b64(claims())}."
    refused(unsigned, jwks)
    shared = OctKey.import_key("a client secret that is long enough for HS256!")
    refused(signed(shared, claims(), alg="HS256"), jwks)


# -- claims -> role and team --------------------------------------------------------------------------------------


SPEC = SsoSpec(
    issuer=ISSUER,
    client_id=CLIENT_ID,
    roles={"support-agents": Role.AGENT, "support-leads": Role.LEAD, "ops": Role.OPERATIONS},
    teams={"support-agents": "portal-support", "support-leads": "portal-support"},
)


def test_groups_map_to_a_role_and_a_team_the_widest_role_winning() -> None:
    agent = sso_claims.map_claims(SPEC, claims(preferred_username="Ana"), TEAMS)
    assert (agent.name, agent.role, agent.team) == ("ana", Role.AGENT, "portal-support")
    both = sso_claims.map_claims(SPEC, claims(groups=["support-agents", "ops"]), TEAMS)
    assert (both.role, both.team) == (Role.OPERATIONS, None)  # operations reach every team
    one = sso_claims.map_claims(SPEC, claims(groups="support-leads"), TEAMS)  # one group as a string
    assert one.role == Role.LEAD


def test_a_team_claim_names_the_team() -> None:
    spec = SPEC.model_copy(update={"teams": {}, "team_claim": "team"})
    assert sso_claims.map_claims(spec, claims(team="portal-support"), TEAMS).team == "portal-support"
    with pytest.raises(sso_claims.SsoRefused, match="has no runbooks in this console"):
        sso_claims.map_claims(spec, claims(team="billing"), TEAMS)
    with pytest.raises(sso_claims.SsoRefused, match="has no team"):
        sso_claims.map_claims(spec, claims(), TEAMS)


def test_no_mapped_group_means_no_role_here() -> None:
    for groups in (["everyone"], [], None):
        with pytest.raises(sso_claims.SsoRefused) as caught:
            sso_claims.map_claims(SPEC, claims(groups=groups), TEAMS)
        assert caught.value.message.startswith("Your account has no role here; ask an administrator")
    with pytest.raises(sso_claims.SsoRefused, match="did not say your user name"):
        sso_claims.map_claims(SPEC, claims(preferred_username=None), TEAMS)


# -- the state ------------------------------------------------------------------------------------------------------


def test_a_state_is_spent_once_by_the_browser_that_started_it(
    store: ConsoleStore, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/.well-known/openid-configuration").respond_with_json(discovery(httpserver))
    spec = SPEC.model_copy(update={"issuer": httpserver.url_for("/").rstrip("/")})
    browser = "b" * 43
    with httpx.Client() as http:
        url = sso.start(
            store, spec, http, browser_id=browser, next_path="/runs", callback="http://c/cb", now=now_utc()
        )
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    state = query["state"]
    assert (query["code_challenge_method"], query["response_type"]) == ("S256", "code")
    verifier = sso.derived(browser, state, "pkce")
    assert query["code_challenge"] == create_s256_code_challenge(verifier)
    assert query["nonce"] == sso.derived(browser, state, "nonce")
    with store.reading() as conn:
        row = conn.execute(select(sso_logins)).mappings().one()
    assert state not in json.dumps({k: str(v) for k, v in row.items()})  # only its hash is kept

    with pytest.raises(
        sso_claims.SsoRefused, match="start again"
    ):  # another browser: refused, and the state spent
        sso.consume_state(store, state, "x" * 43, now_utc())
    with pytest.raises(sso_claims.SsoRefused) as replay:
        sso.consume_state(store, state, browser, now_utc())
    assert "replay" in replay.value.reason


def test_a_state_used_once_or_too_late_is_refused(store: ConsoleStore, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/.well-known/openid-configuration").respond_with_json(discovery(httpserver))
    spec = SPEC.model_copy(update={"issuer": httpserver.url_for("/").rstrip("/")})
    browser = "b" * 43

    def begin() -> str:
        with httpx.Client() as http:
            url = sso.start(
                store, spec, http, browser_id=browser, next_path="/x", callback="http://c", now=now_utc()
            )
        return parse_qs(urlsplit(url).query)["state"][0]

    state = begin()
    assert sso.consume_state(store, state, browser, now_utc()) == "/x"
    with pytest.raises(sso_claims.SsoRefused, match="start again"):
        sso.consume_state(store, state, browser, now_utc())
    late = begin()
    with pytest.raises(sso_claims.SsoRefused) as caught:
        sso.consume_state(store, late, browser, now_utc() + sso.PENDING_FOR + timedelta(seconds=1))
    assert "10 minutes" in caught.value.reason
    with pytest.raises(sso_claims.SsoRefused):
        sso.consume_state(store, "never-given", browser, now_utc())


def discovery(server: HTTPServer) -> dict[str, Any]:
    return {
        "issuer": server.url_for("/").rstrip("/"),
        "authorization_endpoint": server.url_for("/auth"),
        "token_endpoint": server.url_for("/token"),
        "jwks_uri": server.url_for("/jwks"),
    }


# -- the SSO user ----------------------------------------------------------------------------------------------------


def test_no_password_opens_an_sso_user(store: ConsoleStore) -> None:
    made = upsert_sso_user(store, "ana", Role.AGENT, "portal-support", issuer=ISSUER, subject="248")
    assert made.role == Role.AGENT
    for guess in ("", PASSWORD, f"{ISSUER} 248", f"!sso {ISSUER} 248"):
        assert verify_password(store, "ana", guess) is None
    moved = upsert_sso_user(store, "ana", Role.OPERATIONS, None, issuer=ISSUER, subject="248")
    assert (moved.role, moved.team) == (Role.OPERATIONS, None)  # the provider's groups decide, each sign-in


def test_an_sso_user_is_given_no_password(store: ConsoleStore) -> None:
    from automation.console.accounts import set_password
    from automation.console.values import AccountValueError

    upsert_sso_user(store, "ana", Role.AGENT, "portal-support", issuer=ISSUER, subject="248")
    with pytest.raises(AccountValueError, match="single sign-on"):
        set_password(store, "ana", PASSWORD)
    assert upsert_sso_user(store, "ana", Role.AGENT, "portal-support", issuer=ISSUER, subject="248")


def test_a_provider_name_never_opens_someone_else_s_account(store: ConsoleStore) -> None:
    add_user(store, "root", "admin", PASSWORD)
    with pytest.raises(AccountExists, match="signs in another way"):
        upsert_sso_user(store, "root", Role.AGENT, "portal-support", issuer=ISSUER, subject="1")
    upsert_sso_user(store, "ana", Role.AGENT, "portal-support", issuer=ISSUER, subject="1")
    with pytest.raises(AccountExists):  # another person at the provider, or another provider
        upsert_sso_user(store, "ana", Role.AGENT, "portal-support", issuer=ISSUER, subject="2")
    with pytest.raises(AccountExists):
        upsert_sso_user(store, "ana", Role.AGENT, "portal-support", issuer="https://other", subject="1")
    assert verify_password(store, "root", PASSWORD) is not None


# -- console.yaml ----------------------------------------------------------------------------------------------------

GOOD = """\
teams:
  portal-support:
    runbooks: [reset-password]
sso:
  name: Example SSO
  issuer: https://login.example.com
  client_id: runbook-console
  client_secret_env: RUNBOOK_SSO_SECRET
  roles: {support-agents: agent, admins: admin}
  teams: {support-agents: portal-support}
  local_login: false
"""


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog([ROOT / "runbooks"])


def load(tmp_path: Path, text: str, catalog: Catalog) -> ConsoleConfig:
    path = tmp_path / "console.yaml"
    path.write_text(text)
    return load_console_config(path, catalog=catalog)


def error_of(tmp_path: Path, text: str, catalog: Catalog) -> str:
    with pytest.raises(ConsoleFileError) as caught:
        load(tmp_path, text, catalog)
    return str(caught.value)


def test_the_sso_section_is_read(tmp_path: Path, catalog: Catalog) -> None:
    spec = load(tmp_path, GOOD, catalog).sso
    assert spec is not None
    assert (spec.name, spec.client_secret_env, spec.local_login) == (
        "Example SSO",
        "RUNBOOK_SSO_SECRET",
        False,
    )
    assert spec.roles["admins"] == Role.ADMIN and spec.scopes == ["openid", "profile", "email"]
    assert load(tmp_path, GOOD.replace("https://login.example.com", "http://127.0.0.1:9000"), catalog).sso


@pytest.mark.parametrize(
    ("change", "line", "says"),
    [
        (("issuer: https://login.example.com", "issuer: http://login.example.com"), 6, "https URL"),
        (("client_secret_env: RUNBOOK_SSO_SECRET", "client_secret: s3cr3t-value"), 8, "client_secret_env"),
        (("client_secret_env: RUNBOOK_SSO_SECRET", "client_secret_env: s3cr3t-value"), 8, "not the secret"),
        (("  roles: {support-agents: agent, admins: admin}\n", ""), 4, "roles:"),
        (("admins: admin}", "admins: boss}"), 9, "'agent'"),
        (
            ("teams: {support-agents: portal-support}", "teams: {support-agents: billing}"),
            10,
            "no team 'billing'",
        ),
        (("  teams: {support-agents: portal-support}\n", ""), 9, "add team_claim"),
        (("local_login: false", "local_login: false\n  scopes: [profile]"), 12, "openid"),
    ],
)
def test_a_mistake_in_the_sso_section_is_named_at_its_line(
    tmp_path: Path, catalog: Catalog, change: tuple[str, str], line: int, says: str
) -> None:
    assert change[0] in GOOD
    message = error_of(tmp_path, GOOD.replace(*change), catalog)
    assert f"console.yaml:{line}" in message and says in message, message
    assert "s3cr3t-value" not in message


# -- the routes -------------------------------------------------------------------------------------------------------


def app_client(store: ConsoleStore, spec: SsoSpec | None) -> TestClient:
    add_user(store, "root", "admin", PASSWORD)
    config = ConsoleConfig(teams=TEAMS, server=ServerSpec(secure_cookie=False), sso=spec)
    console = Console(store=store, config=config, catalog=Catalog([ROOT / "runbooks"]))
    return TestClient(create_app(console), base_url="http://127.0.0.1")


@pytest.fixture
def sso_only(store: ConsoleStore) -> Iterator[TestClient]:
    with app_client(store, SPEC.model_copy(update={"name": "Example SSO", "local_login": False})) as client:
        yield client


def test_with_local_login_off_the_password_form_is_gone_and_a_password_opens_nothing(
    sso_only: TestClient,
) -> None:
    page = sso_only.get("/login?next=/runs")
    assert page.status_code == 200
    assert 'href="/login/sso?next=%2Fruns"' in page.text and "Sign in with Example SSO" in page.text
    assert 'type="password"' not in page.text and "<script" not in page.text
    token = re.search(r'name="csrf-token" content="([0-9a-f]+)"', page.text).group(1)
    answer = sso_only.post(
        "/login", data={"name": "root", "password": PASSWORD, "csrf_token": token}, follow_redirects=False
    )
    assert answer.status_code == 403 and "turned off" in answer.text
    assert sso_only.get("/", follow_redirects=False).status_code == 303  # still not signed in


def test_the_sso_routes_answer_without_a_session_and_refuse_a_made_up_answer(sso_only: TestClient) -> None:
    sso_only.get("/login")
    assert COOKIE in sso_only.cookies
    answer = sso_only.get("/login/sso/callback?state=made-up&code=abc", follow_redirects=False)
    assert answer.status_code == 400 and "start again" in answer.text
    assert "made-up" not in answer.text and "code=" not in answer.text  # nothing of the answer comes back
    assert sso_only.get("/", follow_redirects=False).status_code == 303


def test_without_an_sso_section_there_is_no_sso_route_and_the_form_stays(store: ConsoleStore) -> None:
    with app_client(store, None) as client:
        page = client.get("/login")
        assert 'type="password"' in page.text and "/login/sso" not in page.text
        assert client.get("/login/sso").status_code == 404
        assert client.get("/login/sso/callback?state=x").status_code == 404


def test_an_unreachable_provider_is_said_in_words(store: ConsoleStore) -> None:
    spec = SPEC.model_copy(update={"issuer": "http://127.0.0.1:9"})  # the discard port: nothing listens
    with app_client(store, spec) as client:
        answer = client.get("/login/sso", follow_redirects=False)
        assert answer.status_code == 502 and "cannot be reached just now" in answer.text


def test_a_disabled_sso_user_is_refused_at_the_provider_s_door_too(store: ConsoleStore) -> None:
    from automation.console.accounts import disable_user

    identity = sso_claims.Identity(subject="248", name="ana", role=Role.AGENT, team="portal-support")
    assert sso._account(store, SPEC, identity, now_utc()).name == "ana"
    disable_user(store, "ana")
    with pytest.raises(sso_claims.SsoRefused, match="disabled"):
        sso._account(store, SPEC, identity, now_utc())


def test_an_answer_naming_another_issuer_is_refused_before_any_code_is_sent(
    store: ConsoleStore, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/.well-known/openid-configuration").respond_with_json(discovery(httpserver))
    spec = SPEC.model_copy(update={"issuer": httpserver.url_for("/").rstrip("/")})
    browser = "b" * 43
    with httpx.Client() as http:
        url = sso.start(
            store, spec, http, browser_id=browser, next_path="/", callback="http://c", now=now_utc()
        )
        state = parse_qs(urlsplit(url).query)["state"][0]
        params = {"state": state, "code": "a-code", "iss": "https://evil.example.com"}
        with pytest.raises(sso_claims.SsoRefused) as caught:
            sso.finish(
                store, spec, http, params=params, teams=TEAMS, browser_id=browser, callback="http://c",
                environ={}, now=now_utc(),
            )  # fmt: skip
    assert "evil.example.com" in caught.value.reason
    assert not any(request.path == "/token" for request, _ in httpserver.log)
