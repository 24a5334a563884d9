"""The claim on a connection's row, which guards every use of a refresh token.

Whoever wants to refresh (or remove) a connection first writes its claim on the row
with one conditional ``UPDATE``, which SQLite, PostgreSQL and MySQL/MariaDB all
serialise, and commits it at once. Only the claim's holder calls the provider; the
others wait for the row to change and read the new token. No database lock is held
while the provider answers, and the claim expires if its holder dies.
"""

from __future__ import annotations

import functools
import secrets
import time
from collections.abc import Callable
from typing import Any

from django.db import models
from django.utils import timezone

from ..exceptions import AuthCodeFlowError, NotConnectedError, ReauthorizationRequiredError
from ..models import OAuthToken
from .rows import POLL_SECONDS, _claim_lifetime, _first, _retrying, _tokens


class ClaimedElsewhere(Exception):
    """The row a batch read is another caller's now: it holds the row's claim, or
    changed the row since the batch read it."""


def _claim(
    user_id: Any,
    provider: str,
    wanted: Callable[[OAuthToken], bool],
    *,
    for_removal: bool = False,
    read: OAuthToken | None = None,
) -> tuple[OAuthToken, str]:
    """Wait until this caller holds the claim on the row, or the row no longer needs it.

    Returns the row and the claim, or the row and ``""`` when ``wanted`` turned false
    (another caller did the work). Raises :class:`NotConnectedError` when there is no
    row, and :class:`AuthCodeFlowError` when another caller's refresh failed.

    With ``read``, the row as the caller read it, nothing waits: the claim is taken on
    that very row or :class:`ClaimedElsewhere` is raised.
    """
    queryset = _tokens().order_by().filter(user_id=user_id, provider=provider)
    waited_for: str | None = None
    give_up = time.monotonic() + _claim_lifetime().total_seconds() + 5
    while True:
        token = read or _retrying(functools.partial(_first, queryset))
        if token is None:
            raise NotConnectedError(provider=provider, user_pk=user_id)
        if token.needs_reauthorization and not for_removal:
            raise ReauthorizationRequiredError()
        if not wanted(token):
            return token, ""
        if waited_for == token.access_token_encrypted and not token.refresh_claim:
            # The claim we waited for was released and the row did not change.
            raise AuthCodeFlowError("Another attempt to refresh this token just failed.")
        now = timezone.now()
        claim = secrets.token_hex(16)
        # The row as read: the same access token (each refresh and each new grant
        # writes another), no live claim, and not marked meanwhile.
        free = queryset.filter(
            pk=token.pk, access_token_encrypted=token.access_token_encrypted
        ).filter(models.Q(refresh_claim="") | models.Q(refresh_claimed_until__lt=now))
        if not for_removal:
            free = free.filter(needs_reauthorization=False)
        claimed = _retrying(
            functools.partial(
                free.update, refresh_claim=claim, refresh_claimed_until=now + _claim_lifetime()
            )
        )
        if claimed:
            token.refresh_claim = claim
            return token, claim
        if read is not None:
            if not _retrying(queryset.exists):
                raise NotConnectedError(provider=provider, user_pk=user_id)
            raise ClaimedElsewhere()
        waited_for = token.access_token_encrypted
        if time.monotonic() > give_up:
            raise AuthCodeFlowError("Timed out waiting for another refresh of this token.")
        time.sleep(POLL_SECONDS)


def _release(token: OAuthToken, claim: str, **changes: Any) -> int:
    """Write ``changes`` and drop the claim, if this caller still holds it."""
    held = _tokens().filter(pk=token.pk, refresh_claim=claim)
    return _retrying(
        lambda: held.update(
            refresh_claim="", refresh_claimed_until=None, updated_at=timezone.now(), **changes
        )
    )
