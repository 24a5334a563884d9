"""The ``notion`` preset against Notion's documented replies: HTTP Basic and JSON
bodies, ``owner=user`` on the authorization request, a ``Notion-Version`` header, no
``expires_in``, and the authorizing user and workspace named in the token reply."""

from __future__ import annotations

import pytest
import responses
from django.contrib.auth import get_user_model
from django.test import Client

from auth_code_flow_django import tokens
from auth_code_flow_django.exceptions import ReauthorizationRequiredError

from .documented import DocumentedReplies, Reply, Revocation
from .steps import (
    CODE,
    authorize,
    basic,
    callback,
    connect,
    json_body,
    stored,
)

User = get_user_model()

pytestmark = pytest.mark.django_db

TOKEN_URL = "https://api.notion.com/v1/oauth/token"
REVOKE_URL = "https://api.notion.com/v1/oauth/revoke"

#: developers.notion.com/reference/create-a-token: the reply for a user-owned grant.
TOKEN_REPLY = {
    "access_token": "ntn_e202e8c9-0990-40af-855f-ff8f872b1ec6c",
    "token_type": "bearer",
    "refresh_token": "nrt_4b8d1a0e-71f2-4c88-9d6a-2a6f0b3c9e11",
    "bot_id": "b3414d65-1224-5ty7-6ffr-cc9d8773drt6",
    "workspace_name": "Ada's Notion Workspace",
    "workspace_icon": "https://website.domain/images/image.png",
    "workspace_id": "j565j4d7x3-2882-61bs-564a-jj9d9ui",
    "owner": {
        "type": "user",
        "user": {
            "object": "user",
            "id": "5389a034-eb5c-47b5-8a9e-f79c99ef166c",
            "name": "Ada Lovelace",
            "avatar_url": None,
            "type": "person",
            "person": {"email": "ada@example.com"},
        },
    },
    "duplicated_template_id": None,
    "request_id": "3c90c3cc-0d44-4b50-8888-8dd25736052a",
}

DOCUMENTED = DocumentedReplies(
    slug="notion",
    token_url=TOKEN_URL,
    # developers.notion.com/reference/create-a-token (error replies).
    refused_code=Reply(400, {"error": "invalid_grant", "error_description": "Invalid code."}),
    # developers.notion.com/reference/revoke-token: POST {"token": ...} with HTTP Basic
    # and Notion-Version.
    revocation=Revocation(
        REVOKE_URL,
        Reply(200, {"request_id": "3c90c3cc"}),
        body="json",
        client_auth="basic",
        headers={"Notion-Version": "2022-06-28"},
    ),
)


def test_connect_sends_json_with_basic_auth_and_names_user_and_workspace(
    alice: Client, user: User, mocked: responses.RequestsMock
) -> None:
    """developers.notion.com/docs/authorization (the authorization URL with owner=user,
    the token request with HTTP Basic) and developers.notion.com/reference/create-a-token
    (a JSON body; the reply's owner and workspace fields)."""
    endpoint, params = authorize(alice, "notion")
    assert endpoint == "https://api.notion.com/v1/oauth/authorize"
    assert params["owner"] == "user"
    assert params["response_type"] == "code"
    call = mocked.post(TOKEN_URL, json=TOKEN_REPLY)
    assert callback(alice, "notion", params).status_code == 302
    request = call.calls[0].request
    assert request.headers["Authorization"] == basic("notion")
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Notion-Version"] == "2022-06-28"
    body = json_body(call.calls[0])
    assert (body["grant_type"], body["code"]) == ("authorization_code", CODE)
    assert "client_secret" not in body
    token = stored(user, "notion")
    assert (token.account_id, token.account_name) == (
        "5389a034-eb5c-47b5-8a9e-f79c99ef166c",
        "ada@example.com",
    )
    assert token.expires_at is None  # no expires_in
    assert token.extra["workspace_id"] == TOKEN_REPLY["workspace_id"]
    assert token.extra["workspace_name"] == "Ada's Notion Workspace"
    assert token.extra["owner"]["type"] == "user"


def test_a_workspace_owned_grant_is_named_by_its_bot(
    alice: Client, user: User, mocked: responses.RequestsMock
) -> None:
    """developers.notion.com/changelog/oauth-token-response-now-includes-more-info-about-
    the-workspace: owner may be {"workspace": true}, with no user."""
    reply = {**TOKEN_REPLY, "owner": {"workspace": True}}
    mocked.post(TOKEN_URL, json=reply)
    connect(alice, "notion")
    token = stored(user, "notion")
    assert (token.account_id, token.account_name) == (
        TOKEN_REPLY["bot_id"],
        "Ada's Notion Workspace",
    )


def test_a_401_refreshes_with_a_json_body(
    alice: Client, user: User, mocked: responses.RequestsMock
) -> None:
    """developers.notion.com/reference/refresh-a-token: grant_type refresh_token in a
    JSON body with HTTP Basic; the reply repeats the workspace fields."""
    mocked.post(TOKEN_URL, json=TOKEN_REPLY)
    connect(alice, "notion")
    users_url = "https://api.notion.com/v1/users/me"
    mocked.get(users_url, status=401, json={"object": "error", "code": "unauthorized"})
    mocked.get(users_url, json={"object": "user", "type": "bot"})
    refreshed = {**TOKEN_REPLY, "access_token": "ntn_refreshed", "refresh_token": "nrt_new"}
    call = mocked.replace(responses.POST, TOKEN_URL, json=refreshed)
    session = tokens.authorized_session(user, "notion")
    assert session.get(users_url).json()["type"] == "bot"
    body = json_body(call.calls[0])
    assert body == {
        "grant_type": "refresh_token",
        "refresh_token": "nrt_4b8d1a0e-71f2-4c88-9d6a-2a6f0b3c9e11",
    }
    assert call.calls[0].request.headers["Authorization"] == basic("notion")
    token = stored(user, "notion")
    assert (token.access_token, token.refresh_token) == ("ntn_refreshed", "nrt_new")


def test_a_refused_refresh_needs_reauthorization(
    alice: Client, user: User, mocked: responses.RequestsMock
) -> None:
    """developers.notion.com/reference/status-codes: invalid_grant for a refresh token
    that is no longer valid."""
    mocked.post(TOKEN_URL, json=TOKEN_REPLY)
    connect(alice, "notion")
    mocked.replace(
        responses.POST,
        TOKEN_URL,
        status=400,
        json={
            "object": "error",
            "status": 400,
            "code": "invalid_grant",
            "error": "invalid_grant",
            "error_description": "Invalid refresh token.",
        },
    )
    with pytest.raises(ReauthorizationRequiredError):
        tokens.refresh(user, "notion", stale_access_token=TOKEN_REPLY["access_token"])
