"""The ``box`` preset against Box's documented replies: single-use refresh tokens (each
refresh returns a new one; the old one is dead), the account from ``/users/me`` and
revocation at ``/oauth2/revoke``."""

from __future__ import annotations

import pytest
import responses
from django.contrib.auth import get_user_model
from django.test import Client

from auth_code_flow_django import tokens

from .documented import DocumentedReplies, Reply, Revocation
from .steps import (
    connect,
    expire,
    form,
    stored,
)

User = get_user_model()

pytestmark = pytest.mark.django_db

TOKEN_URL = "https://api.box.com/oauth2/token"
REVOKE_URL = "https://api.box.com/oauth2/revoke"
ME_URL = "https://api.box.com/2.0/users/me"

#: developer.box.com/guides/authentication/tokens/access-tokens/ (OAuth 2.0).
TOKEN_REPLY = {
    "access_token": "c3FIOG9vSGV4VHo4QzAyg5T1JvNnJoZ3ExaVNyQWw6WjRsanRKZG5lQk9qUE1BVQ",
    "expires_in": 3600,
    "token_type": "bearer",
    "refresh_token": "c3FIOG9vSGV4VHo4QzAyg5T1JvNnJoZ3ExaVNyQWw6WjRsanRKZG5lQk9qUE1BVR",
    "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
}
#: developer.box.com/reference/get-users-me/ (abridged).
ME_REPLY = {
    "id": "11446498",
    "type": "user",
    "name": "Aaron Levie",
    "login": "ceo@example.com",
    "status": "active",
}

DOCUMENTED = DocumentedReplies(
    slug="box",
    token_url=TOKEN_URL,
    # developer.box.com/guides/authentication/oauth2/oauth2-setup/ and
    # developer.box.com/reference/post-oauth2-token/ (client_id and client_secret in the
    # form) and developer.box.com/reference/get-users-me/.
    client_auth="secret_in_body",
    authorize_url="https://account.box.com/api/oauth2/authorize",
    authorize_params={"response_type": "code"},
    token_reply=TOKEN_REPLY,
    identity=(ME_URL, ME_REPLY),
    account=("11446498", "ceo@example.com"),
    # issued_token_type names a token type, not a token, but its name says "token".
    stored_fields={"extra": {}},
    # developer.box.com/reference/post-oauth2-token/ (error replies).
    refused_code=Reply(
        400,
        {
            "error": "invalid_grant",
            "error_description": "Auth code doesn't exist or is invalid for the client",
        },
    ),
    # developer.box.com/guides/authentication/tokens/refresh/ (after 60 days the user
    # must authorize again); the reply is invalid_grant "Refresh token has expired".
    refused_refresh=Reply(
        400, {"error": "invalid_grant", "error_description": "Refresh token has expired"}
    ),
    # developer.box.com/reference/post-oauth2-revoke/: client_id, client_secret and the
    # token, form-encoded.
    revocation=Revocation(REVOKE_URL, Reply(), client_auth="secret_in_body"),
)


def connected(alice: Client, mocked: responses.RequestsMock) -> None:
    mocked.post(TOKEN_URL, json=TOKEN_REPLY)
    mocked.get(ME_URL, json=ME_REPLY)
    _params, response = connect(alice, "box")
    assert response.status_code == 302, response.content


def test_each_refresh_stores_the_new_single_use_refresh_token(
    alice: Client, user: User, mocked: responses.RequestsMock
) -> None:
    """developer.box.com/guides/authentication/tokens/refresh/: a refresh token is valid
    for one use within 60 days; each refresh returns a new one."""
    connected(alice, mocked)
    expire(user, "box")
    first = {**TOKEN_REPLY, "access_token": "access-2", "refresh_token": "refresh-2"}
    call = mocked.replace(responses.POST, TOKEN_URL, json=first)
    tokens.get_access_token(user, "box")
    expire(user, "box")
    mocked.replace(
        responses.POST,
        TOKEN_URL,
        json={**TOKEN_REPLY, "access_token": "access-3", "refresh_token": "refresh-3"},
    )
    assert tokens.get_access_token(user, "box") == "access-3"
    bodies = [form(c) for c in mocked.calls if c.request.url == TOKEN_URL]
    sent = [b["refresh_token"] for b in bodies if b["grant_type"] == "refresh_token"]
    assert sent == [TOKEN_REPLY["refresh_token"], "refresh-2"]
    assert form(call.calls[0])["grant_type"] == "refresh_token"
    assert stored(user, "box").refresh_token == "refresh-3"
