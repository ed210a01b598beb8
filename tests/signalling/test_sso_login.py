"""Staff single sign-on over HTTP against a real OpenID provider (oidc-provider, run by
Node): the login, the account it finds or makes, and every refusal: a foreign state,
a wrong or missing nonce, a tampered ID token, one made out to another client, an
expired one, a code without its PKCE verifier, a deactivated account.

The browser's way through the same pages is ``tests/browser/test_sso.py``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
from aiohttp import CookieJar
from aiohttp.test_utils import TestClient
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.jwk import RSAKey
from pydantic import SecretStr
from sqlalchemy import select

from office.models import AuditEntry, Clerk
from office.oidc import OidcClient, OidcConfig, SsoRefused, SsoUnavailable
from office.sso_accounts import INACTIVE, NO_ROLE
from office.staff import Staff
from signalling.keys import SSO
from signalling.pages.sso import STARTED_ELSEWHERE
from signalling.pages.staff import LOCAL_LOGIN_OFF
from signalling.settings import Settings, StaffLogin
from tests.helpers.clock import Clock
from tests.helpers.oidc_provider import (
    CALLBACK,
    OTHER_CLIENT_ID,
    OTHER_SECRET,
    OidcProvider,
    default_accounts,
    path_of,
    running_provider,
    sso_settings,
)
from tests.helpers.services import free_port
from tests.helpers.staff_login import PASSWORD, form_token, post_login, session_cookie

PUBLIC = "https://termine.test"  # the root settings fixture's public URL
BACK = f"{PUBLIC}{CALLBACK}"
Client = TestClient[Any, Any]


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProvider]:
    with running_provider(tmp_path_factory.mktemp("oidc"), [PUBLIC]) as running:
        yield running


@pytest.fixture
def settings_update(provider: OidcProvider) -> dict[str, Any]:
    return _sso_settings(provider)


def _sso_settings(provider: OidcProvider, **overrides: Any) -> dict[str, Any]:
    values = sso_settings(provider, **overrides)
    values["oidc_client_secret"] = SecretStr(values["oidc_client_secret"])
    return values


@pytest.fixture(autouse=True)
def real_time(clock: Clock, provider: OidcProvider) -> None:
    """The provider stamps its tokens with the real time; the app checks them by its
    clock, which the tests otherwise set to a Monday of 2026."""
    clock.set(datetime.now(UTC))
    provider.accounts = default_accounts()  # as another test may have moved someone
    provider.save_accounts()


async def another_browser(client: Client, aiohttp_client: Any) -> Client:
    jar = CookieJar(unsafe=True, treat_as_secure_origin=[str(client.make_url("/").origin())])
    browser: Client = await aiohttp_client(client.server, cookie_jar=jar)
    return browser


async def sso_login(client: Client, provider: OidcProvider, login: str, tamper: Any = None) -> Any:
    """Start at our login, sign in at the provider, come back: the callback's answer.
    ``tamper`` may change the authorization URL on its way to the provider."""
    start = await client.get("/anmelden/sso", allow_redirects=False)
    assert start.status == 303, await start.text()
    url = start.headers["Location"]
    if tamper is not None:
        url = tamper(url)
    back = await provider.sign_in(url, login, BACK)
    return await client.get(path_of(back), allow_redirects=False)


async def audit_rows(staff: Staff, action: str) -> list[AuditEntry]:
    async with staff.sessions() as session:
        rows = await session.scalars(select(AuditEntry).where(AuditEntry.action == action))
        return list(rows)


async def account(staff: Staff, username: str) -> Clerk | None:
    async with staff.sessions() as session:
        found: Clerk | None = await session.scalar(select(Clerk).where(Clerk.username == username))
        return found


# -- logging in --------------------------------------------------------------------------


async def test_the_login_goes_to_the_provider_with_pkce_state_and_nonce_bound_to_the_browser(
    client: Client, provider: OidcProvider
) -> None:
    page = await client.get("/anmelden")
    html = await page.text()
    assert 'href="/anmelden/sso"' in html and 'name="password"' in html  # local: both
    start = await client.get("/anmelden/sso", allow_redirects=False)
    assert start.status == 303
    target = urlsplit(start.headers["Location"])
    assert f"{target.scheme}://{target.netloc}" == provider.issuer
    query = {k: v[0] for k, v in parse_qs(target.query).items()}
    assert query["response_type"] == "code" and query["client_id"] == "buergerbuero"
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert query["redirect_uri"] == BACK and "openid" in query["scope"].split()
    assert len(query["state"]) >= 32 and len(query["nonce"]) >= 32
    step = start.cookies["bb_sso"]
    assert step["httponly"] is True and step["samesite"] == "Lax"
    assert step["path"] == "/anmelden/sso" and step["secure"] is True
    # The browser keeps what its login must come back with; the PKCE verifier stays
    # with it (the provider sees only its hash).
    kept = json.loads(_unb64(step.value.split(".")[1]))
    assert (kept["state"], kept["nonce"]) == (query["state"], query["nonce"])
    assert create_s256_code_challenge(kept["verifier"]) == query["code_challenge"]
    assert kept["verifier"] not in start.headers["Location"]


async def test_a_first_login_makes_the_account_with_the_role_and_skills_of_the_claims(
    client: Client, staff: Staff, provider: OidcProvider
) -> None:
    done = await sso_login(client, provider, "lena.sso")
    assert done.status == 200, await done.text()
    assert 'http-equiv="refresh" content="0; url=/sachbearbeitung"' in await done.text()
    cookie = done.cookies["bb_staff"]
    assert cookie["httponly"] is True and cookie["samesite"] == "Strict"
    assert done.cookies["bb_sso_hint"]["path"] == "/abmelden"
    home = await client.get("/sachbearbeitung", allow_redirects=False)
    assert home.status == 200 and "Lena Lang" in await home.text()

    clerk = await account(staff, "lena.sso")
    assert clerk is not None and clerk.role == "clerk" and clerk.active
    assert sorted(s.skill for s in clerk.skills) == ["beratung", "meldewesen"]
    assert clerk.sso_subject == "7f1c2a9e-sub-lena"
    created = await audit_rows(staff, "staff.created")
    assert [(r.actor, r.detail["role"]) for r in created] == [("sso", "clerk")]
    assert "Lena" not in json.dumps([r.detail for r in created])  # no personal data
    # The account has no password: the password form cannot open it.
    client.session.cookie_jar.clear()
    refused = await post_login(client, "lena.sso", PASSWORD)
    assert refused.status == 401


async def test_every_login_takes_role_and_skills_from_the_claims_again(
    client: Client, aiohttp_client: Any, provider: OidcProvider, staff: Staff
) -> None:
    assert (await sso_login(client, provider, "lena.sso")).status == 200
    first = session_cookie(client)
    second_browser = await another_browser(client, aiohttp_client)

    # Unchanged claims: the other session goes on.
    assert (await sso_login(second_browser, provider, "lena.sso")).status == 200
    assert (await client.get("/sachbearbeitung", allow_redirects=False)).status == 200
    assert await audit_rows(staff, "staff.access_changed") == []

    # Moved to the administration, one skill less: every other session ends at once.
    provider.account("lena.sso").groups = ["bb-verwaltung", "bb-skill-meldewesen"]
    provider.save_accounts()
    assert (await sso_login(second_browser, provider, "lena.sso")).status == 200
    client.session.cookie_jar.update_cookies({"bb_staff": first})
    ended = await client.get("/sachbearbeitung", allow_redirects=False)
    assert ended.status == 303 and ended.headers["Location"] == "/anmelden"
    assert (await second_browser.get("/dashboard", allow_redirects=False)).status == 200

    clerk = await account(staff, "lena.sso")
    assert clerk is not None and clerk.role == "admin"
    assert [s.skill for s in clerk.skills] == ["meldewesen"]
    [changed] = await audit_rows(staff, "staff.access_changed")
    assert changed.actor == "sso" and changed.subject == f"clerk:{clerk.id}"
    assert changed.detail == {"role": "admin", "skills": ["meldewesen"]}


async def test_a_deactivated_account_stays_refused_whatever_the_provider_says(
    client: Client, staff: Staff, provider: OidcProvider
) -> None:
    assert (await sso_login(client, provider, "lena.sso")).status == 200
    await staff.set_access("lena.sso", active=False)
    client.session.cookie_jar.clear()
    refused = await sso_login(client, provider, "lena.sso")
    assert refused.status == 403 and INACTIVE in await refused.text()
    assert "bb_staff" not in refused.cookies
    [row] = await audit_rows(staff, "staff.sso_refused")
    assert row.detail == {"reason": "inactive"}


async def test_a_person_without_a_mapped_group_gets_no_account(
    client: Client, staff: Staff, provider: OidcProvider
) -> None:
    refused = await sso_login(client, provider, "gast.sso")
    assert refused.status == 403 and NO_ROLE in await refused.text()
    assert await account(staff, "gast.sso") is None
    assert "bb_staff" not in refused.cookies


async def test_a_person_the_provider_took_every_role_from_is_logged_out_everywhere(
    client: Client, aiohttp_client: Any, provider: OidcProvider, staff: Staff
) -> None:
    assert (await sso_login(client, provider, "lena.sso")).status == 200
    provider.account("lena.sso").groups = ["kantine"]
    provider.save_accounts()
    refused = await sso_login(await another_browser(client, aiohttp_client), provider, "lena.sso")
    assert refused.status == 403 and NO_ROLE in await refused.text()
    ended = await client.get("/sachbearbeitung", allow_redirects=False)
    assert ended.status == 303 and ended.headers["Location"] == "/anmelden"
    clerk = await account(staff, "lena.sso")
    assert clerk is not None and clerk.role == "clerk"  # kept as it was, for the record
    [row] = await audit_rows(staff, "staff.sso_refused")
    assert row.subject == f"clerk:{clerk.id}" and row.detail == {"reason": "no_role"}


@pytest.fixture
def unreachable(settings_update: dict[str, Any]) -> dict[str, Any]:
    settings_update["oidc_issuer"] = f"http://127.0.0.1:{free_port()}"  # nothing listens
    return settings_update


@pytest.mark.usefixtures("unreachable")
async def test_a_provider_out_of_reach_is_said_so(client: Client) -> None:
    start = await client.get("/anmelden/sso", allow_redirects=False)
    assert start.status == 503 and SsoUnavailable.message in await start.text()
    assert "bb_sso" not in start.cookies


# -- refusals: state, nonce, the ID token ---------------------------------------------------


async def test_an_answer_for_another_state_or_another_browser_is_refused(
    client: Client, aiohttp_client: Any, staff: Staff, provider: OidcProvider
) -> None:
    start = await client.get("/anmelden/sso", allow_redirects=False)
    back = await provider.sign_in(start.headers["Location"], "lena.sso", BACK)
    # Someone else's answer (another state) in this browser …
    forged = _with_query(back, state="a-state-this-browser-never-started")
    refused = await client.get(path_of(forged), allow_redirects=False)
    assert refused.status == 400 and STARTED_ELSEWHERE in await refused.text()
    # … and this answer in a browser that never started a login (a planted link).
    other = await another_browser(client, aiohttp_client)
    planted = await other.get(path_of(back), allow_redirects=False)
    assert planted.status == 400 and STARTED_ELSEWHERE in await planted.text()
    assert "bb_staff" not in refused.cookies and "bb_staff" not in planted.cookies
    reasons = [r.detail["reason"] for r in await audit_rows(staff, "staff.sso_refused")]
    assert reasons == ["state", "no_login_started"]
    assert await account(staff, "lena.sso") is None


@pytest.mark.parametrize("nonce", ["another-nonce-than-this-login-began-with", None])
async def test_an_id_token_with_a_wrong_or_no_nonce_is_refused(
    client: Client, staff: Staff, nonce: str | None, provider: OidcProvider
) -> None:
    def swap_nonce(url: str) -> str:
        return _with_query(url, nonce=nonce)

    refused = await sso_login(client, provider, "lena.sso", tamper=swap_nonce)
    assert refused.status == 401
    [row] = await audit_rows(staff, "staff.sso_refused")
    assert row.detail == {"reason": "claim:nonce"}
    assert await account(staff, "lena.sso") is None


async def real_id_token(client: OidcClient, provider: OidcProvider) -> tuple[str, str]:
    """A genuine ID token for the client, and the nonce it carries."""
    start = await client.begin()
    back = await provider.sign_in(start.url, "lena.sso", BACK)
    code = parse_qs(urlsplit(back).query)["code"][0]
    identity = await client.finish(code, start.code_verifier, start.nonce)
    return identity.id_token, start.nonce


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


async def test_a_tampered_or_foreign_signed_id_token_is_refused(
    client: Client, provider: OidcProvider
) -> None:
    sso = client.app[SSO]
    assert sso is not None
    token, nonce = await real_id_token(sso.provider, provider)
    assert (await sso.provider.check_id_token(token, nonce))["sub"] == "7f1c2a9e-sub-lena"

    header, payload, signature = token.split(".")
    claims = json.loads(_unb64(payload))
    claims["sub"] = "c0ffee01-sub-otto"  # pose as the admin, keep the signature
    tampered = ".".join([header, _b64(json.dumps(claims).encode()), signature])
    with pytest.raises(SsoRefused) as refused:
        await sso.provider.check_id_token(tampered, nonce)
    assert refused.value.reason == "signature"

    # Signed by a key of someone else's, under the provider's key id.
    kid = json.loads(_unb64(header))["kid"]
    forged = jwt.encode({"alg": "RS256", "kid": kid}, claims, RSAKey.generate_key(2048))
    with pytest.raises(SsoRefused) as refused:
        await sso.provider.check_id_token(forged, nonce)
    assert refused.value.reason == "signature"

    # No signature at all.
    unsigned = ".".join([_b64(b'{"alg":"none"}'), _b64(json.dumps(claims).encode()), ""])
    with pytest.raises(SsoRefused):
        await sso.provider.check_id_token(unsigned, nonce)


async def test_an_id_token_made_out_to_another_client_is_refused(
    client: Client, provider: OidcProvider, clock: Clock
) -> None:
    sso = client.app[SSO]
    assert sso is not None
    config = sso.provider.config
    other = OidcClient(
        OidcConfig(
            provider.issuer,
            OTHER_CLIENT_ID,
            OTHER_SECRET,
            config.scopes,
            config.redirect_uri,
            config.post_logout_redirect_uri,
        ),
        clock,
    )
    try:
        token, nonce = await real_id_token(other, provider)
    finally:
        await other.close()
    assert json.loads(_unb64(token.split(".")[1]))["aud"] == OTHER_CLIENT_ID
    with pytest.raises(SsoRefused) as refused:
        await sso.provider.check_id_token(token, nonce)
    assert refused.value.reason == "claim:aud"


async def test_an_expired_id_token_is_refused(
    client: Client, clock: Clock, provider: OidcProvider
) -> None:
    sso = client.app[SSO]
    assert sso is not None
    token, nonce = await real_id_token(sso.provider, provider)
    clock.advance(minutes=11)  # the test provider's ID tokens last ten minutes
    with pytest.raises(SsoRefused) as refused:
        await sso.provider.check_id_token(token, nonce)
    assert refused.value.reason == "expired"


async def test_a_code_is_worthless_without_its_pkce_verifier(
    client: Client, provider: OidcProvider
) -> None:
    sso = client.app[SSO]
    assert sso is not None
    start = await sso.provider.begin()
    back = await provider.sign_in(start.url, "lena.sso", BACK)
    code = parse_qs(urlsplit(back).query)["code"][0]
    with pytest.raises(SsoRefused) as refused:
        await sso.provider.finish(code, "a-verifier-of-another-login-" + "x" * 20, start.nonce)
    assert refused.value.reason == "token_exchange"


# -- logging out, and the settings ---------------------------------------------------------


async def test_logout_ends_the_session_at_the_provider_too(
    client: Client, provider: OidcProvider
) -> None:
    done = await sso_login(client, provider, "lena.sso")
    hint = done.cookies["bb_sso_hint"].value
    logout = await client.post(
        "/abmelden",
        data={"csrf": await form_token(client, "/sachbearbeitung")},
        allow_redirects=False,
    )
    assert logout.status == 303
    target = urlsplit(logout.headers["Location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == f"{provider.issuer}/session/end"
    assert dict(parse_qsl(target.query)) == {
        "client_id": "buergerbuero",
        "post_logout_redirect_uri": f"{PUBLIC}/anmelden",
        "id_token_hint": hint,
    }
    assert logout.cookies["bb_staff"].value == "" and logout.cookies["bb_sso_hint"].value == ""
    client.session.cookie_jar.clear()
    client.session.cookie_jar.update_cookies({"bb_staff": done.cookies["bb_staff"].value})
    assert (await client.get("/sachbearbeitung", allow_redirects=False)).status == 303
    # The console's logout form may go on to the provider (CSP form-action).
    policy = (await client.get("/anmelden")).headers["Content-Security-Policy"]
    assert f"form-action 'self' {provider.issuer};" in policy


@pytest.fixture
def oidc_only(settings_update: dict[str, Any]) -> dict[str, Any]:
    settings_update["staff_login"] = StaffLogin.OIDC
    return settings_update


@pytest.mark.usefixtures("oidc_only")
async def test_with_oidc_only_the_password_and_totp_pages_refuse(
    client: Client, clerk: int, staff: Staff, provider: OidcProvider
) -> None:
    page = await client.get("/anmelden")
    html = await page.text()
    assert 'href="/anmelden/sso"' in html and 'name="password"' not in html
    # A post of the form as it was (its CSRF token taken from another page's form).
    data = {"csrf": await form_token(client, "/barrierefreiheit")}
    refused = await client.post(
        "/anmelden", data=data | {"username": "anna", "password": PASSWORD}, allow_redirects=False
    )
    assert refused.status == 403 and LOCAL_LOGIN_OFF in await refused.text()
    assert "bb_staff" not in refused.cookies and "bb_login" not in refused.cookies
    for path in ("/anmelden/einrichten", "/anmelden/code"):
        enrolment = await client.get(path, allow_redirects=False)
        assert enrolment.status == 403 and LOCAL_LOGIN_OFF in await enrolment.text()
    assert await audit_rows(staff, "staff.login") == []
    assert (await sso_login(client, provider, "otto.sso")).status == 200  # the provider's way works


def test_the_settings_insist_on_a_complete_and_safe_provider() -> None:
    with pytest.raises(ValueError, match="BB_STAFF_LOGIN=oidc needs"):
        Settings(_env_file=None, staff_login=StaffLogin.OIDC)
    with pytest.raises(ValueError, match="needs BB_OIDC_CLIENT_ID"):
        Settings(_env_file=None, oidc_issuer="https://login.stadt.test/realms/v")
    with pytest.raises(ValueError, match="unknown role 'root'"):
        Settings(_env_file=None, oidc_roles={"it": "root"})
    plain = Settings(
        _env_file=None,
        oidc_issuer="http://login.stadt.test/realms/v/",
        oidc_client_id="buergerbuero",
    )
    assert plain.oidc_issuer == "http://login.stadt.test/realms/v"
    problems = plain.problems()
    assert "BB_OIDC_ISSUER must be an https:// address" in problems
    assert any(p.startswith("BB_OIDC_ROLES must map") for p in problems)


def _with_query(url: str, **changes: str | None) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in changes]
    query += [(k, v) for k, v in changes.items() if v is not None]
    return urlunsplit(parts._replace(query=urlencode(query)))
