"""The ``stackexchange`` preset against the Stack Exchange API's documented replies: a
token reply with no ``token_type`` and ``expires`` for its lifetime, no refresh
tokens, and the network account read from ``/me``.

Pages followed:
- https://api.stackexchange.com/docs/authentication
- https://api.stackexchange.com/docs/me
- https://api.stackexchange.com/docs/error-handling
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from django.contrib.auth.models import AbstractBaseUser
from django.test import Client
from django.utils import timezone

from .documented import DocumentedReplies
from .steps import authorize, callback, configure, stored

pytestmark = pytest.mark.django_db

TOKEN_URL = "https://stackoverflow.com/oauth/access_token/json"
ME_URL = "https://api.stackexchange.com/2.3/me"

# "Authentication", explicit flow: /oauth/access_token/json answers access_token and,
# without the no_expiry scope, expires (seconds); never a token_type.
EXPIRING_REPLY = {"access_token": "X2bpA(Ma7lxgxjsUyGv5Tw))", "expires": 86400}
NO_EXPIRY_REPLY = {"access_token": "X2bpA(Ma7lxgxjsUyGv5Tw))"}
# "/me" in the common wrapper, abridged; account_id is the network-wide account.
ME_REPLY = {
    "items": [
        {
            "account_id": 11683,
            "user_id": 22656,
            "display_name": "Jon Skeet",
            "user_type": "registered",
        }
    ],
    "has_more": False,
    "quota_max": 10000,
    "quota_remaining": 9999,
}

DOCUMENTED = DocumentedReplies(
    slug="stackexchange",
    token_url=TOKEN_URL,
    # Authentication: there are no refresh tokens; an expired token means the user
    # connects again.
    refresh_tokens=False,
    # Authentication: de-authenticating is /apps/{tokens}/de-authenticate, not RFC 7009;
    # the preset offers none.
    revocation=False,
)


def test_connect_without_token_type_and_with_expires(
    settings: Any, alice: Client, user: AbstractBaseUser, mocked: responses.RequestsMock
) -> None:
    """Authentication: the reply's lifetime is "expires"; /me?site=stackoverflow
    with the token as a Bearer header names the account."""
    configure(settings, "stackexchange", scope="read_inbox")
    endpoint, params = authorize(alice, "stackexchange")
    assert endpoint == "https://stackoverflow.com/oauth"
    mocked.post(TOKEN_URL, json=EXPIRING_REPLY)
    me = mocked.get(ME_URL, json=ME_REPLY)
    before = timezone.now()
    assert callback(alice, "stackexchange", params).status_code == 302
    token = stored(user, "stackexchange")
    assert token.token_type == "Bearer"
    assert token.expires_at is not None
    assert before + timedelta(seconds=86390) < token.expires_at
    assert (token.account_id, token.account_name) == ("11683", "Jon Skeet")
    sent = me.calls[0].request
    assert parse_qs(urlsplit(sent.url).query) == {"site": ["stackoverflow"]}
    assert sent.headers["Authorization"] == "Bearer X2bpA(Ma7lxgxjsUyGv5Tw))"


def test_no_expiry_gives_a_token_that_never_expires(
    settings: Any, alice: Client, user: AbstractBaseUser, mocked: responses.RequestsMock
) -> None:
    """Authentication, scope no_expiry: the reply has access_token alone."""
    _endpoint, params = authorize(alice, "stackexchange")
    assert params["scope"] == "no_expiry"
    mocked.post(TOKEN_URL, json=NO_EXPIRY_REPLY)
    mocked.get(ME_URL, json=ME_REPLY)
    assert callback(alice, "stackexchange", params).status_code == 302
    token = stored(user, "stackexchange")
    assert token.expires_at is None
    assert not token.is_expired


def test_an_api_error_on_me_leaves_the_account_unknown(
    settings: Any, alice: Client, user: AbstractBaseUser, mocked: responses.RequestsMock
) -> None:
    """Error handling: an API error is a JSON object with error_id, error_message and
    error_name; the connection is kept, its account looked up later."""
    _endpoint, params = authorize(alice, "stackexchange")
    mocked.post(TOKEN_URL, json=NO_EXPIRY_REPLY)
    mocked.get(
        ME_URL,
        status=400,
        json={
            "error_id": 403,
            "error_message": "access_token not valid",
            "error_name": "access_denied",
        },
    )
    assert callback(alice, "stackexchange", params).status_code == 302
    assert stored(user, "stackexchange").account_id == ""
