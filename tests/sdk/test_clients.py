"""`/clients` through the official Python SDK (ory-hydra-client 1.10.3), typed end to end.

The SDK deserializes every response into its models and refuses `null`, unknown keys, wrong
types and a `scope` that fails its pattern, so a shape the SDK cannot read fails here. Each
test also compares the whole returned client with the expected one, so presence rules
(hydra-reference §3.1, sdk-interop.md) and values are checked, not only types.
"""

import datetime as dt
import json
import re
import uuid

import pytest

from ory_hydra_client import ApiException
from ory_hydra_client.model.o_auth2_client import OAuth2Client
from ory_hydra_client.model.patch_document import PatchDocument
from ory_hydra_client.model.patch_request import PatchRequest
from ory_hydra_client.model.string_slice_pipe_delimiter import StringSlicePipeDelimiter

# Hydra's `oidc.dynamic_client_registration.default_scope`, applied when `scope` is empty.
DEFAULT_SCOPE = "offline_access offline openid"
# A generated secret: 26 characters from Hydra's alphabet (letters, digits, `-`, `.`, `_`, `~`).
GENERATED_SECRET = re.compile(r"^[A-Za-z0-9\-._~]{26}$")
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
SERVER_SET = ("created_at", "updated_at")
LIST_FIELDS = (
    "redirect_uris", "grant_types", "response_types", "audience", "allowed_cors_origins",
    "contacts", "request_uris", "post_logout_redirect_uris",
)


def unique(prefix):
    return f"{prefix}-{uuid.uuid4()}"


def client_model(**fields):
    """An SDK `OAuth2Client` from plain values (lists become `StringSlicePipeDelimiter`)."""
    typed = {
        k: StringSlicePipeDelimiter(v) if k in LIST_FIELDS else v for k, v in fields.items()
    }
    return OAuth2Client(**typed)


def plain(model):
    """The model as plain Python values (lists, dicts, datetimes), as the SDK decoded it."""
    return model.to_dict()


def without(d, *keys):
    return {k: v for k, v in d.items() if k not in keys}


def assert_timestamps(client):
    """`created_at`/`updated_at` are present, zoned (UTC) and recent."""
    now = dt.datetime.now(dt.timezone.utc)
    for key in SERVER_SET:
        value = client[key]
        assert isinstance(value, dt.datetime), key
        assert value.utcoffset() == dt.timedelta(0), f"{key} is not UTC: {value!r}"
        assert abs(now - value) < dt.timedelta(minutes=5), f"{key} is not recent: {value!r}"
    assert client["created_at"] <= client["updated_at"]


def error_body(exc):
    body = json.loads(exc.body)
    assert isinstance(body.get("error"), str) and body["error"], body
    return body


def find_in_list(admin, client_id):
    """Pages through `GET /clients` and returns the listed client with this id, or None."""
    offset, limit = 0, 500
    while True:
        items, status, headers = admin.list_o_auth2_clients(
            limit=limit, offset=offset, _return_http_data_only=False
        )
        assert status == 200
        assert int(headers["X-Total-Count"]) >= len(items)
        ids = [c["client_id"] for c in items]
        assert ids == sorted(ids), "clients are listed sorted by client_id"
        for c in items:
            assert "client_secret" not in c, "a listed client must not carry a secret"
            if c["client_id"] == client_id:
                return plain(c)
        if len(items) < limit:
            return None
        offset += limit


# Every field a client can set, except `sector_identifier_uri` (the server would fetch it)
# and the `private_key_jwt` ones (`jwks`, `token_endpoint_auth_signing_alg`).
FULL = dict(
    client_name="SDK interop: full client",
    redirect_uris=["https://app.example.com/callback", "http://127.0.0.1:8080/callback"],
    grant_types=["authorization_code", "refresh_token", "client_credentials", "implicit"],
    response_types=["code", "id_token", "code id_token", "token"],
    scope="openid offline_access photos.read",
    audience=["https://api.example.com", "https://other.example.com/v1"],
    owner="sdk-owner",
    policy_uri="https://app.example.com/policy",
    tos_uri="https://app.example.com/tos",
    client_uri="https://app.example.com",
    logo_uri="https://app.example.com/logo.png",
    contacts=["admin@example.com", "ops@example.com"],
    subject_type="public",
    jwks_uri="https://app.example.com/.well-known/jwks.json",
    token_endpoint_auth_method="client_secret_post",
    userinfo_signed_response_alg="RS256",
    request_uris=["https://app.example.com/request.jwt"],
    request_object_signing_alg="RS256",
    frontchannel_logout_uri="https://app.example.com/logout/front",
    frontchannel_logout_session_required=True,
    post_logout_redirect_uris=["https://app.example.com/bye"],
    backchannel_logout_uri="https://app.example.com/logout/back",
    backchannel_logout_session_required=True,
    allowed_cors_origins=["https://app.example.com/", "http://localhost:3000"],
    metadata={"tier": "gold", "nested": {"n": 1, "list": [1, "two", True], "f": 1.5}},
)


def full_expected(client_id):
    """What the server stores for FULL: the values sent, normalised as Hydra does."""
    return dict(
        FULL,
        client_id=client_id,
        # Hydra trims a trailing `/` from CORS origins and stores the normalised value.
        allowed_cors_origins=["https://app.example.com", "http://localhost:3000"],
        client_secret_expires_at=0,
        jwks={},
    )


def minimal_expected(client_id, token_endpoint_auth_method="client_secret_basic"):
    """A client created from `{}`: Hydra's defaults; lists `[]`, objects `{}`, no nulls;
    the *omitempty* fields (jwks_uri, request_uris, logout URIs, ...) absent."""
    return dict(
        client_id=client_id,
        client_name="",
        redirect_uris=[],
        grant_types=[],
        response_types=[],
        scope=DEFAULT_SCOPE,
        audience=[],
        owner="",
        policy_uri="",
        allowed_cors_origins=[],
        tos_uri="",
        client_uri="",
        logo_uri="",
        contacts=[],
        client_secret_expires_at=0,
        subject_type="public",
        jwks={},
        token_endpoint_auth_method=token_endpoint_auth_method,
        userinfo_signed_response_alg="none",
        metadata={},
    )


def test_full_client_create_get_list_update_patch_delete(admin, cleanup):
    client_id = unique("sdk-full")
    cleanup.append(client_id)

    # Create: 201, the stored client plus a generated plaintext secret.
    created = plain(admin.create_o_auth2_client(client_model(client_id=client_id, **FULL)))
    assert GENERATED_SECRET.match(created["client_secret"]), created["client_secret"]
    assert_timestamps(created)
    assert without(created, "client_secret", *SERVER_SET) == full_expected(client_id)

    # Get: the same client, never the secret.
    got = plain(admin.get_o_auth2_client(client_id))
    assert "client_secret" not in got
    assert got == without(created, "client_secret")

    # List: the same client, without the secret.
    assert find_in_list(admin, client_id) == got

    # Update (PUT): full replacement; the path's id wins over the body's; a sent secret is
    # echoed once.
    replacement = dict(
        client_name="SDK interop: replaced",
        client_secret="a-new-sdk-secret-value",
        redirect_uris=["https://new.example.com/cb"],
        grant_types=["authorization_code"],
        response_types=["code"],
        scope="openid email",
        audience=["https://new-api.example.com"],
        owner="new-owner",
        policy_uri="https://new.example.com/policy",
        tos_uri="https://new.example.com/tos",
        client_uri="https://new.example.com",
        logo_uri="https://new.example.com/logo.svg",
        contacts=["new@example.com"],
        subject_type="public",
        token_endpoint_auth_method="client_secret_basic",
        userinfo_signed_response_alg="none",
        post_logout_redirect_uris=["https://new.example.com/after-logout"],
        backchannel_logout_uri="https://new.example.com/bc",
        allowed_cors_origins=["https://new.example.com"],
        metadata={"replaced": True},
    )
    updated = plain(admin.update_o_auth2_client(
        client_id, client_model(client_id=unique("ignored"), **replacement)
    ))
    assert updated["client_secret"] == "a-new-sdk-secret-value"
    expected_after_put = dict(
        without(replacement, "client_secret"),
        client_id=client_id,
        client_secret_expires_at=0,
        jwks={},
    )
    assert without(updated, "client_secret", *SERVER_SET) == expected_after_put

    got = plain(admin.get_o_auth2_client(client_id))
    assert "client_secret" not in got
    assert without(got, *SERVER_SET) == expected_after_put
    assert got["created_at"] == created["created_at"], "PUT must not change created_at"
    assert got["updated_at"] >= created["updated_at"]
    assert_timestamps(got)

    # Patch (JSON Patch): replace client_name, add a metadata member, remove a list.
    # The SDK types PatchDocument.value as an object (Hydra's spec says so), which refuses
    # the string a `replace` of client_name needs: that one document is built without the
    # SDK's client-side type check. The response is still checked in full.
    patch = PatchRequest([
        PatchDocument(op="replace", path="/client_name", value="SDK interop: patched",
                      _check_type=False),
        PatchDocument(op="add", path="/metadata/patched_by", value={"sdk": "python"}),
        PatchDocument(op="remove", path="/contacts"),
    ])
    patched = plain(admin.patch_o_auth2_client(client_id, patch))
    expected_after_patch = dict(
        expected_after_put,
        client_name="SDK interop: patched",
        metadata={"replaced": True, "patched_by": {"sdk": "python"}},
        contacts=[],
    )
    assert "client_secret" not in patched, "PATCH must not echo (or leak the hash of) a secret"
    assert without(patched, *SERVER_SET) == expected_after_patch
    assert patched["created_at"] == created["created_at"]
    assert_timestamps(patched)
    assert plain(admin.get_o_auth2_client(client_id)) == patched

    # Delete: 204, then it is gone.
    assert admin.delete_o_auth2_client(client_id) is None
    with pytest.raises(ApiException) as e:
        admin.get_o_auth2_client(client_id)
    assert e.value.status == 404
    error_body(e.value)
    assert find_in_list(admin, client_id) is None


def test_minimal_client_gets_defaults_and_no_nulls(admin, cleanup):
    created = plain(admin.create_o_auth2_client(OAuth2Client()))
    client_id = created["client_id"]
    cleanup.append(client_id)

    assert UUID4.match(client_id), client_id
    assert GENERATED_SECRET.match(created["client_secret"]), created["client_secret"]
    assert_timestamps(created)
    assert without(created, "client_secret", *SERVER_SET) == minimal_expected(client_id)

    got = plain(admin.get_o_auth2_client(client_id))
    assert got == without(created, "client_secret")
    assert find_in_list(admin, client_id) == got


def test_public_client_secret_is_never_returned(admin, cleanup):
    # Hydra generates a secret for a `none` client too, but does not return it.
    created = plain(admin.create_o_auth2_client(
        OAuth2Client(token_endpoint_auth_method="none")
    ))
    client_id = created["client_id"]
    cleanup.append(client_id)

    assert "client_secret" not in created
    assert without(created, *SERVER_SET) == minimal_expected(client_id, "none")
    assert plain(admin.get_o_auth2_client(client_id)) == created


def test_supplied_secret_is_echoed_on_create_only(admin, cleanup):
    client_id = unique("sdk-secret")
    cleanup.append(client_id)
    created = plain(admin.create_o_auth2_client(
        OAuth2Client(client_id=client_id, client_secret="a-supplied-secret")
    ))
    assert created["client_secret"] == "a-supplied-secret"
    assert without(created, "client_secret", *SERVER_SET) == minimal_expected(client_id)
    assert "client_secret" not in plain(admin.get_o_auth2_client(client_id))


def test_unknown_client_is_404_with_json_error(admin):
    missing = unique("sdk-missing")
    with pytest.raises(ApiException) as e:
        admin.get_o_auth2_client(missing)
    assert e.value.status == 404
    error_body(e.value)

    with pytest.raises(ApiException) as e:
        admin.update_o_auth2_client(missing, OAuth2Client(client_name="x"))
    assert e.value.status == 404
    error_body(e.value)

    with pytest.raises(ApiException) as e:
        admin.delete_o_auth2_client(missing)
    assert e.value.status == 404
    error_body(e.value)


def test_duplicate_id_is_409(admin, cleanup):
    client_id = unique("sdk-dup")
    cleanup.append(client_id)
    admin.create_o_auth2_client(OAuth2Client(client_id=client_id))
    with pytest.raises(ApiException) as e:
        admin.create_o_auth2_client(OAuth2Client(client_id=client_id))
    assert e.value.status == 409
    error_body(e.value)


def test_redirect_uri_with_fragment_is_400_invalid_redirect_uri(admin):
    with pytest.raises(ApiException) as e:
        admin.create_o_auth2_client(
            client_model(redirect_uris=["https://app.example.com/cb#fragment"])
        )
    assert e.value.status == 400
    assert error_body(e.value)["error"] == "invalid_redirect_uri"
