"""Fixtures for the SDK interop tests: the official `ory-hydra-client` 1.10.3 pointed at a
live Portcullis, its admin and its public listener (tests/sdk/run.sh starts one and sets
PORTCULLIS_ADMIN_URL and PORTCULLIS_PUBLIC_URL)."""

import os

import pytest

import ory_hydra_client
from ory_hydra_client.api.admin_api import AdminApi
from ory_hydra_client.api.public_api import PublicApi


def _url_from_env(name):
    url = os.environ.get(name)
    if not url:
        # Fail, never skip: CI must not pass an interop run that tested nothing.
        pytest.fail(f"{name} is not set (run tests/sdk/run.sh)", pytrace=False)
    return url.rstrip("/")


def _strict_client(host):
    config = ory_hydra_client.Configuration(host=host)
    # The SDK's strict default, stated so that nobody relaxes it by accident: a response
    # key the model does not know is an error (sdk-interop.md).
    config.discard_unknown_keys = False
    return ory_hydra_client.ApiClient(config)


@pytest.fixture(scope="session")
def admin_url():
    return _url_from_env("PORTCULLIS_ADMIN_URL")


@pytest.fixture(scope="session")
def public_url():
    return _url_from_env("PORTCULLIS_PUBLIC_URL")


@pytest.fixture(scope="session")
def api_client(admin_url):
    with _strict_client(admin_url) as client:
        yield client


@pytest.fixture(scope="session")
def public_api_client(public_url):
    with _strict_client(public_url) as client:
        yield client


@pytest.fixture(scope="session")
def admin(api_client):
    return AdminApi(api_client)


@pytest.fixture(scope="session")
def public(public_api_client):
    """The SDK's PublicApi on the public listener (`/.well-known/*`, `/oauth2/*`)."""
    return PublicApi(public_api_client)


@pytest.fixture
def cleanup(admin):
    """Collects client ids; deletes whichever of them still exist after the test."""
    ids = []
    yield ids
    for client_id in ids:
        try:
            admin.delete_o_auth2_client(client_id)
        except ory_hydra_client.ApiException as e:
            if e.status != 404:
                raise
