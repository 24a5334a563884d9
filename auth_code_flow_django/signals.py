"""Signals about tokens, each sent after the transaction that changed them commits.

Every signal is sent with ``sender`` (the ``OAuthToken`` class) and the keyword
arguments ``user``, ``provider`` (the slug) and ``token`` (the ``OAuthToken``; for
``token_revoked`` an unsaved copy of the deleted row).

- ``token_obtained``: a user connected (or reconnected) a provider.
- ``token_refreshed``: an access token was refreshed.
- ``token_revoked``: a connection was removed (revoked at the provider when it supports
  it, and deleted).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.dispatch import Signal

if TYPE_CHECKING:
    from .models import OAuthToken

__all__ = ["token_obtained", "token_refreshed", "token_revoked"]

token_obtained = Signal()
token_refreshed = Signal()
token_revoked = Signal()


def send_on_commit(signal: Signal, token: OAuthToken, user: Any, *, using: str) -> None:
    """Send ``signal`` once the transaction on the ``using`` database commits (at once in
    autocommit). ``using`` is where the token was written: with a database router that is
    not ``default``."""

    def send() -> None:
        signal.send(sender=type(token), user=user, provider=token.provider, token=token)

    transaction.on_commit(send, using=using)
