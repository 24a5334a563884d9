"""The ``twitch`` preset against Twitch's documented replies (OpenID Connect): the
``claims`` parameter that makes the ID token name the user, ``scope`` as a JSON array,
a dead refresh token answering ``"Bad Request"`` rather than ``invalid_grant``, and
revocation at ``/oauth2/revoke``."""

from __future__ import annotations

import json
from typing import Any

import pytest
import responses
from django.contrib.auth import get_user_model
from django.test import Client

from auth_code_flow_django import tokens

from .. import oidc
from .documented import DocumentedReplies, Reply, Revocation
from .steps import (
    CODE,
    authorize,
    callback,
    client_id,
    form,
    stored,
)

User = get_user_model()

pytestmark = pytest.mark.django_db

ISSUER = "https://id.twitch.tv/oauth2"
TOKEN_URL = "https://id.twitch.tv/oauth2/token"
REVOKE_URL = "https://id.twitch.tv/oauth2/revoke"
KEY = oidc.SigningKey("twitch-key-1")

#: dev.twitch.tv/docs/authentication/getting-tokens-oidc/ (the authorization code
#: flow's reply: scope is a list).
TOKEN_REPLY = {
    "access_token": "rfx2uswqe8l4g1mkagrvg5tv0ks3",
    "expires_in": 14124,
    "refresh_token": "5b93chm6hdve3mycz05zfzatkfdenfspp1h1ar2xxdalen01",
    "scope": ["openid", "user:read:email"],
    "token_type": "bearer",
}

DOCUMENTED = DocumentedReplies(
    slug="twitch",
    token_url=TOKEN_URL,
    serve=lambda mocked: mocked.get(ISSUER + "/keys", json=oidc.jwks(KEY)),
    # dev.twitch.tv/docs/authentication/getting-tokens-oidc/ (an invalid code).
    refused_code=Reply(400, {"status": 400, "message": "Invalid authorization code"}),
    # dev.twitch.tv/docs/authentication/refresh-tokens/ ("If the refresh token is
    # invalid": 400 {"error": "Bad Request", "status": 400, "message": "Invalid refresh
    # token"}, not invalid_grant).
    refused_refresh=Reply(
        400, {"error": "Bad Request", "status": 400, "message": "Invalid refresh token"}
    ),
    # dev.twitch.tv/docs/authentication/revoke-tokens/ (POST client_id and token,
    # form-encoded; 200 with no body).
    revocation=Revocation(REVOKE_URL, Reply(), client_auth="client_id_in_body"),
)


def connected(alice: Client, mocked: responses.RequestsMock) -> tuple[dict[str, str], Any]:
    _endpoint, params = authorize(alice, "twitch")
    signed = KEY.sign(
        oidc.claims(
            params["nonce"],
            iss=ISSUER,
            aud=client_id("twitch"),
            sub="713936733",
            preferred_username="TwitchDev",
            email="dev@example.com",
            name=None,
        )
    )
    call = mocked.post(TOKEN_URL, json={**TOKEN_REPLY, "id_token": signed})
    response = callback(alice, "twitch", params)
    assert response.status_code == 302, response.content
    return params, call


def test_connect_asks_for_the_claims_and_reads_the_id_token(
    alice: Client, user: User, mocked: responses.RequestsMock
) -> None:
    """dev.twitch.tv/docs/authentication/getting-tokens-oidc/ (the claims parameter for
    email and preferred_username; the ID token's claims; scope as a list)."""
    params, call = connected(alice, mocked)
    assert json.loads(params["claims"])["id_token"] == {"email": None, "preferred_username": None}
    assert params["scope"] == "openid user:read:email"
    sent = form(call.calls[0])
    assert (sent["grant_type"], sent["code"], sent["client_id"]) == (
        "authorization_code",
        CODE,
        client_id("twitch"),
    )
    token = stored(user, "twitch")
    assert (token.account_id, token.account_name) == ("713936733", "TwitchDev")
    assert token.scope == "openid user:read:email"


def test_refresh_on_a_401(alice: Client, user: User, mocked: responses.RequestsMock) -> None:
    """dev.twitch.tv/docs/authentication/refresh-tokens/ (refresh reactively on a 401;
    the reply carries a new refresh token, scope as a list, no expires_in and no ID
    token)."""
    connected(alice, mocked)
    refreshed = {
        "access_token": "1ssjqsqfy6bads1ws7m03gras79zfr",
        "refresh_token": "eyJfMzUtNDU0OC4MWYwLTQ5MDY5ODY4NGNlMSJ9%asdfasdf=",
        "scope": ["channel:read:subscriptions", "channel:manage:polls"],
        "token_type": "bearer",
    }
    users = "https://api.twitch.tv/helix/users"
    mocked.get(users, status=401, json={"error": "Unauthorized", "status": 401})
    mocked.get(users, json={"data": []})
    call = mocked.replace(responses.POST, TOKEN_URL, json=refreshed)
    assert tokens.authorized_session(user, "twitch").get(users).json() == {"data": []}
    assert form(call.calls[0])["grant_type"] == "refresh_token"
    token = stored(user, "twitch")
    assert (token.access_token, token.refresh_token) == (
        refreshed["access_token"],
        refreshed["refresh_token"],
    )
    assert token.expires_at is None
    assert token.scope == "channel:read:subscriptions channel:manage:polls"
