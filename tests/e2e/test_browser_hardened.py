"""Chromium (Playwright) through PAR, DPoP and private_key_jwt, each alone and all
three together (the AT Protocol shape), against the real oidc-provider of
``test_live_par_dpop_private_key_jwt.py``: log in to the site, press Connect, log in
and consent at the server, come back connected; call the API, refresh, press
Disconnect. Requests to anything but loopback are refused (the server's pages import
a web font)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from auth_code_flow_django import tokens
from auth_code_flow_django.core.endpoint_urls import is_loopback
from auth_code_flow_django.models import OAuthState, OAuthToken

from .test_browser import chromium  # noqa: F401 - a fixture
from .test_live_par_dpop_private_key_jwt import (  # noqa: F401 - fixtures
    SHAPES,
    alice,
    call_userinfo,
    configured,
    server,
)

User = get_user_model()

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def sync_orm_beside_playwright() -> Iterator[None]:
    """Playwright's sync API runs an event loop in this thread, for the whole module;
    the test's database reads and cleanup are plain synchronous code all the same."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "1")
        yield


@pytest.fixture
def page(
    sync_orm_beside_playwright: None,
    chromium: Any,  # noqa: F811
    transactional_db: Any,
    live_server: Any,
) -> Iterator[Any]:
    # After the database and the live server, so that the browser is closed (and sends
    # nothing more) before they are torn down.
    context = chromium.new_context(viewport={"width": 1000, "height": 700})

    def loopback_only(route: Any) -> None:
        if is_loopback(urlsplit(route.request.url).hostname or ""):
            route.continue_()
        else:
            route.abort()

    context.route("**/*", loopback_only)
    yield context.new_page()
    context.close()


@pytest.mark.parametrize("slug", ["all", "pkjwt", "par", "dpop"])
def test_connect_call_refresh_and_disconnect_in_chromium(
    page: Any,
    live_server: Any,
    configured: str,  # noqa: F811
    alice: User,  # noqa: F811
    slug: str,
) -> None:
    shape = SHAPES[slug]
    site = live_server.url
    page.goto(f"{site}/accounts/login/")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", "site-password")
    page.click("button:has-text('Log in')")
    page.wait_for_load_state()

    page.goto(f"{site}/oauth/")
    row = page.locator(f'[data-provider="{slug}"]')
    assert row.locator("[data-status]").get_attribute("data-status") == "none"
    pushed: list[str] = []
    page.on(
        "request",
        lambda request: pushed.append(request.url) if request.url.startswith(configured) else None,
    )
    row.locator("button", has_text="Connect").click()
    page.wait_for_url(re.compile(rf"^{re.escape(configured)}/interaction/"))
    authorization = next(url for url in pushed if "/auth?" in url)
    if shape["par"]:
        # The browser went to the server with only client_id and request_uri.
        assert re.fullmatch(
            rf"{re.escape(configured)}/auth\?client_id=site-{slug}&request_uri=\S+",
            authorization,
        )
    else:
        assert "state=" in authorization
        assert ("dpop_jkt=" in authorization) is shape["dpop"]
    page.fill("input[name=login]", "alice")
    page.fill("input[name=password]", "any-password")
    page.click("button[type=submit]")
    page.wait_for_selector("button:has-text('Continue')")
    page.click("button:has-text('Continue')")
    page.wait_for_url(f"{site}/oauth/")
    row = page.locator(f'[data-provider="{slug}"]')
    assert row.locator("[data-status]").get_attribute("data-status") == "active"
    assert not OAuthState.objects.filter(used_at__isnull=True).exists()
    token = OAuthToken.objects.get(user=alice, provider=slug)
    assert token.token_type == ("DPoP" if shape["dpop"] else "Bearer")
    assert (token.dpop_key is not None) is shape["dpop"]

    with tokens.authorized_session(alice, slug) as session:
        assert session.get(f"{configured}/me", timeout=30).json()["sub"] == "alice"
    OAuthToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(1))
    fresh = tokens.get_access_token(alice, slug)
    assert fresh != token.access_token
    assert call_userinfo(configured, fresh, token.dpop_key).status_code == 200

    page.locator(f'[data-provider="{slug}"] button', has_text="Disconnect").click()
    page.wait_for_url(f"{site}/oauth/")
    row = page.locator(f'[data-provider="{slug}"]')
    assert row.locator("[data-status]").get_attribute("data-status") == "none"
    assert not OAuthToken.objects.filter(user=alice).exists()
    assert call_userinfo(configured, fresh, token.dpop_key).status_code == 401
