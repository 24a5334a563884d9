"""The ``salesforce`` preset against Salesforce's documented replies: each org's API on
its own host (``instance_url``), no ``expires_in`` (refreshed on a 401), refresh replies
without a new refresh token, RFC 7009-style revocation."""

from __future__ import annotations

from typing import Any

import pytest
import responses
from django.contrib.auth import get_user_model
from django.test import Client

from auth_code_flow_django import tokens
from auth_code_flow_django.exceptions import UntrustedURLError
from auth_code_flow_django.models import OAuthToken

from .documented import DocumentedReplies, Reply, Revocation
from .steps import (
    authorize,
    configure,
    connect,
    form,
    stored,
)

User = get_user_model()

pytestmark = pytest.mark.django_db

LOGIN = "https://login.salesforce.com"
TOKEN_URL = LOGIN + "/services/oauth2/token"
USERINFO_URL = LOGIN + "/services/oauth2/userinfo"
INSTANCE = "https://yourInstance.my.salesforce.com"
IDENTITY_URL = LOGIN + "/id/00Dx0000000BV7z/005x00000012Q9P"

#: The web server flow's token reply, as the documentation shows it.
TOKEN_REPLY = {
    "access_token": "00Dx0000000BV7z!AR8AQAxo9UfVkh8AlV0Gomt9Czx9LjHnSSpwBMmbRcgKFmxOtvxjTrKW1",
    "signature": "0CmxinZir53Yex7nE0TD+zMpvIWYGb/bdJh6XfOH6EQ=",
    "scope": "id api refresh_token",
    "instance_url": INSTANCE,
    "id": IDENTITY_URL,
    "token_type": "Bearer",
    "issued_at": "1278448832702",
    "refresh_token": "5Aep861KIwKdekr90I4iHdtDgWwRoG7O_6uHrgJ.yVtMS-UmGbS",
}

#: The refresh token flow's reply: no refresh token, no expires_in.
REFRESH_REPLY = {
    "access_token": "00Dx0000000BV7z!AR8AQP0jITN80ESEsj5EbaZTFG0RNBaT1cyWk7T",
    "signature": "SSSbLO/gBhmmyNUvN18ODBDFYHzakxOMgqYtu+hDPsc=",
    "scope": "id api refresh_token",
    "instance_url": INSTANCE,
    "id": IDENTITY_URL,
    "token_type": "Bearer",
    "issued_at": "1278448384422",
}

#: The UserInfo endpoint's reply (abridged).
USERINFO_REPLY = {
    "sub": IDENTITY_URL,
    "user_id": "005x00000012Q9P",
    "organization_id": "00Dx0000000BV7z",
    "preferred_username": "admin@acme.example",
    "name": "Admin User",
    "email": "admin@acme.example",
}

DOCUMENTED = DocumentedReplies(
    slug="salesforce",
    token_url=TOKEN_URL,
    # help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_web_server_flow.htm (the
    # authorization and token requests, PKCE, the token reply) and
    # help.salesforce.com/s/articleView?id=sf.remoteaccess_using_userinfo_endpoint.htm.
    client_auth="secret_in_body",
    authorize_url=LOGIN + "/services/oauth2/authorize",
    authorize_params={"scope": "api id refresh_token", "code_challenge_method": "S256"},
    token_reply=TOKEN_REPLY,
    identity=(USERINFO_URL, USERINFO_REPLY),
    account=(IDENTITY_URL, "admin@acme.example"),
    stored_fields={
        # No expires_in: the org's session timeout applies.
        "expires_at": None,
        # The signature is an HMAC of id and issued_at, not a credential.
        "extra": {
            "signature": TOKEN_REPLY["signature"],
            "instance_url": INSTANCE,
            "id": IDENTITY_URL,
            "issued_at": "1278448832702",
        },
    },
    # help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_web_server_flow.htm
    # (an expired authorization code).
    refused_code=Reply(
        400, {"error": "invalid_grant", "error_description": "authorization code expired"}
    ),
    refused_code_shows="authorization code expired",
    # help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_refresh_token_flow.htm
    # (an expired or revoked refresh token answers invalid_grant).
    refused_refresh=Reply(
        400, {"error": "invalid_grant", "error_description": "expired access/refresh token"}
    ),
    # help.salesforce.com/s/articleView?id=sf.remoteaccess_revoke_token.htm: POST the
    # token, form-encoded, to /services/oauth2/revoke.
    revocation=Revocation(LOGIN + "/services/oauth2/revoke", Reply()),
)


def connected(alice: Client, mocked: responses.RequestsMock) -> None:
    mocked.post(TOKEN_URL, json=TOKEN_REPLY)
    mocked.get(USERINFO_URL, json=USERINFO_REPLY)
    _params, response = connect(alice, "salesforce")
    assert response.status_code == 302, response.content


def test_api_calls_go_to_the_instance_and_a_401_refreshes(
    alice: Client, user: User, mocked: responses.RequestsMock
) -> None:
    """help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_refresh_token_flow.htm:
    the refresh reply carries instance_url again and no new refresh token."""
    connected(alice, mocked)
    query = INSTANCE + "/services/data/v61.0/query"
    mocked.get(query, status=401, json=[{"errorCode": "INVALID_SESSION_ID"}])
    refresh_call = mocked.replace(responses.POST, TOKEN_URL, json=REFRESH_REPLY)
    session = tokens.authorized_session(user, "salesforce")
    mocked.get(query, json={"totalSize": 0, "done": True, "records": []})
    assert session.get(query, params={"q": "SELECT Id FROM Account"}).json()["done"] is True
    sent = form(refresh_call.calls[-1])
    assert sent["grant_type"] == "refresh_token"
    assert sent["refresh_token"] == TOKEN_REPLY["refresh_token"]
    token = stored(user, "salesforce")
    assert token.access_token == REFRESH_REPLY["access_token"]
    assert token.refresh_token == TOKEN_REPLY["refresh_token"]  # kept
    assert token.extra["issued_at"] == "1278448384422"
    for elsewhere in ("https://other.my.salesforce.com/services/data/", "http://" + INSTANCE[8:]):
        with pytest.raises(UntrustedURLError):
            session.get(elsewhere)


def test_an_instance_url_that_is_not_https_stores_nothing(
    alice: Client, mocked: responses.RequestsMock
) -> None:
    """The API host comes from the reply: one bearer tokens must not go to is refused."""
    mocked.post(TOKEN_URL, json={**TOKEN_REPLY, "instance_url": "http://na1.salesforce.com"})
    _params, response = connect(alice, "salesforce")
    assert response.status_code == 502
    assert not OAuthToken.objects.exists()


@pytest.mark.parametrize(
    "instance_url",
    [
        "https://yourInstance.my.salesforce.com.attacker.example",
        "https://salesforce.com",
        "https://yourInstance.my.salesforce.example",
    ],
)
def test_an_instance_url_outside_salesforce_com_stores_nothing(
    alice: Client, mocked: responses.RequestsMock, instance_url: str
) -> None:
    """help.salesforce.com, "My Domain URL Formats": an org's hosts are under
    salesforce.com (``MyDomainName.my.salesforce.com``, instanced ``na1.salesforce.com``,
    sandboxes under ``sandbox.my.salesforce.com``), the preset's api_base_url_hosts."""
    mocked.post(TOKEN_URL, json={**TOKEN_REPLY, "instance_url": instance_url})
    _params, response = connect(alice, "salesforce")
    assert response.status_code == 502
    assert not OAuthToken.objects.exists()


def test_a_sandbox_follows_base_uri(alice: Client, settings: Any) -> None:
    """help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_endpoints.htm: a
    sandbox logs in at test.salesforce.com."""
    configure(settings, "salesforce", base_uri="https://test.salesforce.com")
    endpoint, _params = authorize(alice, "salesforce")
    assert endpoint == "https://test.salesforce.com/services/oauth2/authorize"
