"""The ``okta`` preset: an Okta authorization server named by its issuer (two lines of
settings), everything else from its discovery document, as Okta documents it."""

from __future__ import annotations

from typing import Any

import pytest
import responses
from django.contrib.auth import get_user_model
from django.test import Client

from .. import oidc
from ..test_checks import ids
from .documented import DocumentedReplies, Reply, Revocation
from .issuers import connect_with_id_token, serve_discovery
from .steps import basic, form, stored

User = get_user_model()

pytestmark = pytest.mark.django_db

ISSUER = "https://dev-133337.okta.com/oauth2/default"
KEY = oidc.SigningKey("okta-key-1")

#: developer.okta.com/docs/reference/api/oidc/#well-known-openid-configuration
#: (abridged).
DOCUMENT = {
    "issuer": ISSUER,
    "authorization_endpoint": ISSUER + "/v1/authorize",
    "token_endpoint": ISSUER + "/v1/token",
    "userinfo_endpoint": ISSUER + "/v1/userinfo",
    "jwks_uri": ISSUER + "/v1/keys",
    "response_types_supported": ["code", "id_token", "code id_token"],
    "scopes_supported": ["openid", "profile", "email", "offline_access"],
    "token_endpoint_auth_methods_supported": [
        "client_secret_basic",
        "client_secret_post",
        "client_secret_jwt",
        "private_key_jwt",
        "none",
    ],
    "code_challenge_methods_supported": ["S256"],
    "introspection_endpoint": ISSUER + "/v1/introspect",
    "revocation_endpoint": ISSUER + "/v1/revoke",
    "end_session_endpoint": ISSUER + "/v1/logout",
}
#: developer.okta.com/docs/guides/implement-grant-type/authcode/main/ ("Exchange the
#: code for tokens").
TOKEN_REPLY = {
    "token_type": "Bearer",
    "expires_in": 3600,
    "access_token": "eyJraWQiOiJFTUR6S2JHTUZkM0xvLUtXbGpUVmlTQmRJSHlmVGxCMExlQ0FUTGd",
    "scope": "openid profile email offline_access",
    "refresh_token": "a9VpZDRCeFh3Nkk2VdYvkXtdtSTWTyCf_wKbfY7zWMS",
}

DOCUMENTED = DocumentedReplies(
    slug="okta",
    token_url=DOCUMENT["token_endpoint"],
    config={"issuer": ISSUER},
    serve=lambda mocked: serve_discovery(mocked, DOCUMENT, KEY),
    # developer.okta.com/docs/guides/refresh-tokens/main/ (an expired or revoked refresh
    # token answers invalid_grant).
    refused_refresh=Reply(
        400,
        {
            "error": "invalid_grant",
            "error_description": "The refresh token is invalid or expired.",
        },
    ),
    # developer.okta.com/docs/guides/revoke-tokens/main/ (POST /v1/revoke with token and
    # token_type_hint).
    revocation=Revocation(
        DOCUMENT["revocation_endpoint"], Reply(), hints=True, client_auth="basic"
    ),
)


def connected(alice: Client, mocked: responses.RequestsMock) -> tuple[str, dict[str, str], Any]:
    return connect_with_id_token(
        alice,
        mocked,
        "okta",
        DOCUMENT,
        KEY,
        TOKEN_REPLY,
        sub="00uid4BxXw6I6TV4m0g3",
        preferred_username="john.doe@example.com",
    )


def test_the_issuer_is_the_one_line_the_preset_needs() -> None:
    """developer.okta.com/docs/concepts/auth-servers/: the issuer names the
    authorization server (https://{yourOktaDomain}/oauth2/default)."""
    entry = {"preset": "okta", "client_id": "i", "client_secret": "s"}
    assert ids({"okta": entry}) == ["auth_code_flow_django.E049"]
    assert ids({"okta": {**entry, "issuer": ISSUER}}) == []


def test_connect_through_discovery_with_pkce_and_the_id_token(
    alice: Client, user: User, mocked: responses.RequestsMock
) -> None:
    """developer.okta.com/docs/guides/implement-grant-type/authcodepkce/main/ (the
    /v1/authorize request with PKCE; the /v1/token reply with an ID token)."""
    endpoint, params, call = connected(alice, mocked)
    assert endpoint == ISSUER + "/v1/authorize"
    assert params["code_challenge_method"] == "S256"
    assert params["scope"] == "openid profile email offline_access"
    assert call.calls[0].request.headers["Authorization"] == basic("okta")
    assert form(call.calls[0])["grant_type"] == "authorization_code"
    token = stored(user, "okta")
    assert (token.account_id, token.account_name) == (
        "00uid4BxXw6I6TV4m0g3",
        "john.doe@example.com",
    )
    assert token.refresh_token == TOKEN_REPLY["refresh_token"]
