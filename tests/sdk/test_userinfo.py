"""`GET /userinfo` through the official Python SDK (ory-hydra-client 1.10.3): `PublicApi.userinfo`
with the access token set on the SDK's `Configuration` (its `oauth2` auth sends
`Authorization: Bearer <token>`).

The SDK's `UserinfoResponse` lists only the OIDC profile claims, not `iss`, `aud` or `iat`,
which Hydra 1.10.3 itself returns too (hydra-reference §2.2, §3.15): like the discovery call
in test_tokens.py, these calls ignore unknown keys. The code flow's userinfo (ID-token claims)
is covered by test_flow.py through authlib.
"""

import uuid

import pytest
import requests

import ory_hydra_client
from ory_hydra_client import ApiException
from ory_hydra_client.api.public_api import PublicApi
from ory_hydra_client.model.o_auth2_client import OAuth2Client
from ory_hydra_client.model.string_slice_pipe_delimiter import StringSlicePipeDelimiter
from ory_hydra_client.model.userinfo_response import UserinfoResponse

HTTP_TIMEOUT = 10


def sdk_public_api(public_url, access_token):
    config = ory_hydra_client.Configuration(host=public_url, access_token=access_token)
    config.discard_unknown_keys = True
    return ory_hydra_client.ApiClient(config)


@pytest.fixture
def service_token(admin, public_url, cleanup):
    """A client_credentials client and an access token for it: (client id, token)."""
    client_id = f"sdk-userinfo-{uuid.uuid4()}"
    cleanup.append(client_id)
    created = admin.create_o_auth2_client(
        OAuth2Client(
            client_id=client_id,
            grant_types=StringSlicePipeDelimiter(["client_credentials"]),
            scope="sdk.read",
        )
    ).to_dict()
    response = requests.post(
        f"{public_url}/oauth2/token", data={"grant_type": "client_credentials"},
        auth=(client_id, created["client_secret"]), timeout=HTTP_TIMEOUT,
    )
    assert response.status_code == 200, response.text
    return client_id, response.json()["access_token"]


def test_userinfo_reads_into_the_sdk_model(public_url, service_token):
    client_id, token = service_token
    with sdk_public_api(public_url, token) as api_client:
        info, status, headers = PublicApi(api_client).userinfo(_return_http_data_only=False)
    assert status == 200
    assert headers["Content-Type"].startswith("application/json")
    assert isinstance(info, UserinfoResponse), type(info)
    # OIDC Core §5.3.2: `sub` is always there; for client_credentials it is the client.
    assert info.to_dict() == {"sub": client_id}

    raw = requests.get(
        f"{public_url}/userinfo", headers={"Authorization": f"Bearer {token}"},
        timeout=HTTP_TIMEOUT,
    ).json()
    assert raw["sub"] == client_id
    assert raw["iss"] == f"{public_url}/"
    assert raw["aud"] == [client_id]
    assert isinstance(raw["iat"], int)


def test_userinfo_refuses_an_invalid_token_with_a_bearer_challenge(public_url):
    with sdk_public_api(public_url, "not-a-token") as api_client:
        with pytest.raises(ApiException) as raised:
            PublicApi(api_client).userinfo()
    assert raised.value.status == 401
    assert raised.value.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')
