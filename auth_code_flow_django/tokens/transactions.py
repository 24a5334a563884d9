"""Committing on its own, whatever the caller's transaction does.

Inside ``atomic()`` or ``ATOMIC_REQUESTS`` a refresh runs on a connection of its own,
so a later rollback cannot bring back a refresh token the provider has already
replaced. SQLite in its default journal mode allows no commit while the caller's
transaction has read: there the refresh joins that transaction instead (logged).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from django.db import OperationalError, connections

from .rows import _db

if TYPE_CHECKING:
    from django.db.backends.sqlite3.base import DatabaseWrapper as SQLiteWrapper

# One logger for the whole package, under the name sites already configure.
logger = logging.getLogger("auth_code_flow_django.tokens")

T = TypeVar("T")


def _in_callers_transaction(using: str) -> bool:
    """Whether the caller holds a transaction of its own (``atomic()``, including
    ``ATOMIC_REQUESTS``); the blocks a test case opens around each test do not count,
    as for ``atomic(durable=True)``."""
    connection = connections[using]
    return any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


def _sqlite_blocks_commits(using: str) -> bool:
    """Whether the caller's transaction, once it has read, keeps every other connection
    from committing: SQLite on a file in a rollback-journal mode (its default), unlike
    WAL. A view under ``ATOMIC_REQUESTS`` has read (the session, the user) before it
    asks for a token, so a refresh on a connection of its own would only wait for the
    caller's lock, until it gave up."""
    connection = connections[using]
    if connection.vendor != "sqlite" or cast("SQLiteWrapper", connection).is_in_memory_db():
        return False
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        row = cursor.fetchone()
    return str(row[0]).lower() != "wal"


#: Set while a refresh has joined the caller's transaction: it does not try again.
_joined = threading.local()


_JOIN_WARNING = (
    "SQLite is locked by the caller's transaction: the refresh joins it, and "
    "a rollback of that transaction would lose the new token"
)


def _join_callers_transaction(work: Callable[[], T]) -> T:
    logger.warning(_JOIN_WARNING)
    _joined.active = True
    try:
        return work()
    finally:
        _joined.active = False


def _on_own_connection(using: str, work: Callable[[], T]) -> T:
    """Run ``work`` in autocommit on a connection of its own (a thread's own), so what
    it commits stays committed whatever the caller's transaction does.

    SQLite allows one writer and, in its default journal mode, no commit while another
    connection's transaction has read: there, when the caller's transaction already
    holds a lock, the work joins that transaction instead (logged)."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = work()
        except BaseException as exc:
            outcome["error"] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, name="auth-code-flow-refresh")
    thread.start()
    thread.join()
    error = outcome.get("error")
    if isinstance(error, OperationalError) and connections[using].vendor == "sqlite":
        return _join_callers_transaction(work)
    if error is not None:
        raise error
    return cast("T", outcome["value"])


def _committed_on_its_own(work: Callable[[], T]) -> T:
    """Run a refresh so that it commits whatever the caller's transaction does: on a
    connection of its own inside one, or in the caller's transaction where SQLite
    would otherwise lock it out."""
    using = _db()
    if not _in_callers_transaction(using) or getattr(_joined, "active", False):
        return work()
    if _sqlite_blocks_commits(using):
        return _join_callers_transaction(work)
    return _on_own_connection(using, work)
