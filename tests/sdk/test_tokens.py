"""Tokens through the official Python SDK (ory-hydra-client 1.10.3) and through authlib, an
independent OAuth 2.0 client library.

The SDK, as strict as in the other files (unknown keys, `null` and wrong types are errors),
introspects (`OAuth2TokenIntrospection`), flushes (`FlushInactiveOAuth2TokensRequest`), deletes a
client's tokens, revokes with HTTP Basic set on its `Configuration`, obtains a client_credentials
token (`Oauth2TokenResponse`) and reads the discovery document (`WellKnown`; that one call
ignores the single key the SDK's older spec lacks, as sdk-interop.md allows).

authlib (its `requests` integration) obtains client_credentials tokens as a third-party client
would: `client_secret_basic`, `client_secret_post`, and `private_key_jwt` with an RSA key that
`cryptography` generated, whose public JWK PyJWT encoded and whose assertions authlib signs
(RFC 7523). Each token is then introspected on the admin API with plain `requests`.
"""

import contextlib
import datetime as dt
import json
import time
import uuid

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session, OAuthError
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

import ory_hydra_client
from ory_hydra_client import ApiException
from ory_hydra_client.api.public_api import PublicApi
from ory_hydra_client.model.flush_inactive_o_auth2_tokens_request import (
    FlushInactiveOAuth2TokensRequest,
)
from ory_hydra_client.model.o_auth2_client import OAuth2Client
from ory_hydra_client.model.o_auth2_token_introspection import OAuth2TokenIntrospection
from ory_hydra_client.model.oauth2_token_response import Oauth2TokenResponse
from ory_hydra_client.model.string_slice_pipe_delimiter import StringSlicePipeDelimiter
from ory_hydra_client.model.well_known import WellKnown

SCOPE = "sdk.read sdk.write"
AUDIENCE = "https://api.sdk-interop.example"
# Hydra's default `ttl.access_token` (1h); tests/sdk/run.sh sets no TTL.
ACCESS_TTL = 3600
HTTP_TIMEOUT = 10
# The keys of an active access token's introspection (hydra-reference §2.7) when the grant has
# a scope and no session `ext` (client_credentials never has one).
ACTIVE_KEYS = {
    "active", "client_id", "sub", "scope", "token_type", "token_use", "exp", "iat", "nbf",
    "aud", "iss",
}
# Discovery keys in Hydra 1.10.3's spec that the SDK's older copy of it does not know
# (sdk-interop.md): the only ones the relaxed discovery call may drop.
UNKNOWN_TO_SDK = {"code_challenge_methods_supported"}


def unique(prefix):
    return f"{prefix}-{uuid.uuid4()}"


def error_body(exc):
    body = json.loads(exc.body)
    assert isinstance(body.get("error"), str) and body["error"], body
    return body


@pytest.fixture(scope="module")
def discovery(public_url):
    """The discovery document as JSON, read without the SDK."""
    response = requests.get(f"{public_url}/.well-known/openid-configuration", timeout=HTTP_TIMEOUT)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(scope="module")
def token_url(public_url):
    """Where the token endpoint listens: the listener's address, which run.sh also makes the
    issuer, so the discovery document names the same URL."""
    return f"{public_url}/oauth2/token"


def create_client(admin, cleanup, **fields):
    """Creates a client_credentials client through the SDK; returns the created client (with
    its plaintext secret, where the method has one) as plain values."""
    client_id = fields.pop("client_id", None) or unique("sdk-tokens")
    cleanup.append(client_id)
    values = dict(
        client_id=client_id,
        grant_types=StringSlicePipeDelimiter(["client_credentials"]),
        scope=SCOPE,
        audience=StringSlicePipeDelimiter([AUDIENCE]),
        token_endpoint_auth_method="client_secret_basic",
    )
    values.update(fields)
    created = admin.create_o_auth2_client(OAuth2Client(**values)).to_dict()
    assert created["client_id"] == client_id
    return created


def issue_token(public_url, client, scope=SCOPE, audience=AUDIENCE):
    """A client_credentials access token for a `client_secret_basic` client, via plain HTTP."""
    data = {"grant_type": "client_credentials"}
    if scope is not None:
        data["scope"] = scope
    if audience is not None:
        data["audience"] = audience
    response = requests.post(
        f"{public_url}/oauth2/token", data=data, timeout=HTTP_TIMEOUT,
        auth=(client["client_id"], client["client_secret"]),
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def introspect(admin, token, **kwargs):
    """`POST /oauth2/introspect` through the SDK: the typed model, as plain values."""
    result, status, _ = admin.introspect_o_auth2_token(
        token, _return_http_data_only=False, **kwargs
    )
    assert status == 200
    assert isinstance(result, OAuth2TokenIntrospection), type(result)
    return result.to_dict()


def introspect_raw(admin_url, token):
    """`POST /oauth2/introspect` with plain `requests`: the JSON as sent."""
    response = requests.post(
        f"{admin_url}/oauth2/introspect", data={"token": token}, timeout=HTTP_TIMEOUT
    )
    assert response.status_code == 200, response.text
    return response.json()


def assert_active(intro, client_id, scope, issuer, issued_between, audience=(AUDIENCE,)):
    """An active client_credentials access token of `client_id`: every field of §2.7."""
    expected_keys = ACTIVE_KEYS if scope else ACTIVE_KEYS - {"scope"}
    assert set(intro) == expected_keys, intro
    assert intro["active"] is True
    assert intro["client_id"] == client_id
    assert intro["sub"] == client_id, "a client_credentials token's subject is the client"
    if scope:
        assert intro["scope"] == scope
    assert intro["token_type"] == "Bearer"
    assert intro["token_use"] == "access_token"
    assert intro["aud"] == list(audience)
    assert intro["iss"] == issuer
    for claim in ("exp", "iat", "nbf"):
        assert type(intro[claim]) is int, (claim, intro[claim])
    low, high = issued_between
    assert low <= intro["iat"] <= high, (issued_between, intro["iat"])
    assert intro["nbf"] == intro["iat"]
    assert intro["exp"] == intro["iat"] + ACCESS_TTL, intro


def assert_inactive(admin, token):
    assert introspect(admin, token) == {"active": False}


@contextlib.contextmanager
def public_api_with_basic(public_url, username, password):
    """The SDK's PublicApi with HTTP Basic credentials on its Configuration (strict)."""
    config = ory_hydra_client.Configuration(host=public_url, username=username, password=password)
    config.discard_unknown_keys = False
    with ory_hydra_client.ApiClient(config) as api_client:
        yield PublicApi(api_client)


# --- the official SDK ----------------------------------------------------------------------


def test_introspect_an_active_token(admin, admin_url, public_url, cleanup, discovery):
    client = create_client(admin, cleanup)
    before = int(time.time())
    token = issue_token(public_url, client)
    after = int(time.time())

    intro = introspect(admin, token)
    assert_active(intro, client["client_id"], SCOPE, discovery["issuer"], (before, after))
    # The SDK's model dropped and changed nothing: it is the JSON the server sent.
    assert introspect_raw(admin_url, token) == intro

    # `scope` asks that these scopes were granted (hydra-reference §2.7).
    assert introspect(admin, token, scope="sdk.read") == intro
    assert introspect(admin, token, scope=SCOPE) == intro
    assert introspect(admin, token, scope="sdk.read sdk.admin") == {"active": False}


def test_introspect_garbage_is_inactive(admin):
    opaque_shaped = "A" * 43 + "." + "B" * 43
    jwt_shaped = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    for token in ("garbage", opaque_shaped, jwt_shaped, "ä ö+%/="):
        assert introspect(admin, token) == {"active": False}, token

    # No token at all is a malformed request (400 invalid_request), not an inactive token.
    with pytest.raises(ApiException) as e:
        admin.introspect_o_auth2_token("")
    assert e.value.status == 400
    assert error_body(e.value)["error"] == "invalid_request"


def test_flush_inactive_tokens(admin, public_url, cleanup, discovery):
    client = create_client(admin, cleanup)
    before = int(time.time())
    token = issue_token(public_url, client)
    after = int(time.time())
    now = dt.datetime.now(dt.timezone.utc)

    bodies = [
        FlushInactiveOAuth2TokensRequest(not_after=now - dt.timedelta(days=1)),  # the past
        FlushInactiveOAuth2TokensRequest(not_after=now),  # now, zoned
        # `isoformat()` of a naive datetime carries no zone: read as UTC (sdk-interop.md).
        FlushInactiveOAuth2TokensRequest(not_after=now.replace(tzinfo=None)),
        None,  # no body: "now"
    ]
    for body in bodies:
        kwargs = {} if body is None else {"body": body}
        data, status, _ = admin.flush_inactive_o_auth2_tokens(
            _return_http_data_only=False, **kwargs
        )
        assert (data, status) == (None, 204), body
        # Flush deletes only tokens past their lifespan: a live token survives every flush.
        assert_active(
            introspect(admin, token), client["client_id"], SCOPE, discovery["issuer"],
            (before, after),
        )


def test_delete_the_tokens_of_a_client(admin, public_url, cleanup):
    a = create_client(admin, cleanup)
    b = create_client(admin, cleanup)
    a_tokens = [issue_token(public_url, a), issue_token(public_url, a, scope="sdk.read")]
    b_token = issue_token(public_url, b)
    for token in a_tokens + [b_token]:
        assert introspect(admin, token)["active"] is True

    data, status, _ = admin.delete_o_auth2_token(a["client_id"], _return_http_data_only=False)
    assert (data, status) == (None, 204)
    for token in a_tokens:
        assert_inactive(admin, token)
    assert introspect(admin, b_token)["client_id"] == b["client_id"], "only a's tokens go"

    # The client itself stays and gets new tokens.
    assert introspect(admin, issue_token(public_url, a))["active"] is True

    # A client without tokens, or with no such client: still 204.
    data, status, _ = admin.delete_o_auth2_token(unique("sdk-none"), _return_http_data_only=False)
    assert (data, status) == (None, 204)


def test_revoke_with_basic_auth_on_the_sdk_configuration(admin, public_url, cleanup):
    a = create_client(admin, cleanup)
    b = create_client(admin, cleanup)
    token, kept = issue_token(public_url, a), issue_token(public_url, a, scope="sdk.read")
    a_id, a_secret = a["client_id"], a["client_secret"]

    with public_api_with_basic(public_url, a_id, a_secret) as api:
        data, status, _ = api.revoke_o_auth2_token(token, _return_http_data_only=False)
        assert (data, status) == (None, 200)
        assert_inactive(admin, token)
        # Revoking it again, or revoking an unknown token, is still 200 (RFC 7009 §2.2).
        for again in (token, "never-issued"):
            data, status, _ = api.revoke_o_auth2_token(again, _return_http_data_only=False)
            assert (data, status) == (None, 200)
    # Revocation is per grant: the other token of the same client is untouched.
    assert introspect(admin, kept)["active"] is True

    # A wrong secret: 401 invalid_client, nothing revoked.
    with public_api_with_basic(public_url, a_id, a_secret + "x") as api:
        with pytest.raises(ApiException) as e:
            api.revoke_o_auth2_token(kept)
    assert e.value.status == 401
    assert error_body(e.value)["error"] == "invalid_client"
    assert introspect(admin, kept)["active"] is True

    # Another client may not revoke a's token (RFC 7009 §2.1): refused, nothing revoked.
    with public_api_with_basic(public_url, b["client_id"], b["client_secret"]) as api:
        with pytest.raises(ApiException) as e:
            api.revoke_o_auth2_token(kept)
    assert e.value.status == 400
    assert error_body(e.value)["error"] == "unauthorized_client"
    assert introspect(admin, kept)["active"] is True


def test_sdk_token_endpoint_client_credentials(admin, public_url, cleanup, discovery):
    client = create_client(admin, cleanup)
    with public_api_with_basic(public_url, client["client_id"], client["client_secret"]) as api:
        before = int(time.time())
        # The SDK sends only grant_type (its oauth2_token has no `scope` or `audience`).
        response, status, headers = api.oauth2_token(
            "client_credentials", _return_http_data_only=False
        )
        after = int(time.time())
    assert status == 200
    assert headers["Cache-Control"] == "no-store"
    assert headers["Pragma"] == "no-cache"
    assert isinstance(response, Oauth2TokenResponse), type(response)
    body = response.to_dict()
    # No scope requested, none granted: `scope` is present and empty (hydra-reference §2.2).
    assert set(body) == {"access_token", "expires_in", "scope", "token_type"}, body
    assert body["token_type"] == "bearer"
    assert body["scope"] == ""
    assert ACCESS_TTL - 5 <= body["expires_in"] <= ACCESS_TTL, body["expires_in"]

    intro = introspect(admin, body["access_token"])
    assert_active(
        intro, client["client_id"], "", discovery["issuer"], (before, after), audience=()
    )

    # A wrong secret: 401 invalid_client with `WWW-Authenticate: Basic` (RFC 6749 §5.2).
    with public_api_with_basic(public_url, client["client_id"], "wrong") as api:
        with pytest.raises(ApiException) as e:
            api.oauth2_token("client_credentials")
    assert e.value.status == 401
    assert e.value.headers["WWW-Authenticate"].startswith("Basic")
    assert error_body(e.value)["error"] == "invalid_client"


def test_discovery_reads_into_the_sdk_model(public_url, discovery):
    known = set(WellKnown.attribute_map.values())
    assert set(discovery) - known == UNKNOWN_TO_SDK, "only the keys sdk-interop.md names"
    assert discovery["code_challenge_methods_supported"] == ["S256"]

    # The one call read with unknown keys ignored (sdk-interop.md).
    config = ory_hydra_client.Configuration(host=public_url)
    config.discard_unknown_keys = True
    with ory_hydra_client.ApiClient(config) as api_client:
        well_known, status, _ = PublicApi(api_client).discover_open_id_configuration(
            _return_http_data_only=False
        )
    assert status == 200
    assert isinstance(well_known, WellKnown), type(well_known)
    decoded = well_known.to_dict()
    # Every other key came through typed and unchanged.
    assert decoded == {k: v for k, v in discovery.items() if k not in UNKNOWN_TO_SDK}

    for required in (
        "issuer", "authorization_endpoint", "token_endpoint", "jwks_uri",
        "response_types_supported", "subject_types_supported",
        "id_token_signing_alg_values_supported",
    ):
        assert decoded.get(required), required
    issuer = decoded["issuer"]
    assert issuer.endswith("/")
    assert decoded["token_endpoint"].endswith("/oauth2/token")
    assert decoded["revocation_endpoint"] == issuer + "oauth2/revoke"
    assert decoded["jwks_uri"] == issuer + ".well-known/jwks.json"
    assert "client_credentials" in decoded["grant_types_supported"]
    assert {"client_secret_basic", "client_secret_post", "private_key_jwt"} <= set(
        decoded["token_endpoint_auth_methods_supported"]
    )


# --- authlib, an independent OAuth 2.0 client ----------------------------------------------


def authlib_session(client_id, credential, method, scope="sdk.read"):
    return OAuth2Session(
        client_id, credential, scope=scope, token_endpoint_auth_method=method,
        revocation_endpoint_auth_method=method, default_timeout=HTTP_TIMEOUT,
    )


def assert_authlib_token(token, scope="sdk.read"):
    """What authlib made of our token response (an `OAuth2Token`)."""
    assert token["token_type"] == "bearer"
    assert token["scope"] == scope
    assert isinstance(token["expires_in"], int)
    assert ACCESS_TTL - 5 <= token["expires_in"] <= ACCESS_TTL
    # authlib computed the expiry from `expires_in`: the token is not expired to it.
    assert not token.is_expired()
    assert "refresh_token" not in token and "id_token" not in token


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_authlib_client_credentials_with_a_secret(
    admin, admin_url, public_url, token_url, cleanup, discovery, method
):
    client = create_client(admin, cleanup, token_endpoint_auth_method=method)
    client_id, secret = client["client_id"], client["client_secret"]

    with authlib_session(client_id, secret, method) as session:
        before = int(time.time())
        token = session.fetch_token(
            token_url, grant_type="client_credentials", audience=AUDIENCE
        )
        after = int(time.time())
    assert_authlib_token(token)
    assert_active(
        introspect_raw(admin_url, token["access_token"]), client_id, "sdk.read",
        discovery["issuer"], (before, after),
    )

    # authlib revokes it at the public revocation endpoint with the same method.
    with authlib_session(client_id, secret, method) as session:
        response = session.revoke_token(
            f"{public_url}/oauth2/revoke", token=token["access_token"],
            token_type_hint="access_token",
        )
    assert response.status_code == 200, response.text
    assert introspect_raw(admin_url, token["access_token"]) == {"active": False}

    # The registered method is the only one accepted; a wrong secret fails.
    other = "client_secret_post" if method == "client_secret_basic" else "client_secret_basic"
    for credential, used in ((secret, other), (secret + "x", method)):
        with authlib_session(client_id, credential, used) as session:
            with pytest.raises(OAuthError) as e:
                session.fetch_token(token_url, grant_type="client_credentials")
        assert e.value.error == "invalid_client", (used, e.value.description)


def rsa_key_pair(kid):
    """An RSA key from `cryptography`: its PKCS#8 PEM (for authlib) and its public JWK as
    PyJWT encodes it, with the members a registered key carries."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    jwk = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    jwk.pop("key_ops", None)
    return pem, dict(jwk, alg="RS256", kid=kid, use="sig")


def fetch_with_assertion(client_id, pem, audience, token_url, headers=None, claims=None):
    """A client_credentials token with authlib's `private_key_jwt` (RFC 7523 §2.2)."""
    with authlib_session(client_id, pem, "private_key_jwt") as session:
        session.register_client_auth_method(
            PrivateKeyJWT(token_endpoint=audience, headers=headers, claims=claims)
        )
        return session.fetch_token(
            token_url, grant_type="client_credentials", audience=AUDIENCE
        )


def test_authlib_private_key_jwt(admin, admin_url, token_url, cleanup, discovery):
    kid = unique("sdk-assertion-key")
    pem, public_jwk = rsa_key_pair(kid)
    created = create_client(
        admin, cleanup,
        token_endpoint_auth_method="private_key_jwt",
        token_endpoint_auth_signing_alg="RS256",
        jwks={"keys": [public_jwk]},
    )
    client_id = created["client_id"]
    assert created["token_endpoint_auth_method"] == "private_key_jwt"
    assert created["jwks"] == {"keys": [public_jwk]}
    assert admin.get_o_auth2_client(client_id).to_dict()["jwks"] == {"keys": [public_jwk]}

    # The assertion's `aud` is the token endpoint as the server names it in its discovery
    # document (RFC 7523 §3; what a client configured from discovery uses).
    audience = discovery["token_endpoint"]
    assert audience == token_url
    before = int(time.time())
    issued = []
    for headers in ({"kid": kid}, None):  # with the key's kid, and without any kid
        try:
            token = fetch_with_assertion(client_id, pem, audience, token_url, headers=headers)
        except OAuthError as e:
            pytest.fail(
                f"private_key_jwt (kid header {headers!r}) refused: "
                f"{e.error}: {e.description}", pytrace=False,
            )
        assert_authlib_token(token)
        issued.append(token["access_token"])
    after = int(time.time())
    assert issued[0] != issued[1]
    for access_token in issued:
        assert_active(
            introspect_raw(admin_url, access_token), client_id, "sdk.read",
            discovery["issuer"], (before, after),
        )

    # A replayed assertion (same jti) is refused (RFC 7523 §3 item 7).
    jti = unique("sdk-jti")
    fetch_with_assertion(client_id, pem, audience, token_url, claims={"jti": jti})
    with pytest.raises(OAuthError) as e:
        fetch_with_assertion(client_id, pem, audience, token_url, claims={"jti": jti})
    assert e.value.error == "jti_known", e.value.description

    # Signed by another key under the registered kid: invalid_client.
    other_pem, _ = rsa_key_pair(kid)
    with pytest.raises(OAuthError) as e:
        fetch_with_assertion(client_id, other_pem, audience, token_url, headers={"kid": kid})
    assert e.value.error == "invalid_client", e.value.description

    # Addressed to another audience: invalid_client.
    with pytest.raises(OAuthError) as e:
        fetch_with_assertion(client_id, pem, "https://elsewhere.example/oauth2/token", token_url)
    assert e.value.error == "invalid_client", e.value.description
