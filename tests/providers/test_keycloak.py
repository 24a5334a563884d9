"""The ``keycloak`` preset against Keycloak's documented OpenID Connect endpoints: a
realm's discovery document, its token replies (with ``refresh_expires_in`` and
``session_state``), ID tokens, UserInfo and revocation.

Pages followed:
- https://www.keycloak.org/securing-apps/oidc-layers
- https://www.keycloak.org/docs/latest/server_admin/#_oidc
"""

from __future__ import annotations

from typing import Any

import pytest
import responses
from django.contrib.auth.models import AbstractBaseUser
from django.test import Client

from auth_code_flow_django import tokens
from auth_code_flow_django.models import OAuthToken
from tests import oidc

from .documented import DocumentedReplies, Reply
from .steps import (
    authorize,
    callback,
    client_id,
    configure,
    disconnect,
    expire,
    form,
    stored,
)

pytestmark = pytest.mark.django_db

SERVER = "https://sso.example.com"
REALM = SERVER + "/realms/acme"
OIDC = REALM + "/protocol/openid-connect"
KEY = oidc.SigningKey("keycloak-key-1")
SUBJECT = "f2a1c3d4-0e5f-4a6b-8c7d-9e0f1a2b3c4d"

# "Keycloak OpenID Connect endpoints": the realm's discovery document, abridged.
DOCUMENT = {
    "issuer": REALM,
    "authorization_endpoint": OIDC + "/auth",
    "token_endpoint": OIDC + "/token",
    "introspection_endpoint": OIDC + "/token/introspect",
    "userinfo_endpoint": OIDC + "/userinfo",
    "end_session_endpoint": OIDC + "/logout",
    "jwks_uri": OIDC + "/certs",
    "revocation_endpoint": OIDC + "/revoke",
    "response_types_supported": ["code", "none", "id_token", "token", "code id_token"],
    "code_challenge_methods_supported": ["plain", "S256"],
    "token_endpoint_auth_methods_supported": [
        "private_key_jwt",
        "client_secret_basic",
        "client_secret_post",
        "tls_client_auth",
        "client_secret_jwt",
    ],
    "authorization_response_iss_parameter_supported": True,
}


def serve_realm(mocked: responses.RequestsMock) -> None:
    """The realm's discovery document at its OpenID Connect URL (RFC 8414's answers 404)."""
    mocked.get(SERVER + "/.well-known/oauth-authorization-server/realms/acme", status=404)
    mocked.get(REALM + "/.well-known/openid-configuration", json=DOCUMENT)


DOCUMENTED = DocumentedReplies(
    slug="keycloak",
    token_url=OIDC + "/token",
    config={"base_uri": SERVER, "realm": "acme"},
    serve=serve_realm,
    # Keycloak answers an ended session's refresh token with HTTP 400 invalid_grant,
    # "Token is not active".
    refused_refresh=Reply(
        400, {"error": "invalid_grant", "error_description": "Token is not active"}
    ),
)


def token_reply(access: str, refresh: str, id_token: str) -> dict[str, Any]:
    """A token endpoint reply as Keycloak sends it."""
    return {
        "access_token": access,
        "expires_in": 300,
        "refresh_expires_in": 1800,
        "refresh_token": refresh,
        "token_type": "Bearer",
        "id_token": id_token,
        "not-before-policy": 0,
        "session_state": "5c9b8d35-4ed0-4d4a-9a2d-2a6a3c4f0b1e",
        "scope": "openid profile email",
    }


def id_token(nonce: str | None) -> str:
    return KEY.sign(
        oidc.claims(
            nonce,
            iss=REALM,
            aud=client_id("keycloak"),
            azp=client_id("keycloak"),
            sub=SUBJECT,
            preferred_username="alice",
            typ="ID",
        )
    )


def test_connect_refresh_and_disconnect(
    settings: Any,
    alice: Client,
    user: AbstractBaseUser,
    mocked: responses.RequestsMock,
) -> None:
    """Keycloak's OIDC endpoints: discovery, the code flow with the callback's iss
    (RFC 9207, advertised), the ID token naming the account, a refresh with a new ID
    token of the same subject, and revocation at /revoke."""
    configure(settings, "keycloak", base_uri=SERVER, realm="acme")
    serve_realm(mocked)
    mocked.get(OIDC + "/certs", json=oidc.jwks(KEY))
    endpoint, params = authorize(alice, "keycloak")
    assert endpoint == OIDC + "/auth"
    mocked.post(
        OIDC + "/token",
        json=token_reply(
            "eyJhbGciOiJSUzI1NiJ9.a1", "eyJhbGciOiJIUzI1NiJ9.r1", id_token(params["nonce"])
        ),
    )
    userinfo = mocked.get(OIDC + "/userinfo", json={"sub": SUBJECT})
    response = callback(alice, "keycloak", params, iss=REALM)
    assert response.status_code == 302, response.content
    token = stored(user, "keycloak")
    assert (token.account_id, token.account_name) == (SUBJECT, "alice")
    assert len(userinfo.calls) == 0

    expire(user, "keycloak")
    mocked.replace(
        responses.POST,
        OIDC + "/token",
        json=token_reply("eyJhbGciOiJSUzI1NiJ9.a2", "eyJhbGciOiJIUzI1NiJ9.r2", id_token(None)),
    )
    assert tokens.get_access_token(user, "keycloak") == "eyJhbGciOiJSUzI1NiJ9.a2"
    assert form(mocked.calls[-1])["refresh_token"] == "eyJhbGciOiJIUzI1NiJ9.r1"

    revoke = mocked.post(OIDC + "/revoke", body="")
    assert disconnect(alice, "keycloak").status_code == 302
    assert [form(c)["token"] for c in revoke.calls] == [
        "eyJhbGciOiJIUzI1NiJ9.r2",
        "eyJhbGciOiJSUzI1NiJ9.a2",
    ]
    assert not OAuthToken.objects.exists()


def test_a_callback_without_iss_is_refused(
    settings: Any, alice: Client, mocked: responses.RequestsMock
) -> None:
    """The realm advertises authorization_response_iss_parameter_supported: a
    callback without iss (RFC 9207) is refused before any token request."""
    configure(settings, "keycloak", base_uri=SERVER, realm="acme")
    serve_realm(mocked)
    _endpoint, params = authorize(alice, "keycloak")
    token = mocked.post(OIDC + "/token", json={})
    response = callback(alice, "keycloak", params)
    assert 400 <= response.status_code < 500
    assert len(token.calls) == 0
    assert not OAuthToken.objects.exists()
