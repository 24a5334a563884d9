from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests
import responses
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.db import router, transaction
from django.test import override_settings
from django.utils import timezone

from auth_code_flow_django import exceptions as exc
from auth_code_flow_django import signals, tokens
from auth_code_flow_django.models import OAuthToken
from auth_code_flow_django.providers import UnknownProviderError

from .conftest import REVOKE_URL, TOKEN_URL, committed, make_token

User = get_user_model()
TOKENS_DB = router.db_for_write(OAuthToken)

pytestmark = pytest.mark.django_db
API = "https://api.provider.example/me"


def body(call: Any) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(str(call.request.body)).items()}


def expiring(user: User, seconds: int, **kwargs: Any) -> OAuthToken:
    return make_token(user, expires_at=timezone.now() + timedelta(seconds=seconds), **kwargs)


def test_valid_token_is_returned_without_a_request(user: User, mocked: Any) -> None:
    expiring(user, 3600)
    assert tokens.get_access_token(user, "example") == "stored-access-token-0001"
    assert len(mocked.calls) == 0


def test_token_without_expiry_is_never_refreshed(user: User, mocked: Any) -> None:
    make_token(user)
    assert tokens.get_access_token(user, "example") == "stored-access-token-0001"
    assert len(mocked.calls) == 0


@pytest.mark.parametrize("seconds", [-10, 0, 59])
def test_expired_or_within_leeway_is_refreshed_with_rotation(
    user: User, mocked: Any, seconds: int
) -> None:
    call = mocked.post(
        TOKEN_URL,
        json={
            "access_token": "new-access",
            "token_type": "Bearer",
            "expires_in": 600,
            "refresh_token": "new-refresh",
        },
    )
    expiring(user, seconds)
    assert tokens.get_access_token(user, "example") == "new-access"
    assert body(call.calls[0])["refresh_token"] == "stored-refresh-token-0002"
    assert body(call.calls[0])["grant_type"] == "refresh_token"
    token = OAuthToken.objects.get()
    assert token.refresh_token == "new-refresh"
    assert not token.expires_within(500)


@override_settings(AUTH_CODE_FLOW_REFRESH_LEEWAY=5)
def test_leeway_setting(user: User, mocked: Any) -> None:
    expiring(user, 30)
    assert tokens.get_access_token(user, "example") == "stored-access-token-0001"
    assert len(mocked.calls) == 0


def test_refresh_without_rotation_keeps_the_refresh_token(user: User, mocked: Any) -> None:
    mocked.post(TOKEN_URL, json={"access_token": "new-access", "token_type": "Bearer"})
    expiring(user, -1)
    tokens.get_access_token(user, "example")
    token = OAuthToken.objects.get()
    assert token.refresh_token == "stored-refresh-token-0002"
    assert token.expires_at is None


def test_invalid_grant_marks_reauthorization_and_keeps_the_row(
    user: User, mocked: Any, caplog: pytest.LogCaptureFixture
) -> None:
    mocked.post(TOKEN_URL, status=400, json={"error": "invalid_grant"})
    expiring(user, -1)
    with caplog.at_level(logging.WARNING), pytest.raises(exc.ReauthorizationRequiredError):
        tokens.get_access_token(user, "example")
    token = OAuthToken.objects.get()
    assert token.needs_reauthorization
    assert token.access_token == "stored-access-token-0001"
    assert "stored-refresh" not in caplog.text
    with pytest.raises(exc.ReauthorizationRequiredError):
        tokens.get_access_token(user, "example")
    assert len(mocked.calls) == 1


def test_expired_without_refresh_token_needs_reauthorization(user: User, mocked: Any) -> None:
    expiring(user, -1, refresh_token=None)
    with pytest.raises(exc.ReauthorizationRequiredError):
        tokens.get_access_token(user, "example")
    assert OAuthToken.objects.get().needs_reauthorization
    assert len(mocked.calls) == 0


def test_provider_failure_during_refresh_keeps_everything(user: User, mocked: Any) -> None:
    mocked.post(TOKEN_URL, status=503, body="down")
    expiring(user, -1)
    with pytest.raises(exc.AuthCodeFlowError):
        tokens.get_access_token(user, "example")
    token = OAuthToken.objects.get()
    assert not token.needs_reauthorization
    assert token.refresh_token == "stored-refresh-token-0002"


def test_not_connected(user: User) -> None:
    with pytest.raises(exc.NotConnectedError):
        tokens.get_access_token(user, "example")
    with pytest.raises(exc.NotConnectedError):
        tokens.refresh(user, "example")
    with pytest.raises(exc.NotConnectedError):
        tokens.authorized_session(user, "example")
    with pytest.raises(exc.NotConnectedError):
        tokens.get_access_token(AnonymousUser(), "example")


def test_not_connected_names_the_provider_and_the_users_pk_not_the_username(
    user: User,
) -> None:
    for call in (tokens.get_access_token, tokens.refresh, tokens.authorized_session):
        with pytest.raises(exc.NotConnectedError) as info:
            call(user, "example")
        assert (
            str(info.value) == f"User pk={user.pk!r} is not connected to the provider 'example'."
        )
        assert (info.value.provider, info.value.user_pk) == ("example", user.pk)
        assert user.get_username() not in repr(info.value)


def test_not_connected_without_a_known_user_still_names_the_provider() -> None:
    error = exc.NotConnectedError(provider="github")
    assert str(error) == "This account is not connected to the provider 'github'."
    assert str(exc.NotConnectedError()) == "This account is not connected to the provider."


def test_an_unknown_provider_is_named(user: User) -> None:
    with pytest.raises(UnknownProviderError) as info:
        tokens.get_access_token(user, "gihtub")
    assert str(info.value) == "No provider 'gihtub' is configured on this site (OAUTH_PROVIDERS)."
    assert info.value.provider == "gihtub"


def test_refresh_of_a_token_marked_for_reauthorization(user: User) -> None:
    token = make_token(user)
    token.needs_reauthorization = True
    token.save()
    with pytest.raises(exc.ReauthorizationRequiredError):
        tokens.refresh(user, "example")


def test_refresh_skips_when_another_worker_already_refreshed(user: User, mocked: Any) -> None:
    expiring(user, 3600)
    assert tokens.refresh(user, "example").access_token == "stored-access-token-0001"
    assert tokens.refresh(user, "example", stale_access_token="an-older-token").access_token == (
        "stored-access-token-0001"
    )
    assert len(mocked.calls) == 0


# --- authorized_session --------------------------------------------------------------


def test_session_sends_the_bearer_token(user: User, mocked: Any) -> None:
    api = mocked.get(API, json={"name": "alice"})
    expiring(user, 3600)
    session = tokens.authorized_session(user, "example")
    response = session.get(API, headers={"X-Other": "1"})
    assert response.json() == {"name": "alice"}
    assert api.calls[0].request.headers["Authorization"] == "Bearer stored-access-token-0001"
    assert api.calls[0].request.headers["X-Other"] == "1"
    assert "stored-access" not in repr(session)


def test_session_refreshes_before_the_request_when_expired(user: User, mocked: Any) -> None:
    mocked.post(
        TOKEN_URL, json={"access_token": "fresh", "token_type": "Bearer", "expires_in": 600}
    )
    api = mocked.get(API, json={})
    expiring(user, -5)
    tokens.authorized_session(user, "example").get(API)
    assert api.calls[0].request.headers["Authorization"] == "Bearer fresh"


def test_session_refreshes_once_and_retries_once_on_401(user: User, mocked: Any) -> None:
    refresh = mocked.post(TOKEN_URL, json={"access_token": "fresh", "token_type": "Bearer"})
    api = mocked.get(API, status=401)
    api_ok = mocked.get(API, json={"ok": True})
    make_token(user)
    response = tokens.authorized_session(user, "example").get(API)
    assert response.json() == {"ok": True}
    assert refresh.call_count == 1
    assert [c.request.headers["Authorization"] for c in mocked.calls if c.request.url == API] == [
        "Bearer stored-access-token-0001",
        "Bearer fresh",
    ]
    assert api.call_count + api_ok.call_count == 2


def test_session_returns_the_second_401_without_looping(user: User) -> None:
    with responses.RequestsMock() as mocked:
        refresh = mocked.post(TOKEN_URL, json={"access_token": "fresh", "token_type": "Bearer"})
        api = mocked.get(API, status=401)
        make_token(user)
        response = tokens.authorized_session(user, "example").get(API)
    assert response.status_code == 401
    assert refresh.call_count == 1
    assert api.call_count == 2


# --- revoke --------------------------------------------------------------------------


def test_revoke_refresh_then_access_then_delete(
    user: User, mocked: Any, django_capture_on_commit_callbacks: Any
) -> None:
    call = mocked.post(REVOKE_URL, body="")
    make_token(user)
    with django_capture_on_commit_callbacks(execute=True):
        assert tokens.revoke(user, "example") is True
    assert [body(c) for c in call.calls] == [
        {
            "token": "stored-refresh-token-0002",
            "token_type_hint": "refresh_token",
            "client_id": "example-client-id",
            "client_secret": "example-client-secret-value",
        },
        {
            "token": "stored-access-token-0001",
            "token_type_hint": "access_token",
            "client_id": "example-client-id",
            "client_secret": "example-client-secret-value",
        },
    ]
    assert OAuthToken.objects.count() == 0
    assert tokens.revoke(user, "example") is False


@pytest.mark.parametrize(
    "failure",
    [{"status": 503, "body": "down"}, {"body": requests.ConnectTimeout("slow")}],
)
def test_revoke_failure_still_deletes_and_warns(
    user: User,
    mocked: Any,
    caplog: pytest.LogCaptureFixture,
    failure: dict[str, Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    mocked.post(REVOKE_URL, **failure)
    make_token(user)
    with (
        caplog.at_level(logging.WARNING, logger="auth_code_flow_django"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert tokens.revoke(user, "example")
    assert OAuthToken.objects.count() == 0
    assert "failed" in caplog.text
    assert "stored-refresh" not in caplog.text
    assert "stored-access" not in caplog.text


def test_revoke_without_revocation_endpoint_only_deletes(user: User, mocked: Any) -> None:
    make_token(user, provider="stackexchange", refresh_token=None)
    assert tokens.revoke(user, "stackexchange")
    assert len(mocked.calls) == 0
    assert OAuthToken.objects.count() == 0


@override_settings(AUTH_CODE_FLOW_REVOKE_ON_DISCONNECT=False)
def test_revoke_setting_off_only_deletes(user: User, mocked: Any) -> None:
    make_token(user)
    assert tokens.revoke(user, "example")
    assert len(mocked.calls) == 0


def test_revoke_for_a_provider_no_longer_configured(user: User, mocked: Any) -> None:
    make_token(user, provider="removed")
    assert tokens.revoke(user, "removed")
    assert OAuthToken.objects.count() == 0


def test_revoke_when_keys_are_lost_deletes_locally(user: User, mocked: Any) -> None:
    make_token(user)
    with override_settings(SECRET_KEY="another-secret-key-entirely-0123456789abcdef"):
        assert tokens.revoke(user, "example")
    assert len(mocked.calls) == 0
    assert OAuthToken.objects.count() == 0


# --- signals -------------------------------------------------------------------------


@pytest.fixture
def received() -> Any:
    events: list[tuple[str, dict[str, Any]]] = []
    handlers = {}
    for name in ("token_obtained", "token_refreshed", "token_revoked"):

        def handler(sender: Any, _name: str = name, **kwargs: Any) -> None:
            events.append((_name, kwargs))

        handlers[name] = handler
        getattr(signals, name).connect(handler)
    yield events
    for name, handler in handlers.items():
        getattr(signals, name).disconnect(handler)


def test_signals_are_sent_after_commit(user: User, mocked: Any, received: Any) -> None:
    mocked.post(TOKEN_URL, json={"access_token": "fresh", "token_type": "Bearer"})
    mocked.post(REVOKE_URL, body="")
    with committed(TOKENS_DB):
        expiring(user, -1)
        assert received == []
    with committed(TOKENS_DB):
        tokens.get_access_token(user, "example")
    with committed(TOKENS_DB):
        tokens.revoke(user, "example")
    assert [name for name, _ in received] == ["token_obtained", "token_refreshed", "token_revoked"]
    for _name, kwargs in received:
        assert kwargs["user"] == user
        assert kwargs["provider"] == "example"
        assert isinstance(kwargs["token"], OAuthToken)
    assert received[1][1]["token"].access_token == "fresh"


def test_no_signal_when_the_transaction_rolls_back(user: User, received: Any) -> None:
    def connect_then_fail() -> None:
        with transaction.atomic(using=TOKENS_DB):
            make_token(user)
            raise RuntimeError("rollback")

    with committed(TOKENS_DB):
        with pytest.raises(RuntimeError):
            connect_then_fail()
        make_token(user, provider="stackexchange")
    assert [kwargs["provider"] for _name, kwargs in received] == ["stackexchange"]


def test_session_bearer_wins_over_netrc_and_is_not_carried_to_other_hosts(
    user: User, mocked: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine api.provider.example login netrc-user password netrc-pass\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    api = mocked.get(API, json={})
    moved = mocked.get(
        "https://api.provider.example/moved",
        status=302,
        headers={"Location": "https://elsewhere.example/x"},
    )
    elsewhere = mocked.get("https://elsewhere.example/x", json={})
    make_token(user)
    session = tokens.authorized_session(user, "example")
    session.get(API, auth=("ignored", "creds"))
    session.get("https://api.provider.example/moved")
    assert api.calls[0].request.headers["Authorization"] == "Bearer stored-access-token-0001"
    assert moved.calls[0].request.headers["Authorization"].startswith("Bearer ")
    assert "Authorization" not in elsewhere.calls[0].request.headers
    assert "stored-access" not in repr(tokens.BearerAuth("stored-access-token-0001"))
