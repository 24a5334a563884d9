"""The connection's row: reading it, writing it with short statements that wait out
SQLite's locks, and what every other module of the package shares about it (the
database it lives on, how long a claim on it lasts, the credentials it holds)."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from django.db import OperationalError, connections, models, router

from .. import statements
from ..conf import conf
from ..core.rfc9449_dpop import DPoPKey
from ..exceptions import NotConnectedError
from ..models import OAuthToken

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    User = AbstractBaseUser | AnonymousUser

T = TypeVar("T")


#: How often a caller waiting for another's refresh looks at the row again.
POLL_SECONDS = 0.05


def _user_pk(user: User) -> Any:
    if user.pk is None:
        raise NotConnectedError()
    return user.pk


def _db() -> str:
    return router.db_for_write(OAuthToken)


def _tokens() -> models.QuerySet[OAuthToken]:
    # db_manager(): a queryset made on the alias, not made and then cloned to it.
    return OAuthToken.objects.db_manager(_db()).all()


def _retrying(operation: Callable[[], T]) -> T:
    """Run one short statement, waiting out SQLite's locks: it refuses a statement while
    another connection writes ("database table is locked" at once with a shared cache,
    "database is locked" after its busy timeout). Every statement here is brief, so the
    lock is soon gone; any other error, or a lock that lasts, is raised."""
    give_up: float | None = None
    while True:
        try:
            return operation()
        except OperationalError as exc:
            now = time.monotonic()
            give_up = give_up or now + _claim_lifetime().total_seconds()
            # Inside a transaction the failed statement has spoilt it: not ours to retry.
            if "locked" not in str(exc) or now > give_up or connections[_db()].in_atomic_block:
                raise
        time.sleep(POLL_SECONDS)


def _first(queryset: models.QuerySet[OAuthToken]) -> OAuthToken | None:
    return next(iter(queryset[:1]), None)


# (user, provider) is unique: no ORDER BY, which costs more than the read itself.
_TOKEN = statements.Select(
    OAuthToken,
    lambda slot: OAuthToken.objects.order_by().filter(
        user=slot["user"], provider=slot["provider"]
    )[:1],
    user="user",
    provider="provider",
)


def _get_token(user: User, provider: str) -> OAuthToken:
    read = functools.partial(_TOKEN.first, _db(), user=_user_pk(user), provider=provider)
    token = _retrying(read)
    if token is None:
        raise NotConnectedError(provider=provider, user_pk=user.pk)
    return token


def _claim_lifetime() -> timedelta:
    # Longer than any provider request can last (the HTTP deadline), so a claim only
    # expires when its holder died.
    return timedelta(seconds=2 * float(conf.HTTP_TIMEOUT) + 5)


def _credentials(token: OAuthToken) -> tuple[str, DPoPKey | None]:
    """The access token of ``token``, and its DPoP key when the token is bound to one."""
    key = token.dpop_key if token.token_type == "DPoP" else None
    return token.access_token, key
