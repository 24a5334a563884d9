"""The ``auth0`` preset: an Auth0 tenant named by its issuer (with its trailing slash),
everything else from its discovery document, as Auth0 documents it."""

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
from .steps import form, stored

User = get_user_model()

pytestmark = pytest.mark.django_db

DOMAIN = "https://dev-example.us.auth0.com"
ISSUER = DOMAIN + "/"
KEY = oidc.SigningKey("auth0-key-1")

#: auth0.com/docs/get-started/applications/configure-applications-with-oidc-discovery
#: (the tenant's /.well-known/openid-configuration, abridged).
DOCUMENT = {
    "issuer": ISSUER,
    "authorization_endpoint": DOMAIN + "/authorize",
    "token_endpoint": DOMAIN + "/oauth/token",
    "userinfo_endpoint": DOMAIN + "/userinfo",
    "jwks_uri": DOMAIN + "/.well-known/jwks.json",
    "revocation_endpoint": DOMAIN + "/oauth/revoke",
    "scopes_supported": ["openid", "profile", "offline_access", "email"],
    "response_types_supported": ["code", "token", "id_token", "code id_token"],
    "code_challenge_methods_supported": ["S256", "plain"],
    "token_endpoint_auth_methods_supported": [
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
    ],
    "id_token_signing_alg_values_supported": ["HS256", "RS256", "PS256"],
}
#: auth0.com/docs/get-started/authentication-and-authorization-flow/
#: authorization-code-flow-with-pkce/call-your-api-using-the-authorization-code-flow-with-pkce
#: ("Request tokens": the reply).
TOKEN_REPLY = {
    "access_token": "eyJz93a4k4laUWwRh8b0b2JzZXJ2ZXIiOiJhdXRoMCJ9.access",
    "refresh_token": "GEbRxBNedjnXbL3YDXXpbN4mUvsH8M3a",
    "token_type": "Bearer",
    "expires_in": 86400,
    "scope": "openid profile email offline_access",
}

DOCUMENTED = DocumentedReplies(
    slug="auth0",
    token_url=DOCUMENT["token_endpoint"],
    config={"issuer": ISSUER},
    serve=lambda mocked: serve_discovery(mocked, DOCUMENT, KEY),
    # auth0.com/docs/secure/tokens/refresh-tokens/refresh-token-rotation (a reused or
    # expired refresh token answers invalid_grant).
    refused_refresh=Reply(
        403, {"error": "invalid_grant", "error_description": "Unknown or invalid refresh token."}
    ),
    # auth0.com/docs/secure/tokens/refresh-tokens/revoke-refresh-tokens (POST
    # /oauth/revoke with the refresh token).
    revocation=Revocation(DOCUMENT["revocation_endpoint"], Reply()),
)


def connected(alice: Client, mocked: responses.RequestsMock) -> tuple[str, dict[str, str], Any]:
    return connect_with_id_token(
        alice,
        mocked,
        "auth0",
        DOCUMENT,
        KEY,
        TOKEN_REPLY,
        sub="auth0|507f1f77bcf86cd799439020",
        preferred_username=None,
        email="janedoe@example.com",
    )


def test_the_issuer_is_the_one_line_the_preset_needs() -> None:
    """auth0.com/docs/get-started/applications/configure-applications-with-oidc-discovery:
    the issuer is https://{yourDomain}/."""
    entry = {"preset": "auth0", "client_id": "i", "client_secret": "s"}
    assert ids({"auth0": entry}) == ["auth_code_flow_django.E049"]
    assert ids({"auth0": {**entry, "issuer": ISSUER}}) == []


def test_connect_through_discovery_with_pkce_and_the_id_token(
    alice: Client, user: User, mocked: responses.RequestsMock
) -> None:
    """auth0.com/docs/get-started/authentication-and-authorization-flow/
    authorization-code-flow-with-pkce (the /authorize request with code_challenge; the
    /oauth/token reply)."""
    endpoint, params, call = connected(alice, mocked)
    assert endpoint == DOMAIN + "/authorize"
    assert params["code_challenge_method"] == "S256"
    assert "offline_access" in params["scope"].split()
    sent = form(call.calls[0])
    assert sent["grant_type"] == "authorization_code"
    assert "code_verifier" in sent
    token = stored(user, "auth0")
    assert (token.account_id, token.account_name) == (
        "auth0|507f1f77bcf86cd799439020",
        "janedoe@example.com",
    )
