"""The views under ASGI: every request through Django's real ``ASGIHandler``
(``tests/asgi_client.py``), so each runs on a thread, and a database connection, of
its own, with CSRF checks enforced, as under uvicorn.

Connect (authorize, then the callback with the provider's token endpoint mocked), the
connections page, the token read behind an API call, disconnect (revoked at the
provider once committed), hostile callback input (a clear 4xx, never a 500, nothing
stored, nothing asked of the provider), and concurrent requests on an expired token
(one refresh at a real token endpoint on loopback, every request gets the new token).
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connections, transaction
from django.http import HttpRequest, HttpResponse
from django.test import override_settings
from django.urls import include, path

from auth_code_flow_django import signals
from auth_code_flow_django.exceptions import UntrustedURLError
from auth_code_flow_django.models import OAuthState, OAuthStateQuerySet, OAuthToken
from auth_code_flow_django.tokens import authorized_session, get_access_token

from . import test_concurrency
from .asgi_client import ASGIClient
from .conftest import REVOKE_URL, TOKEN_URL, make_token, sqlite_in_wal_mode, token_json
from .test_concurrency import TokenEndpoint, assert_refreshed_once, slow_token_endpoint

User = get_user_model()

pytestmark = pytest.mark.django_db(transaction=True)

CALLBACK = "/oauth/example/callback/"


@pytest.fixture
def browser(user: User) -> ASGIClient:
    client = ASGIClient()
    client.force_login(user)
    return client


def authorize(browser: ASGIClient) -> dict[str, str]:
    response = browser.post("/oauth/example/authorize/", {"next": "/after/"})
    assert response.status_code == 302, response.content[:500]
    location = response["Location"]
    assert location.startswith("https://provider.example/oauth/authorize?")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def test_each_request_runs_on_a_thread_of_its_own(browser: ASGIClient) -> None:
    for _ in range(3):
        assert browser.get("/oauth/").status_code == 200
    assert len(browser.threads) == 3
    assert len({id(thread) for thread in browser.threads}) == 3
    assert threading.current_thread() not in browser.threads


def test_authorize_needs_the_csrf_token(user: User) -> None:
    client = ASGIClient()
    client.force_login(user)
    response = asyncio.run(client.client.post("/oauth/example/authorize/", {}))
    assert response.status_code == 403
    assert OAuthState.objects.count() == 0


def test_connect_then_read_then_disconnect(
    browser: ASGIClient, user: User, mocked: responses.RequestsMock
) -> None:
    exchange = mocked.post(TOKEN_URL, json=token_json())
    revoke = mocked.post(REVOKE_URL, body="")
    params = authorize(browser)
    state = OAuthState.objects.get()
    assert state.user == user
    assert state.used_at is None

    done = browser.get(CALLBACK, {"state": params["state"], "code": "the-code"})
    assert done.status_code == 302, done.content[:500]
    assert done["Location"] == "/after/"
    assert len(exchange.calls) == 1
    sent = parse_qs(str(exchange.calls[0].request.body))
    assert sent["code"] == ["the-code"]
    assert "code_verifier" in sent
    token = OAuthToken.objects.get()
    assert (token.user, token.provider) == (user, "example")
    assert token.access_token == "access-token-value-1234"
    assert token.refresh_token == "refresh-token-value-5678"
    assert OAuthState.objects.get().used_at is not None
    # What the request threads committed is what any other thread reads.
    assert get_access_token(user, "example") == "access-token-value-1234"

    page = browser.get("/oauth/")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'data-provider="example"' in html
    assert 'data-status="active"' in html
    assert "access-token-value-1234" not in html
    assert "refresh-token-value-5678" not in html

    gone = browser.post("/oauth/example/disconnect/")
    assert gone.status_code == 302
    assert gone["Location"] == "/oauth/"
    assert OAuthToken.objects.count() == 0
    assert [parse_qs(str(c.request.body))["token_type_hint"] for c in revoke.calls] == [
        ["refresh_token"],
        ["access_token"],
    ]
    assert 'data-status="none"' in browser.get("/oauth/").content.decode()


def test_a_failed_exchange_is_a_502_and_stores_nothing(
    browser: ASGIClient, mocked: responses.RequestsMock
) -> None:
    mocked.post(TOKEN_URL, status=400, json={"error": "invalid_grant"})
    params = authorize(browser)
    response = browser.get(CALLBACK, {"state": params["state"], "code": "the-code"})
    assert response.status_code == 502
    assert OAuthToken.objects.count() == 0


HOSTILE = [
    "",
    "?code=a-code",
    "?state=forged&code=c0de",
    "?state=%ff%fe&code=%00",
    "?state=%00&code=%0d%0aSet-Cookie:%20x=1",
    "?state=" + "A" * 5000 + "&code=x",
    "?state=a&state=b&code=c&code=d",
    "?error=access_denied&error_description=%3Cscript%3Ealert(1)%3C/script%3E",
    "?state=%3Cscript%3E&error=%3Cscript%3E",
]


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_callback_input_is_a_clear_4xx(
    browser: ASGIClient, user: User, mocked: responses.RequestsMock, query: str
) -> None:
    make_token(user)
    authorize(browser)
    before = list(OAuthToken.objects.values_list("access_token_encrypted", "updated_at"))
    response = browser.get(CALLBACK + query)
    html = response.content.decode("utf-8", "replace")
    assert 400 <= response.status_code < 500, html[:500]
    assert "<script>" not in html
    assert "x=1" not in response.headers.get("Set-Cookie", "")
    assert len(mocked.calls) == 0
    assert list(OAuthToken.objects.values_list("access_token_encrypted", "updated_at")) == (before)


@pytest.mark.parametrize("code", ["", "x" * 5000])
def test_a_valid_state_with_an_unusable_code_is_a_400(
    browser: ASGIClient, mocked: responses.RequestsMock, code: str
) -> None:
    params = authorize(browser)
    response = browser.get(CALLBACK, {"state": params["state"], "code": code})
    assert response.status_code == 400
    assert "no usable authorization code" in response.content.decode()
    assert len(mocked.calls) == 0
    assert OAuthToken.objects.count() == 0


# --- concurrent requests on one expired token ------------------------------------------

CALLERS = 8
#: The concurrency tests' fixtures: a token endpoint on loopback that takes 300 ms and
#: counts, and a user whose token expired, on a database every thread sees.
endpoint = test_concurrency.endpoint
expired = test_concurrency.expired


def read_token(request: HttpRequest, user_pk: str) -> HttpResponse:
    """The token read behind an API call (the test token endpoint's throwaway token);
    ``?rollback=1`` then rolls the request's transaction back (ATOMIC_REQUESTS)."""
    token = get_access_token(User.objects.get(pk=user_pk), "example")
    if request.GET.get("rollback"):
        transaction.set_rollback(True)
    return HttpResponse(token)


def call_api(request: HttpRequest, user_pk: str) -> HttpResponse:
    """``authorized_session`` to ``?url=``: the status it got, or the refusal's name."""
    user = User.objects.get(pk=user_pk)
    try:
        with authorized_session(user, "example") as session:
            return HttpResponse(str(session.get(request.GET["url"], timeout=5).status_code))
    except UntrustedURLError:
        return HttpResponse("refused", status=400)


urlpatterns = [
    path("read/<str:user_pk>/", read_token),
    path("call/<str:user_pk>/", call_api),
    path("", include("tests.urls")),
]


@override_settings(ROOT_URLCONF=__name__)
@pytest.mark.parametrize(
    ("atomic_requests", "rollback"),
    [(False, False), (True, False), (True, True)],
    ids=["autocommit", "atomic", "rolled-back-atomic"],
)
def test_concurrent_requests_refresh_once_and_all_get_the_new_token(
    expired: User,
    endpoint: TokenEndpoint,
    monkeypatch: pytest.MonkeyPatch,
    atomic_requests: bool,
    rollback: bool,
) -> None:
    """Concurrent requests, each on a thread of its own, on one expired token: one
    refresh request reaches the provider and every request answers its new token; with
    ATOMIC_REQUESTS too (SQLite in WAL mode, as the README asks), and when each
    request's transaction is then rolled back the rotated refresh token stays stored."""
    if atomic_requests:
        sqlite_in_wal_mode()
    # The alias's one settings dict (whatever the configuration says): the request
    # threads' connections read it.
    monkeypatch.setitem(connections["default"].settings_dict, "ATOMIC_REQUESTS", atomic_requests)
    client = ASGIClient()

    async def together() -> list[Any]:
        return list(
            await asyncio.gather(
                *(
                    client.client.get(
                        f"/read/{expired.pk}/", {"rollback": "1"} if rollback else {}
                    )
                    for _ in range(CALLERS)
                )
            )
        )

    replies = asyncio.run(together())
    assert [(r.status_code, r.content) for r in replies] == [
        (200, b"rotated-access-token")
    ] * CALLERS
    assert len({id(thread) for thread in client.threads}) == CALLERS
    assert_refreshed_once(endpoint)


def test_two_identical_callbacks_at_once_exchange_once_and_store_one_row(
    shared_db: Any, mocked: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same callback twice at once (a double click), in the worst interleaving: both
    requests pass validation before either claims the state."""
    both_validated = threading.Barrier(2, timeout=10)
    original_validate = OAuthStateQuerySet.validate

    def validate_then_wait(self: OAuthStateQuerySet, *args: Any) -> OAuthState:
        result = original_validate(self, *args)
        both_validated.wait()
        return result

    monkeypatch.setattr(OAuthStateQuerySet, "validate", validate_then_wait)
    user = User.objects.create_user("alice")
    browser = ASGIClient()
    browser.force_login(user)
    seen = slow_token_endpoint(mocked, token_json())
    params = authorize(browser)
    query = {"state": params["state"], "code": "same-code"}

    async def twice() -> list[Any]:
        return list(await asyncio.gather(*(browser.client.get(CALLBACK, query) for _ in "ab")))

    assert sorted(r.status_code for r in asyncio.run(twice())) == [302, 400]
    assert len(seen) == 1
    assert OAuthToken.objects.count() == 1
    assert OAuthState.objects.get().used_at is not None


def test_a_database_failure_while_saving_is_a_503_and_keeps_the_old_connection(
    browser: ASGIClient,
    user: User,
    mocked: responses.RequestsMock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A reconnection's write is undone when the database fails before the save ends."""
    make_token(user)
    written: list[str] = []

    def fail_after_the_write(signal: Any, token: OAuthToken, *args: Any, **kwargs: Any) -> None:
        written.append(OAuthToken.objects.get(pk=token.pk).access_token)
        raise DatabaseError("connection lost")

    mocked.post(TOKEN_URL, json=token_json())
    params = authorize(browser)
    monkeypatch.setattr(signals, "send_on_commit", fail_after_the_write)
    response = browser.get(CALLBACK, {"state": params["state"], "code": "c"})
    assert response.status_code == 503
    assert "could not be saved" in response.content.decode()
    assert written == ["access-token-value-1234"]
    stored = OAuthToken.objects.get()
    assert (stored.access_token, stored.refresh_token) == (
        "stored-access-token-0001",
        "stored-refresh-token-0002",
    )


@override_settings(ROOT_URLCONF=__name__)
def test_the_bearer_token_goes_only_to_the_provider_s_api(
    user: User, mocked: responses.RequestsMock
) -> None:
    make_token(user)
    api = mocked.get("https://api.provider.example/me", json={})
    elsewhere = mocked.get("https://elsewhere.example/me", json={})
    plain = mocked.get("http://api.provider.example/me", json={})
    client = ASGIClient()
    assert client.get(f"/call/{user.pk}/", {"url": "https://api.provider.example/me"}).content == (
        b"200"
    )
    for url in ("https://elsewhere.example/me", "http://api.provider.example/me"):
        response = client.get(f"/call/{user.pk}/", {"url": url})
        assert (response.status_code, response.content) == (400, b"refused")
    assert [c.request.headers["Authorization"] for c in api.calls] == [
        "Bearer stored-access-token-0001"
    ]
    assert not elsewhere.calls
    assert not plain.calls
