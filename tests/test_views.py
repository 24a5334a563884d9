from __future__ import annotations

import re
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from typing import Any
from urllib.parse import parse_qs

import pytest
import responses
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.db import connection
from django.template import RequestContext, Template
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import path
from django.utils import timezone
from pytest_django.asserts import assertInHTML

from auth_code_flow_django.flow import code_challenge_s256
from auth_code_flow_django.models import OAuthState, OAuthToken, state_digest

from . import urls as test_urls
from .conftest import REVOKE_URL, TOKEN_URL, make_token, start, token_json

User = get_user_model()

pytestmark = pytest.mark.django_db

CALLBACK = "/oauth/example/callback/"


def form_body(call: Any) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(str(call.request.body)).items()}


# --- connections ---------------------------------------------------------------------


def test_connections_requires_login(client: Client) -> None:
    response = client.get("/oauth/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/oauth/")


def test_connections_lists_providers_with_status(alice: Client, user: User) -> None:
    make_token(user, expires_at=timezone.now() - timedelta(minutes=1))
    response = alice.get("/oauth/")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-provider="example"' in html
    assert 'data-provider="stackexchange"' in html
    assert 'data-status="expired"' in html
    assert 'data-status="none"' in html
    assert "/oauth/example/disconnect/" in html
    assert "/oauth/stackexchange/authorize/" in html
    assert "stored-access-token" not in html


class WithLogout:
    urlpatterns = [
        *test_urls.urlpatterns,
        path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    ]


class WithHome:
    urlpatterns = [
        *test_urls.urlpatterns,
        path("", auth_views.LoginView.as_view(), name="home"),
    ]


@override_settings(ROOT_URLCONF=WithHome)
def test_connections_page_links_back_to_the_site(alice: Client) -> None:
    response = alice.get("/oauth/")
    assertInHTML('<a href="/">Back to the site</a>', response.content.decode())
    assert "Log out" not in response.content.decode()  # no "logout" URL here


def test_no_link_back_where_the_site_serves_no_home_page(alice: Client) -> None:
    # A new startproject site serves nothing at "/": the link would be a 404.
    response = alice.get("/oauth/")
    assert response.status_code == 200
    assert "Back to the site" not in response.content.decode()


@override_settings(ROOT_URLCONF=WithLogout)
def test_connections_page_has_a_log_out_form_when_logout_reverses(alice: Client) -> None:
    html = alice.get("/oauth/").content.decode()
    assert re.search(
        r'<form method="post" action="/accounts/logout/">'
        r'<input type="hidden" name="csrfmiddlewaretoken" value="[^"]+">'
        r'<button class="acf-secondary" type="submit">Log out</button></form>',
        html,
    )
    response = alice.post("/accounts/logout/")
    assert response.status_code in (200, 302)
    assert alice.get("/oauth/").status_code == 302  # logged out: back to the login page


def test_the_way_back_is_a_block_a_site_overrides(rf: Any, user: User) -> None:
    request = rf.get("/oauth/")
    request.user = user
    html = Template(
        '{% extends "auth_code_flow_django/connections.html" %}'
        '{% block site_link %}<a href="/dashboard/">Dashboard</a>{% endblock %}'
    ).render(RequestContext(request, {"connections": []}))
    assertInHTML('<a href="/dashboard/">Dashboard</a>', html)
    assert "Back to the site" not in html


def test_connections_shows_needs_reconnecting(alice: Client, user: User) -> None:
    token = make_token(user)
    token.needs_reauthorization = True
    token.save()
    html = alice.get("/oauth/").content.decode()
    assert 'data-status="needs_reauthorization"' in html
    assert "Reconnect" in html


# --- authorize -----------------------------------------------------------------------


def test_authorize_get_shows_a_confirm_form_and_stores_nothing(alice: Client) -> None:
    response = alice.get("/oauth/example/authorize/?next=/after/")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'method="post"' in html
    assert 'name="next" value="/after/"' in html
    assert OAuthState.objects.count() == 0


@override_settings(AUTH_CODE_FLOW_AUTHORIZE_ON_GET=True)
def test_authorize_get_starts_when_allowed(alice: Client) -> None:
    response = alice.get("/oauth/example/authorize/")
    assert response.status_code == 302
    assert response["Location"].startswith("https://provider.example/oauth/authorize?")
    assert OAuthState.objects.count() == 1


def test_authorize_unknown_provider_is_404(alice: Client) -> None:
    assert alice.post("/oauth/nope/authorize/").status_code == 404
    assert alice.get("/oauth/nope/callback/?state=x&code=y").status_code == 404


def test_authorize_requires_login(client: Client) -> None:
    response = client.post("/oauth/example/authorize/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert OAuthState.objects.count() == 0


def test_authorize_post_redirects_with_state_and_pkce(alice: Client, user: User) -> None:
    params = start(alice, next_url="/after/")
    assert params["client_id"] == "example-client-id"
    assert params["redirect_uri"] == "http://testserver/oauth/example/callback/"
    assert params["response_type"] == "code"
    assert params["scope"] == "read write"
    assert params["code_challenge_method"] == "S256"
    assert len(params["state"]) == 43
    stored = OAuthState.objects.get()
    assert stored.user == user
    assert stored.state_digest == state_digest(params["state"])
    assert params["state"] not in stored.state_digest
    assert code_challenge_s256(stored.code_verifier) == params["code_challenge"]
    assert stored.code_verifier not in stored.code_verifier_encrypted
    assert stored.redirect_uri == params["redirect_uri"]
    assert stored.next_url == "/after/"
    assert stored.expires_at - stored.created_at == timedelta(minutes=10)


def test_authorize_post_needs_csrf(user: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.post("/oauth/example/authorize/").status_code == 403
    assert OAuthState.objects.count() == 0


def test_authorize_drops_an_unsafe_next(alice: Client) -> None:
    start(alice, next_url="https://evil.example/")
    assert OAuthState.objects.get().next_url == ""


@override_settings(AUTH_CODE_FLOW_STATE_TTL=30)
def test_state_lifetime_follows_the_setting(alice: Client) -> None:
    start(alice)
    stored = OAuthState.objects.get()
    assert stored.expires_at - stored.created_at == timedelta(seconds=30)


def test_extra_authorize_params_hook(alice: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    from auth_code_flow_django.views import AuthorizeView

    monkeypatch.setattr(
        AuthorizeView, "get_extra_authorize_params", lambda self: {"prompt": "consent"}
    )
    assert start(alice)["prompt"] == "consent"


# --- callback ------------------------------------------------------------------------


def test_callback_exchanges_stores_encrypted_and_redirects(
    alice: Client, user: User, mocked: responses.RequestsMock
) -> None:
    call = mocked.post(TOKEN_URL, json=token_json())
    params = start(alice, next_url="/after/")
    response = alice.get(CALLBACK, {"state": params["state"], "code": "the-code"})
    assert response.status_code == 302
    assert response["Location"] == "/after/"
    assert response["Referrer-Policy"] == "no-referrer"
    assert "no-store" in response["Cache-Control"]
    body = form_body(call.calls[0])
    stored_state = OAuthState.objects.get()
    assert body["code"] == "the-code"
    assert body["redirect_uri"] == params["redirect_uri"]
    assert code_challenge_s256(body["code_verifier"]) == params["code_challenge"]
    assert "state" not in body
    assert stored_state.used_at is not None
    token = OAuthToken.objects.get()
    assert token.user == user
    assert token.provider == "example"
    assert token.access_token == "access-token-value-1234"
    assert token.refresh_token == "refresh-token-value-5678"
    assert token.scope == "read write"
    assert token.expires_at is not None
    assert not token.is_expired


def test_callback_without_next_goes_to_connections(
    alice: Client, mocked: responses.RequestsMock
) -> None:
    mocked.post(TOKEN_URL, json=token_json())
    params = start(alice)
    response = alice.get(CALLBACK, {"state": params["state"], "code": "c"})
    assert response["Location"] == "/oauth/"


@override_settings(AUTH_CODE_FLOW_SUCCESS_URL="/welcome/")
def test_callback_uses_the_success_url_setting(
    alice: Client, mocked: responses.RequestsMock
) -> None:
    mocked.post(TOKEN_URL, json=token_json())
    params = start(alice)
    assert alice.get(CALLBACK, {"state": params["state"], "code": "c"})["Location"] == "/welcome/"


def test_reconnecting_updates_the_one_token(
    alice: Client, user: User, mocked: responses.RequestsMock
) -> None:
    make_token(user)
    reply = token_json(access_token="second-access-token", refresh_token="second-refresh-token")
    mocked.post(TOKEN_URL, json=reply)
    params = start(alice)
    alice.get(CALLBACK, {"state": params["state"], "code": "c"})
    token = OAuthToken.objects.get()
    assert token.access_token == "second-access-token"
    assert token.refresh_token == "second-refresh-token"


def test_access_denied_shows_cancelled_and_keeps_the_token(
    alice: Client, user: User, mocked: responses.RequestsMock
) -> None:
    make_token(user)
    params = start(alice)
    response = alice.get(CALLBACK, {"state": params["state"], "error": "access_denied"})
    assert response.status_code == 403
    assert "cancelled" in response.content.decode().lower()
    assert OAuthToken.objects.get().access_token == "stored-access-token-0001"
    assert len(mocked.calls) == 0
    assert OAuthState.objects.get().used_at is not None


def test_token_endpoint_failure_is_a_502_and_stores_nothing(
    alice: Client, mocked: responses.RequestsMock
) -> None:
    mocked.post(TOKEN_URL, status=400, json={"error": "invalid_grant"})
    params = start(alice)
    response = alice.get(CALLBACK, {"state": params["state"], "code": "c"})
    assert response.status_code == 502
    # Not "no-referrer": browsers would then send "Origin: null" with the page's forms.
    assert response["Referrer-Policy"] == "same-origin"
    assert "no-store" in response["Cache-Control"]
    assert "invalid_grant" in response.content.decode()
    assert OAuthToken.objects.count() == 0
    assert OAuthState.objects.get().used_at is not None


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"code": "c"}, "did not say which authorization request"),
        ({"code": "c", "state": "forged"}, "does not match"),
    ],
)
def test_state_problems_are_400(alice: Client, query: dict[str, str], expected: str) -> None:
    start(alice)
    response = alice.get(CALLBACK, query)
    assert response.status_code == 400
    assert expected in response.content.decode()


def test_reloading_the_callback_after_connecting_goes_on_without_a_second_exchange(
    alice: Client, mocked: responses.RequestsMock
) -> None:
    mocked.post(TOKEN_URL, json=token_json())
    params = start(alice, next_url="/oauth/?from=github")
    query = {"state": params["state"], "code": "c"}
    assert alice.get(CALLBACK, query)["Location"] == "/oauth/?from=github"
    stored = OAuthToken.objects.values().get()
    response = alice.get(CALLBACK, query, follow=True)
    assert response.redirect_chain == [("/oauth/?from=github", 302)]
    assert [str(m) for m in response.context["messages"]] == [
        "Connected to Example.",
        "You are connected to Example.",
    ]
    assert len(mocked.calls) == 1
    assert OAuthToken.objects.values().get() == stored


def test_reloading_a_callback_whose_exchange_failed_is_already_used(
    alice: Client, user: User, mocked: responses.RequestsMock
) -> None:
    make_token(user)  # connected before this attempt: the attempt did not connect
    mocked.post(TOKEN_URL, status=400, json={"error": "invalid_grant"})
    params = start(alice)
    query = {"state": params["state"], "code": "c"}
    assert alice.get(CALLBACK, query).status_code == 502
    response = alice.get(CALLBACK, query)
    assert response.status_code == 400
    assert "already completed" in response.content.decode()
    assert len(mocked.calls) == 1


def test_reloading_the_callback_after_the_connection_broke_is_already_used(
    alice: Client, mocked: responses.RequestsMock
) -> None:
    mocked.post(TOKEN_URL, json=token_json())
    params = start(alice)
    query = {"state": params["state"], "code": "c"}
    alice.get(CALLBACK, query)
    OAuthToken.objects.update(needs_reauthorization=True)
    assert alice.get(CALLBACK, query).status_code == 400
    OAuthToken.objects.all().delete()
    assert alice.get(CALLBACK, query).status_code == 400
    # One code exchange (the deletion's revocation requests, when it commits, aside).
    assert [call.request.url for call in mocked.calls].count(TOKEN_URL) == 1


def test_another_user_reloading_a_used_callback_is_refused(
    alice: Client, client_for: Any, other_user: User, mocked: responses.RequestsMock
) -> None:
    mocked.post(TOKEN_URL, json=token_json())
    params = start(alice)
    query = {"state": params["state"], "code": "c"}
    alice.get(CALLBACK, query)
    make_token(other_user)
    assert client_for(other_user).get(CALLBACK, query).status_code == 400


def test_expired_state(alice: Client, mocked: responses.RequestsMock) -> None:
    params = start(alice)
    OAuthState.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = alice.get(CALLBACK, {"state": params["state"], "code": "c"})
    assert response.status_code == 400
    assert "expired" in response.content.decode()
    assert len(mocked.calls) == 0


def test_another_users_state_is_refused(
    alice: Client, client_for: Any, other_user: User, mocked: responses.RequestsMock
) -> None:
    params = start(client_for(other_user))
    response = alice.get(CALLBACK, {"state": params["state"], "code": "c"})
    assert response.status_code == 400
    assert len(mocked.calls) == 0
    assert OAuthState.objects.get().used_at is None


def test_state_for_another_provider_is_refused(alice: Client) -> None:
    params = start(alice, provider="stackexchange")
    response = alice.get(CALLBACK, {"state": params["state"], "code": "c"})
    assert response.status_code == 400


def test_callback_post_is_405(alice: Client) -> None:
    assert alice.post(CALLBACK, {"state": "s", "code": "c"}).status_code == 405


def test_logged_out_callback_does_not_put_the_code_in_the_login_url(client: Client) -> None:
    response = client.get(CALLBACK, {"state": "s", "code": "secret-code"})
    assert response.status_code == 302
    assert "secret-code" not in response["Location"]
    assert response["Location"] == "/accounts/login/?next=/oauth/"


@pytest.mark.parametrize(
    ("iss", "status"),
    [(None, 400), ("https://other.example", 400), ("https://provider.example", 302)],
)
def test_issuer_is_checked_when_the_provider_has_one(
    alice: Client, settings: Any, mocked: responses.RequestsMock, iss: str | None, status: int
) -> None:
    settings.OAUTH_PROVIDERS = {
        "example": {
            **settings.OAUTH_PROVIDERS["example"],
            "issuer": "https://provider.example",
            "discovery": False,
        }
    }
    mocked.post(TOKEN_URL, json=token_json())
    params = start(alice)
    query = {"state": params["state"], "code": "c"}
    if iss is not None:
        query["iss"] = iss
    response = alice.get(CALLBACK, query)
    assert response.status_code == status
    assert OAuthToken.objects.count() == (1 if status == 302 else 0)


def test_provider_error_description_is_escaped(alice: Client) -> None:
    params = start(alice)
    response = alice.get(
        CALLBACK,
        {"state": params["state"], "error": "invalid_scope", "error_description": "<b>bad</b>"},
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "<b>bad</b>" not in html
    assert "&lt;b&gt;bad&lt;/b&gt;" in html
    assert "invalid_scope" in html


def test_database_failure_while_saving_rolls_back_and_shows_503(
    alice: Client,
    user: User,
    mocked: responses.RequestsMock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A reconnection writes the stored row over (the upsert), then the database fails
    before the save completes: the write must be rolled back, the old connection left
    whole. (A first connection is one INSERT: it is saved whole or not at all.)"""
    from django.db import DatabaseError

    from auth_code_flow_django import signals

    make_token(user)
    written: list[str] = []

    def fail_after_the_write(signal: Any, token: OAuthToken, *args: Any, **kwargs: Any) -> None:
        written.append(OAuthToken.objects.get(pk=token.pk).access_token)
        raise DatabaseError("connection lost")

    mocked.post(TOKEN_URL, json=token_json())
    params = start(alice)
    monkeypatch.setattr(signals, "send_on_commit", fail_after_the_write)
    response = alice.get(CALLBACK, {"state": params["state"], "code": "c"})
    assert response.status_code == 503
    assert "could not be saved" in response.content.decode()
    assert written == ["access-token-value-1234"]  # there was something to roll back
    stored = OAuthToken.objects.get()
    assert (stored.access_token, stored.refresh_token) == (
        "stored-access-token-0001",
        "stored-refresh-token-0002",
    )


def test_database_failure_on_a_first_connection_stores_nothing_and_shows_503(
    alice: Client, mocked: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.db import DatabaseError, connections, router

    refused: list[str] = []

    def refuse(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if sql.startswith("INSERT") and OAuthToken._meta.db_table in sql:
            refused.append(sql)
            raise DatabaseError("connection lost")
        return execute(sql, params, many, context)

    mocked.post(TOKEN_URL, json=token_json())
    params = start(alice)
    with connections[router.db_for_write(OAuthToken)].execute_wrapper(refuse):
        response = alice.get(CALLBACK, {"state": params["state"], "code": "c"})
    assert response.status_code == 503
    assert len(refused) == 1
    assert OAuthToken.objects.count() == 0


# --- disconnect ----------------------------------------------------------------------


def test_disconnect_revokes_and_deletes(
    alice: Client,
    user: User,
    mocked: responses.RequestsMock,
    django_capture_on_commit_callbacks: Any,
) -> None:
    revoke = mocked.post(REVOKE_URL, body="")
    make_token(user)
    with django_capture_on_commit_callbacks(execute=True):
        response = alice.post("/oauth/example/disconnect/")
    assert response.status_code == 302
    assert response["Location"] == "/oauth/"
    assert OAuthToken.objects.count() == 0
    assert [form_body(c)["token_type_hint"] for c in revoke.calls] == [
        "refresh_token",
        "access_token",
    ]


def test_disconnect_is_post_only_and_csrf_protected(user: User) -> None:
    make_token(user)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.get("/oauth/example/disconnect/").status_code == 405
    assert client.post("/oauth/example/disconnect/").status_code == 403
    assert OAuthToken.objects.count() == 1


def test_disconnect_when_not_connected(alice: Client) -> None:
    response = alice.post("/oauth/example/disconnect/", follow=True)
    assert "not connected" in response.content.decode()


def test_disconnect_only_touches_the_users_own_token(
    alice: Client, other_user: User, mocked: responses.RequestsMock
) -> None:
    make_token(other_user)
    alice.post("/oauth/example/disconnect/")
    assert OAuthToken.objects.filter(user=other_user).count() == 1
    assert len(mocked.calls) == 0


# --- query counts --------------------------------------------------------------------

# Measured: authorize 3 (session, user, insert the state); callback 5 (session, user,
# read the state, claim it, upsert the token). Outside a test's wrapping transaction
# SQLite also counts the upsert's BEGIN and COMMIT.
AUTHORIZE_QUERIES = 3
CALLBACK_QUERIES = 5


def test_authorize_and_callback_query_counts(
    alice: Client, mocked: responses.RequestsMock
) -> None:
    mocked.post(TOKEN_URL, json=token_json())
    with CaptureQueriesContext(connection) as authorize:
        params = start(alice)
    with CaptureQueriesContext(connection) as callback:
        response = alice.get(CALLBACK, {"state": params["state"], "code": "c"})
    assert response.status_code == 302
    assert len(data_queries(authorize)) <= AUTHORIZE_QUERIES, authorize.captured_queries
    assert len(data_queries(callback)) <= CALLBACK_QUERIES, callback.captured_queries


def data_queries(context: CaptureQueriesContext) -> list[str]:
    """The statements that read or write rows: transaction control (the store's atomic
    block, a savepoint inside the test's transaction) is not counted."""
    control = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT")
    return [q["sql"] for q in context.captured_queries if not q["sql"].startswith(control)]


@override_settings(TIME_ZONE="Europe/Paris")
@override_settings(USE_TZ=True)
def test_connections_page_shows_the_expiry_with_its_time_zone(alice: Client, user: User) -> None:
    make_token(user, expires_at=datetime(2026, 11, 28, 4, 5, tzinfo=dt_timezone.utc))
    html = alice.get("/oauth/").content.decode()
    assert '<time datetime="2026-11-28T05:05:00+01:00">Nov. 28, 2026, 5:05 a.m. CET</time>' in html


@override_settings(USE_TZ=False, TIME_ZONE="America/New_York")
def test_connections_page_shows_the_time_zone_without_time_zone_support(
    alice: Client, user: User
) -> None:
    # Stored naive, in New York time, as the app stores it without time zone support.
    make_token(user, expires_at=datetime(2026, 7, 1, 13, 30, tzinfo=dt_timezone.utc))
    html = alice.get("/oauth/").content.decode()
    assert ">July 1, 2026, 9:30 a.m. EDT</time>" in html
