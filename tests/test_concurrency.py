"""Concurrency on the run's database, committed for real: SQLite (a file), PostgreSQL
or MariaDB. Callers are threads of this process or separate processes; the token
endpoint is a real HTTP server on loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import responses
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from auth_code_flow_django import tokens
from auth_code_flow_django.models import OAuthState, OAuthToken

from .concurrency_worker import call
from .conftest import (
    TOKEN_URL,
    make_token,
    run_in_threads,
    sqlite_in_wal_mode,
    start,
    token_json,
)
from .loopback import QuietHandler, serving

User = get_user_model()

THREADS = 8
PROCESSES = 4
ROOT = Path(__file__).resolve().parent.parent


def slow_token_endpoint(mocked: responses.RequestsMock, body: dict[str, Any]) -> list[str]:
    """A token endpoint that takes 300 ms, so concurrent callers really overlap."""
    seen: list[str] = []
    lock = threading.Lock()

    def reply(request: Any) -> tuple[int, dict[str, str], str]:
        with lock:
            seen.append(str(request.body))
        time.sleep(0.3)
        return 200, {"Content-Type": "application/json"}, json.dumps(body)

    mocked.add_callback(responses.POST, TOKEN_URL, callback=reply)
    return seen


class TokenEndpoint(ThreadingHTTPServer):
    """A token endpoint on loopback that records each request's form, takes 300 ms
    (so that concurrent callers overlap) and answers a rotated token."""

    daemon_threads = True
    rotated = {
        "access_token": "rotated-access-token",
        "token_type": "Bearer",
        "expires_in": 3600,
        "refresh_token": "rotated-refresh-token",
        "scope": "read write",
    }

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _TokenHandler)
        self.forms: list[dict[str, list[str]]] = []
        self.lock = threading.Lock()

    @property
    def base_uri(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _TokenHandler(QuietHandler):
    server: TokenEndpoint

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with self.server.lock:
            self.server.forms.append(parse_qs(body.decode()))
        time.sleep(0.3)
        self.reply_json(self.server.rotated)


@pytest.fixture
def endpoint(settings: Any) -> Iterator[TokenEndpoint]:
    """The ``example`` provider's token endpoint, served on loopback."""
    with serving(TokenEndpoint()) as server:
        providers = json.loads(json.dumps(django_settings.OAUTH_PROVIDERS))
        providers["example"]["base_uri"] = server.base_uri
        settings.OAUTH_PROVIDERS = providers
        # Ample for a 300 ms reply on loopback; a caller that waits for a lock gives up
        # sooner than with the default, so a failure is reported quickly.
        settings.AUTH_CODE_FLOW_HTTP_TIMEOUT = 2.0
        yield server


@pytest.fixture
def expired(shared_db: dict[str, str]) -> Any:
    """A user whose ``example`` token expired: refreshing it is due."""
    user = User.objects.create_user("alice")
    make_token(user, expires_at=timezone.now() - timedelta(seconds=5))
    return user


def run_in_processes(count: int, job: dict[str, Any], databases: dict[str, str]) -> list[Any]:
    """Run tests/concurrency_worker.py in ``count`` processes released at once; return
    each one's JSON result, in start order."""
    env = {**os.environ, "AUTH_CODE_FLOW_TEST_DATABASE_NAMES": json.dumps(databases)}
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.concurrency_worker", json.dumps(job)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]
    try:
        for worker in workers:
            assert worker.stdout is not None
            line = worker.stdout.readline()
            assert line == "ready\n", worker.communicate(timeout=60)
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        results = []
        for worker in workers:
            out, err = worker.communicate(timeout=60)
            assert worker.returncode == 0, err
            results.append(json.loads(out))
        return results
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()


def assert_refreshed_once(endpoint: TokenEndpoint) -> None:
    """One refresh request, with the stored refresh token; its result is stored."""
    assert len(endpoint.forms) == 1, endpoint.forms
    assert endpoint.forms[0]["grant_type"] == ["refresh_token"]
    assert endpoint.forms[0]["refresh_token"] == ["stored-refresh-token-0002"]
    token = OAuthToken.objects.get()
    assert token.access_token == "rotated-access-token"
    assert token.refresh_token == "rotated-refresh-token"
    assert not token.is_expired


@pytest.mark.parametrize("rolled_back", [False, True], ids=["autocommit", "rolled-back-atomic"])
def test_threads_refresh_once_and_all_get_the_new_token(
    expired: Any, endpoint: TokenEndpoint, rolled_back: bool
) -> None:
    """N threads on one expired token: one refresh request, every caller gets its result.
    Inside a request transaction that a later failure rolls back (ATOMIC_REQUESTS), the
    rotated refresh token the provider issued stays stored all the same."""
    if rolled_back:
        sqlite_in_wal_mode()
    results = run_in_threads(
        THREADS, lambda i: call(expired.pk, "example", rolled_back=rolled_back)
    )
    assert results == ["rotated-access-token"] * THREADS
    assert_refreshed_once(endpoint)


@pytest.mark.parametrize("rolled_back", [False, True], ids=["autocommit", "rolled-back-atomic"])
def test_processes_refresh_once_and_all_get_the_new_token(
    expired: Any, endpoint: TokenEndpoint, shared_db: dict[str, str], rolled_back: bool
) -> None:
    """The same with separate OS processes, as with several workers of a site."""
    if rolled_back:
        sqlite_in_wal_mode()
    job = {
        "user": str(expired.pk),
        "provider": "example",
        "settings": {
            name: getattr(django_settings, name)
            for name in ("OAUTH_PROVIDERS", "AUTH_CODE_FLOW_HTTP_TIMEOUT")
        },
        "rolled_back": rolled_back,
    }
    results = run_in_processes(PROCESSES, job, shared_db)
    assert results == [{"token": "rotated-access-token"}] * PROCESSES
    assert_refreshed_once(endpoint)


def test_concurrent_401_retries_refresh_once(shared_db: Any, mocked: Any) -> None:
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
    shared_db: Any, mocked: Any, monkeypatch: pytest.MonkeyPatch
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
    shared_db: Any, mocked: Any
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
    shared_db: Any,
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


@pytest.mark.parametrize("journal", ["delete", "wal"])
def test_a_refresh_in_a_transaction_that_has_read_does_not_wait_for_that_transaction(
    expired: Any, endpoint: TokenEndpoint, journal: str, caplog: pytest.LogCaptureFixture
) -> None:
    """As in a view under ATOMIC_REQUESTS: the caller's transaction has read (the
    session, the user) when the token is due. In SQLite's default journal mode
    (``delete``) no other connection can commit beside that transaction, so the refresh
    joins it at once, with a warning, instead of waiting on a connection of its own for
    a lock its own caller holds; in WAL mode, and on PostgreSQL and MariaDB, it commits
    on its own connection."""
    from django.db import connection, transaction

    if connection.vendor == "sqlite":
        # The mode is the file's: set it either way (an earlier test may have set WAL).
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA journal_mode={journal}")
    started = time.monotonic()
    with transaction.atomic():
        User.objects.get(pk=expired.pk)
        token = tokens.get_access_token(expired, "example")
    assert token == "rotated-access-token"
    assert time.monotonic() - started < 3
    assert_refreshed_once(endpoint)
    joined = "the refresh joins it" in caplog.text
    assert joined == (connection.vendor == "sqlite" and journal == "delete"), caplog.text
