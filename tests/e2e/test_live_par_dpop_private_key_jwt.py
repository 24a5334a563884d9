"""PAR, DPoP and private_key_jwt against a real authorization server, with no mocks.

The server is panva's oidc-provider (OpenID certified; see :mod:`.node_server`) on
127.0.0.1, with DPoP nonces required; our app runs in pytest-django's live server on
localhost and is configured by discovery alone. Each feature is tried alone and all
three together (the AT Protocol shape): connect, call the UserInfo endpoint as an API,
refresh, disconnect. The server fetches the site's JWK Set at its ``jwks_uri`` to
check the client assertions. A ``requests`` session plays the browser here;
``test_browser_hardened.py`` drives Chromium through the combined shape.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec
from django.contrib.auth import get_user_model
from django.utils import timezone
from jwt.algorithms import ECAlgorithm

from auth_code_flow_django import tokens
from auth_code_flow_django.core import client_auth
from auth_code_flow_django.core.rfc9449_dpop import NONCES, DPoPKey, send_with_proof
from auth_code_flow_django.models import OAuthState, OAuthToken

from .node_server import oidc_provider
from .servers import forms

User = get_user_model()

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

SECRET = "live-client-secret-value-0123456789"
#: One client key per site provider that uses private_key_jwt.
KEYS = {
    slug: dict(ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1()), as_dict=True))
    for slug in ("pkjwt", "all")
}
#: What each site provider uses, by slug.
SHAPES: dict[str, dict[str, bool]] = {
    "pkjwt": {"pkjwt": True, "par": False, "dpop": False},
    "par": {"pkjwt": False, "par": True, "dpop": False},
    "dpop": {"pkjwt": False, "par": False, "dpop": True},
    "all": {"pkjwt": True, "par": True, "dpop": True},
}


def server_client(site: str, slug: str) -> dict[str, Any]:
    """The client registered at the server for the site provider ``slug``: the server
    refuses what the shape leaves out (a request not pushed, a Bearer token)."""
    shape = SHAPES[slug]
    client: dict[str, Any] = {
        "client_id": f"site-{slug}",
        "redirect_uris": [f"{site}/oauth/{slug}/callback/"],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "require_pushed_authorization_requests": shape["par"],
        "dpop_bound_access_tokens": shape["dpop"],
    }
    if shape["pkjwt"]:
        client["token_endpoint_auth_method"] = "private_key_jwt"
        # Node may look localhost up as ::1 first, where the live server is not.
        client["jwks_uri"] = f"{site.replace('localhost', '127.0.0.1')}/oauth/{slug}/jwks.json"
    else:
        client["client_secret"] = SECRET
        client["token_endpoint_auth_method"] = "client_secret_basic"
    return client


def site_provider(server: str, slug: str) -> dict[str, Any]:
    shape = SHAPES[slug]
    entry: dict[str, Any] = {
        "issuer": server,
        "client_id": f"site-{slug}",
        "scope": "openid offline_access",
        # oidc-provider issues a refresh token for offline_access only with consent.
        "extra_authorize_params": {"prompt": "consent"},
        "api_base_urls": [f"{server}/me"],
    }
    if shape["pkjwt"]:
        entry["client_private_key"] = KEYS[slug]
    else:
        entry["client_secret"] = SECRET
    if shape["par"]:
        entry["pushed_authorization_requests"] = True
    if shape["dpop"]:
        entry["dpop"] = True
    return entry


@pytest.fixture(scope="module")
def server(live_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    clients = [server_client(live_server.url, slug) for slug in SHAPES]
    # Registered with the public key of "pkjwt" inline, used with another key.
    wrong = server_client(live_server.url, "pkjwt")
    del wrong["jwks_uri"]
    public = {k: v for k, v in KEYS["pkjwt"].items() if k != "d"}
    wrong.update(
        client_id="site-wrongkey",
        redirect_uris=[f"{live_server.url}/oauth/wrongkey/callback/"],
        jwks={"keys": [public]},
    )
    clients.append(wrong)
    log = tmp_path_factory.mktemp("oidc-provider") / "server.log"
    with oidc_provider(clients, log) as issuer:
        yield issuer


@pytest.fixture
def configured(settings: Any, server: str) -> str:
    providers = {slug: site_provider(server, slug) for slug in SHAPES}
    other = dict(ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1()), as_dict=True))
    providers["wrongkey"] = {
        **providers["pkjwt"],
        "client_id": "site-wrongkey",
        "client_private_key": other,
    }
    settings.OAUTH_PROVIDERS = providers
    return server


@pytest.fixture
def alice(transactional_db: Any) -> User:
    return User.objects.create_user("alice", password="site-password")


class Browser:
    """A ``requests`` session that fills in the real forms of both sites."""

    def __init__(self, site: str, server: str) -> None:
        self.site, self.server = site, server
        self.http = requests.Session()

    def submit(self, response: requests.Response, **fields: str) -> requests.Response:
        form = forms(response.text)[0]
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

    def connect(self, slug: str) -> tuple[str, requests.Response]:
        """Press Connect, log in and consent at the server; return the URL the browser
        was first sent to and the site's answer to the callback."""
        page = self.http.get(f"{self.site}/oauth/{slug}/authorize/", timeout=30)
        to_server = self.submit(page)
        assert to_server.status_code == 302, to_server.text[:500]
        first = to_server.headers["Location"]
        login = self.follow(to_server)
        assert 'name="login"' in login.text, login.text[:500]
        consent = self.follow(self.submit(login, login="alice", password="any"))
        assert "Continue" in consent.text, consent.text[:500]
        back = self.follow_to_site(self.submit(consent))
        return first, back

    def follow_to_site(self, response: requests.Response) -> requests.Response:
        while response.is_redirect:
            url = urljoin(response.url, response.headers["Location"])
            response = self.http.get(url, allow_redirects=False, timeout=30)
            if url.startswith(self.site):
                return response
        raise AssertionError(f"the server did not send the browser back: {response.text[:500]}")


@pytest.fixture
def browser(live_server: Any, configured: str, alice: User) -> Browser:
    browser = Browser(live_server.url, configured)
    browser.log_in_to_site()
    return browser


@pytest.mark.parametrize("slug", list(SHAPES))
def test_connect_call_refresh_and_disconnect(browser: Browser, alice: User, slug: str) -> None:
    shape = SHAPES[slug]
    first, back = browser.connect(slug)
    assert back.status_code == 302, back.text[back.text.find("<main") :][:1500]
    assert back.headers["Location"] == "/oauth/"
    query = parse_qs(urlsplit(first).query)
    if shape["par"]:
        assert set(query) == {"client_id", "request_uri"}
    else:
        assert "state" in query
        assert ("dpop_jkt" in query) is shape["dpop"]
    assert not OAuthState.objects.filter(used_at__isnull=True).exists()
    token = OAuthToken.objects.get(user=alice, provider=slug)
    assert token.token_type == ("DPoP" if shape["dpop"] else "Bearer")
    assert (token.dpop_key is not None) is shape["dpop"]
    assert token.account_id == "alice"
    assert token.refresh_token

    # The UserInfo endpoint as the API: a DPoP-bound token works only with its proofs.
    with tokens.authorized_session(alice, slug) as session:
        me = session.get(f"{browser.server}/me", timeout=30)
    assert me.status_code == 200, me.text
    assert me.json()["sub"] == "alice"
    bare = requests.get(
        f"{browser.server}/me",
        headers={"Authorization": f"Bearer {token.access_token}"},
        timeout=30,
    )
    assert (bare.status_code == 401) is shape["dpop"]

    # A refresh under the row claim, with the connection's key.
    OAuthToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(1))
    fresh = tokens.get_access_token(alice, slug)
    assert fresh != token.access_token
    refreshed = OAuthToken.objects.get(pk=token.pk)
    assert refreshed.token_type == token.token_type
    if shape["dpop"]:
        assert refreshed.dpop_key is not None
        assert token.dpop_key is not None
        assert refreshed.dpop_key.thumbprint == token.dpop_key.thumbprint
    with tokens.authorized_session(alice, slug) as session:
        assert session.get(f"{browser.server}/me", timeout=30).status_code == 200

    # Disconnect: revoked at the server (with assertions and proofs), then deleted.
    page = browser.http.get(f"{browser.site}/oauth/", timeout=30)
    csrf = browser.http.cookies.get("csrftoken", "")
    gone = browser.http.post(
        f"{browser.site}/oauth/{slug}/disconnect/",
        data={"csrfmiddlewaretoken": csrf},
        headers={"Referer": page.url},
        allow_redirects=False,
        timeout=30,
    )
    assert gone.status_code == 302
    assert not OAuthToken.objects.filter(user=alice, provider=slug).exists()
    assert call_userinfo(browser.server, fresh, refreshed.dpop_key).status_code == 401


def call_userinfo(server: str, access_token: str, key: DPoPKey | None) -> requests.Response:
    """The UserInfo endpoint called with ``access_token`` outside the app (with proofs,
    and a nonce retry, for a DPoP-bound token)."""
    url = f"{server}/me"
    if key is None:
        return requests.get(url, headers={"Authorization": f"Bearer {access_token}"}, timeout=30)
    return send_with_proof(
        key,
        NONCES,
        "GET",
        url,
        lambda headers, retry: requests.get(
            url, headers={**headers, "Authorization": f"DPoP {access_token}"}, timeout=30
        ),
        access_token=access_token,
    )


def test_the_server_refuses_an_assertion_signed_with_another_key(
    browser: Browser, alice: User
) -> None:
    _, back = browser.connect("wrongkey")
    assert back.status_code == 502
    assert "invalid_client" in back.text
    assert not OAuthToken.objects.exists()


def test_the_server_refuses_an_expired_assertion(
    browser: Browser, alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(client_auth, "ASSERTION_LIFETIME", -600)
    _, back = browser.connect("pkjwt")
    assert back.status_code == 502
    assert "invalid_client" in back.text
    assert not OAuthToken.objects.exists()


def test_a_push_the_server_refuses_leaves_no_pending_authorization(
    browser: Browser, settings: Any
) -> None:
    providers = dict(settings.OAUTH_PROVIDERS)
    providers["par"] = {**providers["par"], "client_secret": "not-the-secret"}
    settings.OAUTH_PROVIDERS = providers
    page = browser.http.get(f"{browser.site}/oauth/par/authorize/", timeout=30)
    refused = browser.submit(page)
    assert refused.status_code == 502
    assert "invalid_client" in refused.text
    assert not OAuthState.objects.exists()
