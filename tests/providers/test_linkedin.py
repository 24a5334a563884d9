"""The ``linkedin`` preset against LinkedIn's documented replies (Sign In with LinkedIn
using OpenID Connect): an ID token checked against LinkedIn's issuer and JWKS, no
refresh token for most apps, no revocation endpoint."""

from __future__ import annotations

from typing import Any

import pytest
import responses
from django.contrib.auth import get_user_model
from django.test import Client

from auth_code_flow_django.models import OAuthToken

from .. import oidc
from .documented import DocumentedReplies
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

ISSUER = "https://www.linkedin.com/oauth"
TOKEN_URL = "https://www.linkedin.com/oauth/v2/accessToken"
JWKS_URL = "https://www.linkedin.com/oauth/openid/jwks"
USERINFO_URL = "https://api.linkedin.com/v2/userinfo"
KEY = oidc.SigningKey("linkedin-key-1")

#: learn.microsoft.com/linkedin/consumer/integrations/self-serve/sign-in-with-linkedin-v2
#: ("ID Token"; the token reply, scope comma-separated).
TOKEN_REPLY = {
    "access_token": "AQUvlL_DYEzvT2wz1QJiEPeLioeA",
    "expires_in": 5184000,
    "scope": "email,openid,profile",
    "token_type": "Bearer",
}

DOCUMENTED = DocumentedReplies(
    slug="linkedin",
    token_url=TOKEN_URL,
    serve=lambda mocked: mocked.get(JWKS_URL, json=oidc.jwks(KEY)),
    # learn.microsoft.com/linkedin/shared/authentication/programmatic-refresh-tokens:
    # refresh tokens are for approved partners only; others connect again.
    refresh_tokens=False,
    # LinkedIn documents no revocation endpoint for these tokens.
    revocation=False,
)


def id_token(nonce: str) -> str:
    return KEY.sign(
        oidc.claims(
            nonce,
            iss=ISSUER,
            aud=client_id("linkedin"),
            sub="782bbtaQ",
            preferred_username=None,
            name="John Doe",
            email="doe@email.com",
            email_verified="true",
            locale="en-US",
        )
    )


def connected(alice: Client, mocked: responses.RequestsMock) -> Any:
    endpoint, params = authorize(alice, "linkedin")
    call = mocked.post(TOKEN_URL, json={**TOKEN_REPLY, "id_token": id_token(params["nonce"])})
    userinfo = mocked.get(USERINFO_URL, json={"sub": "other"})
    response = callback(alice, "linkedin", params)
    assert response.status_code == 302, response.content
    return endpoint, params, call, userinfo


def test_connect_checks_the_id_token_and_names_the_account_from_it(
    alice: Client, user: User, mocked: responses.RequestsMock
) -> None:
    """learn.microsoft.com/linkedin/consumer/integrations/self-serve/sign-in-with-linkedin-v2
    (scopes openid profile email; the ID token's iss, sub, name, email) and
    learn.microsoft.com/linkedin/shared/authentication/authorization-code-flow."""
    endpoint, params, call, userinfo = connected(alice, mocked)
    assert endpoint == "https://www.linkedin.com/oauth/v2/authorization"
    assert params["scope"] == "openid profile email"
    sent = form(call.calls[0])
    assert (sent["grant_type"], sent["code"]) == ("authorization_code", CODE)
    token = stored(user, "linkedin")
    assert (token.account_id, token.account_name) == ("782bbtaQ", "doe@email.com")
    assert len(userinfo.calls) == 0  # the ID token named the account
    assert token.refresh_token is None
    assert "id_token" not in token.extra


def test_an_id_token_from_another_issuer_stores_nothing(
    alice: Client, mocked: responses.RequestsMock
) -> None:
    """The ID token must name LinkedIn's issuer (OpenID Connect Core 3.1.3.7)."""
    _endpoint, params = authorize(alice, "linkedin")
    forged = KEY.sign(
        oidc.claims(params["nonce"], iss="https://evil.example", aud="linkedin-client-id")
    )
    mocked.post(TOKEN_URL, json={**TOKEN_REPLY, "id_token": forged})
    assert callback(alice, "linkedin", params).status_code == 502
    assert not OAuthToken.objects.exists()
