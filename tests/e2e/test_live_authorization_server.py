"""The whole flow over real HTTP against django-oauth-toolkit, with no mocks.

The authorization server is the example project's demo server run as its own process
(``example.settings_provider``, its own SQLite database) on 127.0.0.1; our app runs in
pytest-django's live server on localhost, so the two keep separate cookies. A
``requests`` session plays the browser: it logs in on both sides and submits the
server's real approval form.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from django.contrib.auth import get_user_model
from django.utils import timezone

from auth_code_flow_django import exceptions as exc
from auth_code_flow_django import tokens
from auth_code_flow_django.models import OAuthState, OAuthToken
from auth_code_flow_django.providers import get_provider

from .servers import DEMO_CLIENT_SECRET, forms, free_port, manage_py_server

User = get_user_model()

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def authorization_server(
    live_server: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    port = free_port()
    folder = tmp_path_factory.mktemp("authorization-server")
    env = {
        "DJANGO_SETTINGS_MODULE": "example.settings_provider",
        "PROVIDER_DATABASE": str(folder / "provider.sqlite3"),
        "EXAMPLE_DEBUG": "0",
    }
    args = ["demo", f"127.0.0.1:{port}", "--site", live_server.url]
    with manage_py_server(args, port, env, folder / "server.log"):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
def demo(settings: Any, authorization_server: str) -> str:
    settings.OAUTH_PROVIDERS = {
        "demo": {
            "display_name": "Demo",
            "base_uri": authorization_server,
            "authorization_path": "/o/authorize/",
            "access_token_path": "/o/token/",
            "revocation_path": "/o/revoke_token/",
            "client_id": "demo-client",
            "client_secret": DEMO_CLIENT_SECRET,
            "scope": "read",
            "token_endpoint_auth_method": "client_secret_basic",
            "api_base_urls": [f"{authorization_server}/api/"],
            "identity": {"url": "/api/me/", "id": "username", "name": "username"},
        }
    }
    return authorization_server


@pytest.fixture
def alice(transactional_db: Any) -> User:
    return User.objects.create_user("alice", password="site-password")


class Browser:
    """A ``requests`` session that fills in the real forms of both sites."""

    def __init__(self, site: str, server: str) -> None:
        self.site, self.server = site, server
        self.http = requests.Session()

    def submit(
        self, response: requests.Response, index: int = 0, **fields: str
    ) -> requests.Response:
        form = forms(response.text)[index]
        data = {**form["fields"], **fields}  # type: ignore[dict-item]
        action = urljoin(response.url, str(form["action"]) or response.url)
        return self.http.post(action, data=data, allow_redirects=False, timeout=30)

    def follow(self, response: requests.Response) -> requests.Response:
        while response.is_redirect:
            response = self.http.get(
                urljoin(response.url, response.headers["Location"]),
                allow_redirects=False,
                timeout=30,
            )
        return response

    def log_in_to_site(self) -> None:
        page = self.http.get(f"{self.site}/accounts/login/", timeout=30)
        done = self.submit(page, username="alice", password="site-password")
        assert done.status_code == 302, done.text[:300]

    def start(self) -> requests.Response:
        """Press Connect; return the server's approval page (after logging in there)."""
        page = self.http.get(f"{self.site}/oauth/demo/authorize/", timeout=30)
        to_server = self.submit(page)
        assert to_server.status_code == 302
        assert to_server.headers["Location"].startswith(f"{self.server}/o/authorize/?")
        approval = self.follow(to_server)
        if "/accounts/login/" in approval.url:
            approval = self.follow(
                self.submit(approval, username="alice", password="alice-demo-password")
            )
        assert approval.status_code == 200
        assert 'name="allow"' in approval.text
        return approval

    def approve(self, approval: requests.Response, allow: bool = True) -> requests.Response:
        """Submit the approval form; return the server's redirect back to our callback."""
        fields = {"allow": "Authorize"} if allow else {}
        back = self.submit(approval, **fields)
        assert back.status_code == 302
        assert back.headers["Location"].startswith(f"{self.site}/oauth/demo/callback/?")
        return back


@pytest.fixture
def browser(live_server: Any, demo: str, alice: User) -> Browser:
    browser = Browser(live_server.url, demo)
    browser.log_in_to_site()
    return browser


def connect(browser: Browser) -> requests.Response:
    back = browser.approve(browser.start())
    return browser.http.get(back.headers["Location"], allow_redirects=False, timeout=30)


def api_me(server: str, access_token: str) -> requests.Response:
    return requests.get(
        f"{server}/api/me/", headers={"Authorization": f"Bearer {access_token}"}, timeout=30
    )


def test_connect_then_call_the_protected_resource(browser: Browser, alice: User) -> None:
    response = connect(browser)
    assert response.status_code == 302
    assert response.headers["Location"] == "/oauth/"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    token = OAuthToken.objects.get(user=alice, provider="demo")
    assert token.refresh_token
    assert token.expires_at is not None
    assert token.scope == "read"
    # Who is connected: the server's account, asked with the new token.
    assert (token.account_id, token.account_name) == ("alice", "alice")
    with tokens.authorized_session(alice, "demo") as session:
        me = session.get(f"{browser.server}/api/me/", timeout=30)
    assert me.status_code == 200
    assert me.json() == {"username": "alice", "provider": "demo"}
    page = browser.http.get(f"{browser.site}/oauth/", timeout=30).text
    assert 'data-status="active"' in page
    assert "Connected as <strong>alice</strong>" in page


def test_the_server_requires_pkce(browser: Browser, alice: User) -> None:
    manager = get_provider("demo").flow_manager
    # A code obtained with a challenge cannot be redeemed with a wrong verifier...
    back = browser.approve(browser.start())
    query = {k: v[0] for k, v in parse_qs(urlsplit(back.headers["Location"]).query).items()}
    redirect_uri = OAuthState.objects.get().redirect_uri
    with pytest.raises(exc.InvalidGrantError):
        manager.exchange_code(
            None,
            query["code"],
            query["state"],
            check_state=False,
            code_verifier="a-wrong-verifier-" + "x" * 40,
            redirect_uri=redirect_uri,
        )
    # ...nor with none at all.
    back = browser.approve(browser.start())
    code = parse_qs(urlsplit(back.headers["Location"]).query)["code"][0]
    manager.use_pkce = False
    try:
        with pytest.raises(exc.AuthCodeFlowError) as info:
            manager.exchange_code(None, code, "s", check_state=False, redirect_uri=redirect_uri)
        assert info.value.status_code == 400
        # And an authorization request without a challenge is refused by the server.
        url = manager.get_authorization_endpoint("some-state", redirect_uri=redirect_uri)
    finally:
        manager.use_pkce = True
    refused = browser.http.get(url, allow_redirects=False, timeout=30)
    location = refused.headers.get("Location", "")
    assert "code=" not in location
    assert "error=invalid_request" in location or refused.status_code == 400
    assert OAuthToken.objects.count() == 0


def test_refresh_after_forced_expiry_rotates_the_refresh_token(
    browser: Browser, alice: User
) -> None:
    assert connect(browser).status_code == 302
    first = OAuthToken.objects.get()
    old_access, old_refresh = first.access_token, first.refresh_token
    OAuthToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    new_access = tokens.get_access_token(alice, "demo")
    refreshed = OAuthToken.objects.get()
    assert new_access != old_access
    assert refreshed.refresh_token != old_refresh
    assert not refreshed.is_expired
    assert api_me(browser.server, new_access).status_code == 200
    # django-oauth-toolkit answers 403 to a token it does not know.
    assert api_me(browser.server, old_access).status_code == 403
    # The rotated-out refresh token no longer works at the server.
    with pytest.raises(exc.InvalidGrantError):
        get_provider("demo").flow_manager.refresh(str(old_refresh))


def test_concurrent_callers_refresh_once_at_a_server_that_detects_reuse(
    browser: Browser, alice: User
) -> None:
    """The demo server revokes the whole grant when a refresh token is used twice: eight
    workers asking at once for an expired token must cause one refresh, or the
    connection dies."""
    from tests.conftest import run_in_threads

    assert connect(browser).status_code == 302
    old_refresh = str(OAuthToken.objects.get().refresh_token)
    OAuthToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    results = run_in_threads(8, lambda i: tokens.get_access_token(alice, "demo"))
    assert all(isinstance(r, str) for r in results), results
    assert len(set(results)) == 1
    assert api_me(browser.server, results[0]).status_code == 200
    with pytest.raises(exc.InvalidGrantError):
        get_provider("demo").flow_manager.refresh(old_refresh)
    # Using the old refresh token again made the server revoke the grant: proof that
    # the check above would have caught a second refresh.
    assert api_me(browser.server, results[0]).status_code == 403


def test_disconnect_revokes_at_the_server(browser: Browser, alice: User) -> None:
    assert connect(browser).status_code == 302
    token = OAuthToken.objects.get()
    access, refresh = token.access_token, str(token.refresh_token)
    assert api_me(browser.server, access).status_code == 200
    page = browser.http.get(f"{browser.site}/oauth/", timeout=30)
    disconnect = [i for i, f in enumerate(forms(page.text)) if "disconnect" in str(f["action"])]
    response = browser.submit(page, index=disconnect[0])
    assert response.status_code == 302
    assert OAuthToken.objects.count() == 0
    assert api_me(browser.server, access).status_code == 403
    with pytest.raises(exc.InvalidGrantError):
        get_provider("demo").flow_manager.refresh(refresh)


def test_user_denies_access(browser: Browser, alice: User) -> None:
    back = browser.approve(browser.start(), allow=False)
    assert "error=access_denied" in back.headers["Location"]
    response = browser.http.get(back.headers["Location"], allow_redirects=False, timeout=30)
    assert response.status_code == 403
    assert "cancelled" in response.text.lower()
    assert OAuthToken.objects.count() == 0


def test_wrong_client_secret_is_a_502_and_stores_nothing(
    browser: Browser, alice: User, settings: Any
) -> None:
    settings.OAUTH_PROVIDERS = {
        "demo": {**settings.OAUTH_PROVIDERS["demo"], "client_secret": "not-the-secret"}
    }
    response = connect(browser)
    assert response.status_code == 502
    assert "invalid_client" in response.text
    assert "not-the-secret" not in response.text
    assert OAuthToken.objects.count() == 0
    assert OAuthState.objects.get().used_at is not None


def test_the_protected_resource_refuses_requests_without_a_token(
    authorization_server: str,
) -> None:
    assert requests.get(f"{authorization_server}/api/me/", timeout=30).status_code == 403
