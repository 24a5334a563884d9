"""The ``github`` preset against GitHub's documented replies.

Pages followed:
- https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps
- https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/refreshing-user-access-tokens
- https://docs.github.com/en/apps/oauth-apps/maintaining-oauth-apps/troubleshooting-oauth-app-access-token-request-errors
- https://docs.github.com/en/rest/users/users#get-the-authenticated-user
"""

from __future__ import annotations

import pytest
import responses
from django.contrib.auth.models import AbstractBaseUser
from django.test import Client

from auth_code_flow_django import tokens
from auth_code_flow_django.exceptions import ReauthorizationRequiredError
from auth_code_flow_django.models import OAuthToken

from .documented import DocumentedReplies
from .steps import authorize, callback, expire, form, stored

pytestmark = pytest.mark.django_db

AUTHORIZE_URL = "https://github.com/login/oauth/authorize"
TOKEN_URL = "https://github.com/login/oauth/access_token"
USER_URL = "https://api.github.com/user"

# "Authorizing OAuth apps", step 2, with Accept: application/json: the scope is
# comma-separated.
TOKEN_REPLY = {
    "access_token": "gho_16C7e42F292c6912E7710c838347Ae178B4a",
    "scope": "repo,gist",
    "token_type": "bearer",
}
# "Refreshing user access tokens": an expiring user token (GitHub Apps), whose
# lifetimes the example gives as strings.
EXPIRING_REPLY = {
    "access_token": "ghu_16C7e42F292c6912E7710c838347Ae178B4a",
    "expires_in": "28800",
    "refresh_token": "ghr_1B4a2e77838347a7E420ce178F2E7c6912E169246c34E1ccbF66C46812d16D5B1A9D",
    "refresh_token_expires_in": "15811200",
    "scope": "",
    "token_type": "bearer",
}
# "Get the authenticated user", abridged.
USER_REPLY = {
    "login": "octocat",
    "id": 1,
    "node_id": "MDQ6VXNlcjE=",
    "type": "User",
    "name": "monalisa octocat",
}
# The troubleshooting page's errors, each answered with HTTP 200.
TROUBLESHOOTING = (
    "/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/"
)
BAD_VERIFICATION_CODE = {
    "error": "bad_verification_code",
    "error_description": "The code passed is incorrect or expired.",
    "error_uri": TROUBLESHOOTING + "#bad-verification-code",
}
BAD_REFRESH_TOKEN = {
    "error": "bad_refresh_token",
    "error_description": "The refresh token passed is incorrect or expired.",
    "error_uri": TROUBLESHOOTING + "#bad-refresh-token",
}

DOCUMENTED = DocumentedReplies(
    slug="github",
    token_url=TOKEN_URL,
    # Authorizing OAuth apps, steps 1-3: the JSON token reply (comma-separated scope,
    # lowercase token_type, no expiry) and GET /user for the account.
    headers={"Accept": "application/json"},
    authorize_url=AUTHORIZE_URL,
    authorize_params={"scope": "read:user"},
    token_reply=TOKEN_REPLY,
    identity=(USER_URL, USER_REPLY),
    account=("1", "octocat"),
    stored_fields={"scope": "repo,gist", "expires_at": None},
    # Authorizing OAuth apps: revoking is DELETE /applications/{client_id}/grant with
    # the client's Basic credentials, not RFC 7009: the preset offers none, and a
    # disconnect deletes the tokens here only.
    revocation=False,
)


def test_an_error_answered_with_http_200_is_a_502_and_stores_nothing(
    alice: Client, mocked: responses.RequestsMock
) -> None:
    """Troubleshooting access token request errors: bad_verification_code comes as
    a 200 with an error."""
    _endpoint, params = authorize(alice, "github")
    mocked.post(TOKEN_URL, json=BAD_VERIFICATION_CODE)
    response = callback(alice, "github", params)
    assert response.status_code == 502
    assert "bad_verification_code" in response.content.decode()
    assert not OAuthToken.objects.exists()


def test_an_expiring_user_token_refreshes_with_its_rotated_refresh_token(
    alice: Client, user: AbstractBaseUser, mocked: responses.RequestsMock
) -> None:
    """Refreshing user access tokens: the lifetimes as strings, and the refresh reply
    with a new refresh token."""
    _endpoint, params = authorize(alice, "github")
    mocked.post(TOKEN_URL, json=EXPIRING_REPLY)
    mocked.get(USER_URL, json=USER_REPLY)
    assert callback(alice, "github", params).status_code == 302
    assert stored(user, "github").expires_at is not None
    expire(user, "github")
    renewed = {
        **EXPIRING_REPLY,
        "access_token": "ghu_renewed7e42F292c6912E7710c838347Ae1",
        "refresh_token": "ghr_renewed2e77838347a7E420ce178F2E7c6912E169246c34E1ccbF66",
    }
    mocked.replace(responses.POST, TOKEN_URL, json=renewed)
    assert tokens.get_access_token(user, "github") == renewed["access_token"]
    sent = form(mocked.calls[-1])
    assert sent["grant_type"] == "refresh_token"
    assert sent["refresh_token"] == EXPIRING_REPLY["refresh_token"]
    assert stored(user, "github").refresh_token == renewed["refresh_token"]


def test_bad_refresh_token_needs_reauthorization_and_is_not_retried(
    user: AbstractBaseUser, mocked: responses.RequestsMock
) -> None:
    """Refreshing user access tokens / troubleshooting: a used or expired refresh
    token is answered with HTTP 200 and bad_refresh_token. The grant is gone: the
    connection waits for its user to connect again, and later uses do not ask
    GitHub again."""
    from tests.conftest import make_token

    make_token(user, "github", refresh_token="ghr_used")
    expire(user, "github")
    call = mocked.post(TOKEN_URL, json=BAD_REFRESH_TOKEN)
    with pytest.raises(ReauthorizationRequiredError):
        tokens.get_access_token(user, "github")
    assert stored(user, "github").needs_reauthorization
    with pytest.raises(ReauthorizationRequiredError):
        tokens.get_access_token(user, "github")
    assert len(call.calls) == 1
