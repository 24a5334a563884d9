"""The token API's guarantees on whatever database the run uses (SQLite, PostgreSQL,
MariaDB), with real commits: transactions of the caller, removal racing a refresh,
removal on every path, removed providers, time zones, where tokens may be sent, and
what error reports show."""

from __future__ import annotations

import json
import sys
import threading
import time
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs

import pytest
import responses
from cryptography.fernet import Fernet
from django.contrib.auth import get_user_model
from django.db import connection, router, transaction
from django.test import Client, RequestFactory, override_settings
from django.utils import timezone
from django.views.debug import ExceptionReporter

from auth_code_flow_django import signals, tokens
from auth_code_flow_django.exceptions import (
    NotConnectedError,
    ReauthorizationRequiredError,
    UntrustedURLError,
)
from auth_code_flow_django.flow import TokenResponse
from auth_code_flow_django.identity import Account
from auth_code_flow_django.models import OAuthState, OAuthToken

from .conftest import REVOKE_URL, TOKEN_URL, make_token, sqlite_in_wal_mode, start

API = "https://api.provider.example/me"
ROTATED = {
    "access_token": "rotated-access-token",
    "token_type": "Bearer",
    "expires_in": 3600,
    "refresh_token": "rotated-refresh-token",
}


def form(call: Any) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(str(call.request.body)).items()}


def expired_token(user: Any, **overrides: Any) -> OAuthToken:
    return make_token(user, expires_at=timezone.now() - timedelta(seconds=5), **overrides)


def slow_reply(body: dict[str, Any], seconds: float = 0.4) -> Any:
    def reply(request: Any) -> tuple[int, dict[str, str], str]:
        time.sleep(seconds)
        return 200, {"Content-Type": "application/json"}, json.dumps(body)

    return reply


class Boom(Exception):
    pass


# --- the caller's transaction --------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_refresh_inside_atomic_survives_the_callers_rollback(mocked: Any) -> None:
    sqlite_in_wal_mode()  # SQLite commits beside the caller's transaction in WAL only
    user = get_user_model().objects.create_user("alice")
    expired_token(user)
    mocked.post(TOKEN_URL, json=ROTATED)
    seen: list[str] = []

    def use_then_fail() -> None:
        with transaction.atomic():
            seen.append(tokens.get_access_token(user, "example"))
            raise Boom

    with pytest.raises(Boom):
        use_then_fail()
    assert seen == ["rotated-access-token"]
    stored = OAuthToken.objects.get()
    # The provider replaced the refresh token: the old one is dead, the new one kept.
    assert stored.refresh_token == "rotated-refresh-token"
    assert stored.access_token == "rotated-access-token"
    assert not stored.refresh_claim


@pytest.mark.django_db(transaction=True)
def test_refresh_inside_atomic_leaves_no_lock_for_the_rest_of_the_transaction(
    mocked: Any,
) -> None:
    """Another worker reads and uses the new token while the caller's transaction is
    still open: the refresh committed on its own and holds nothing."""
    sqlite_in_wal_mode()  # SQLite commits beside the caller's transaction in WAL only
    user = get_user_model().objects.create_user("alice")
    expired_token(user)
    mocked.post(TOKEN_URL, json=ROTATED)
    seen: list[Any] = []
    with transaction.atomic():
        tokens.get_access_token(user, "example")

        def other_worker() -> None:
            try:
                started = time.monotonic()
                seen.append(tokens.get_access_token(user, "example"))
                seen.append(time.monotonic() - started)
            except Exception as exc:
                seen.append(exc)
            finally:
                connection.close()

        thread = threading.Thread(target=other_worker)
        thread.start()
        thread.join(timeout=20)
    assert seen[0] == "rotated-access-token", seen
    assert seen[1] < 2
    assert len(mocked.calls) == 1


@pytest.mark.django_db(transaction=True)
def test_refresh_in_an_atomic_request_survives_the_views_failure(
    mocked: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.urls import path

    sqlite_in_wal_mode()  # SQLite commits beside the caller's transaction in WAL only
    monkeypatch.setitem(connection.settings_dict, "ATOMIC_REQUESTS", True)

    def view(request: Any) -> Any:
        tokens.get_access_token(request.user, "example")
        raise Boom

    user = get_user_model().objects.create_user("alice", password="pw")
    expired_token(user)
    mocked.post(TOKEN_URL, json=ROTATED)
    urls = type("urls", (), {"urlpatterns": [path("boom/", view)]})
    with override_settings(ROOT_URLCONF=urls):
        client = Client(raise_request_exception=True)
        client.force_login(user)
        with pytest.raises(Boom):
            client.get("/boom/")
    assert OAuthToken.objects.get().refresh_token == "rotated-refresh-token"


# --- removal ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_disconnect_during_a_refresh_revokes_the_new_grant(mocked: Any) -> None:
    """The removal waits for the refresh in flight and revokes what it stored."""
    user = get_user_model().objects.create_user("alice")
    expired_token(user)
    mocked.add_callback(responses.POST, TOKEN_URL, callback=slow_reply(ROTATED, 0.6))
    revoked = mocked.post(REVOKE_URL, body="")
    refreshing = threading.Thread(
        target=lambda: (tokens.get_access_token(user, "example"), connection.close())
    )
    refreshing.start()
    deadline = time.monotonic() + 5
    while not OAuthToken.objects.filter(refresh_claim__gt="").exists():
        assert time.monotonic() < deadline, "the refresh never claimed the row"
        time.sleep(0.01)
    assert tokens.revoke(user, "example") is True
    refreshing.join(timeout=20)
    assert OAuthToken.objects.count() == 0
    assert [form(c)["token"] for c in revoked.calls] == [
        "rotated-refresh-token",
        "rotated-access-token",
    ]


def reconnected_during_the_refresh(
    mocked: Any, user: Any, reply: dict[str, Any], reconnection: TokenResponse, account: Account
) -> Any:
    """A token endpoint whose refresh reply comes after ``user`` connected ``account``
    again (the reconnection takes the row, so the refresh loses its claim); returns the
    revocation endpoint's mock."""

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        OAuthToken.objects.store(user, "example", reconnection, account=account)
        return 200, {"Content-Type": "application/json"}, json.dumps(reply)

    mocked.add_callback(responses.POST, TOKEN_URL, callback=answer)
    return mocked.post(REVOKE_URL, body="")


def revoked_tokens(revocation: Any) -> list[tuple[str, str]]:
    return [(form(c)["token"], form(c)["token_type_hint"]) for c in revocation.calls]


@pytest.mark.django_db
def test_a_refresh_losing_to_a_same_account_reconnection_revokes_nothing_the_row_keeps(
    user: Any, mocked: Any
) -> None:
    """The provider does not rotate refresh tokens: the refresh reply gives back the grant
    the reconnection kept, and its access token may revoke that grant at the server."""
    expired_token(user, account=Account("7", "a"))
    not_rotated = {"access_token": "refreshed-access-token", "token_type": "Bearer"}
    revocation = reconnected_during_the_refresh(
        mocked,
        user,
        not_rotated,
        TokenResponse(access_token="reconnected-access-token"),
        Account("7", "a"),
    )
    assert tokens.get_access_token(user, "example") == "reconnected-access-token"
    assert revoked_tokens(revocation) == []
    stored = OAuthToken.objects.get()
    assert stored.access_token == "reconnected-access-token"
    assert stored.refresh_token == "stored-refresh-token-0002"


@pytest.mark.django_db
def test_a_refresh_losing_to_another_account_revokes_its_access_token_not_the_grant_used(
    user: Any, mocked: Any
) -> None:
    expired_token(user, account=Account("7", "a"))
    not_rotated = {"access_token": "refreshed-access-token", "token_type": "Bearer"}
    reconnection = TokenResponse(access_token="b-access-token", refresh_token="b-refresh-token")
    revocation = reconnected_during_the_refresh(
        mocked, user, not_rotated, reconnection, Account("8", "b")
    )
    assert tokens.get_access_token(user, "example") == "b-access-token"
    assert revoked_tokens(revocation) == [("refreshed-access-token", "access_token")]
    assert OAuthToken.objects.get().refresh_token == "b-refresh-token"


@pytest.mark.django_db
def test_a_rotating_refresh_losing_its_claim_revokes_only_what_the_row_does_not_hold(
    user: Any, mocked: Any
) -> None:
    """Some servers hand out the live access token again to a new authorization: the
    reconnected row holds the very access token the refresh got."""
    expired_token(user, account=Account("7", "a"))
    rotated = {**ROTATED, "access_token": "live-access-token"}
    reconnection = TokenResponse(access_token="live-access-token", refresh_token="new-refresh")
    revocation = reconnected_during_the_refresh(
        mocked, user, rotated, reconnection, Account("7", "a")
    )
    assert tokens.get_access_token(user, "example") == "live-access-token"
    assert revoked_tokens(revocation) == [("rotated-refresh-token", "refresh_token")]
    stored = OAuthToken.objects.get()
    assert (stored.access_token, stored.refresh_token) == ("live-access-token", "new-refresh")


@pytest.mark.django_db
def test_a_rotating_refresh_losing_to_a_reconnection_that_kept_its_grant_hands_it_over(
    user: Any, mocked: Any
) -> None:
    """The reconnection (same account, no refresh token in its reply) kept the refresh
    token the refresh is using, which the server then rotates away: the connection gets
    the rotated one, and nothing of the grant is revoked."""
    expired_token(user, account=Account("7", "a"))
    revocation = reconnected_during_the_refresh(
        mocked,
        user,
        ROTATED,
        TokenResponse(access_token="reconnected-access-token"),
        Account("7", "a"),
    )
    assert tokens.get_access_token(user, "example") == "reconnected-access-token"
    assert revoked_tokens(revocation) == []
    stored = OAuthToken.objects.get()
    assert stored.refresh_token == "rotated-refresh-token"
    assert stored.access_token == "reconnected-access-token"
    assert stored.refresh_claim == ""


@pytest.mark.django_db
def test_a_refresh_losing_to_a_removal_revokes_its_tokens_and_says_not_connected(
    user: Any, mocked: Any
) -> None:
    expired_token(user)

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        OAuthToken.objects.filter(user=user).delete()
        return 200, {"Content-Type": "application/json"}, json.dumps(ROTATED)

    mocked.add_callback(responses.POST, TOKEN_URL, callback=answer)
    revocation = mocked.post(REVOKE_URL, body="")
    with pytest.raises(NotConnectedError):
        tokens.get_access_token(user, "example")
    assert ("rotated-refresh-token", "refresh_token") in revoked_tokens(revocation)
    assert OAuthToken.objects.count() == 0


@pytest.mark.django_db
def test_a_refresh_losing_to_a_reconnection_that_waits_for_its_user_says_so(
    user: Any, mocked: Any
) -> None:
    expired_token(user, account=Account("7", "a"))

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        OAuthToken.objects.store(
            user, "example", TokenResponse(access_token="b-access"), account=Account("8", "b")
        )
        OAuthToken.objects.filter(user=user).update(needs_reauthorization=True)
        return 200, {"Content-Type": "application/json"}, json.dumps(ROTATED)

    mocked.add_callback(responses.POST, TOKEN_URL, callback=answer)
    mocked.post(REVOKE_URL, body="")
    with pytest.raises(ReauthorizationRequiredError):
        tokens.get_access_token(user, "example")


@pytest.mark.django_db
def test_deleting_a_user_revokes_and_signals(
    user: Any, mocked: Any, django_capture_on_commit_callbacks: Any
) -> None:
    make_token(user)
    revoked = mocked.post(REVOKE_URL, body="")
    received: list[dict[str, Any]] = []

    def receiver(**kwargs: Any) -> None:
        received.append(kwargs)

    signals.token_revoked.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            user.delete()
    finally:
        signals.token_revoked.disconnect(receiver)
    assert [form(c)["token_type_hint"] for c in revoked.calls] == [
        "refresh_token",
        "access_token",
    ]
    assert [r["provider"] for r in received] == ["example"]
    assert received[0]["user"].username == "alice"


@pytest.mark.django_db
def test_queryset_delete_revokes_each_row(
    user: Any, other_user: Any, mocked: Any, django_capture_on_commit_callbacks: Any
) -> None:
    make_token(user)
    make_token(other_user)
    revoked = mocked.post(REVOKE_URL, body="")
    with django_capture_on_commit_callbacks(execute=True):
        OAuthToken.objects.all().delete()
    assert len(revoked.calls) == 4


@pytest.mark.django_db
def test_no_revocation_when_the_deletion_rolls_back(
    user: Any, mocked: Any, django_capture_on_commit_callbacks: Any
) -> None:
    make_token(user)

    def delete_then_fail() -> None:
        with transaction.atomic(using=router.db_for_write(OAuthToken)):
            OAuthToken.objects.all().delete()
            raise Boom

    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(Boom):
        delete_then_fail()
    assert callbacks == []
    assert len(mocked.calls) == 0
    assert OAuthToken.objects.count() == 1


# --- a provider removed from settings --------------------------------------------------


def without_example(settings: Any) -> None:
    providers = dict(settings.OAUTH_PROVIDERS)
    del providers["example"]
    settings.OAUTH_PROVIDERS = providers


@pytest.mark.django_db
def test_removed_provider_token_api_raises_not_connected(user: Any, settings: Any) -> None:
    make_token(user)
    without_example(settings)
    with pytest.raises(NotConnectedError):
        tokens.get_access_token(user, "example")
    with pytest.raises(NotConnectedError):
        tokens.authorized_session(user, "example")


@pytest.mark.django_db
def test_removed_provider_can_still_be_disconnected(
    alice: Client, user: Any, settings: Any, mocked: Any
) -> None:
    make_token(user)
    without_example(settings)
    page = alice.get("/oauth/")
    assert b'action="/oauth/example/disconnect/"' in page.content
    assert b'action="/oauth/example/authorize/"' not in page.content
    response = alice.post("/oauth/example/disconnect/")
    assert response.status_code == 302
    assert OAuthToken.objects.count() == 0
    assert len(mocked.calls) == 0
    # Nobody else's token, and no connection: still a 404.
    assert alice.post("/oauth/example/disconnect/").status_code == 404


# --- USE_TZ = False --------------------------------------------------------------------


@pytest.mark.django_db
def test_connect_and_refresh_without_time_zones(user: Any, mocked: Any) -> None:
    with override_settings(USE_TZ=False):
        client = Client()
        client.force_login(user)
        state = start(client)["state"]
        mocked.post(TOKEN_URL, json={**ROTATED, "expires_in": 30})
        response = client.get("/oauth/example/callback/", {"state": state, "code": "c"})
        assert response.status_code == 302, response.content[:300]
        token = OAuthToken.objects.get()
        assert timezone.is_naive(token.expires_at)
        assert token.expires_within(60)
        mocked.post(TOKEN_URL, json={**ROTATED, "access_token": "second"})
        assert tokens.get_access_token(user, "example") == "second"


# --- HEAD ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_head_on_the_callback_spends_nothing(alice: Client, mocked: Any) -> None:
    state = start(alice)["state"]
    response = alice.head("/oauth/example/callback/", {"state": state, "code": "c"})
    assert response.status_code == 405
    assert len(mocked.calls) == 0
    assert OAuthState.objects.get().used_at is None


@pytest.mark.django_db
@override_settings(AUTH_CODE_FLOW_AUTHORIZE_ON_GET=True)
def test_head_on_authorize_starts_nothing(alice: Client) -> None:
    assert alice.head("/oauth/example/authorize/").status_code == 200
    assert OAuthState.objects.count() == 0
    assert alice.get("/oauth/example/authorize/").status_code == 302
    assert OAuthState.objects.count() == 1


# --- where a bearer token may go -------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "http://api.provider.example/me",
        "https://evil.example/me",
        "https://api.provider.example.evil.example/me",
        "https://api.provider.example:8443/me",
        "https://provider.example/me",
        "ftp://api.provider.example/me",
        # urllib.parse reads the host after "@"; requests (urllib3) stops at the backslash.
        "https://evil.example\\@api.provider.example/me",
        "https://evil.example\\\\@api.provider.example/me",
        "https://api.provider.example@evil.example/me",
        "https://api.provider.example/me\r\nX: 1",
    ],
)
def test_session_refuses_other_hosts_and_plain_http(user: Any, url: str) -> None:
    make_token(user)
    with responses.RequestsMock() as mocked:  # any request at all would fail the test
        with pytest.raises(UntrustedURLError, match="Refusing"):
            tokens.authorized_session(user, "example").get(url)
        assert len(mocked.calls) == 0


@pytest.mark.django_db
def test_session_sends_under_the_declared_base_only(user: Any, mocked: Any, settings: Any) -> None:
    make_token(user)
    api = mocked.get(API, json={})
    tokens.authorized_session(user, "example").get(API)
    assert api.calls[0].request.headers["Authorization"] == "Bearer stored-access-token-0001"
    providers = {**settings.OAUTH_PROVIDERS}
    providers["example"] = {
        **providers["example"],
        "api_base_urls": ["https://api.provider.example/v2/", "http://127.0.0.1:9999/"],
    }
    settings.OAUTH_PROVIDERS = providers
    with pytest.raises(UntrustedURLError):
        tokens.authorized_session(user, "example").get(API)
    loopback = mocked.get("http://127.0.0.1:9999/x", json={})
    tokens.authorized_session(user, "example").get("http://127.0.0.1:9999/x")
    assert len(loopback.calls) == 1


# --- keys that cannot decrypt ----------------------------------------------------------


@pytest.mark.django_db
def test_undecryptable_token_is_a_reauthorization_for_callers(user: Any, settings: Any) -> None:
    make_token(user)
    settings.SECRET_KEY = "another-secret-key-entirely-0123456789abcdef"
    with pytest.raises(ReauthorizationRequiredError):
        tokens.get_access_token(user, "example")


@pytest.mark.django_db
def test_undecryptable_pending_authorization_is_a_400_page(
    alice: Client, settings: Any, mocked: Any
) -> None:
    state = start(alice)["state"]
    # Keys changed without keeping the old one (the session, signed with SECRET_KEY, stays).
    settings.AUTH_CODE_FLOW_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    response = alice.get("/oauth/example/callback/", {"state": state, "code": "c"})
    assert response.status_code == 400
    assert len(mocked.calls) == 0
    assert OAuthToken.objects.count() == 0


# --- scope after a refresh -------------------------------------------------------------


@pytest.mark.django_db
def test_refresh_without_scope_keeps_the_granted_scope(user: Any, mocked: Any) -> None:
    expired_token(user, scope="read")
    mocked.post(TOKEN_URL, json={"access_token": "new", "token_type": "Bearer"})
    tokens.get_access_token(user, "example")
    assert OAuthToken.objects.get().scope == "read"


# --- error reports ---------------------------------------------------------------------


def report_of_failed_call(call: Any) -> str:
    """Django's error report (text and HTML) of the exception ``call`` raises."""
    try:
        call()
    except Exception:
        reporter = ExceptionReporter(RequestFactory().get("/"), *sys.exc_info())
        return reporter.get_traceback_text() + reporter.get_traceback_html()
    raise AssertionError("no exception")


@pytest.mark.django_db
def test_error_reports_hide_the_tokens_of_a_failed_refresh(
    user: Any, mocked: Any, settings: Any
) -> None:
    stored = expired_token(user)
    secrets = [
        stored.refresh_token,
        stored.access_token,
        settings.OAUTH_PROVIDERS["example"]["client_secret"],
    ]
    mocked.post(TOKEN_URL, status=500, body="down")
    report = report_of_failed_call(lambda: tokens.get_access_token(user, "example"))
    # The frames are there (names), their values are not.
    assert "refresh_token" in report
    assert "AuthCodeFlowError" in report
    for secret in secrets:
        assert secret
        assert secret not in report


# --- a bad endpoint at runtime -----------------------------------------------------------


@pytest.mark.django_db
def test_authorize_with_an_endpoint_the_checks_refuse_is_an_error_page(
    alice: Client, settings: Any, mocked: Any
) -> None:
    settings.OAUTH_PROVIDERS = {
        **settings.OAUTH_PROVIDERS,
        "example": {
            **settings.OAUTH_PROVIDERS["example"],
            "authorization_path": "@evil.example/authorize",
        },
    }
    response = alice.post("/oauth/example/authorize/")
    assert response.status_code == 503
    assert b"evil.example" not in response.content
    assert OAuthState.objects.count() == 0
    assert len(mocked.calls) == 0
