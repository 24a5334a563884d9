from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from auth_code_flow_django import exceptions as exc
from auth_code_flow_django.flow import TokenResponse
from auth_code_flow_django.identity import Account
from auth_code_flow_django.models import OAuthState, OAuthToken, mask, state_digest

from .conftest import make_token

User = get_user_model()

pytestmark = pytest.mark.django_db


def test_tokens_are_encrypted_at_rest(user: User) -> None:
    make_token(user, access_token="PLAIN-ACCESS-TOKEN-abcdef", refresh_token="PLAIN-REFRESH-xyz")
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM auth_code_flow_django_oauthtoken")
        rows = cursor.fetchall()
    dump = repr(rows)
    assert len(rows) == 1
    assert "PLAIN-ACCESS-TOKEN" not in dump
    assert "PLAIN-REFRESH" not in dump
    token = OAuthToken.objects.get()
    assert token.access_token == "PLAIN-ACCESS-TOKEN-abcdef"
    assert token.refresh_token == "PLAIN-REFRESH-xyz"


def test_state_and_verifier_are_not_stored_in_clear(user: User) -> None:
    obj, state, verifier = OAuthState.objects.start(user, "example", "https://app/cb")
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM auth_code_flow_django_oauthstate")
        dump = repr(cursor.fetchall())
    assert state not in dump
    assert verifier not in dump
    assert obj.code_verifier == verifier
    assert state_digest(state) in dump


def test_str_and_repr_never_show_tokens(user: User) -> None:
    token = make_token(user, access_token="SECRET-ACCESS-1234567890")
    text = str(token) + repr(token)
    assert "SECRET-ACCESS" not in text
    assert "example" in str(token)
    assert "status='active'" in repr(token)


def test_status_and_expiry(user: User) -> None:
    token = make_token(user, expires_at=timezone.now() + timedelta(seconds=30))
    assert not token.is_expired
    assert token.expires_within(60)
    assert not token.expires_within(10)
    assert token.status == OAuthToken.STATUS_ACTIVE
    token.expires_at = timezone.now() - timedelta(seconds=1)
    assert token.is_expired
    assert token.status == OAuthToken.STATUS_EXPIRED
    token.needs_reauthorization = True
    assert token.status == OAuthToken.STATUS_REAUTHORIZE
    token.expires_at = None
    assert not token.is_expired
    assert not token.expires_within(10**6)


def test_querysets(user: User, other_user: User) -> None:
    make_token(user, expires_at=timezone.now() - timedelta(seconds=1))
    make_token(other_user)
    assert list(OAuthToken.objects.expired().values_list("user__username", flat=True)) == ["alice"]
    assert list(OAuthToken.objects.active().values_list("user__username", flat=True)) == [
        "mallory"
    ]


def test_store_inserts_then_updates_one_row(user: User) -> None:
    first = OAuthToken.objects.store(
        user, "example", TokenResponse(access_token="a1", refresh_token="r1", scope="s1")
    )
    first_created = first.created_at
    second = OAuthToken.objects.store(
        user, "example", TokenResponse(access_token="a2", refresh_token="r2", scope="s2")
    )
    assert first.pk == second.pk
    stored = OAuthToken.objects.get()
    assert (stored.access_token, stored.refresh_token, stored.scope) == ("a2", "r2", "s2")
    assert stored.created_at == first_created
    assert stored.updated_at > first_created


def test_a_reconnection_inside_the_callers_transaction_leaves_it_usable(user: User) -> None:
    """A new connection is one INSERT; a reconnection finds the row by that INSERT
    failing. Inside the caller's transaction the failure is rolled back to a savepoint,
    so the caller's transaction goes on (PostgreSQL would refuse every later
    statement)."""
    from django.db import connections, router, transaction
    from django.test.utils import CaptureQueriesContext

    using = router.db_for_write(OAuthToken)
    with CaptureQueriesContext(connections[using]) as queries:
        OAuthToken.objects.store(user, "example", TokenResponse(access_token="a1"))
    statements = [q["sql"].split()[0].upper() for q in queries.captured_queries]
    transaction_control = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE")
    assert [s for s in statements if s not in transaction_control] == ["INSERT"]
    with transaction.atomic(using=using):
        token = OAuthToken.objects.store(
            user, "example", TokenResponse(access_token="a2", refresh_token="r2")
        )
        assert OAuthToken.objects.filter(user=user).count() == 1
    assert token.pk == OAuthToken.objects.get().pk
    assert (token.access_token, token.refresh_token) == ("a2", "r2")


def test_store_without_a_new_refresh_token_keeps_the_old_one(user: User) -> None:
    account = Account("7", "a")
    OAuthToken.objects.store(
        user, "example", TokenResponse(access_token="a1", refresh_token="r1"), account=account
    )
    OAuthToken.objects.filter(user=user).update(needs_reauthorization=True)
    token = OAuthToken.objects.store(
        user, "example", TokenResponse(access_token="a2"), account=account
    )
    assert token.refresh_token == "r1"
    assert OAuthToken.objects.get().refresh_token == "r1"
    assert not OAuthToken.objects.get().needs_reauthorization


@pytest.mark.parametrize(
    ("before", "after", "kept"),
    [
        (Account("7", "a"), Account("7", "a"), True),
        (Account("7", "a"), Account("8", "b"), False),
        (None, None, False),
        (Account("7", "a"), None, False),
        (None, Account("7", "a"), False),
        (Account("", "a"), Account("", "a"), False),
    ],
    ids=[
        "same-account",
        "another-account",
        "both-unknown",
        "now-unknown",
        "was-unknown",
        "empty-ids",
    ],
)
def test_a_refresh_token_is_kept_only_for_the_same_known_account(
    user: User, before: Account | None, after: Account | None, kept: bool
) -> None:
    OAuthToken.objects.store(
        user, "example", TokenResponse(access_token="a1", refresh_token="r1"), account=before
    )
    token = OAuthToken.objects.store(
        user, "example", TokenResponse(access_token="a2"), account=after
    )
    stored = OAuthToken.objects.get()
    assert stored.access_token == "a2"
    assert token.refresh_token == stored.refresh_token == ("r1" if kept else None)


def test_store_returns_the_saved_row(user: User, other_user: User) -> None:
    mine = OAuthToken.objects.store(
        user, "example", TokenResponse(access_token="a", refresh_token="r")
    )
    OAuthToken.objects.store(other_user, "example", TokenResponse(access_token="b"))
    assert mine.pk == OAuthToken.objects.get(user=user).pk
    assert mine.user_id == user.pk
    assert OAuthToken.objects.count() == 2


def test_unique_per_user_and_provider(user: User) -> None:
    from django.db import IntegrityError, transaction

    make_token(user)
    with pytest.raises(IntegrityError), transaction.atomic():
        OAuthToken.objects.create(user=user, provider="example", access_token_encrypted="x")


def test_state_validate_and_consume(user: User, other_user: User) -> None:
    obj, state, _verifier = OAuthState.objects.start(user, "example", "https://app/cb", "/next/")
    with pytest.raises(exc.StateMissingError):
        OAuthState.objects.validate("", user, "example")
    with pytest.raises(exc.StateForgeryError):
        OAuthState.objects.validate("x" * 1000, user, "example")
    with pytest.raises(exc.StateForgeryError):
        OAuthState.objects.validate(state, other_user, "example")
    with pytest.raises(exc.StateForgeryError):
        OAuthState.objects.validate(state, user, "stackexchange")
    assert OAuthState.objects.validate(state, user, "example") == obj
    OAuthState.objects.consume(obj)
    with pytest.raises(exc.StateAlreadyUsedError):
        OAuthState.objects.consume(obj)
    with pytest.raises(exc.StateAlreadyUsedError):
        OAuthState.objects.validate(state, user, "example")


def test_state_expiry_and_purge(user: User) -> None:
    expired, state, _verifier = OAuthState.objects.start(user, "example", "https://app/cb")
    OAuthState.objects.filter(pk=expired.pk).update(expires_at=timezone.now())
    used, _, _verifier = OAuthState.objects.start(user, "example", "https://app/cb")
    OAuthState.objects.consume(used)
    pending, _, _verifier = OAuthState.objects.start(user, "example", "https://app/cb")
    with pytest.raises(exc.StateExpiredError):
        OAuthState.objects.validate(state, user, "example")
    assert list(OAuthState.objects.expired()) == [OAuthState.objects.get(pk=expired.pk)]
    assert "example authorization started" in str(pending)
    if settings.USE_TZ:
        assert str(pending).endswith(" UTC")  # the time says its zone


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, ""), ("", ""), ("short", "••••••••"), ("0123456789abcdefWXYZ", "••••••••WXYZ")],
)
def test_mask(value: str | None, expected: str) -> None:
    assert mask(value) == expected


def test_masked_token_when_keys_are_lost(user: User, settings: object) -> None:
    token = make_token(user, access_token="0123456789abcdef-LAST")
    assert token.masked_access_token() == "••••••••LAST"
    assert token.masked_refresh_token().startswith("••••")
    from django.test import override_settings

    with override_settings(SECRET_KEY="a-completely-different-secret-key-0123456789"):
        assert "cannot decrypt" in token.masked_access_token()


def test_refresh_token_can_be_absent(user: User) -> None:
    token = make_token(user, refresh_token=None)
    assert token.refresh_token is None
    token.refresh_token = None
    assert token.refresh_token_encrypted == ""


def _deadlocking_first_insert(refused: list[str]) -> Any:
    """An execute wrapper that makes the first INSERT of a token the victim of a
    deadlock, as InnoDB may choose when it collides with concurrent upserts."""
    from django.db import OperationalError

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if not refused and sql.startswith("INSERT") and OAuthToken._meta.db_table in sql:
            refused.append(sql)
            raise OperationalError("Deadlock found when trying to get lock")
        return execute(sql, params, many, context)

    return wrapper


@pytest.mark.django_db(transaction=True)
def test_a_first_insert_chosen_as_a_deadlock_victim_falls_back_to_the_upsert(
    user: User,
) -> None:
    from django.db import connections, router

    from auth_code_flow_django.identity import Account

    using = router.db_for_write(OAuthToken)
    make_token(user, account=Account("A", "a"), refresh_token="refresh-of-a")
    refused: list[str] = []
    with connections[using].execute_wrapper(_deadlocking_first_insert(refused)):
        stored = OAuthToken.objects.store(
            user, "example", TokenResponse(access_token="again-of-a"), account=Account("A", "a")
        )
    assert len(refused) == 1
    assert stored.pk == OAuthToken.objects.get().pk
    row = OAuthToken.objects.get()
    assert (row.access_token, row.refresh_token) == ("again-of-a", "refresh-of-a")

    # Nobody connected yet: the upsert inserts the row.
    other = User.objects.create_user("bob", "bob@example.com", "pw-bob")
    refused.clear()
    with connections[using].execute_wrapper(_deadlocking_first_insert(refused)):
        OAuthToken.objects.store(other, "example", TokenResponse(access_token="first-of-bob"))
    assert len(refused) == 1
    assert OAuthToken.objects.get(user=other).access_token == "first-of-bob"


@pytest.mark.django_db(transaction=True)
def test_a_deadlock_inside_the_callers_transaction_is_the_callers(user: User) -> None:
    from django.db import OperationalError, connections, router, transaction

    using = router.db_for_write(OAuthToken)
    refused: list[str] = []
    with (
        connections[using].execute_wrapper(_deadlocking_first_insert(refused)),
        pytest.raises(OperationalError, match="Deadlock"),
        transaction.atomic(using=using),
    ):
        OAuthToken.objects.store(user, "example", TokenResponse(access_token="first"))
    assert len(refused) == 1
    assert not OAuthToken.objects.exists()
