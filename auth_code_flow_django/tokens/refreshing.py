"""Refreshing under the row's claim: :func:`get_access_token` (refreshed first when
due), :func:`refresh`, the background command's :func:`refresh_read`, the checks on an
OpenID Connect refresh reply, and revoking what a refresh obtained but could not
store."""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.db import connections
from django.views.decorators.debug import sensitive_variables

from .. import identity, signals
from ..conf import conf
from ..core import oidc_id_tokens
from ..core.oidc_id_tokens import IDTokenSubjectMismatchError
from ..core.rfc9449_dpop import DPoPKey
from ..crypto import TokenDecryptionError
from ..exceptions import InvalidGrantError, NotConnectedError, ReauthorizationRequiredError
from ..models import OAuthToken
from ..providers import Provider, get_provider
from .accounts import _account_due, _id_fields, _look_up_account, _name_fields
from .claims import _claim, _release
from .revocation import _revoke_at_provider
from .rows import _db, _first, _get_token, _retrying, _tokens, _user_pk
from .transactions import (
    _committed_on_its_own,
    _in_callers_transaction,
    _on_own_connection,
    _sqlite_blocks_commits,
)

if TYPE_CHECKING:
    from ..core.rfc6749_token_replies import TokenResponse
    from .rows import User

# One logger for the whole package, under the name sites already configure.
logger = logging.getLogger("auth_code_flow_django.tokens")


@sensitive_variables()
def get_access_token(user: User, provider: str) -> str:
    """A valid access token of ``user`` for ``provider``, refreshed first if it expires
    within ``AUTH_CODE_FLOW_REFRESH_LEEWAY`` seconds. One query when no refresh is due."""
    return _current_token(user, provider).access_token


def _current_token(user: User, provider: str) -> OAuthToken:
    get_provider(provider)
    using = _db()
    if (
        connections[using].vendor == "sqlite"
        and _in_callers_transaction(using)
        and not _sqlite_blocks_commits(using)
    ):
        # On SQLite a read in the caller's transaction would lock out the refresh's
        # own connection: read there too.
        return _on_own_connection(using, lambda: _usable_token(user, provider))
    return _usable_token(user, provider)


def _usable_token(user: User, provider: str) -> OAuthToken:
    """``user``'s connection to ``provider``, refreshed first if due."""
    token = _get_token(user, provider)
    if token.needs_reauthorization:
        raise ReauthorizationRequiredError()
    if token.expires_within(conf.REFRESH_LEEWAY):
        token = refresh(user, provider)
    config = get_provider(provider)
    if _account_due(config, token):
        _look_up_account(config, token)
    return token


@sensitive_variables()
def refresh(
    user: User,
    provider: str,
    *,
    stale_access_token: str | None = None,
    within: int | None = None,
) -> OAuthToken:
    """Refresh ``user``'s token for ``provider`` unless another caller just did.

    Without ``stale_access_token`` the token is refreshed when it expires within
    ``within`` seconds (default: the leeway setting); with it (an API just refused
    that token), when the stored access token is still that one. Concurrent callers,
    in threads or processes, cause one request to the provider and all get its result.
    When the user connects again while the refresh is in flight, the caller gets the
    new connection's token (what the refresh obtained is revoked where the new
    connection does not hold it); when the connection is removed meanwhile, raises
    :class:`.NotConnectedError`.

    For an OpenID Connect provider, an ID token in the reply must be valid and name the
    connection's account (OpenID Connect Core 12.2), or nothing is stored: an invalid
    one raises
    :class:`~auth_code_flow_django.core.oidc_id_tokens.InvalidIDTokenError` (the
    stored tokens are kept, as for any provider failure), and one naming another
    account raises
    :class:`~auth_code_flow_django.core.oidc_id_tokens.IDTokenSubjectMismatchError`,
    marks the connection as needing re-authorization and revokes what the reply gave.
    Both are
    :class:`.AuthCodeFlowError`.
    """
    config = get_provider(provider)
    user_id = _user_pk(user)
    leeway = conf.REFRESH_LEEWAY if within is None else within

    def due(token: OAuthToken) -> bool:
        if stale_access_token is None:
            return token.expires_within(leeway)
        return token.access_token == stale_access_token

    return _committed_on_its_own(lambda: _refresh(user, user_id, config, due))


@sensitive_variables()
def refresh_read(token: OAuthToken, *, within: int) -> OAuthToken:
    """Refresh ``token``, a row as a batch (``oauth_refresh_tokens``) just read it with
    its user, if it expires within ``within`` seconds. Never waits: when the row cannot
    be claimed as it was read (another caller holds its claim, or refreshed, reconnected
    or marked it meanwhile), raises :class:`ClaimedElsewhere` at once, and that caller
    does the work. So two batches over the same rows refresh each one once, side by
    side; a caller of :func:`refresh` or :func:`get_access_token` still waits for the
    batch's refresh of its row. Raises what :func:`refresh` raises otherwise."""
    config = get_provider(token.provider)

    def due(row: OAuthToken) -> bool:
        return row.expires_within(within)

    return _committed_on_its_own(lambda: _refresh(token.user, token.user_id, config, due, token))


@sensitive_variables()
def _refresh(
    user: User,
    user_id: Any,
    config: Provider,
    due: Callable[[OAuthToken], bool],
    read: OAuthToken | None = None,
) -> OAuthToken:
    token, claim = _claim(user_id, config.slug, due, read=read)
    if not claim:
        return token
    result: TokenResponse | None = None
    try:
        refresh_token = token.refresh_token
        if not refresh_token:
            raise InvalidGrantError("There is no refresh token.")
        dpop_key = token.dpop_key
        result = config.flow_manager.refresh(
            refresh_token, granted_scope=token.scope, dpop_key=dpop_key
        )
        _check_refreshed_id_token(config, token, result)
    except InvalidGrantError as exc:
        logger.warning(
            "refresh of %s token for user %s refused (%s); needs re-authorization",
            config.slug,
            user_id,
            exc.error,
        )
        _release(token, claim, needs_reauthorization=True)
        raise ReauthorizationRequiredError() from None
    except IDTokenSubjectMismatchError:
        # The provider vouches that this grant is another account's: nothing of it is
        # stored, the connection waits for its user to connect again, and the tokens
        # just issued (the grant itself when the refresh token was not rotated) are
        # revoked where the provider can; after a reconnection meanwhile, only what the
        # new connection does not hold.
        logger.warning(
            "refresh of %s token for user %s refused: its ID token names another "
            "account; needs re-authorization",
            config.slug,
            user_id,
        )
        released = _release(token, claim, needs_reauthorization=True)
        assert result is not None
        assert refresh_token is not None
        if not released:
            _revoke_unstored(config, _row(config, user_id), refresh_token, result, dpop_key)
        elif config.revokes(result.token_type):
            _revoke_at_provider(
                config, result.refresh_token, result.access_token, dpop_key=dpop_key
            )
        raise
    except BaseException:
        _release(token, claim)
        raise
    token.apply(result)
    written = _release(
        token,
        claim,
        access_token_encrypted=token.access_token_encrypted,
        refresh_token_encrypted=token.refresh_token_encrypted,
        token_type=token.token_type,
        scope=token.scope,
        expires_at=token.expires_at,
        extra_fields=token.extra_fields,
        needs_reauthorization=False,
    )
    if not written:
        # Removed or reconnected meanwhile: this new grant is stored nowhere, unless a
        # reconnection of the same account kept the refresh token this refresh used
        # (and the server has just rotated it away).
        row = _adopt_rotated(config, _row(config, user_id), refresh_token, result)
        _revoke_unstored(config, row, refresh_token, result, dpop_key)
        return _reconnected(config, user_id, row)
    signals.send_on_commit(signals.token_refreshed, token, user, using=_db())
    logger.info("refreshed %s token for user %s", config.slug, user_id)
    return token


@sensitive_variables()
def _row(config: Provider, user_id: Any) -> OAuthToken | None:
    """The connection's row as it is now (after a refresh lost its claim)."""
    return _retrying(
        functools.partial(
            _first, _tokens().order_by().filter(user_id=user_id, provider=config.slug)
        )
    )


def _adopt_rotated(
    config: Provider, row: OAuthToken | None, used_refresh_token: str, result: TokenResponse
) -> OAuthToken | None:
    """``row``, given the refresh token a rotating refresh obtained when it still holds
    the one that refresh used: a reconnection of the same account kept it while the
    refresh was in flight, and the server has rotated it away. Conditional on the row
    being unchanged and unclaimed since it was read."""
    rotated = result.refresh_token
    if row is None or row.needs_reauthorization or rotated in (None, used_refresh_token):
        return row
    try:
        held = row.refresh_token
    except TokenDecryptionError:
        return row
    if held != used_refresh_token:
        return row
    stored = row.refresh_token_encrypted
    row.refresh_token = rotated
    adopted = _retrying(
        lambda: (
            _tokens()
            .filter(pk=row.pk, refresh_token_encrypted=stored, refresh_claim="")
            .update(refresh_token_encrypted=row.refresh_token_encrypted)
        )
    )
    if not adopted:
        row.refresh_token_encrypted = stored  # not held: revoked as any unstored token
        return row
    logger.info(
        "%s connection of user %s was made again during its refresh; it keeps the "
        "rotated refresh token",
        config.slug,
        row.user_id,
    )
    return row


def _reconnected(config: Provider, user_id: Any, current: OAuthToken | None) -> OAuthToken:
    """``current``, the connection a reconnection stored while a refresh was in flight:
    its tokens are as new as the refresh's would have been, so the caller gets them.
    Raises :class:`.NotConnectedError` when the connection was removed instead, and
    :class:`.ReauthorizationRequiredError` when it waits for its user."""
    if current is None:
        raise NotConnectedError(provider=config.slug, user_pk=user_id)
    if current.needs_reauthorization:
        raise ReauthorizationRequiredError()
    logger.info(
        "%s connection of user %s was made again during its refresh; using it",
        config.slug,
        user_id,
    )
    return current


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).digest()


@sensitive_variables()
def _revoke_unstored(
    config: Provider,
    row: OAuthToken | None,
    used_refresh_token: str,
    result: TokenResponse,
    dpop_key: DPoPKey | None = None,
) -> None:
    """Revoke what a refresh that lost its claim obtained, but nothing the connection
    (``row``, as it is now) stored meanwhile holds (a reconnection may have kept the
    same refresh token, or even been given the same access token).

    A reply that did not rotate the refresh token gave back the grant it used, which
    is never revoked here: the row may keep it, or the removal that took the row has
    revoked it already. While the row keeps that grant, the new access token is not
    revoked either: a server may revoke the whole grant with one of its access tokens
    (RFC 7009 2.1 allows it, and some do), and that token is held nowhere and expires."""
    if not config.revokes(result.token_type):
        return  # shared beyond its user (Slack's workspace bot token)
    held: set[bytes] = set()
    if row is not None:
        for name in ("refresh_token", "access_token"):
            try:
                value = getattr(row, name)
            except TokenDecryptionError:
                continue
            if value:
                held.add(_digest(value))
    rotated = result.refresh_token not in (None, used_refresh_token)
    refresh_token = result.refresh_token if rotated else None
    if refresh_token is not None and _digest(refresh_token) in held:
        refresh_token = None
    access_token: str | None = result.access_token
    if (
        _digest(result.access_token) in held
        or (not rotated and _digest(used_refresh_token) in held)
        or (rotated and refresh_token is None)
    ):
        # The row keeps this grant (its refresh token): revoking the access token
        # could revoke the grant with it.
        access_token = None
    _revoke_at_provider(config, refresh_token, access_token, dpop_key=dpop_key)


def _check_refreshed_id_token(config: Provider, token: OAuthToken, result: TokenResponse) -> None:
    """An ID token in a refresh reply (validated by the flow manager) must be the
    original ID token's subject's, with its nonce or none (OpenID Connect Core 12.2).
    A connection that recorded no ID token (made before they were recorded, or without
    one) is compared by its account, read from the claims as when connecting. Raises
    :class:`~auth_code_flow_django.core.oidc_id_tokens.IDTokenSubjectMismatchError` or
    :class:`~auth_code_flow_django.core.oidc_id_tokens.InvalidIDTokenError`."""
    claims = result.id_token_claims
    if claims is None:
        return
    if token.id_token_subject:
        oidc_id_tokens.check_refreshed_claims(
            claims,
            subject=token.id_token_subject,
            original_nonce_digest=token.id_token_nonce_digest,
        )
    elif token.account_id:
        account = identity.account_from(claims, _id_fields(config), _name_fields(config))
        if account is not None and account.id != token.account_id:
            raise IDTokenSubjectMismatchError()
