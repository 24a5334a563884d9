"""Concurrency on a real PostgreSQL server (skipped on SQLite; required in CI)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
import responses
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from auth_code_flow_django import tokens
from auth_code_flow_django.models import OAuthState, OAuthToken

from .conftest import TOKEN_URL, make_token, run_in_threads, start, token_json

pytestmark = pytest.mark.postgres

THREADS = 8


def slow_token_endpoint(mocked: responses.RequestsMock, body: dict[str, Any]) -> list[str]:
    """A token endpoint that takes 300 ms, so concurrent callers really overlap."""
    seen: list[str] = []
    lock = threading.Lock()

    def reply(request: Any) -> tuple[int, dict[str, str], str]:
        with lock:
            seen.append(str(request.body))
        time.sleep(0.3)
        import json

        return 200, {"Content-Type": "application/json"}, json.dumps(body)

    mocked.add_callback(responses.POST, TOKEN_URL, callback=reply)
    return seen


def test_concurrent_get_access_token_refreshes_once(postgres: None, mocked: Any) -> None:
    user = User.objects.create_user("alice")
    make_token(user, expires_at=timezone.now() - timedelta(seconds=5))
    seen = slow_token_endpoint(
        mocked,
        {
            "access_token": "refreshed-once",
            "token_type": "Bearer",
            "expires_in": 3600,
            "refresh_token": "rotated",
        },
    )
    results = run_in_threads(THREADS, lambda i: tokens.get_access_token(user, "example"))
    assert results == ["refreshed-once"] * THREADS
    assert len(seen) == 1
    token = OAuthToken.objects.get()
    assert token.refresh_token == "rotated"
    assert not token.is_expired


def test_concurrent_401_retries_refresh_once(postgres: None, mocked: Any) -> None:
    user = User.objects.create_user("alice")
    make_token(user)
    seen = slow_token_endpoint(mocked, {"access_token": "after-401", "token_type": "Bearer"})
    api = "https://api.provider.example/me"

    def reply(request: Any) -> tuple[int, dict[str, str], str]:
        ok = request.headers["Authorization"] == "Bearer after-401"
        return (200 if ok else 401), {}, ""

    mocked.add_callback(responses.GET, api, callback=reply)
    results = run_in_threads(
        THREADS, lambda i: tokens.authorized_session(user, "example").get(api).status_code
    )
    assert results == [200] * THREADS
    assert len(seen) == 1


def test_two_identical_callbacks_exchange_once_and_store_one_row(
    postgres: None, mocked: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from auth_code_flow_django.models import OAuthStateQuerySet

    # Force the worst interleaving: both requests pass validation before either claims.
    both_validated = threading.Barrier(2, timeout=10)
    original_validate = OAuthStateQuerySet.validate

    def validate_then_wait(self: OAuthStateQuerySet, *args: Any) -> OAuthState:
        result = original_validate(self, *args)
        both_validated.wait()
        return result

    monkeypatch.setattr(OAuthStateQuerySet, "validate", validate_then_wait)
    user = User.objects.create_user("alice", password="pw")
    client = Client()
    client.force_login(user)
    seen = slow_token_endpoint(mocked, token_json())
    params = start(client)

    def callback(index: int) -> int:
        other = Client()
        other.cookies = client.cookies
        return other.get(
            "/oauth/example/callback/", {"state": params["state"], "code": "same-code"}
        ).status_code

    results = sorted(run_in_threads(2, callback))
    assert results == [302, 400]
    assert len(seen) == 1
    assert OAuthToken.objects.count() == 1
    assert OAuthState.objects.get().used_at is not None


def test_concurrent_first_connections_of_two_providers_and_one_user(
    postgres: None, mocked: Any
) -> None:
    """Racing inserts of the same (user, provider) row end with one row, no error."""
    from auth_code_flow_django.flow import TokenResponse

    user = User.objects.create_user("alice")
    results = run_in_threads(
        THREADS,
        lambda i: (
            OAuthToken.objects.store(user, "example", TokenResponse(access_token=f"t{i}")).pk
        ),
    )
    assert all(isinstance(r, int) for r in results), results
    assert OAuthToken.objects.count() == 1


def test_concurrent_reconnects_never_pair_an_account_with_another_s_refresh_token(
    postgres: None,
) -> None:
    """Reconnections of one user, half with the stored account and half with another,
    all without a refresh token: whichever wins, the row never keeps the first
    account's refresh token beside the other account."""
    from auth_code_flow_django.flow import TokenResponse
    from auth_code_flow_django.identity import Account

    user = User.objects.create_user("alice")
    for _round in range(5):
        make_token(user, account=Account("A", "a"), refresh_token="refresh-of-a")

        def reconnect(index: int) -> OAuthToken:
            account = Account("A", "a") if index % 2 else Account("B", "b")
            result = TokenResponse(access_token=f"access-{index}-of-{account.id}")
            return OAuthToken.objects.store(user, "example", result, account=account)

        results = run_in_threads(THREADS, reconnect)
        assert all(isinstance(r, OAuthToken) for r in results), results
        token = OAuthToken.objects.get()
        assert token.access_token.endswith(f"-of-{token.account_id}")
        if token.refresh_token is not None:
            assert token.account_id == "A"
