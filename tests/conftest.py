from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.test import Client
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from auth_code_flow_django.flow import TokenResponse
from auth_code_flow_django.identity import Account
from auth_code_flow_django.models import OAuthToken

User = get_user_model()

# CI explores a fixed set of examples so that a landing never depends on luck; local
# runs keep drawing new ones.
# No timing in any of them: these machines are shared, so a slow example is noise.
_untimed = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}
hypothesis_settings.register_profile("local", **_untimed)
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True, **_untimed)
hypothesis_settings.load_profile("local")
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

TOKEN_URL = "https://provider.example/oauth/token"
REVOKE_URL = "https://provider.example/oauth/revoke"


def require(piece: str, available: bool, reason: str) -> None:
    """Skip when an optional piece is missing, or fail when CI requires it.

    ``AUTH_CODE_FLOW_TEST_REQUIRE`` is a comma-separated list (``postgres,browser``).
    """
    if available:
        return
    required = {p.strip() for p in os.environ.get("AUTH_CODE_FLOW_TEST_REQUIRE", "").split(",")}
    if piece in required:
        pytest.fail(f"{reason} (required by AUTH_CODE_FLOW_TEST_REQUIRE)")
    pytest.skip(reason)


@pytest.fixture
def user(db: Any) -> User:
    return User.objects.create_user("alice", "alice@example.com", "pw-alice")


@pytest.fixture
def other_user(db: Any) -> User:
    return User.objects.create_user("mallory", "mallory@example.com", "pw-mallory")


@pytest.fixture
def client_for(db: Any) -> Any:
    def make(user: User) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.fixture
def alice(client_for: Any, user: User) -> Client:
    return client_for(user)  # type: ignore[no-any-return]


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def start(client: Client, provider: str = "example", next_url: str = "") -> dict[str, str]:
    """POST to authorize; return the authorization request's query parameters."""
    data = {"next": next_url} if next_url else {}
    response = client.post(f"/oauth/{provider}/authorize/", data)
    assert response.status_code == 302, response.content
    return {k: v[0] for k, v in parse_qs(urlsplit(response["Location"]).query).items()}


def token_json(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "access_token": "access-token-value-1234",
        "token_type": "Bearer",
        "expires_in": 3600,
        "refresh_token": "refresh-token-value-5678",
        "scope": "read write",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def make_token(
    user: User, provider: str = "example", account: Account | None = None, **overrides: Any
) -> OAuthToken:
    result = TokenResponse(
        **{
            "access_token": "stored-access-token-0001",
            "refresh_token": "stored-refresh-token-0002",
            "scope": "read write",
            **overrides,
        }
    )
    return OAuthToken.objects.store(user, provider, result, account=account)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under the ``router`` configuration every database test is transactional and may
    use both aliases.

    ``default`` and ``oauth`` are two connections to one database. Inside the test
    case's transaction neither would see the other's uncommitted rows (and SQLite lets
    only one of them write), so each test commits for real and the tables are emptied
    after it, as on a site.
    """
    if "router" not in django_settings.TEST_CONFIG:
        return
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if item.get_closest_marker("django_db") or {"db", "transactional_db"} & set(fixtures):
            item.add_marker(pytest.mark.django_db(transaction=True, databases="__all__"), False)


@pytest.fixture
def postgres(transactional_db: Any) -> None:
    """The test database is a real PostgreSQL server, with real commits between threads."""
    from django.db import connection

    require(
        "postgres",
        connection.vendor == "postgresql",
        "needs PostgreSQL: set AUTH_CODE_FLOW_TEST_POSTGRES (bash .ci/run starts one)",
    )


@pytest.fixture
def mariadb(transactional_db: Any) -> None:
    """The test database is a real MariaDB (or MySQL) server."""
    from django.db import connection

    require(
        "mariadb",
        connection.vendor == "mysql",
        "needs MariaDB: set AUTH_CODE_FLOW_TEST_MARIADB (bash .ci/run starts one)",
    )


@pytest.fixture
def shared_db(transactional_db: Any, tmp_path: Path) -> Iterator[dict[str, str]]:
    """A test database that other threads and processes see: every write commits.

    PostgreSQL and MariaDB serve the test database itself. SQLite in memory cannot be
    opened by another process (and threads would share one cache with table locks, not
    SQLite's real locking), so each in-memory alias is pointed at a new, migrated file
    for the test. Yields ``{alias: database name}`` for processes to open.
    """
    from django.core.management import call_command
    from django.db import connections

    swapped = []
    for alias in connections:
        conn = connections[alias]
        if conn.vendor == "sqlite" and conn.is_in_memory_db():
            # The in-memory database lives as long as its connection: keep it aside.
            swapped.append((conn, conn.settings_dict["NAME"], conn.connection))
    path = str(tmp_path / "shared.sqlite3")
    for conn, _name, _raw in swapped:
        conn.connection = None
        # The one settings dict of the alias: connections of other threads see it too.
        conn.settings_dict["NAME"] = path
    try:
        if swapped:
            call_command("migrate", verbosity=0, interactive=False)
        yield {alias: connections[alias].settings_dict["NAME"] for alias in connections}
    finally:
        for conn, name, raw in swapped:
            conn.close()
            conn.settings_dict["NAME"] = name
            conn.connection = raw


@contextmanager
def committed(alias: str) -> Iterator[None]:
    """A block whose writes on ``alias`` are committed at its end, with their on-commit
    callbacks run: a transaction of its own in a transactional test; inside the test
    case's transaction, which never commits, the callbacks are run as if it had."""
    from django.db import connections, transaction
    from django.test import TestCase

    if connections[alias].in_atomic_block:
        with TestCase.captureOnCommitCallbacks(using=alias, execute=True):
            yield
    else:
        with transaction.atomic(using=alias):
            yield


def run_in_threads(count: int, target: Any) -> list[Any]:
    """Run ``target(index)`` in ``count`` threads released at once; return results or
    exceptions, in index order. Each thread closes its own database connection."""
    import threading

    from django.db import connection

    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = target(index)
        except BaseException as exc:
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def sqlite_in_wal_mode() -> None:
    """In its default journal mode SQLite lets no connection commit while another's
    transaction has read, so a refresh inside the caller's transaction can be committed
    on its own only in WAL mode (documented: ``init_command`` ``PRAGMA
    journal_mode=WAL``). The mode is a property of the file: every process sees it."""
    from django.db import connections

    for alias in connections:
        if connections[alias].vendor == "sqlite":
            with connections[alias].cursor() as cursor:
                cursor.execute("PRAGMA journal_mode=WAL")
