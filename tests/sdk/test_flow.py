"""The OAuth 2.0 / OpenID Connect authorization code flow end to end, with three independent
parties that know nothing about Portcullis:

- a "browser": a `requests.Session` that follows `Location` headers by hand (no automatic
  redirects) and keeps cookies. It stops where the redirect leaves the server (the client's
  redirect URI on 127.0.0.1 at a port nobody listens on: never fetched) or reaches the login or
  consent fallback page (`urls.login`/`urls.consent` are unset, tests/sdk/run.sh), whose
  `login_challenge`/`consent_challenge` it hands to the login/consent app;
- the login/consent app: ONLY the official SDK (ory-hydra-client 1.10.3, `AdminApi`, strict as
  everywhere in tests/sdk: unknown keys, `null` and wrong types are errors). Every answer it
  reads goes through the SDK's models (`LoginRequest`, `ConsentRequest`, `CompletedRequest`,
  `RequestWasHandledResponse`), which proves that our JSON is the one the SDK was generated
  for;
- the relying party: authlib's `OAuth2Session` (its `requests` integration). It builds the
  authorization URL with `state`, `nonce` and PKCE (S256), exchanges the code with the
  `code_verifier` (`client_secret_basic` for a confidential client, `none` for a public one),
  refreshes, and calls userinfo; the ID token is validated as authlib's own OpenID client does
  (joserfc verifies the RS256 signature against `/.well-known/jwks.json`, authlib's
  `CodeIDToken` checks `iss`, `aud`, `exp`, `nonce` and `at_hash`).

Expectations follow hydra-reference.md §2.2 (auth, token, userinfo), §2.5, §3.2–3.8, §4.2–4.5
and §5.3.
"""

import base64
import dataclasses
import hashlib
import json
import re
import socket
import time
import uuid
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from authlib.common.security import generate_token
from authlib.common.urls import add_params_to_uri
from authlib.integrations.requests_client import OAuth2Session, OAuthError
from authlib.oauth2.rfc6749.errors import MissingCodeException
from authlib.oauth2.rfc6749.parameters import parse_authorization_code_response
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.jwk import KeySet

import ory_hydra_client
from ory_hydra_client import ApiException
from ory_hydra_client.api.admin_api import AdminApi
from ory_hydra_client.model.accept_consent_request import AcceptConsentRequest
from ory_hydra_client.model.accept_login_request import AcceptLoginRequest
from ory_hydra_client.model.completed_request import CompletedRequest
from ory_hydra_client.model.consent_request import ConsentRequest
from ory_hydra_client.model.consent_request_session import ConsentRequestSession
from ory_hydra_client.model.login_request import LoginRequest
from ory_hydra_client.model.logout_request import LogoutRequest
from ory_hydra_client.model.o_auth2_client import OAuth2Client
from ory_hydra_client.model.o_auth2_token_introspection import OAuth2TokenIntrospection
from ory_hydra_client.model.reject_request import RejectRequest
from ory_hydra_client.model.request_was_handled_response import RequestWasHandledResponse
from ory_hydra_client.model.string_slice_pipe_delimiter import StringSlicePipeDelimiter
from ory_hydra_client.model_utils import validate_and_convert_types

HTTP_TIMEOUT = 10
SCOPE = "openid offline_access sdk.read"
AUDIENCE = "https://api.sdk-interop.example"
# Hydra's defaults for `ttl.access_token` and `ttl.id_token` (tests/sdk/run.sh sets no TTL).
ACCESS_TTL = 3600
ID_TOKEN_TTL = 3600
ACR = "urn:sdk-interop:acr:password"
HEX32 = re.compile(r"^[0-9a-f]{32}$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
FALLBACKS = {
    "/oauth2/fallbacks/login": "login", "/oauth2/fallbacks/consent": "consent",
    "/oauth2/fallbacks/logout": "logout",
}
# Login and consent challenges are 32 hex digits, logout challenges UUIDs (§2.5, §4.7).
CHALLENGE_FORMS = {"login": HEX32, "consent": HEX32, "logout": UUID}
# §3.2 / §3.3: every key of a login and of a consent request (the consent request's `context`
# is omitempty; every flow here gives one at login accept).
LOGIN_REQUEST_KEYS = {
    "challenge", "client", "request_url", "requested_access_token_audience", "requested_scope",
    "skip", "subject", "oidc_context", "session_id",
}
CONSENT_REQUEST_KEYS = {
    "challenge", "acr", "client", "context", "login_challenge", "login_session_id",
    "oidc_context", "request_url", "requested_access_token_audience", "requested_scope", "skip",
    "subject",
}
# §5.3: the claims of an ID token from the code flow (plus the consent's custom claims).
ID_TOKEN_CLAIMS = {
    "iss", "sub", "aud", "exp", "iat", "auth_time", "rat", "nonce", "at_hash", "acr", "sid", "jti",
}
# §2.2 userinfo: the ID-token claims minus nonce, at_hash, c_hash, exp, sid and jti.
USERINFO_CLAIMS = {"iss", "sub", "aud", "iat", "auth_time", "rat", "acr"}
# §2.7 introspection of an active access token with session data.
INTROSPECTION_KEYS = {
    "active", "client_id", "sub", "scope", "token_type", "token_use", "exp", "iat", "nbf", "aud",
    "iss", "ext",
}
TOKEN_RESPONSE_KEYS = {
    "access_token", "expires_in", "id_token", "refresh_token", "scope", "token_type",
}


def unique(prefix):
    return f"{prefix}-{uuid.uuid4()}"


def query_of(url):
    """A URL's query as {name: [values]}, every parameter kept (blank ones too)."""
    return parse_qs(urlsplit(url).query, keep_blank_values=True, strict_parsing=False)


def single_query(url):
    """A URL's query as {name: value}; each name must occur once."""
    params = query_of(url)
    for name, values in params.items():
        assert len(values) == 1, (name, url)
    return {name: values[0] for name, values in params.items()}


def at_hash_of(access_token):
    """OIDC Core §3.1.3.6: base64url of the left half of SHA-256 over the token's ASCII."""
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode("ascii")


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def discovery(public_url):
    response = requests.get(f"{public_url}/.well-known/openid-configuration", timeout=HTTP_TIMEOUT)
    assert response.status_code == 200, response.text
    document = response.json()
    # run.sh makes the public listener the issuer: every endpoint a relying party configures
    # from discovery is reachable at the address the server listens on.
    assert document["issuer"] == f"{public_url}/"
    assert document["authorization_endpoint"] == f"{public_url}/oauth2/auth"
    assert document["token_endpoint"] == f"{public_url}/oauth2/token"
    assert document["jwks_uri"] == f"{public_url}/.well-known/jwks.json"
    return document


@pytest.fixture(scope="module")
def callback_uri():
    """A redirect URI on 127.0.0.1 at a port that was free a moment ago. Nothing listens
    there: the browser stops when a redirect points at it and hands the URL to authlib."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/callback"


def create_client(admin, cleanup, callback_uri, method="client_secret_basic", scope=SCOPE,
                  post_logout_redirect_uris=()):
    """A code-flow client (with refresh tokens) created through the SDK; its plain values."""
    client_id = unique("sdk-flow")
    cleanup.append(client_id)
    extra = {}
    if post_logout_redirect_uris:
        extra["post_logout_redirect_uris"] = StringSlicePipeDelimiter(
            list(post_logout_redirect_uris)
        )
    created = admin.create_o_auth2_client(
        OAuth2Client(
            client_id=client_id,
            grant_types=StringSlicePipeDelimiter(["authorization_code", "refresh_token"]),
            response_types=StringSlicePipeDelimiter(["code"]),
            redirect_uris=StringSlicePipeDelimiter([callback_uri]),
            scope=scope,
            audience=StringSlicePipeDelimiter([AUDIENCE]),
            token_endpoint_auth_method=method,
            **extra,
        )
    ).to_dict()
    assert created["client_id"] == client_id
    assert created["token_endpoint_auth_method"] == method
    return created


def relying_party(client, callback_uri, scope=SCOPE):
    """authlib's OAuth2Session for this client, with PKCE S256."""
    method = client["token_endpoint_auth_method"]
    secret = client.get("client_secret") if method != "none" else None
    if method != "none":
        assert secret, "a confidential client gets its secret once, at creation"
    return OAuth2Session(
        client["client_id"], secret, scope=scope, redirect_uri=callback_uri,
        code_challenge_method="S256", token_endpoint_auth_method=method,
        default_timeout=HTTP_TIMEOUT,
    )


# --- the browser ---------------------------------------------------------------------------


@dataclasses.dataclass
class Stop:
    """Where the browser stopped: `login` / `consent` / `logout` (a fallback page, with its
    challenge) or `callback` (a URL off the server: the client's redirect or post-logout URI)."""

    kind: str
    url: str
    challenge: str = ""


class Browser:
    """A user agent: follows redirects one by one, keeps cookies."""

    def __init__(self, public_url):
        self.session = requests.Session()
        self.server = urlsplit(public_url).netloc

    def close(self):
        self.session.close()

    def go(self, url, max_hops=10):
        for _ in range(max_hops):
            parts = urlsplit(url)
            if parts.netloc != self.server:
                return Stop("callback", url)
            kind = FALLBACKS.get(parts.path)
            if kind is not None:
                params = single_query(url)
                name = f"{kind}_challenge"
                assert set(params) == {name}, url
                assert CHALLENGE_FORMS[kind].match(params[name]), url
                return Stop(kind, url, params[name])
            response = self.session.get(url, allow_redirects=False, timeout=HTTP_TIMEOUT)
            assert response.status_code == 302, (url, response.status_code, response.text)
            location = response.headers.get("Location")
            assert location, (url, response.headers)
            url = urljoin(url, location)
        pytest.fail(f"more than {max_hops} redirects, last at {url}", pytrace=False)


@pytest.fixture
def browser(public_url):
    b = Browser(public_url)
    yield b
    b.close()


# --- the login/consent app: the SDK only ---------------------------------------------------


def get_login_request(admin, challenge):
    request = admin.get_login_request(challenge)
    assert isinstance(request, LoginRequest), type(request)
    values = request.to_dict()
    assert set(values) == LOGIN_REQUEST_KEYS, values
    assert values["challenge"] == challenge
    return values


def get_consent_request(admin, challenge):
    request = admin.get_consent_request(challenge)
    assert isinstance(request, ConsentRequest), type(request)
    values = request.to_dict()
    assert set(values) == CONSENT_REQUEST_KEYS, values
    assert values["challenge"] == challenge
    return values


def redirect_of(completed, request_url, verifier_name):
    """`redirect_to` of an accept/reject: the request URL with `<kind>_verifier` added (its
    query may be re-encoded, so compare parameters, not text)."""
    assert isinstance(completed, CompletedRequest), type(completed)
    values = completed.to_dict()
    assert set(values) == {"redirect_to"}, values
    redirect_to = values["redirect_to"]
    got, want = urlsplit(redirect_to), urlsplit(request_url)
    assert (got.scheme, got.netloc, got.path) == (want.scheme, want.netloc, want.path)
    params = query_of(redirect_to)
    verifier = params.pop(verifier_name, None)
    assert verifier is not None and len(verifier) == 1, redirect_to
    assert HEX32.match(verifier[0]), redirect_to
    assert params == query_of(request_url), (redirect_to, request_url)
    return redirect_to


def accept_login(admin, login, subject, remember=False, remember_for=0, context=None):
    completed = admin.accept_login_request(
        login["challenge"],
        body=AcceptLoginRequest(
            subject=subject, remember=remember, remember_for=remember_for, acr=ACR,
            context=context if context is not None else {"login_app": "sdk"},
        ),
    )
    return redirect_of(completed, login["request_url"], "login_verifier")


def accept_consent(admin, consent, remember=False, remember_for=0, id_token=None, ext=None):
    completed = admin.accept_consent_request(
        consent["challenge"],
        body=AcceptConsentRequest(
            grant_scope=StringSlicePipeDelimiter(list(consent["requested_scope"])),
            grant_access_token_audience=StringSlicePipeDelimiter(
                list(consent["requested_access_token_audience"])
            ),
            remember=remember,
            remember_for=remember_for,
            session=ConsentRequestSession(
                access_token=ext if ext is not None else {"team": "sdk"},
                id_token=id_token if id_token is not None else {},
            ),
        ),
    )
    return redirect_of(completed, consent["request_url"], "consent_verifier")


def assert_gone(admin, get, challenge, request_url):
    """A login/consent request whose verifier was used: 410 with `redirect_to`, read through
    the SDK's `RequestWasHandledResponse` (strictly)."""
    with pytest.raises(ApiException) as e:
        get(challenge)
    assert e.value.status == 410, (e.value.status, e.value.body)
    body = json.loads(e.value.body)
    handled = validate_and_convert_types(
        body, (RequestWasHandledResponse,), ["received_data"], True, True,
        configuration=admin.api_client.configuration,
    )
    assert isinstance(handled, RequestWasHandledResponse), type(handled)
    assert handled.to_dict() == {"redirect_to": request_url}


# --- the relying party: authlib ------------------------------------------------------------


@dataclasses.dataclass
class Authorization:
    """One trip through /oauth2/auth: what the relying party sent and what came back."""

    url: str
    state: str
    nonce: str
    code_verifier: str
    login: dict
    consent: dict
    callback: str


def start(rp, discovery, **extra):
    """authlib builds the authorization URL (state, nonce, PKCE S256)."""
    code_verifier = generate_token(64)
    nonce = generate_token(24)
    url, state = rp.create_authorization_url(
        discovery["authorization_endpoint"], code_verifier=code_verifier, nonce=nonce,
        audience=AUDIENCE, **extra,
    )
    params = single_query(url)
    assert params["code_challenge_method"] == "S256"
    assert params["code_challenge"] == (
        base64.urlsafe_b64encode(hashlib.sha256(code_verifier.encode()).digest())
        .rstrip(b"=").decode()
    )
    assert params["state"] == state and params["nonce"] == nonce
    return url, state, nonce, code_verifier


def authorize(browser, admin, rp, discovery, subject, login_remember=False, consent_remember=False,
              id_token=None, **extra):
    """The whole front channel: the browser walks, the SDK logs in and consents, and the
    browser ends at the client's redirect URI."""
    url, state, nonce, code_verifier = start(rp, discovery, **extra)

    stop = browser.go(url)
    assert stop.kind == "login", stop
    login = get_login_request(admin, stop.challenge)
    redirect_to = accept_login(
        admin, login, subject, remember=login_remember,
        remember_for=3600 if login_remember else 0,
    )

    stop = browser.go(redirect_to)
    assert stop.kind == "consent", stop
    consent = get_consent_request(admin, stop.challenge)
    redirect_to = accept_consent(
        admin, consent, remember=consent_remember,
        remember_for=3600 if consent_remember else 0, id_token=id_token,
    )

    stop = browser.go(redirect_to)
    assert stop.kind == "callback", stop
    return Authorization(url, state, nonce, code_verifier, login, consent, stop.url)


def exchange(rp, discovery, auth, code_verifier=None):
    """authlib reads the code from the callback (checking `state`) and redeems it."""
    return rp.fetch_token(
        discovery["token_endpoint"], authorization_response=auth.callback, state=auth.state,
        code_verifier=code_verifier or auth.code_verifier,
    )


def jwks(discovery):
    response = requests.get(discovery["jwks_uri"], timeout=HTTP_TIMEOUT)
    assert response.status_code == 200, response.text
    return response.json()


def validate_id_token(discovery, client_id, id_token, access_token, nonce=None):
    """As authlib's OpenID client does it (integrations/base_client parse_id_token): joserfc
    verifies the RS256 signature with the published JWKS, `CodeIDToken` checks iss, aud, sub,
    exp, iat, nonce and at_hash. Returns (header, claims)."""
    key_set = KeySet.import_key_set(jwks(discovery))
    assert "RS256" in discovery["id_token_signing_alg_values_supported"]
    token = jwt.decode(id_token, key_set, algorithms=["RS256"])
    header = dict(token.header)
    assert header["alg"] == "RS256"
    assert header["kid"].startswith("public:"), header
    options = {
        "iss": {"essential": True, "value": discovery["issuer"]},
        "aud": {"essential": True, "value": client_id},
        "sub": {"essential": True},
        "exp": {"essential": True},
        "iat": {"essential": True},
    }
    params = {"client_id": client_id, "access_token": access_token}
    if nonce is not None:
        options["nonce"] = {"essential": True, "value": nonce}
        params["nonce"] = nonce
    claims = CodeIDToken(token.claims, token.header, options, params)
    claims.validate(leeway=5)
    # authlib checks at_hash only when present: it must be, an access token came with it.
    assert claims.get("at_hash") == at_hash_of(access_token), claims
    return header, dict(claims)


def introspect(admin, token):
    result = admin.introspect_o_auth2_token(token)
    assert isinstance(result, OAuth2TokenIntrospection), type(result)
    return result.to_dict()


def assert_token_response(token, scope=SCOPE):
    """What authlib made of our token response (an `OAuth2Token`)."""
    assert set(token) - {"expires_at"} == TOKEN_RESPONSE_KEYS, token
    assert token["token_type"] == "bearer"
    assert token["scope"] == scope
    assert isinstance(token["expires_in"], int)
    assert ACCESS_TTL - 5 <= token["expires_in"] <= ACCESS_TTL
    assert not token.is_expired()


def userinfo(rp, discovery):
    """authlib calls userinfo with its current access token (Authorization: Bearer), at the
    endpoint the discovery document names (hydra-reference §3.12: `<public>/userinfo`)."""
    endpoint = discovery.get("userinfo_endpoint")
    assert endpoint == discovery["issuer"] + "userinfo", "discovery's userinfo_endpoint"
    response = rp.get(endpoint)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    return response.json()


# --- tests ---------------------------------------------------------------------------------


def test_code_flow_confidential_client(admin, public_url, cleanup, callback_uri, discovery,
                                       browser):
    client = create_client(admin, cleanup, callback_uri)
    client_id = client["client_id"]
    subject = unique("sdk-user")
    id_token_claims = {
        "email": "alice@sdk-interop.example",
        "email_verified": True,
        "sdk_claim": {"groups": ["a", "b"], "level": 3},
    }
    rp = relying_party(client, callback_uri)

    # 1. The relying party sends the browser to /oauth2/auth; the server redirects to the
    #    login fallback on its own public listener.
    url, state, nonce, code_verifier = start(
        rp, discovery, acr_values="urn:sdk:loa:1 urn:sdk:loa:2", ui_locales="de en",
        login_hint="alice", display="page",
    )
    started = int(time.time())
    stop = browser.go(url)
    assert stop.kind == "login"
    assert stop.url == f"{public_url}/oauth2/fallbacks/login?login_challenge={stop.challenge}"

    # 2. The login app reads the login request (§3.2) and accepts it.
    login = get_login_request(admin, stop.challenge)
    assert login["request_url"] == url, "the auth endpoint + the raw query it received"
    assert login["requested_scope"] == SCOPE.split()
    assert login["requested_access_token_audience"] == [AUDIENCE]
    assert login["skip"] is False
    assert login["subject"] == ""
    assert login["session_id"], "a new login session id (the future `sid`)"
    assert login["oidc_context"] == {
        "acr_values": ["urn:sdk:loa:1", "urn:sdk:loa:2"], "ui_locales": ["de", "en"],
        "login_hint": "alice", "display": "page",
    }
    assert "client_secret" not in login["client"]
    assert login["client"] == admin.get_o_auth2_client(client_id).to_dict()

    accepted_at = int(time.time())
    redirect_to = accept_login(admin, login, subject, context={"login_app": "sdk", "n": 1})
    after_login = int(time.time())

    # 3. Back to /oauth2/auth with the login verifier: on to the consent fallback.
    stop = browser.go(redirect_to)
    assert stop.kind == "consent"
    assert stop.url == (
        f"{public_url}/oauth2/fallbacks/consent?consent_challenge={stop.challenge}"
    )
    consent = get_consent_request(admin, stop.challenge)
    assert consent["subject"] == subject
    assert consent["acr"] == ACR
    assert consent["context"] == {"login_app": "sdk", "n": 1}
    assert consent["skip"] is False
    assert consent["requested_scope"] == SCOPE.split()
    assert consent["requested_access_token_audience"] == [AUDIENCE]
    assert consent["login_challenge"] == login["challenge"]
    assert consent["login_session_id"] == login["session_id"]
    assert consent["request_url"] == login["request_url"]
    assert consent["oidc_context"] == login["oidc_context"]
    assert consent["client"] == login["client"]
    assert consent["challenge"] != login["challenge"]

    redirect_to = accept_consent(admin, consent, id_token=id_token_claims)

    # 4. Back to /oauth2/auth with the consent verifier: the code at the client's redirect URI.
    stop = browser.go(redirect_to)
    assert stop.kind == "callback"
    assert stop.url.startswith(callback_uri + "?"), stop.url
    params = single_query(stop.url)
    assert set(params) == {"code", "scope", "state"}, params
    assert params["state"] == state
    assert params["scope"] == SCOPE

    # Both requests are used up now: the SDK reads 410 with the original request URL.
    assert_gone(admin, admin.get_login_request, login["challenge"], login["request_url"])
    assert_gone(admin, admin.get_consent_request, consent["challenge"], consent["request_url"])

    # 5. authlib redeems the code with its PKCE verifier and client_secret_basic.
    auth = Authorization(url, state, nonce, code_verifier, login, consent, stop.url)
    before_token = int(time.time())
    token = exchange(rp, discovery, auth)
    after_token = int(time.time())
    assert_token_response(token)

    # 6. The ID token, validated by authlib/joserfc against the published JWKS.
    header, claims = validate_id_token(
        discovery, client_id, token["id_token"], token["access_token"], nonce=nonce
    )
    assert header["kid"] in {k["kid"] for k in jwks(discovery)["keys"]}
    assert set(claims) == ID_TOKEN_CLAIMS | set(id_token_claims), claims
    assert claims["sub"] == subject
    assert claims["aud"] == [client_id]
    assert claims["nonce"] == nonce
    assert claims["acr"] == ACR
    assert claims["sid"] == login["session_id"]
    for key, value in id_token_claims.items():
        assert claims[key] == value, key
    for key in ("exp", "iat", "auth_time", "rat"):
        assert type(claims[key]) is int, (key, claims[key])
    assert accepted_at <= claims["auth_time"] <= after_login
    assert started - 1 <= claims["rat"] <= claims["auth_time"]
    assert before_token <= claims["iat"] <= after_token
    assert ID_TOKEN_TTL <= claims["exp"] - claims["iat"] <= ID_TOKEN_TTL + 1
    uuid.UUID(claims["jti"])

    # 7. The access token carries the grant: the SDK introspects it (session data as `ext`).
    intro = introspect(admin, token["access_token"])
    assert set(intro) == INTROSPECTION_KEYS, intro
    assert intro["active"] is True
    assert intro["sub"] == subject
    assert intro["client_id"] == client_id
    assert intro["scope"] == SCOPE
    assert intro["aud"] == [AUDIENCE]
    assert intro["iss"] == discovery["issuer"]
    assert intro["token_use"] == "access_token"
    assert intro["ext"] == {"team": "sdk"}

    # 8. userinfo with the access token: the ID token's claims without the per-token ones.
    info = userinfo(rp, discovery)
    assert set(info) == USERINFO_CLAIMS | set(id_token_claims), info
    assert info["sub"] == subject
    assert info["iss"] == discovery["issuer"]
    assert client_id in info["aud"]
    assert info["acr"] == ACR
    assert info["auth_time"] == claims["auth_time"]
    assert info["rat"] == claims["rat"]
    for key, value in id_token_claims.items():
        assert info[key] == value, key

    # 9. The refresh grant: new access and refresh tokens and a new ID token, same login.
    old = dict(token)
    refreshed = rp.refresh_token(discovery["token_endpoint"])
    assert_token_response(refreshed)
    assert refreshed["access_token"] != old["access_token"]
    assert refreshed["refresh_token"] != old["refresh_token"]
    _, new_claims = validate_id_token(
        discovery, client_id, refreshed["id_token"], refreshed["access_token"]
    )
    for key in ("iss", "sub", "aud", "auth_time", "rat", "acr", "sid", *id_token_claims):
        assert new_claims[key] == claims[key], key
    assert new_claims["jti"] != claims["jti"]
    assert new_claims["at_hash"] != claims["at_hash"]
    assert new_claims["iat"] >= claims["iat"]
    assert introspect(admin, old["access_token"]) == {"active": False}
    assert introspect(admin, refreshed["access_token"])["ext"] == {"team": "sdk"}
    # userinfo answers for the new access token (authlib now sends it).
    assert userinfo(rp, discovery)["sub"] == subject

    # 10. The code is spent: redeeming it again is invalid_grant and revokes the grant's
    #     tokens (hydra-reference §5.7).
    with pytest.raises(OAuthError) as e:
        exchange(rp, discovery, auth)
    assert e.value.error == "invalid_grant", e.value.description
    assert introspect(admin, refreshed["access_token"]) == {"active": False}


def test_code_flow_public_client(admin, cleanup, callback_uri, discovery, browser):
    scope = "openid offline"
    client = create_client(admin, cleanup, callback_uri, method="none", scope=scope)
    client_id = client["client_id"]
    subject = unique("sdk-user")

    # A wrong PKCE verifier (well-formed, not the one behind the challenge): invalid_grant.
    rp = relying_party(client, callback_uri, scope=scope)
    auth = authorize(browser, admin, rp, discovery, subject)
    with pytest.raises(OAuthError) as e:
        exchange(rp, discovery, auth, code_verifier=generate_token(64))
    assert e.value.error == "invalid_grant", e.value.description

    # The right one, with no client secret at all (token_endpoint_auth_method none).
    rp = relying_party(client, callback_uri, scope=scope)
    auth = authorize(browser, admin, rp, discovery, subject, id_token={"tier": "public"})
    assert auth.login["client"]["token_endpoint_auth_method"] == "none"
    token = exchange(rp, discovery, auth)
    assert_token_response(token, scope=scope)
    _, claims = validate_id_token(
        discovery, client_id, token["id_token"], token["access_token"], nonce=auth.nonce
    )
    assert claims["sub"] == subject
    assert claims["tier"] == "public"
    assert claims["sid"] == auth.login["session_id"]

    info = userinfo(rp, discovery)
    assert info["sub"] == subject and info["tier"] == "public"

    refreshed = rp.refresh_token(discovery["token_endpoint"])
    assert_token_response(refreshed, scope=scope)
    _, new_claims = validate_id_token(
        discovery, client_id, refreshed["id_token"], refreshed["access_token"]
    )
    assert new_claims["sub"] == subject
    assert new_claims["tier"] == "public"


def test_login_rejected(admin, cleanup, callback_uri, discovery, browser):
    client = create_client(admin, cleanup, callback_uri)
    rp = relying_party(client, callback_uri)
    url, state, _, _ = start(rp, discovery)

    stop = browser.go(url)
    assert stop.kind == "login"
    login = get_login_request(admin, stop.challenge)
    completed = admin.reject_login_request(
        login["challenge"],
        body=RejectRequest(
            error="access_denied",
            error_description="The resource owner denied the request.",
            error_hint="The SDK test said no.",
            status_code=403,
        ),
    )
    redirect_to = redirect_of(completed, login["request_url"], "login_verifier")

    # The browser goes back to /oauth2/auth, which sends the error to the client.
    stop = browser.go(redirect_to)
    assert stop.kind == "callback"
    assert stop.url.startswith(callback_uri + "?"), stop.url

    # authlib's parser of the authorization response finds no code at the callback; the
    # error and our state are there instead.
    with pytest.raises(MissingCodeException):
        parse_authorization_code_response(stop.url, state=state)
    params = single_query(stop.url)
    assert params == {
        "error": "access_denied",
        "error_description": "The resource owner denied the request. The SDK test said no.",
        "state": state,
    }

    # The rejected login request is used up too.
    assert_gone(admin, admin.get_login_request, login["challenge"], login["request_url"])


def test_consent_rejected(admin, cleanup, callback_uri, discovery, browser):
    client = create_client(admin, cleanup, callback_uri)
    rp = relying_party(client, callback_uri)
    url, state, _, _ = start(rp, discovery)

    stop = browser.go(url)
    login = get_login_request(admin, stop.challenge)
    stop = browser.go(accept_login(admin, login, unique("sdk-user")))
    assert stop.kind == "consent"
    consent = get_consent_request(admin, stop.challenge)
    completed = admin.reject_consent_request(
        consent["challenge"],
        body=RejectRequest(
            error="access_denied", error_description="The user said no to the scopes.",
            status_code=403,
        ),
    )
    redirect_to = redirect_of(completed, consent["request_url"], "consent_verifier")

    stop = browser.go(redirect_to)
    assert stop.kind == "callback"
    assert single_query(stop.url) == {
        "error": "access_denied",
        "error_description": "The user said no to the scopes.",
        "state": state,
    }
    assert_gone(admin, admin.get_consent_request, consent["challenge"], consent["request_url"])


def test_remembered_login_and_consent_are_skipped(admin, public_url, cleanup, callback_uri,
                                                   discovery, browser):
    client = create_client(admin, cleanup, callback_uri)
    client_id = client["client_id"]
    subject = unique("sdk-user")

    # First run: the user logs in and consents, both remembered for an hour.
    rp = relying_party(client, callback_uri)
    first = authorize(
        browser, admin, rp, discovery, subject, login_remember=True, consent_remember=True,
        id_token={"run": 1},
    )
    first_token = exchange(rp, discovery, first)
    _, first_claims = validate_id_token(
        discovery, client_id, first_token["id_token"], first_token["access_token"],
        nonce=first.nonce,
    )

    # Second run in the same browser: the login session cookie and the remembered consent
    # make both requests `skip`; the app still accepts each of them (§4.3, §4.5).
    rp = relying_party(client, callback_uri)
    url, state, nonce, code_verifier = start(rp, discovery)
    stop = browser.go(url)
    assert stop.kind == "login"
    login = get_login_request(admin, stop.challenge)
    assert login["skip"] is True
    assert login["subject"] == subject
    assert login["session_id"] == first.login["session_id"]
    stop = browser.go(accept_login(admin, login, subject))
    assert stop.kind == "consent"
    consent = get_consent_request(admin, stop.challenge)
    assert consent["skip"] is True
    assert consent["subject"] == subject
    assert consent["requested_scope"] == SCOPE.split()
    stop = browser.go(accept_consent(admin, consent, id_token={"run": 2}))
    assert stop.kind == "callback"
    second = Authorization(url, state, nonce, code_verifier, login, consent, stop.url)
    assert single_query(stop.url)["state"] == state

    token = exchange(rp, discovery, second)
    assert_token_response(token)
    _, claims = validate_id_token(
        discovery, client_id, token["id_token"], token["access_token"], nonce=nonce
    )
    assert claims["sub"] == subject
    assert claims["run"] == 2
    # The same login session: its sid and its original authentication time.
    assert claims["sid"] == first_claims["sid"]
    assert claims["auth_time"] == first_claims["auth_time"]

    # A browser without the cookie is a stranger: a fresh login, not skipped.
    stranger = Browser(public_url)
    try:
        url, _, _, _ = start(relying_party(client, callback_uri), discovery)
        stop = stranger.go(url)
        assert stop.kind == "login"
        login = get_login_request(admin, stop.challenge)
        assert login["skip"] is False
        assert login["subject"] == ""
    finally:
        stranger.close()


def test_code_flow_ends_with_rp_initiated_logout(admin, admin_url, public_url, cleanup,
                                                 callback_uri, discovery, browser):
    """OpenID Connect RP-Initiated Logout 1.0 after an authlib code flow (§2.5, §4.7): the
    relying party sends the browser to discovery's `end_session_endpoint` with the ID token it
    holds as `id_token_hint`, a registered `post_logout_redirect_uri` and `state`; the logout
    app (the SDK) accepts; the browser comes back to the relying party with that state, and the
    next /oauth2/auth in that browser asks for a fresh login."""
    post_logout_uri = urljoin(callback_uri, "/logged-out")
    client = create_client(
        admin, cleanup, callback_uri, post_logout_redirect_uris=[post_logout_uri]
    )
    client_id = client["client_id"]
    subject = unique("sdk-user")

    # A remembered login: the browser holds an authentication session to end.
    rp = relying_party(client, callback_uri)
    auth = authorize(browser, admin, rp, discovery, subject, login_remember=True)
    token = exchange(rp, discovery, auth)
    _, claims = validate_id_token(
        discovery, client_id, token["id_token"], token["access_token"], nonce=auth.nonce
    )
    assert claims["sid"] == auth.login["session_id"]
    assert userinfo(rp, discovery)["sub"] == subject
    assert any(c.name.startswith("oauth2_authentication_session") for c in browser.session.cookies)
    # The RP logs out with the ID token it holds last: the one from its refresh.
    rp.refresh_token(discovery["token_endpoint"])
    id_token_hint = rp.token["id_token"]
    assert id_token_hint != token["id_token"]

    # 1. The end-session URL, built by the RP from discovery.
    end_session = discovery["end_session_endpoint"]
    assert end_session == f"{public_url}/oauth2/sessions/logout"
    logout_state = generate_token(24)
    url = add_params_to_uri(end_session, [
        ("id_token_hint", id_token_hint),
        ("post_logout_redirect_uri", post_logout_uri),
        ("state", logout_state),
    ])
    stop = browser.go(url)
    assert stop.kind == "logout", stop
    assert stop.url == f"{public_url}/oauth2/fallbacks/logout?logout_challenge={stop.challenge}"

    # 2. The logout app reads the request (the SDK's model predates its `client` member:
    #    this one read ignores unknown keys, as in test_logout.py) and accepts it.
    config = ory_hydra_client.Configuration(host=admin_url)
    config.discard_unknown_keys = True
    with ory_hydra_client.ApiClient(config) as api_client:
        request = AdminApi(api_client).get_logout_request(stop.challenge)
    assert isinstance(request, LogoutRequest), type(request)
    values = request.to_dict()
    assert values["challenge"] == stop.challenge
    assert values["rp_initiated"] is True
    assert values["subject"] == subject
    assert values["sid"] == claims["sid"]
    assert values["request_url"] == url[len(public_url):]

    completed = admin.accept_logout_request(stop.challenge)
    assert isinstance(completed, CompletedRequest), type(completed)
    redirect_to = completed.to_dict()["redirect_to"]
    assert redirect_to.startswith(f"{end_session}?"), redirect_to
    verifier = single_query(redirect_to)
    assert set(verifier) == {"logout_verifier"} and UUID.match(verifier["logout_verifier"])

    # 3. Back at the end-session endpoint with the verifier: the session ends, and the browser
    #    goes to the registered post-logout URI with the RP's state.
    stop = browser.go(redirect_to)
    assert stop.kind == "callback", stop
    assert stop.url == f"{post_logout_uri}?state={logout_state}"
    assert not any(
        c.name.startswith("oauth2_authentication_session") for c in browser.session.cookies
    ), "the authentication session cookie is expired"

    # 4. The next authorization in this browser asks for a fresh login.
    url, _, _, _ = start(relying_party(client, callback_uri), discovery)
    stop = browser.go(url)
    assert stop.kind == "login", stop
    login = get_login_request(admin, stop.challenge)
    assert login["skip"] is False
    assert login["subject"] == ""
    assert login["session_id"] != auth.login["session_id"]


def test_unknown_challenges_are_not_found(admin):
    # hydra-reference §2.5 and §1.2: Hydra's own not-found error for an unknown challenge.
    for get in (admin.get_login_request, admin.get_consent_request):
        with pytest.raises(ApiException) as e:
            get("0" * 32)
        assert e.value.status == 404, (get, e.value.body)
        assert json.loads(e.value.body)["error"] == "Not Found", e.value.body
