"""The ``slack`` preset against Slack's documented replies: every reply is an HTTP 200
whose ``ok`` says whether it worked; a bot token is the workspace's, a user token
(``user_scope``) comes nested under ``authed_user``.

Pages followed:
- https://docs.slack.dev/reference/methods/oauth.v2.access
- https://docs.slack.dev/authentication/installing-with-oauth
- https://docs.slack.dev/authentication/using-token-rotation
- https://docs.slack.dev/reference/methods/auth.revoke
"""

from __future__ import annotations

from typing import Any

import pytest
import responses
from django.contrib.auth.models import AbstractBaseUser
from django.test import Client

from auth_code_flow_django import tokens
from auth_code_flow_django.exceptions import ReauthorizationRequiredError
from auth_code_flow_django.models import OAuthToken

from .documented import DocumentedReplies
from .steps import authorize, callback, configure, disconnect, expire, form, stored

pytestmark = pytest.mark.django_db

AUTHORIZE_URL = "https://slack.com/oauth/v2/authorize"
TOKEN_URL = "https://slack.com/api/oauth.v2.access"
REVOKE_URL = "https://slack.com/api/auth.revoke"

TEAM = {"name": "Slack Softworks", "id": "T9TK3CUKW"}
# oauth.v2.access, example response: a bot token at the top level (its scope
# comma-separated), the installing user under authed_user.
BOT_REPLY = {
    "ok": True,
    "access_token": "xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy",
    "token_type": "bot",
    "scope": "commands,incoming-webhook",
    "bot_user_id": "U0KRQLJ9H",
    "app_id": "A0KRD7HC3",
    "team": TEAM,
    "enterprise": {"name": "slack-sports", "id": "E12345678"},
    "authed_user": {"id": "U1234"},
}
# The same method when only user_scope was asked for: no top-level token; the user
# token, with token rotation on, under authed_user.
USER_REPLY = {
    "ok": True,
    "app_id": "A0KRD7HC3",
    "authed_user": {
        "id": "U1234",
        "scope": "search:read,users:read",
        "access_token": "xoxe.xoxp-1-Mi0yLTE3NjUzNjcyNDgxLTE5ODc0Njk4MzIz",
        "token_type": "user",
        "refresh_token": "xoxe-1-My0xLTE3NjUzNjcyNDgxLTE5ODc0Njk4MzIz",
        "expires_in": 43200,
    },
    "team": TEAM,
    "enterprise": None,
    "is_enterprise_install": False,
}
# Using token rotation: a user token refreshes at the top level, token_type "user".
USER_REFRESH_REPLY = {
    "ok": True,
    "access_token": "xoxe.xoxp-1-renewedLTE3NjUzNjcyNDgxLTE5ODc0",
    "expires_in": 43200,
    "refresh_token": "xoxe-1-renewedLTE3NjUzNjcyNDgxLTE5ODc0Njk4",
    "token_type": "user",
    "scope": "search:read,users:read",
    "app_id": "A0KRD7HC3",
    "team": TEAM,
    "enterprise": None,
    "is_enterprise_install": False,
}
USER_TOKENS = {"scope": "search:read users:read", "scope_param": "user_scope"}
USER_TOKENS["token_reply_object"] = "authed_user"

#: Slack answers errors with HTTP 200 and "ok": false, and revokes a bot token for the
#: whole workspace: this module's own tests follow its pages for each.
DOCUMENTED = DocumentedReplies(slug="slack", token_url=TOKEN_URL)


def test_bot_install_stores_the_workspace_token_and_names_the_installer(
    settings: Any, alice: Client, user: AbstractBaseUser, mocked: responses.RequestsMock
) -> None:
    """oauth.v2.access, example response: the bot token (token_type "bot") and the
    installing user's id, read from the reply itself."""
    endpoint, params = authorize(alice, "slack")
    assert (endpoint, params["scope"]) == (AUTHORIZE_URL, "users:read")
    mocked.post(TOKEN_URL, json=BOT_REPLY)
    assert callback(alice, "slack", params).status_code == 302
    token = stored(user, "slack")
    assert token.access_token == BOT_REPLY["access_token"]
    assert token.token_type == "bot"
    assert token.scope == "commands,incoming-webhook"
    assert (token.account_id, token.account_name) == ("U1234", "Slack Softworks")
    assert len(mocked.calls) == 1  # no identity request: the reply names the user


def test_user_scope_install_stores_the_user_token_from_authed_user(
    settings: Any, alice: Client, user: AbstractBaseUser, mocked: responses.RequestsMock
) -> None:
    """oauth.v2.access with user_scope only: no top-level access_token, the user
    token nested under authed_user (with token rotation: its refresh token and
    lifetime there too)."""
    configure(settings, "slack", **USER_TOKENS)
    _endpoint, params = authorize(alice, "slack")
    assert params["user_scope"] == "search:read users:read"
    assert "scope" not in params
    mocked.post(TOKEN_URL, json=USER_REPLY)
    response = callback(alice, "slack", params)
    assert response.status_code == 302, response.content
    token = stored(user, "slack")
    assert token.access_token == USER_REPLY["authed_user"]["access_token"]
    assert token.refresh_token == USER_REPLY["authed_user"]["refresh_token"]
    assert token.token_type == "user"
    assert token.scope == "search:read,users:read"
    assert token.expires_at is not None
    assert (token.account_id, token.account_name) == ("U1234", "Slack Softworks")


def test_a_reply_with_both_tokens_gives_the_user_token_when_asked_for(
    settings: Any, alice: Client, user: AbstractBaseUser, mocked: responses.RequestsMock
) -> None:
    """oauth.v2.access, example response: a bot token at the top level and a user
    token under authed_user; a provider set for user tokens keeps the user's."""
    configure(settings, "slack", **USER_TOKENS)
    _endpoint, params = authorize(alice, "slack")
    nested = {"id": "U1234", "scope": "chat:write", "access_token": "xoxp-1234"}
    mocked.post(TOKEN_URL, json={**BOT_REPLY, "authed_user": {**nested, "token_type": "user"}})
    assert callback(alice, "slack", params).status_code == 302
    token = stored(user, "slack")
    assert (token.access_token, token.token_type, token.scope) == (
        "xoxp-1234",
        "user",
        "chat:write",
    )


def test_a_rotated_user_token_refreshes_with_token_type_user(
    settings: Any, alice: Client, user: AbstractBaseUser, mocked: responses.RequestsMock
) -> None:
    """Using token rotation: the refresh reply is at the top level and says
    token_type "user" (as Slack's own SDK reads it: python-slack-sdk,
    slack_sdk/oauth/token_rotation/rotator.py, perform_user_token_rotation)."""
    configure(settings, "slack", **USER_TOKENS)
    _endpoint, params = authorize(alice, "slack")
    mocked.post(TOKEN_URL, json=USER_REPLY)
    assert callback(alice, "slack", params).status_code == 302
    expire(user, "slack")
    mocked.replace(responses.POST, TOKEN_URL, json=USER_REFRESH_REPLY)
    assert tokens.get_access_token(user, "slack") == USER_REFRESH_REPLY["access_token"]
    sent = form(mocked.calls[-1])
    assert sent["grant_type"] == "refresh_token"
    assert sent["refresh_token"] == USER_REPLY["authed_user"]["refresh_token"]
    token = stored(user, "slack")
    assert token.refresh_token == USER_REFRESH_REPLY["refresh_token"]
    assert token.token_type == "user"


def test_a_dead_refresh_token_needs_reauthorization(
    settings: Any, user: AbstractBaseUser, mocked: responses.RequestsMock
) -> None:
    """oauth.v2.access errors: invalid_refresh_token, answered with ok false."""
    from tests.conftest import make_token

    configure(settings, "slack", **USER_TOKENS)
    make_token(user, "slack", token_type="user")
    expire(user, "slack")
    call = mocked.post(TOKEN_URL, json={"ok": False, "error": "invalid_refresh_token"})
    with pytest.raises(ReauthorizationRequiredError):
        tokens.get_access_token(user, "slack")
    assert stored(user, "slack").needs_reauthorization
    assert len(call.calls) == 1


def test_an_error_with_ok_false_is_a_502_and_stores_nothing(
    settings: Any, alice: Client, mocked: responses.RequestsMock
) -> None:
    """oauth.v2.access errors: invalid_code, with HTTP 200 and ok false."""
    _endpoint, params = authorize(alice, "slack")
    mocked.post(TOKEN_URL, json={"ok": False, "error": "invalid_code"})
    response = callback(alice, "slack", params)
    assert response.status_code == 502
    assert "invalid_code" in response.content.decode()
    assert not OAuthToken.objects.exists()


def test_disconnect_keeps_the_workspace_bot_token(
    settings: Any,
    alice: Client,
    user: AbstractBaseUser,
    mocked: responses.RequestsMock,
) -> None:
    """auth.revoke on a bot token uninstalls the app from the workspace, for every
    member: one user's disconnect deletes the connection here and revokes nothing."""
    _endpoint, params = authorize(alice, "slack")
    mocked.post(TOKEN_URL, json=BOT_REPLY)
    assert callback(alice, "slack", params).status_code == 302
    revoke = mocked.post(REVOKE_URL, json={"ok": True, "revoked": True})
    assert disconnect(alice, "slack").status_code == 302
    assert not OAuthToken.objects.exists()
    assert len(revoke.calls) == 0


def test_disconnect_revokes_the_bot_token_when_the_site_opts_in(
    settings: Any,
    alice: Client,
    user: AbstractBaseUser,
    mocked: responses.RequestsMock,
) -> None:
    """auth.revoke: the token in the form, answered {"ok": true, "revoked": true}."""
    configure(settings, "slack", revoke_shared_tokens=True)
    _endpoint, params = authorize(alice, "slack")
    mocked.post(TOKEN_URL, json=BOT_REPLY)
    assert callback(alice, "slack", params).status_code == 302
    revoke = mocked.post(REVOKE_URL, json={"ok": True, "revoked": True})
    assert disconnect(alice, "slack").status_code == 302
    assert [form(c)["token"] for c in revoke.calls] == [BOT_REPLY["access_token"]]


def test_disconnect_revokes_a_user_token(
    settings: Any,
    alice: Client,
    user: AbstractBaseUser,
    mocked: responses.RequestsMock,
) -> None:
    """auth.revoke: a user token is its user's own, revoked on disconnect (the refresh
    token, then the access token)."""
    configure(settings, "slack", **USER_TOKENS)
    _endpoint, params = authorize(alice, "slack")
    mocked.post(TOKEN_URL, json=USER_REPLY)
    assert callback(alice, "slack", params).status_code == 302
    revoke = mocked.post(REVOKE_URL, json={"ok": True, "revoked": True})
    assert disconnect(alice, "slack").status_code == 302
    assert [form(c)["token"] for c in revoke.calls] == [
        USER_REPLY["authed_user"]["refresh_token"],
        USER_REPLY["authed_user"]["access_token"],
    ]
    assert not OAuthToken.objects.exists()
