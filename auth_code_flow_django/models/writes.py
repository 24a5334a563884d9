"""How the models write rows: datetimes as the database takes them, and a write run
again when the database chose it as a deadlock's victim."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from django.conf import settings
from django.db import OperationalError, connections
from django.utils import timezone


def stored_datetime(value: datetime) -> datetime:
    """``value`` as the database takes it: aware with ``USE_TZ``, else naive local time
    (as ``timezone.now()`` gives then; backends refuse aware datetimes without it)."""
    if settings.USE_TZ and timezone.is_naive(value):
        return timezone.make_aware(value)
    if not settings.USE_TZ and timezone.is_aware(value):
        return timezone.make_naive(value)
    return value


T = TypeVar("T")


def retry_on_deadlock(using: str, write: Callable[[], T], attempts: int = 3) -> T:
    """Run ``write`` (one transaction), again when the database chose it as the victim of
    a deadlock: InnoDB does so between concurrent upserts of one unique key, and asks
    the client to retry. Inside a caller's transaction the error is the caller's."""
    for attempt in range(attempts):
        try:
            return write()
        except OperationalError as exc:
            last = attempt == attempts - 1
            if last or not is_deadlock(exc) or connections[using].in_atomic_block:
                raise
    raise AssertionError("unreachable")


def is_deadlock(exc: OperationalError) -> bool:
    return "deadlock" in str(exc).lower()
