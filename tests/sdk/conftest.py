"""Fixtures for the SDK interop tests: the official `ory-hydra-client` 1.10.3 pointed at a
live Portcullis admin listener (tests/sdk/run.sh starts one and sets PORTCULLIS_ADMIN_URL)."""

import os

import pytest

import ory_hydra_client
from ory_hydra_client.api.admin_api import AdminApi


@pytest.fixture(scope="session")
def admin_url():
    url = os.environ.get("PORTCULLIS_ADMIN_URL")
    if not url:
        # Fail, never skip: CI must not pass an interop run that tested nothing.
        pytest.fail("PORTCULLIS_ADMIN_URL is not set (run tests/sdk/run.sh)", pytrace=False)
    return url.rstrip("/")


@pytest.fixture(scope="session")
def api_client(admin_url):
    config = ory_hydra_client.Configuration(host=admin_url)
    # The SDK's strict default, stated so that nobody relaxes it by accident: a response
    # key the model does not know is an error (sdk-interop.md).
    config.discard_unknown_keys = False
    with ory_hydra_client.ApiClient(config) as client:
        yield client


@pytest.fixture(scope="session")
def admin(api_client):
    return AdminApi(api_client)


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
