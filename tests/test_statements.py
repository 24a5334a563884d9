"""Statements built once by the ORM and run again (auth_code_flow_django.statements).

Each test compares a built statement with the ORM doing the same, on whichever
database the suite runs against (SQLite, PostgreSQL, MariaDB; with and without
``USE_TZ``; with a UUID user model).
"""

from __future__ import annotations

import inspect
import logging
import threading
import types
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connections, router, transaction
from django.db.models.signals import post_save, pre_save
from django.db.models.sql.compiler import SQLInsertCompiler
from django.db.models.sql.query import Query
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from auth_code_flow_django import exceptions as exc
from auth_code_flow_django import statements
from auth_code_flow_django.models import OAuthState, OAuthToken, state_digest

from .conftest import make_token

User = get_user_model()

pytestmark = pytest.mark.django_db

#: For the tests of what the built path keeps: it is taken even in the suite's
#: ``orm_statements`` configuration.
built_path = override_settings(**{statements.FORCE_ORM: False})


def alias() -> str:
    """Where the app's models live (another alias in the router configuration)."""
    return router.db_for_write(OAuthToken)


def by_key() -> statements.Select[OAuthToken]:
    return statements.Select(
        OAuthToken,
        lambda slot: OAuthToken.objects.order_by().filter(
            user=slot["user"], provider=slot["provider"]
        )[:1],
        user="user",
        provider="provider",
    )


def fields(obj: Any) -> dict[str, Any]:
    return {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields}


def test_select_reads_the_row_as_the_orm_does(user: Any, other_user: Any) -> None:
    make_token(user, provider="example", expires_at=timezone.now() + timedelta(hours=1))
    make_token(user, provider="other")
    make_token(other_user, provider="example", access_token="not-this-one")
    statement = by_key()
    with CaptureQueriesContext(connections[alias()]) as queries:
        token = statement.first(alias(), user=user.pk, provider="example")
    expected = OAuthToken.objects.get(user=user, provider="example")
    assert token is not None
    assert fields(token) == fields(expected)
    assert token.expires_at is not None
    assert token.expires_at > timezone.now()
    assert token.needs_reauthorization is False
    assert token.access_token == expected.access_token
    assert token._state.db == alias()
    assert not token._state.adding
    # One statement, seen by Django's query log with the real values in it.
    assert len(queries.captured_queries) == 1
    assert "Slot" not in queries.captured_queries[0]["sql"]
    assert "example" in queries.captured_queries[0]["sql"]


def test_select_finds_nothing(user: Any) -> None:
    make_token(user, provider="example")
    statement = by_key()
    assert statement.first(alias(), user=user.pk, provider="elsewhere") is None
    other = User.objects.create_user("nobody", "n@example.com", "pw")
    assert statement.first(alias(), user=other.pk, provider="example") is None


@built_path
@pytest.mark.django_db(transaction=True)
def test_a_statement_is_built_once_per_connection(
    user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_token(user, provider="example")
    statement = by_key()
    made: list[Any] = []
    original = statement._make

    def counting(conn: Any) -> Any:
        made.append(conn)
        return original(conn)

    monkeypatch.setattr(statement, "_make", counting)
    for _ in range(3):
        assert statement.first(alias(), user=user.pk, provider="example")
    assert made == [connections[alias()]]

    # Another thread has its own connection, and its own converters bound to it.
    found: list[Any] = []

    def elsewhere() -> None:
        try:
            found.append(statement.first(alias(), user=user.pk, provider="example"))
        finally:
            connections.close_all()

    thread = threading.Thread(target=elsewhere)
    thread.start()
    thread.join()
    assert len(made) == 2
    assert made[1] is not made[0]
    assert found[0] is not None
    assert found[0].pk == OAuthToken.objects.get().pk


@built_path
def test_a_settings_change_forgets_built_statements(user: Any) -> None:
    make_token(user, provider="example", expires_at=timezone.now() + timedelta(hours=1))
    statement = by_key()
    before = statement.first(alias(), user=user.pk, provider="example")
    assert before is not None
    assert before.expires_at is not None
    assert timezone.is_aware(before.expires_at) == settings.USE_TZ
    with override_settings(TIME_ZONE=settings.TIME_ZONE):
        # Any change of a watched setting forgets them.
        assert statement.built_on(connections[alias()]) is None
    statement.first(alias(), user=user.pk, provider="example")
    assert statement.built_on(connections[alias()]) is not None
    # MySQL's converters for datetimes depend on USE_TZ when they are chosen.
    with override_settings(USE_TZ=not settings.USE_TZ):
        after = statement.first(alias(), user=user.pk, provider="example")
        expected = OAuthToken.objects.get(user=user, provider="example")
    assert after is not None
    assert after.expires_at is not None
    assert after.expires_at == expected.expires_at
    assert timezone.is_aware(after.expires_at) != settings.USE_TZ


def test_update_sets_values_as_the_orm_does(user: Any) -> None:
    obj, _, _ = OAuthState.objects.start(user, "example", "https://app.example/cb")
    twin, _, _ = OAuthState.objects.start(user, "example", "https://app.example/cb")
    statement = statements.Update(
        OAuthState,
        lambda slot: (
            OAuthState.objects.filter(pk=slot["pk"], used_at__isnull=True),
            {"used_at": slot["now"]},
        ),
        pk="pk",
        now="used_at",
    )
    now = timezone.now()
    assert statement.run(alias(), pk=obj.pk, now=now) == 1
    assert statement.run(alias(), pk=obj.pk, now=now) == 0
    OAuthState.objects.filter(pk=twin.pk).update(used_at=now)
    used, orm = OAuthState.objects.get(pk=obj.pk).used_at, OAuthState.objects.get(pk=twin.pk)
    assert used is not None
    assert used == orm.used_at


def test_a_failed_update_spoils_the_callers_transaction(user: Any) -> None:
    obj, _, _ = OAuthState.objects.start(user, "example", "https://app.example/cb")
    statement = statements.Update(
        OAuthState,
        # A value every database refuses: NULL in a NOT NULL column.
        lambda slot: (OAuthState.objects.filter(pk=slot["pk"]), {"provider": slot["value"]}),
        pk="pk",
        value="provider",
    )
    with transaction.atomic(using=alias()):
        with pytest.raises(IntegrityError, match=r"(?i)null"):
            statement.run(alias(), pk=obj.pk, value=None)
        # As update() does: the caller's transaction is marked, and rolled back.
        assert transaction.get_rollback(using=alias())
    assert OAuthState.objects.get(pk=obj.pk).provider == "example"


def test_validate_and_consume_on_a_narrowed_queryset_keep_its_filters(user: Any) -> None:
    obj, state, _ = OAuthState.objects.start(user, "example", "https://app.example/cb")
    # A queryset narrowed by the caller keeps its conditions: not the built statement.
    with pytest.raises(exc.StateForgeryError):
        OAuthState.objects.filter(provider="other").validate(state, user, "example")
    with pytest.raises(exc.StateAlreadyUsedError):
        OAuthState.objects.filter(provider="other").consume(obj)
    assert OAuthState.objects.validate(state, user, "example").pk == obj.pk
    OAuthState.objects.consume(obj)
    with pytest.raises(exc.StateAlreadyUsedError):
        OAuthState.objects.consume(obj)
    with pytest.raises(exc.StateAlreadyUsedError):
        OAuthState.objects.validate(state, user, "example")
    assert OAuthState.objects.filter(state_digest=state_digest(state)).get().used_at


def test_no_slot_leaks_into_a_query_log(user: Any) -> None:
    obj, state, _ = OAuthState.objects.start(user, "example", "https://app.example/cb")
    with CaptureQueriesContext(connections[alias()]) as queries:
        OAuthState.objects.validate(state, user, "example")
        OAuthState.objects.consume(obj)
    assert len(queries.captured_queries) == 2
    for query in queries.captured_queries:
        assert "Slot" not in query["sql"]
        assert "object at" not in query["sql"]


def test_insert_stores_the_row_as_save_does(user: Any, other_user: Any) -> None:
    from auth_code_flow_django.flow import TokenResponse

    def token_for(owner: Any) -> OAuthToken:
        token = OAuthToken(user=owner, provider="example", account_id="42")
        token.apply(TokenResponse(access_token="access-1", refresh_token="refresh-1"))
        token.expires_at = timezone.now() + timedelta(hours=1)
        return token

    sent: list[Any] = []

    def record(sender: Any, **kwargs: Any) -> None:
        sent.append(sender)

    statement: statements.Insert[OAuthToken] = statements.Insert(OAuthToken)
    ours, theirs = token_for(user), token_for(other_user)
    pre_save.connect(record, sender=OAuthToken)
    post_save.connect(record, sender=OAuthToken)
    try:
        with CaptureQueriesContext(connections[alias()]) as queries:
            statement.run(alias(), ours)
    finally:
        pre_save.disconnect(record, sender=OAuthToken)
        post_save.disconnect(record, sender=OAuthToken)
    theirs.save(force_insert=True, using=alias())
    assert len(queries.captured_queries) == 1
    assert sent == []  # no signal: the library sends token_obtained itself
    # The key the database chose, and auto_now(_add) filled as save() fills them.
    assert ours.pk is not None
    assert ours.pk != theirs.pk
    assert not ours._state.adding
    assert ours._state.db == alias()
    assert ours.created_at is not None
    assert ours.updated_at is not None
    stored = OAuthToken.objects.get(pk=ours.pk)
    other = OAuthToken.objects.get(pk=theirs.pk)
    differ = {"id", "user_id", "created_at", "updated_at", "access_token_encrypted"}
    differ |= {"refresh_token_encrypted", "expires_at", "account_checked_at"}
    assert {k: v for k, v in fields(stored).items() if k not in differ} == {
        k: v for k, v in fields(other).items() if k not in differ
    }
    assert (stored.access_token, stored.refresh_token) == ("access-1", "refresh-1")
    assert stored.created_at == ours.created_at
    assert stored.expires_at == ours.expires_at


def test_a_failed_insert_raises_and_leaves_the_instance_new(user: Any) -> None:
    statement: statements.Insert[OAuthState] = statements.Insert(OAuthState)
    first, state, _ = OAuthState.objects.start(user, "example", "https://app.example/cb")
    twin = OAuthState(
        user=user,
        provider="example",
        state_digest=first.state_digest,  # unique
        code_verifier_encrypted="x",
        redirect_uri="https://app.example/cb",
        expires_at=timezone.now(),
    )
    with transaction.atomic(using=alias()):
        with pytest.raises(IntegrityError):
            statement.run(alias(), twin)
        assert transaction.get_rollback(using=alias())
    assert twin.pk is None
    assert twin._state.adding
    assert OAuthState.objects.count() == 1
    assert OAuthState.objects.validate(state, user, "example").pk == first.pk


@built_path
def test_a_value_the_built_sql_leaves_out_is_refused_when_built(user: Any) -> None:
    # The build ignores its "provider" slot: running it would ignore the value given.
    statement = statements.Select(
        OAuthToken,
        lambda slot: OAuthToken.objects.order_by().filter(user=slot["user"])[:1],
        user="user",
        provider="provider",
    )
    with pytest.raises(ValueError, match="does not place every value"):
        statement.first(alias(), user=user.pk, provider="example")


# The plain ORM path: chosen when the internals a build relies on are not there.

orm_path = override_settings(**{statements.FORCE_ORM: True})


def consume_state() -> statements.Update[OAuthState]:
    return statements.Update(
        OAuthState,
        lambda slot: (
            OAuthState.objects.filter(pk=slot["pk"], used_at__isnull=True),
            {"used_at": slot["now"]},
        ),
        pk="pk",
        now="used_at",
    )


def new_state(user: Any, digest: str) -> OAuthState:
    now = timezone.now()
    return OAuthState(
        user=user,
        provider="example",
        state_digest=digest,
        code_verifier_encrypted="verifier",
        redirect_uri="https://app.example/cb",
        created_at=now,
        expires_at=now + timedelta(minutes=10),
    )


def refusals(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "auth_code_flow_django.statements" and r.levelno == logging.WARNING
    ]


def hide(monkeypatch: pytest.MonkeyPatch, missing: str) -> None:
    """Make an internal the built path uses missing, as a Django release could, while
    the ORM keeps working: the compilers that queries hand out lack ``missing`` (the
    ORM's own calls inside them still find it), or the ``sql`` module that the
    statements use lacks it."""
    if missing in {"InsertQuery", "UpdateQuery"}:
        others = {k: v for k, v in vars(statements.sql).items() if k != missing}
        monkeypatch.setattr(statements, "sql", types.SimpleNamespace(**others))
        return

    class Hiding:
        def __init__(self, compiler: Any) -> None:
            object.__setattr__(self, "compiler", compiler)

        def __getattr__(self, name: str) -> Any:
            if name == missing:
                raise AttributeError(f"{type(self.compiler).__name__} has no {name}")
            return getattr(self.compiler, name)

        def __setattr__(self, name: str, value: Any) -> None:
            setattr(self.compiler, name, value)

    get_compiler = Query.get_compiler
    monkeypatch.setattr(
        Query, "get_compiler", lambda query, *a, **k: Hiding(get_compiler(query, *a, **k))
    )


@built_path
def test_a_select_takes_the_orm_path_when_an_internal_is_missing(
    user: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    make_token(user, provider="example", expires_at=timezone.now() + timedelta(hours=1))
    expected = OAuthToken.objects.get(user=user, provider="example")
    hide(monkeypatch, "get_converters")
    statement = by_key()
    with caplog.at_level(logging.WARNING, logger="auth_code_flow_django.statements"):
        first = statement.first(alias(), user=user.pk, provider="example")
        again = statement.first(alias(), user=user.pk, provider="example")
        nothing = statement.first(alias(), user=user.pk, provider="elsewhere")
    assert statement.built_on(connections[alias()]) is None
    assert first is not None
    assert again is not None
    assert fields(first) == fields(again) == fields(expected)
    assert first._state.db == alias()
    assert nothing is None
    (warning,) = refusals(caplog)  # once, not at every run
    assert "Select statement on auth_code_flow_django.OAuthToken" in warning
    assert "plain ORM query" in warning
    assert "has no get_converters" in warning


@built_path
@pytest.mark.parametrize("missing", ["as_sql", "UpdateQuery"])
def test_an_update_takes_the_orm_path_when_an_internal_is_missing(
    user: Any, missing: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    obj, _, _ = OAuthState.objects.start(user, "example", "https://app.example/cb")
    hide(monkeypatch, missing)
    statement = consume_state()
    now = timezone.now()
    with caplog.at_level(logging.WARNING, logger="auth_code_flow_django.statements"):
        assert statement.run(alias(), pk=obj.pk, now=now) == 1
        assert statement.run(alias(), pk=obj.pk, now=now) == 0
    assert OAuthState.objects.get(pk=obj.pk).used_at == now
    (warning,) = refusals(caplog)
    assert missing in warning
    assert "Update statement on auth_code_flow_django.OAuthState" in warning


@built_path
@pytest.mark.parametrize("missing", ["returning_fields", "InsertQuery", "execute_sql"])
def test_an_insert_takes_the_orm_path_when_an_internal_is_missing(
    user: Any, missing: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    if missing == "execute_sql":
        # An execute_sql() that no longer takes the fields to return (the ORM's own
        # inserts keep working: they would pass them differently).
        original = SQLInsertCompiler.execute_sql

        def execute_sql(self: SQLInsertCompiler, *args: Any, **kwargs: Any) -> Any:
            return original(self, *args, **kwargs)

        execute_sql.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        )
        monkeypatch.setattr(SQLInsertCompiler, "execute_sql", execute_sql)
    else:
        hide(monkeypatch, missing)
    statement: statements.Insert[OAuthState] = statements.Insert(OAuthState)
    sent: list[Any] = []

    def record(sender: Any, **kwargs: Any) -> None:
        sent.append(sender)

    obj = new_state(user, "a" * 64)
    pre_save.connect(record, sender=OAuthState)
    post_save.connect(record, sender=OAuthState)
    try:
        with caplog.at_level(logging.WARNING, logger="auth_code_flow_django.statements"):
            statement.run(alias(), obj)
    finally:
        pre_save.disconnect(record, sender=OAuthState)
        post_save.disconnect(record, sender=OAuthState)
    assert sent == []  # as on the built path: no model signal
    assert obj.pk is not None
    assert not obj._state.adding
    assert obj._state.db == alias()
    assert fields(OAuthState.objects.get(pk=obj.pk)) == fields(obj)
    (warning,) = refusals(caplog)
    assert missing in warning
    assert "Insert statement on auth_code_flow_django.OAuthState" in warning


def test_the_orm_path_is_taken_everywhere_when_forced(
    user: Any, caplog: pytest.LogCaptureFixture
) -> None:
    make_token(user, provider="example")
    statement = by_key()
    with orm_path, caplog.at_level(logging.WARNING):
        assert statement.first(alias(), user=user.pk, provider="example") is not None
        assert statement.built_on(connections[alias()]) is None
    assert refusals(caplog) == []  # forced, not refused: nothing to warn about
    with built_path:
        assert statement.first(alias(), user=user.pk, provider="example") is not None
        assert statement.built_on(connections[alias()]) is not None


@pytest.mark.parametrize("path", [built_path, orm_path], ids=["built", "orm"])
def test_both_paths_read_update_and_insert_alike(
    user: Any, other_user: Any, path: override_settings
) -> None:
    from auth_code_flow_django.flow import TokenResponse

    make_token(user, provider="example", expires_at=timezone.now() + timedelta(hours=1))
    first, _, _ = OAuthState.objects.start(user, "example", "https://app.example/cb")
    token = OAuthToken(user=other_user, provider="example", account_id="7")
    token.apply(TokenResponse(access_token="access-2", refresh_token="refresh-2"))
    state = new_state(user, "b" * 64)
    now = timezone.now()
    insert_token: statements.Insert[OAuthToken] = statements.Insert(OAuthToken)
    insert_state: statements.Insert[OAuthState] = statements.Insert(OAuthState)
    with path:
        read = by_key().first(alias(), user=user.pk, provider="example")
        missing = by_key().first(alias(), user=other_user.pk, provider="example")
        consumed = [consume_state().run(alias(), pk=first.pk, now=now) for _ in range(2)]
        insert_token.run(alias(), token)
        insert_state.run(alias(), state)
        with transaction.atomic(using=alias()):
            with pytest.raises(IntegrityError):
                insert_state.run(alias(), new_state(user, "b" * 64))
            assert transaction.get_rollback(using=alias())
    # What the ORM itself reads back: equal on either path.
    assert read is not None
    assert fields(read) == fields(OAuthToken.objects.get(user=user, provider="example"))
    assert missing is None
    assert consumed == [1, 0]
    assert OAuthState.objects.get(pk=first.pk).used_at == now
    assert token.pk is not None
    assert token.created_at is not None
    assert fields(OAuthToken.objects.get(pk=token.pk)) == fields(token)
    assert OAuthToken.objects.get(pk=token.pk).access_token == "access-2"
    assert fields(OAuthState.objects.get(pk=state.pk)) == fields(state)
    assert OAuthState.objects.count() == 2


@orm_path
def test_the_orm_insert_finds_its_key_where_the_backend_returns_none(
    user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As MySQL does: bulk_create() sets no key; the row's unique key finds it.
    features = type(connections[alias()].features)
    monkeypatch.setattr(features, "can_return_rows_from_bulk_insert", False)
    OAuthState.objects.start(user, "example", "https://app.example/cb")
    statement: statements.Insert[OAuthState] = statements.Insert(OAuthState)
    obj = new_state(user, "c" * 64)
    statement.run(alias(), obj)
    assert obj.pk == OAuthState.objects.get(state_digest="c" * 64).pk
    assert not obj._state.adding
