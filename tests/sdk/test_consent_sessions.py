"""Consent sessions through the official SDK (ory-hydra-client 1.10.3, strict):
`AdminApi.list_subject_consent_sessions` reads every item as `PreviousConsentSession` (unknown
keys, `null` and wrong types are errors), and `AdminApi.revoke_consent_sessions` revokes them,
by client and with `all=True` (the SDK sends the Python spelling), taking the tokens along.

The consents come from real code flows: the browser, the SDK as login/consent app and authlib
as relying party, all borrowed from test_flow.py. Expectations: hydra-reference.md §2.6, §3.10.
"""

import time
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest

from ory_hydra_client import ApiException
from ory_hydra_client.model.consent_request import ConsentRequest
from ory_hydra_client.model.previous_consent_session import PreviousConsentSession

from test_flow import (  # noqa: F401  (fixtures are used by name)
    CONSENT_REQUEST_KEYS,
    Browser,
    authorize,
    callback_uri,
    create_client,
    discovery,
    exchange,
    introspect,
    relying_party,
)

SESSION_KEYS = {
    "consent_request", "grant_access_token_audience", "grant_scope", "handled_at", "remember",
    "remember_for", "session",
}


def granted(admin, public_url, discovery, client, callback_uri, subject, remember):
    """One code flow in a fresh browser; the access token it yields and the consent request."""
    browser = Browser(public_url)
    try:
        rp = relying_party(client, callback_uri)
        auth = authorize(browser, admin, rp, discovery, subject, consent_remember=remember)
        token = exchange(rp, discovery, auth)
        return token["access_token"], auth.consent
    finally:
        browser.close()


def list_sessions(admin, subject):
    sessions, status, headers = admin.list_subject_consent_sessions(
        subject, _return_http_data_only=False
    )
    assert status == 200
    for session in sessions:
        assert isinstance(session, PreviousConsentSession), type(session)
        assert isinstance(session.consent_request, ConsentRequest)
    return sessions, headers


def test_consent_sessions_list_and_revoke_through_the_sdk(
    admin, cleanup, public_url, discovery, callback_uri
):
    subject = f"sdk-consent-{uuid.uuid4()}"
    first = create_client(admin, cleanup, callback_uri)
    second = create_client(admin, cleanup, callback_uri)
    token1, consent1 = granted(admin, public_url, discovery, first, callback_uri, subject, True)
    # Request times have second precision: a second apart, the order is certain.
    time.sleep(1.1)
    token2, consent2 = granted(admin, public_url, discovery, second, callback_uri, subject, False)

    sessions, headers = list_sessions(admin, subject)
    assert [s.consent_request.challenge for s in sessions] == [
        consent2["challenge"], consent1["challenge"],
    ], "newest first"
    assert headers["X-Total-Count"] == "2"
    link = urlsplit(headers["Link"].split(";")[0].strip("<>"))
    assert link.path == "/oauth2/auth/sessions/consent"
    assert parse_qs(link.query) == {"limit": ["100"], "offset": ["0"], "subject": [subject]}

    newest = sessions[0].to_dict()
    assert set(newest) == SESSION_KEYS, newest
    assert set(newest["consent_request"]) == CONSENT_REQUEST_KEYS, newest
    request = newest["consent_request"]
    assert request["subject"] == subject
    assert request["skip"] is False
    assert request["client"]["client_id"] == second["client_id"]
    assert "client_secret" not in request["client"]
    assert list(newest["grant_scope"]) == list(consent2["requested_scope"])
    assert list(newest["grant_access_token_audience"]) == list(
        consent2["requested_access_token_audience"]
    )
    assert newest["remember"] is False and newest["remember_for"] == 0
    assert newest["session"] == {"access_token": {"team": "sdk"}, "id_token": {}}
    assert newest["handled_at"].tzinfo is not None
    older = sessions[1].to_dict()
    assert older["remember"] is True and older["remember_for"] == 3600

    # By client: only that client's grant goes, with its tokens.
    assert introspect(admin, token1)["active"] is True
    assert admin.revoke_consent_sessions(subject, client=first["client_id"]) is None
    assert introspect(admin, token1) == {"active": False}
    assert introspect(admin, token2)["active"] is True
    sessions, headers = list_sessions(admin, subject)
    assert [s.consent_request.challenge for s in sessions] == [consent2["challenge"]]
    assert headers["X-Total-Count"] == "1"

    # All of them; again with nothing left is still fine.
    assert admin.revoke_consent_sessions(subject, all=True) is None
    assert introspect(admin, token2) == {"active": False}
    sessions, _ = list_sessions(admin, subject)
    assert sessions == []
    assert admin.revoke_consent_sessions(subject, all=True) is None


def test_consent_sessions_of_an_unknown_subject_are_an_empty_list(admin):
    sessions, headers = list_sessions(admin, f"sdk-nobody-{uuid.uuid4()}")
    assert sessions == []
    assert headers["X-Total-Count"] == "0"


def test_revoking_needs_a_client_or_all(admin):
    with pytest.raises(ApiException) as raised:
        admin.revoke_consent_sessions("someone")
    assert raised.value.status == 400
    assert "invalid_request" in raised.value.body
