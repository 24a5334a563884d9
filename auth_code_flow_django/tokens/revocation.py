"""Removing a connection: :func:`revoke` (disconnecting) claims the row and deletes
it, and every removal of a row, however it is deleted, revokes its tokens at the
provider (RFC 7009) once committed and sends ``token_revoked``."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models.signals import post_delete
from django.views.decorators.debug import sensitive_variables

from .. import signals
from ..conf import conf
from ..core.rfc9449_dpop import DPoPKey
from ..crypto import TokenDecryptionError
from ..exceptions import AuthCodeFlowError, NotConnectedError
from ..models import OAuthToken
from ..providers import Provider, UnknownProviderError, get_provider
from .claims import _claim
from .rows import _db, _retrying, _tokens, _user_pk

if TYPE_CHECKING:
    from .rows import User

# One logger for the whole package, under the name sites already configure.
logger = logging.getLogger("auth_code_flow_django.tokens")


def _stored_dpop_key(token: OAuthToken) -> DPoPKey | None:
    """The DPoP key of ``token`` to revoke it with (``None`` when it cannot be
    decrypted: the revocation is tried without a proof)."""
    try:
        return token.dpop_key
    except TokenDecryptionError:
        return None


def _stored_pair(config: Provider, token: OAuthToken) -> tuple[str | None, str | None]:
    """The refresh and access token of ``token`` to revoke (``None`` when they cannot
    be decrypted, or when nothing will be revoked)."""
    pair: list[str | None] = [None, None]
    if not (config.supports_revocation and conf.REVOKE_ON_DISCONNECT):
        return None, None
    if not config.revokes(token.token_type):
        # Slack's bot token is the workspace's: revoking it uninstalls the app there.
        logger.info(
            "not revoking the %s %s token of user %s: it is shared beyond its user",
            config.slug,
            token.token_type,
            token.user_id,
        )
        return None, None
    for index, name in enumerate(("refresh_token", "access_token")):
        try:
            pair[index] = getattr(token, name)
        except TokenDecryptionError:
            logger.warning("cannot decrypt the %s of %r to revoke it", name, token)
    return pair[0], pair[1]


def revoke(user: User, provider: str) -> bool:
    """Remove ``user``'s connection to ``provider``: revoke its tokens at the provider
    (RFC 7009) when it supports it, and delete them. A provider failure is logged and
    the tokens are deleted anyway. Returns whether there was a connection to remove.

    The removal claims the row first, so it waits for a refresh in progress and
    revokes the tokens that refresh stored, never an outdated pair.
    """
    try:
        token, claim = _claim(_user_pk(user), provider, lambda token: True, for_removal=True)
    except NotConnectedError:
        return False
    deleted = _remove(token, claim)
    logger.info("removed %s connection of user %s", provider, user.pk)
    return deleted


def _remove(token: OAuthToken, claim: str) -> bool:
    queryset = _tokens().filter(pk=token.pk, refresh_claim=claim)

    def delete() -> int:
        with transaction.atomic(using=_db()):
            return queryset.delete()[0]

    return bool(_retrying(delete))


@sensitive_variables()
def _token_deleted(
    sender: type[OAuthToken], instance: OAuthToken, using: str, **kwargs: Any
) -> None:
    """Every removal of a connection (disconnect, the admin, a deleted user, a queryset
    ``delete()``) revokes it at the provider once committed, and sends ``token_revoked``."""
    try:
        config: Provider | None = get_provider(instance.provider)
    except UnknownProviderError:
        config = None
    pair = (None, None) if config is None else _stored_pair(config, instance)
    dpop_key = _stored_dpop_key(instance) if any(pair) else None
    user = instance.user

    def after_commit() -> None:
        if config is not None:
            _revoke_at_provider(config, *pair, dpop_key=dpop_key)
        signals.send(signals.token_revoked, instance, user)

    transaction.on_commit(after_commit, using=using)


@sensitive_variables()
def _revoke_at_provider(
    config: Provider,
    refresh_token: str | None,
    access_token: str | None,
    *,
    dpop_key: DPoPKey | None = None,
) -> None:
    """Revoke the refresh then the access token (RFC 7009), when the provider can; with
    the connection's DPoP key, each request carries a proof."""
    if not config.supports_revocation or not conf.REVOKE_ON_DISCONNECT:
        return
    try:
        config = config.resolved()
    except AuthCodeFlowError as exc:
        logger.warning("cannot revoke %s tokens: %s", config.slug, exc.description)
        return
    if not config.supports_revocation:
        return
    for hint, value in (("refresh_token", refresh_token), ("access_token", access_token)):
        if not value:
            continue
        try:
            config.flow_manager.revoke(value, token_type_hint=hint, dpop_key=dpop_key)
        except AuthCodeFlowError as exc:
            logger.warning(
                "revoking a %s %s failed (%s); it is deleted locally",
                config.slug,
                hint,
                exc.description,
            )


def connect_signals() -> None:
    post_delete.connect(_token_deleted, sender=OAuthToken, dispatch_uid="acf_token_deleted")
