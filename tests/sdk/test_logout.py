"""Logout with the official SDK as the login/consent/logout app (hydra-reference §2.5 logout
rows, §2.6, §3.9, §4.7): a `requests.Session` plays the browser (redirects followed by hand,
cookies kept), logs in through the SDK-driven login and consent, then logs out from its
cookie or with an `id_token_hint`; the SDK reads, accepts and rejects the logout requests
(`AdminApi.get_logout_request` / `accept_logout_request` / `reject_logout_request`) and
revokes sessions (`revoke_authentication_session`).

The SDK's `LogoutRequest` model predates the `client` member, which Hydra 1.10.3 sends for
RP-initiated logouts: that one call is read with unknown keys ignored (sdk-interop.md);
every other call is strict.
"""

import json
import re
import socket
import uuid
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import pytest
import requests

import ory_hydra_client
from ory_hydra_client import ApiException
from ory_hydra_client.api.admin_api import AdminApi
from ory_hydra_client.model.accept_consent_request import AcceptConsentRequest
from ory_hydra_client.model.accept_login_request import AcceptLoginRequest
from ory_hydra_client.model.completed_request import CompletedRequest
from ory_hydra_client.model.logout_request import LogoutRequest
from ory_hydra_client.model.o_auth2_client import OAuth2Client
from ory_hydra_client.model.reject_request import RejectRequest
from ory_hydra_client.model.request_was_handled_response import RequestWasHandledResponse
from ory_hydra_client.model.string_slice_pipe_delimiter import StringSlicePipeDelimiter
from ory_hydra_client.model_utils import validate_and_convert_types

HTTP_TIMEOUT = 10
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
STATE = "sdk-logout-state-0123"


def query(url):
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def rp(admin, cleanup):
    """A code-flow client with a registered post-logout URI (nothing listens there)."""
    base = f"http://127.0.0.1:{free_port()}"
    client_id = f"sdk-logout-{uuid.uuid4()}"
    cleanup.append(client_id)
    created = admin.create_o_auth2_client(
        OAuth2Client(
            client_id=client_id,
            grant_types=StringSlicePipeDelimiter(["authorization_code"]),
            response_types=StringSlicePipeDelimiter(["code"]),
            redirect_uris=StringSlicePipeDelimiter([f"{base}/callback"]),
            post_logout_redirect_uris=StringSlicePipeDelimiter([f"{base}/logged-out"]),
            scope="openid",
            token_endpoint_auth_method="client_secret_post",
        )
    ).to_dict()
    return {
        "id": client_id,
        "secret": created["client_secret"],
        "callback": f"{base}/callback",
        "post_logout": f"{base}/logged-out",
    }


@pytest.fixture
def browser():
    with requests.Session() as session:
        yield session


def step(browser, url):
    """One GET without following the redirect; the absolute `Location`."""
    response = browser.get(url, allow_redirects=False, timeout=HTTP_TIMEOUT)
    assert response.status_code == 302, (url, response.status_code, response.text)
    return urljoin(url, response.headers["Location"])


def log_in(admin, public_url, browser, rp, subject):
    """The code flow with a remembered login; the SDK answers login and consent. Returns the
    ID token."""
    url = f"{public_url}/oauth2/auth?" + urlencode({
        "client_id": rp["id"], "response_type": "code", "redirect_uri": rp["callback"],
        "scope": "openid", "state": STATE, "nonce": "sdk-logout-nonce-0123",
    })
    at = step(browser, url)
    login = admin.get_login_request(query(at)["login_challenge"]).to_dict()
    done = admin.accept_login_request(
        login["challenge"],
        body=AcceptLoginRequest(subject=subject, remember=True, remember_for=3600),
    )
    at = step(browser, done.redirect_to)
    consent = admin.get_consent_request(query(at)["consent_challenge"]).to_dict()
    done = admin.accept_consent_request(
        consent["challenge"],
        body=AcceptConsentRequest(grant_scope=StringSlicePipeDelimiter(["openid"])),
    )
    at = step(browser, done.redirect_to)
    assert at.startswith(rp["callback"]), at
    token = requests.post(
        f"{public_url}/oauth2/token",
        data={"grant_type": "authorization_code", "code": query(at)["code"],
              "redirect_uri": rp["callback"], "client_id": rp["id"],
              "client_secret": rp["secret"]},
        timeout=HTTP_TIMEOUT,
    )
    assert token.status_code == 200, token.text
    return token.json()["id_token"]


def sid_of(id_token):
    import base64
    payload = id_token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sid"]


def logout_challenge(browser, public_url, **params):
    """Starts a logout; the browser must land on the logout UI (the fallback page)."""
    url = f"{public_url}/oauth2/sessions/logout"
    if params:
        url += "?" + urlencode(params)
    at = step(browser, url)
    assert urlsplit(at).path == "/oauth2/fallbacks/logout", at
    challenge = query(at)["logout_challenge"]
    assert UUID.match(challenge), at
    return challenge


def accept(admin, public_url, challenge):
    completed = admin.accept_logout_request(challenge)
    assert isinstance(completed, CompletedRequest), type(completed)
    redirect_to = completed.to_dict()["redirect_to"]
    assert redirect_to.startswith(f"{public_url}/oauth2/sessions/logout?logout_verifier="), redirect_to
    assert UUID.match(query(redirect_to)["logout_verifier"]), redirect_to
    return redirect_to


def next_login_skips(admin, public_url, browser, rp):
    url = f"{public_url}/oauth2/auth?" + urlencode({
        "client_id": rp["id"], "response_type": "code", "redirect_uri": rp["callback"],
        "scope": "openid", "state": STATE,
    })
    at = step(browser, url)
    return admin.get_login_request(query(at)["login_challenge"]).to_dict()["skip"]


def test_cookie_logout_through_the_sdk(admin, public_url, browser, rp):
    id_token = log_in(admin, public_url, browser, rp, "sdk-alice")
    challenge = logout_challenge(browser, public_url)

    request = admin.get_logout_request(challenge)
    assert isinstance(request, LogoutRequest), type(request)
    assert request.to_dict() == {
        "challenge": challenge, "request_url": "/oauth2/sessions/logout",
        "rp_initiated": False, "sid": sid_of(id_token), "subject": "sdk-alice",
    }

    redirect_to = accept(admin, public_url, challenge)
    assert accept(admin, public_url, challenge) == redirect_to
    assert step(browser, redirect_to) == f"{public_url}/oauth2/fallbacks/logout/callback"

    # Completed: 410 with the original request URL, read into the SDK's model.
    with pytest.raises(ApiException) as e:
        admin.get_logout_request(challenge)
    assert e.value.status == 410, e.value.body
    handled = validate_and_convert_types(
        json.loads(e.value.body), (RequestWasHandledResponse,), ["received_data"], True, True,
        configuration=admin.api_client.configuration,
    )
    assert handled.to_dict() == {"redirect_to": "/oauth2/sessions/logout"}
    assert next_login_skips(admin, public_url, browser, rp) is False


def test_rp_initiated_logout_through_the_sdk(admin, admin_url, public_url, browser, rp):
    id_token = log_in(admin, public_url, browser, rp, "sdk-alice")
    challenge = logout_challenge(
        browser, public_url, id_token_hint=id_token, post_logout_redirect_uri=rp["post_logout"],
        state=STATE,
    )
    # The one read with unknown keys ignored: `client` is newer than the SDK's model.
    config = ory_hydra_client.Configuration(host=admin_url)
    config.discard_unknown_keys = True
    with ory_hydra_client.ApiClient(config) as api_client:
        request = AdminApi(api_client).get_logout_request(challenge)
    assert isinstance(request, LogoutRequest), type(request)
    values = request.to_dict()
    assert values["rp_initiated"] is True
    assert values["sid"] == sid_of(id_token)
    assert values["subject"] == "sdk-alice"
    assert values["request_url"].startswith("/oauth2/sessions/logout?")
    raw = requests.get(f"{admin_url}/oauth2/auth/requests/logout",
                       params={"logout_challenge": challenge}, timeout=HTTP_TIMEOUT).json()
    assert raw["client"]["client_id"] == rp["id"] and "client_secret" not in raw["client"]

    redirect_to = accept(admin, public_url, challenge)
    assert step(browser, redirect_to) == f"{rp['post_logout']}?state={STATE}"
    assert next_login_skips(admin, public_url, browser, rp) is False


def test_rejected_logout_and_session_revocation_through_the_sdk(admin, public_url, browser, rp):
    subject = f"sdk-bob-{uuid.uuid4()}"
    log_in(admin, public_url, browser, rp, subject)
    challenge = logout_challenge(browser, public_url)
    assert admin.reject_logout_request(
        challenge, body=RejectRequest(error="user_cancelled", error_description="Stay.")
    ) is None
    with pytest.raises(ApiException) as e:
        admin.get_logout_request(challenge)
    assert e.value.status == 404, e.value.body
    assert next_login_skips(admin, public_url, browser, rp) is True, "still logged in"

    assert admin.revoke_authentication_session(subject) is None
    assert next_login_skips(admin, public_url, browser, rp) is False
