"""The ``atlassian`` preset against Atlassian's documented replies (OAuth 2.0 3LO):
``audience`` and ``prompt`` on the authorization request, JSON token requests, rotating
refresh tokens, the account from ``/me``, the cloud id from accessible-resources, and
no revocation endpoint."""

from __future__ import annotations

import pytest
import responses
from django.contrib.auth import get_user_model
from django.test import Client

from auth_code_flow_django import tokens

from .documented import DocumentedReplies, Reply
from .steps import (
    connect,
)

User = get_user_model()

pytestmark = pytest.mark.django_db

TOKEN_URL = "https://auth.atlassian.com/oauth/token"
ME_URL = "https://api.atlassian.com/me"
RESOURCES_URL = "https://api.atlassian.com/oauth/token/accessible-resources"

TOKEN_REPLY = {
    "access_token": "eyJraWQiOiJhdXRoLmF0bGFzc2lhbi5jb20tQUNDRVNTLTk0ZTczYTkwLTUxYWQtNGFj",
    "expires_in": 3600,
    "token_type": "Bearer",
    "refresh_token": "eyJraWQiOiI1MWE2YjE2MjRlMTQ5ZDFiYTdhM2VmZjciLCJhbGciOiJSUzI1NiJ9.r1",
    "scope": "read:me offline_access",
}
ME_REPLY = {
    "account_type": "atlassian",
    "account_id": "112233aa-bb11-cc22-33dd-445566abcabc",
    "email": "mia@example.com",
    "name": "Mia Krystof",
    "picture": "https://avatar-management--avatars.us-west-2.prod.public.atl-paas.net/1.png",
    "account_status": "active",
    "nickname": "mkrystof",
    "zoneinfo": "Australia/Sydney",
    "locale": "en-US",
    "extended_profile": {"job_title": "Designer", "organization": "mia@example.com"},
}

DOCUMENTED = DocumentedReplies(
    slug="atlassian",
    token_url=TOKEN_URL,
    # developer.atlassian.com/cloud/jira/platform/oauth-2-3lo-apps/ (the authorization
    # URL with audience=api.atlassian.com and prompt=consent; exchanging the code with a
    # JSON body) and developer.atlassian.com/cloud/admin/user-management/rest/ (GET /me).
    token_body="json",
    client_auth="secret_in_body",
    authorize_url="https://auth.atlassian.com/authorize",
    authorize_params={
        "audience": "api.atlassian.com",
        "prompt": "consent",
        "scope": "read:me offline_access",
    },
    token_reply=TOKEN_REPLY,
    identity=(ME_URL, ME_REPLY),
    account=(ME_REPLY["account_id"], "mia@example.com"),
    # developer.atlassian.com/cloud/jira/platform/oauth-2-3lo-apps/ ("Use a refresh token
    # to get another access token and refresh token pair": rotating refresh tokens, a
    # JSON body).
    refreshes=({**TOKEN_REPLY, "access_token": "access-2", "refresh_token": "rotated-refresh-2"},),
    # developer.atlassian.com/cloud/jira/platform/oauth-2-3lo-apps/ (error replies).
    refused_code=Reply(
        403, {"error": "invalid_grant", "error_description": "Invalid authorization code"}
    ),
    # developer.atlassian.com/cloud/jira/platform/oauth-2-3lo-apps/ (an invalid refresh
    # token answers 403 invalid_grant).
    refused_refresh=Reply(
        403, {"error": "invalid_grant", "error_description": "Unknown or invalid refresh token."}
    ),
    # developer.atlassian.com/cloud/jira/platform/oauth-2-3lo-apps/ documents no
    # revocation endpoint (users remove an app in their account settings).
    revocation=False,
)


def connected(alice: Client, mocked: responses.RequestsMock) -> None:
    mocked.post(TOKEN_URL, json=TOKEN_REPLY)
    mocked.get(ME_URL, json=ME_REPLY)
    _params, response = connect(alice, "atlassian")
    assert response.status_code == 302, response.content


def test_the_cloud_id_comes_from_accessible_resources(
    alice: Client, user: User, mocked: responses.RequestsMock
) -> None:
    """developer.atlassian.com/cloud/oauth/getting-started/making-calls-to-api/: the
    site's cloud id is the id in GET /oauth/token/accessible-resources, and every call
    goes through api.atlassian.com/ex/{product}/{cloudid}/."""
    connected(alice, mocked)
    cloud_id = "1324a887-45db-1bf4-1e99-ef0ff456d421"
    mocked.get(
        RESOURCES_URL,
        json=[
            {
                "id": cloud_id,
                "name": "Site name",
                "url": "https://your-domain.atlassian.net",
                "scopes": ["write:jira-work", "read:jira-user"],
                "avatarUrl": "https://site-admin-avatar-cdn.prod.public.atl-paas.net/flag.png",
            }
        ],
    )
    issue = f"https://api.atlassian.com/ex/jira/{cloud_id}/rest/api/3/issue/KEY-1"
    mocked.get(issue, json={"key": "KEY-1"})
    session = tokens.authorized_session(user, "atlassian")
    (site,) = session.get(RESOURCES_URL).json()
    assert session.get(issue).json() == {"key": "KEY-1"}
    assert site["id"] == cloud_id
