"""Signals about tokens, each sent after the transaction that changed them commits.

Every signal is sent with ``sender`` (the ``OAuthToken`` class) and the keyword
arguments ``user``, ``provider`` (the slug), ``token`` (the ``OAuthToken``; for
``token_revoked`` an unsaved copy of the deleted row), ``account_id`` and
``account_name`` (the provider account; ``""`` when unknown).

- ``token_obtained``: a user connected (or reconnected) a provider. When the user
  connected another account than the stored one, ``token_revoked`` is sent first for
  the replaced connection.
- ``token_refreshed``: an access token was refreshed.
- ``token_revoked``: a connection was removed (revoked at the provider when it supports
  it, and deleted).

Connect to these, not to Django's model signals: the library writes its rows with
single statements (upserts, conditional updates, inserts built once per connection),
which send no ``pre_save`` or ``post_save``.
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


def send(signal: Signal, token: OAuthToken, user: Any) -> None:
    """Send ``signal`` about ``token`` now, with the documented keyword arguments."""
    signal.send(
        sender=type(token),
        user=user,
        provider=token.provider,
        token=token,
        account_id=token.account_id,
        account_name=token.account_name,
    )


def send_on_commit(signal: Signal, token: OAuthToken, user: Any, *, using: str) -> None:
    """Send ``signal`` once the transaction on the ``using`` database commits (at once in
    autocommit). ``using`` is where the token was written: with a database router that is
    not ``default``."""
    transaction.on_commit(lambda: send(signal, token, user), using=using)
