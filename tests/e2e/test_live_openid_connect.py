"""OpenID Connect over real HTTP against django-oauth-toolkit, with no mocks: a provider
configured by its issuer alone discovers the server, connects, checks the RS256 ID
token against the server's JWKS, refreshes (checking the refreshed ID token) and revokes.

The server is the example project's demo server as its own process (see
``test_live_authorization_server``), with OpenID Connect on, its RFC 8414 metadata at
the root and ``iss`` on its authorization responses.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from io import StringIO
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone

from auth_code_flow_django import models as models_module
from auth_code_flow_django import tokens
from auth_code_flow_django.flow import TokenResponse
from auth_code_flow_django.models import OAuthState, OAuthToken
from auth_code_flow_django.providers import get_provider

from .servers import DEMO_CLIENT_SECRET
from .test_live_authorization_server import (  # noqa: F401 -- fixtures
    Browser,
    alice,
    api_me,
    authorization_server,
    connect,
)

User = get_user_model()

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def openid(settings: Any, authorization_server: str) -> str:  # noqa: F811
    cache.clear()
    settings.OAUTH_PROVIDERS = {
        "demo": {
            "issuer": f"{authorization_server}/o",
            "client_id": "demo-client",
            "client_secret": DEMO_CLIENT_SECRET,
            "scope": "openid profile read",
        }
    }
    return authorization_server


@pytest.fixture
def browser(live_server: Any, openid: str, alice: User) -> Iterator[Browser]:  # noqa: F811
    browser = Browser(live_server.url, openid)
    browser.log_in_to_site()
    yield browser
    browser.http.close()


@pytest.fixture
def stored(monkeypatch: pytest.MonkeyPatch) -> list[TokenResponse]:
    """Every token response the callback stores, with its ID token claims."""
    seen: list[TokenResponse] = []
    store = models_module.OAuthTokenQuerySet.store

    def spy(
        self: Any, user: Any, provider: str, result: TokenResponse, **kwargs: Any
    ) -> OAuthToken:
        seen.append(result)
        return store(self, user, provider, result, **kwargs)

    monkeypatch.setattr(models_module.OAuthTokenQuerySet, "store", spy)
    return seen


def test_issuer_alone_connects_checks_the_id_token_refreshes_and_revokes(
    browser: Browser,
    alice: User,  # noqa: F811
    stored: list[TokenResponse],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    issuer = f"{browser.server}/o"
    approval = browser.start()
    # Discovery found the server's RFC 8414 document and its endpoints.
    provider = get_provider("demo").resolved()
    assert provider.metadata is not None
    assert provider.metadata.source_url == (
        f"{browser.server}/.well-known/oauth-authorization-server/o"
    )
    assert provider.sources["access_token_path"] == "discovery"
    assert provider.revocation_path == f"{browser.server}/o/revoke_token/"
    assert provider.jwks_uri == f"{browser.server}/o/.well-known/jwks.json"
    assert provider.requires_iss
    state = OAuthState.objects.get()
    assert state.nonce
    assert state.nonce not in state.nonce_encrypted

    back = browser.approve(approval)
    query = parse_qs(urlsplit(back.headers["Location"]).query)
    assert query["iss"] == [issuer]
    response = browser.http.get(back.headers["Location"], allow_redirects=False, timeout=30)
    assert response.status_code == 302, response.text[:500]

    token = OAuthToken.objects.get(user=alice, provider="demo")
    claims = stored[0].id_token_claims
    assert claims is not None
    assert claims["iss"] == issuer
    assert claims["aud"] == "demo-client"
    assert claims["nonce"] == state.nonce
    assert isinstance(claims["sub"], str)
    assert claims["sub"]
    # Who is connected: the ID token's subject, named by its profile claims.
    assert token.account_id == claims["sub"]
    assert claims["preferred_username"] == "alice"
    assert "email" not in claims  # the email scope was not asked for
    assert token.account_name == "alice"
    assert api_me(browser.server, token.access_token).json()["username"] == "alice"

    # Refresh through the discovered token endpoint.
    old_access = token.access_token
    OAuthToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    refreshes: list[TokenResponse] = []
    manager = get_provider("demo").flow_manager
    original_refresh = manager.refresh

    def spy(*args: Any, **kwargs: Any) -> TokenResponse:
        refreshes.append(original_refresh(*args, **kwargs))
        return refreshes[-1]

    monkeypatch.setattr(manager, "refresh", spy)
    new_access = tokens.get_access_token(alice, "demo")
    assert new_access != old_access
    # The server sends a new ID token with the refresh: validated, the same subject, no
    # nonce (OpenID Connect Core 12.2).
    refreshed_claims = refreshes[0].id_token_claims
    assert refreshed_claims is not None
    assert refreshed_claims["sub"] == token.account_id == token.id_token_subject
    assert "nonce" not in refreshed_claims
    assert api_me(browser.server, new_access).status_code == 200

    # Revoke through the discovered revocation endpoint.
    assert tokens.revoke(alice, "demo")
    assert OAuthToken.objects.count() == 0
    assert api_me(browser.server, new_access).status_code == 403


def test_a_forged_nonce_is_refused(browser: Browser, alice: User) -> None:  # noqa: F811
    approval = browser.start()
    # The stored nonce no longer matches the one the server put in the ID token.
    from auth_code_flow_django import crypto

    OAuthState.objects.update(nonce_encrypted=crypto.encrypt("another-flow-nonce"))
    back = browser.approve(approval)
    response = browser.http.get(back.headers["Location"], allow_redirects=False, timeout=30)
    assert response.status_code == 502
    assert "nonce" in response.text
    assert OAuthToken.objects.count() == 0
    assert OAuthState.objects.get().used_at is not None


def test_the_providers_command_checks_the_live_server(openid: str) -> None:
    out = StringIO()
    call_command("oauth_providers", "--check", stdout=out)
    text = out.getvalue()
    assert "discovery: fetched at" in text
    assert f"{openid}/o/token/  [discovery]" in text
    assert "problem" not in text
    assert DEMO_CLIENT_SECRET not in text


def test_connecting_twice_uses_the_cached_metadata_and_keys(
    browser: Browser,
    alice: User,  # noqa: F811
) -> None:
    assert connect(browser).status_code == 302
    assert cache.get(_metadata_key(browser.server)) is not None
    OAuthToken.objects.all().delete()
    assert connect(browser).status_code == 302
    assert OAuthToken.objects.filter(user=alice).count() == 1


def _metadata_key(server: str) -> str:
    from auth_code_flow_django.discovery import _key

    return _key("metadata", f"{server}/o")
