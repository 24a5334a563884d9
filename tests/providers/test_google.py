"""The ``google`` preset against Google's documented replies: OpenID Connect with
fixed endpoints, an ID token whose ``iss`` is either of two documented spellings,
refresh without a new refresh token, and revocation.

Pages followed:
- https://developers.google.com/identity/protocols/oauth2/web-server
- https://developers.google.com/identity/openid-connect/openid-connect
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import responses
from django.contrib.auth.models import AbstractBaseUser
from django.test import Client

from auth_code_flow_django import tokens
from auth_code_flow_django.models import OAuthToken
from tests import oidc

from .documented import DocumentedReplies, Reply, Revocation
from .steps import (
    authorize,
    callback,
    client_id,
    configure,
    expire,
    form,
    stored,
)

pytestmark = pytest.mark.django_db

AUTHORIZE_URL = "https://accounts.google.com/o/oauth2/v2/auth"
TOKEN_URL = "https://oauth2.googleapis.com/token"
REVOKE_URL = "https://oauth2.googleapis.com/revoke"
JWKS_URL = "https://www.googleapis.com/oauth2/v3/certs"
USERINFO_URL = "https://openidconnect.googleapis.com/v1/userinfo"
KEY = oidc.SigningKey("google-key-1")

# "Using OAuth 2.0 for Web Server Applications", step 5: exchange the code.
TOKEN_REPLY = {
    "access_token": "1/fFAGRNJru1FTz70BzhT3Zg",
    "expires_in": 3920,
    "token_type": "Bearer",
    "scope": "openid https://www.googleapis.com/auth/userinfo.email",
    "refresh_token": "1//xEoDL4iW3cxlI7yDbSRFYNG01kVKM2C-259HOF2aQbI",
}
# Same page, "Refreshing an access token": no refresh token in the reply.
REFRESH_REPLY = {
    "access_token": "1/fFBGRNJru1FQd44AzqT3Zg",
    "expires_in": 3920,
    "scope": "openid https://www.googleapis.com/auth/userinfo.email",
    "token_type": "Bearer",
}

DOCUMENTED = DocumentedReplies(
    slug="google",
    token_url=TOKEN_URL,
    # Web server applications, refresh token expiration: invalid_grant, "Token has been
    # expired or revoked.", HTTP 400.
    refused_refresh=Reply(
        400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
    ),
    # Web server applications, "Revoking a token": POST to oauth2.googleapis.com/revoke
    # (form-encoded; answered 200 with an empty body). The token goes in the body, never
    # in a URL.
    revocation=Revocation(REVOKE_URL, Reply()),
)


def id_token(nonce: str | None, **overrides: Any) -> str:
    """An ID token's payload as "OpenID Connect", "An ID token's payload" shows it."""
    now = int(time.time())
    claims = {
        "iss": "https://accounts.google.com",
        "azp": client_id("google"),
        "aud": client_id("google"),
        "sub": "10769150350006150715113082367",
        "at_hash": "HK6E_P6Dh8Y93mRNtsDB1Q",
        "hd": "example.com",
        "email": "jsmith@example.com",
        "email_verified": "true",
        "iat": now,
        "exp": now + 3600,
        "nonce": nonce,
        **overrides,
    }
    return KEY.sign({k: v for k, v in claims.items() if v is not None})


def connect(alice: Client, mocked: responses.RequestsMock, **claims: Any) -> Any:
    mocked.get(JWKS_URL, json=oidc.jwks(KEY))
    endpoint, params = authorize(alice, "google")
    assert endpoint == AUTHORIZE_URL
    assert (params["access_type"], params["prompt"]) == ("offline", "consent")
    mocked.post(TOKEN_URL, json={**TOKEN_REPLY, "id_token": id_token(params["nonce"], **claims)})
    return callback(alice, "google", params)


@pytest.mark.parametrize("iss", ["https://accounts.google.com", "accounts.google.com"])
def test_connect_accepts_either_documented_issuer(
    settings: Any,
    alice: Client,
    user: AbstractBaseUser,
    mocked: responses.RequestsMock,
    iss: str,
) -> None:
    """OpenID Connect, "Validating an ID token": "The value of iss in the ID token is
    equal to accounts.google.com or https://accounts.google.com." The account is the
    ID token's sub and email, with no UserInfo request."""
    userinfo = mocked.get(USERINFO_URL, json={"sub": "other"})
    response = connect(alice, mocked, iss=iss)
    assert response.status_code == 302, response.content
    token = stored(user, "google")
    assert (token.account_id, token.account_name) == (
        "10769150350006150715113082367",
        "jsmith@example.com",
    )
    assert token.refresh_token == TOKEN_REPLY["refresh_token"]
    assert len(userinfo.calls) == 0


@pytest.mark.parametrize(
    "iss", ["https://accounts.google.com/", "http://accounts.google.com", "google.com"]
)
def test_any_other_issuer_is_refused(
    settings: Any, alice: Client, mocked: responses.RequestsMock, iss: str
) -> None:
    """Only the two documented spellings."""
    assert connect(alice, mocked, iss=iss).status_code == 502
    assert not OAuthToken.objects.exists()


def test_refresh_keeps_the_refresh_token_google_does_not_resend(
    settings: Any, alice: Client, user: AbstractBaseUser, mocked: responses.RequestsMock
) -> None:
    """Web server applications, "Refreshing an access token": the reply has no
    refresh_token; the stored one stays."""
    assert connect(alice, mocked).status_code == 302
    expire(user, "google")
    mocked.replace(responses.POST, TOKEN_URL, json=REFRESH_REPLY)
    assert tokens.get_access_token(user, "google") == REFRESH_REPLY["access_token"]
    assert form(mocked.calls[-1])["refresh_token"] == TOKEN_REPLY["refresh_token"]
    assert stored(user, "google").refresh_token == TOKEN_REPLY["refresh_token"]


def test_without_openid_the_account_comes_from_userinfo(
    settings: Any, alice: Client, user: AbstractBaseUser, mocked: responses.RequestsMock
) -> None:
    """OpenID Connect, "Obtaining user profile information": the UserInfo endpoint
    with the access token."""
    configure(settings, "google", scope="email")
    _endpoint, params = authorize(alice, "google")
    mocked.post(TOKEN_URL, json={**TOKEN_REPLY, "scope": "email"})
    userinfo = mocked.get(
        USERINFO_URL,
        json={
            "sub": "10769150350006150715113082367",
            "email": "jsmith@example.com",
            "email_verified": True,
            "hd": "example.com",
        },
    )
    assert callback(alice, "google", params).status_code == 302
    assert userinfo.calls[0].request.headers["Authorization"] == "Bearer 1/fFAGRNJru1FTz70BzhT3Zg"
    assert stored(user, "google").account_name == "jsmith@example.com"
