"""The ``reddit`` preset against Reddit's documented replies: ``duration=permanent`` for
a refresh token, HTTP Basic client authentication, the site's own User-Agent on every
request (Reddit refuses generic ones), the account from ``/api/v1/me`` and revocation
at ``/api/v1/revoke_token``."""

from __future__ import annotations

import pytest
import responses
from django.contrib.auth import get_user_model
from django.test import Client

from auth_code_flow_django import tokens
from auth_code_flow_django.models import OAuthToken
from auth_code_flow_django.providers import build_provider

from ..test_checks import ids
from .documented import DocumentedReplies, Reply, Revocation
from .steps import (
    connect,
    expire,
    form,
    stored,
)

User = get_user_model()

pytestmark = pytest.mark.django_db

TOKEN_URL = "https://www.reddit.com/api/v1/access_token"
REVOKE_URL = "https://www.reddit.com/api/v1/revoke_token"
ME_URL = "https://oauth.reddit.com/api/v1/me"
USER_AGENT = "web:com.example.site:v1.2.3 (by /u/example_dev)"

TOKEN_REPLY = {
    "access_token": "eyJhbGciOiJSUzI1NiIsImtpZCI6IlNIQTI1NjpzS3dsMnlsV0VtMjVmcXhwTU40cWY4",
    "token_type": "bearer",
    "expires_in": 86400,
    "scope": "identity",
    "refresh_token": "1234567890-Jq6kNd4o3w2a9cR8vL0mT5yBzXe",
}
ME_REPLY = {"name": "example_user", "id": "1w72", "created_utc": 1118030400.0, "verified": True}

DOCUMENTED = DocumentedReplies(
    slug="reddit",
    token_url=TOKEN_URL,
    config={"user_agent": USER_AGENT},
    # github.com/reddit-archive/reddit/wiki/OAuth2 (the authorization URL with
    # duration=permanent; the token request with HTTP Basic) and
    # github.com/reddit-archive/reddit/wiki/API (a unique, descriptive User-Agent).
    client_auth="basic",
    headers={"User-Agent": USER_AGENT},
    authorize_url="https://www.reddit.com/api/v1/authorize",
    authorize_params={"duration": "permanent", "scope": "identity"},
    token_reply=TOKEN_REPLY,
    identity=(ME_URL, ME_REPLY),
    account=("1w72", "example_user"),
    # github.com/reddit-archive/reddit/wiki/OAuth2 (a revoked refresh token).
    refused_refresh=Reply(400, {"error": "invalid_grant"}),
    # github.com/reddit-archive/reddit/wiki/OAuth2 ("Manually revoking a token": POST
    # token and token_type_hint with HTTP Basic; 204), with the site's User-Agent.
    revocation=Revocation(
        REVOKE_URL,
        Reply(204),
        hints=True,
        client_auth="basic",
        headers={"User-Agent": USER_AGENT},
    ),
)


def connected(alice: Client, mocked: responses.RequestsMock) -> None:
    mocked.post(TOKEN_URL, json=TOKEN_REPLY)
    mocked.get(ME_URL, json=ME_REPLY)
    _params, response = connect(alice, "reddit")
    assert response.status_code == 302, response.content


def test_the_site_must_name_its_user_agent() -> None:
    """github.com/reddit-archive/reddit/wiki/API: generic User-Agents are limited or
    refused, so the preset has none of its own."""
    entry = {"preset": "reddit", "client_id": "i", "client_secret": "s"}
    assert ids({"reddit": entry}) == ["auth_code_flow_django.E049"]
    assert build_provider("reddit", {**entry, "user_agent": USER_AGENT}).user_agent == USER_AGENT


def test_refresh_and_api_calls_carry_the_user_agent(
    alice: Client, user: User, mocked: responses.RequestsMock
) -> None:
    """github.com/reddit-archive/reddit/wiki/OAuth2 ("Refreshing the token": HTTP Basic,
    grant_type=refresh_token; API calls go to oauth.reddit.com)."""
    connected(alice, mocked)
    expire(user, "reddit")
    refreshed = {k: v for k, v in TOKEN_REPLY.items() if k != "refresh_token"}
    call = mocked.replace(responses.POST, TOKEN_URL, json={**refreshed, "access_token": "a-2"})
    api = mocked.get("https://oauth.reddit.com/r/django/hot", json={"kind": "Listing"})
    tokens.authorized_session(user, "reddit").get("https://oauth.reddit.com/r/django/hot")
    assert form(call.calls[0]) == {
        "grant_type": "refresh_token",
        "refresh_token": TOKEN_REPLY["refresh_token"],
    }
    assert call.calls[0].request.headers["User-Agent"] == USER_AGENT
    assert api.calls[0].request.headers["User-Agent"] == USER_AGENT
    assert api.calls[0].request.headers["Authorization"] == "Bearer a-2"
    assert stored(user, "reddit").refresh_token == TOKEN_REPLY["refresh_token"]


def test_an_error_with_http_200_is_a_502(alice: Client, mocked: responses.RequestsMock) -> None:
    """github.com/reddit-archive/reddit/wiki/OAuth2 ("Retrieving the access token": a
    failed retrieval answers with an error field, e.g. invalid_grant for a used code)."""
    mocked.post(TOKEN_URL, json={"error": "invalid_grant"})
    _params, response = connect(alice, "reddit")
    assert response.status_code == 502
    assert not OAuthToken.objects.exists()
