"""The ``zoom`` preset against Zoom's documented replies: HTTP Basic, PKCE, the reply's
``api_url`` as the account's API host, rotating refresh tokens, revocation with the
token in the body (never the URL) and the account from ``/v2/users/me``."""

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
    connect,
)

User = get_user_model()

pytestmark = pytest.mark.django_db

TOKEN_URL = "https://zoom.us/oauth/token"
REVOKE_URL = "https://zoom.us/oauth/revoke"
ME_URL = "https://api.zoom.us/v2/users/me"

#: developers.zoom.us/docs/integrations/oauth/ ("Request an access token").
TOKEN_REPLY = {
    "access_token": "eyJzdiI6IjAwMDAwMSIsImFsZyI6IkhTNTEyIiwidiI6IjIuMCIsImtpZCI6IjxLSUQ",
    "token_type": "bearer",
    "refresh_token": "eyJzdiI6IjAwMDAwMSIsImFsZyI6IkhTNTEyIiwidiI6IjIuMCIsImtpZCI6InJlZnJlc2g",
    "expires_in": 3599,
    "scope": "user:read:user",
    "api_url": "https://api.zoom.us",
}
#: developers.zoom.us/docs/api/users/#tag/users/GET/users/{userId} (abridged).
ME_REPLY = {
    "id": "KDcuGIm1QgePTO8WbOqwIQ",
    "first_name": "Jill",
    "last_name": "Chill",
    "display_name": "Jill Chill",
    "email": "jchill@example.com",
    "type": 1,
    "account_id": "q6gBJVO5TzexKYTb_I2rpg",
}

DOCUMENTED = DocumentedReplies(
    slug="zoom",
    token_url=TOKEN_URL,
    # developers.zoom.us/docs/integrations/oauth/ (the authorization URL, PKCE, the token
    # request with an HTTP Basic header; the reply with api_url).
    client_auth="basic",
    authorize_url="https://zoom.us/oauth/authorize",
    authorize_params={"code_challenge_method": "S256"},
    token_reply=TOKEN_REPLY,
    identity=(ME_URL, ME_REPLY),
    account=(ME_REPLY["id"], "jchill@example.com"),
    stored_fields={"extra": {"api_url": "https://api.zoom.us"}},
    # developers.zoom.us/docs/integrations/oauth/ ("Refreshing an access token": each
    # refresh returns a new refresh token; the old one stops working).
    refreshes=({**TOKEN_REPLY, "access_token": "access-2", "refresh_token": "refresh-2"},),
    # developers.zoom.us/docs/integrations/oauth-error-messages/ (an invalid code).
    refused_code=Reply(400, {"reason": "Invalid authorization code", "error": "invalid_grant"}),
    # developers.zoom.us/docs/integrations/oauth-error-messages/ (an invalid or expired
    # refresh token).
    refused_refresh=Reply(400, {"reason": "Invalid Token!", "error": "invalid_grant"}),
    # developers.zoom.us/docs/integrations/oauth/ ("Revoking an access token": POST
    # /oauth/revoke with HTTP Basic; since 2023 no token in the URL query).
    revocation=Revocation(REVOKE_URL, Reply(200, {"status": "success"}), client_auth="basic"),
)


def connected(alice: Client, mocked: responses.RequestsMock, **reply: Any) -> None:
    mocked.post(TOKEN_URL, json={**TOKEN_REPLY, **reply})
    mocked.get(ME_URL, json=ME_REPLY)
    _params, response = connect(alice, "zoom")
    assert response.status_code == 302, response.content


def test_the_reply_s_api_url_is_the_account_s_api_host(
    alice: Client, user: User, mocked: responses.RequestsMock
) -> None:
    """developers.zoom.us/changelog/platform/api_url_access_token_response: the reply's
    api_url names the cluster serving the user, e.g. ``https://eu01api.zoom.us/`` (with
    its trailing slash, as the page writes it), and requests go to its ``/v2/``."""
    connected(alice, mocked, api_url="https://eu01api.zoom.us/")
    meetings = mocked.get("https://eu01api.zoom.us/v2/users/me/meetings", json={})
    session = tokens.authorized_session(user, "zoom")
    session.get("https://eu01api.zoom.us/v2/users/me/meetings")
    assert len(meetings.calls) == 1
    # Another cluster the page lists is not this account's.
    with pytest.raises(UntrustedURLError):
        session.get("https://sg01api.zoom.us/v2/users/me/meetings")


def test_an_api_url_outside_zoom_us_stores_nothing(
    alice: Client, mocked: responses.RequestsMock
) -> None:
    """The clusters of the same page are all under zoom.us (the preset's
    api_base_url_hosts): a reply naming another host gets no connection."""
    mocked.post(TOKEN_URL, json={**TOKEN_REPLY, "api_url": "https://eu01api.zoom.example/"})
    _params, response = connect(alice, "zoom")
    assert response.status_code == 502
    assert not OAuthToken.objects.exists()
