"""Using stored tokens: get a valid access token, call an API, revoke.

One mechanism guards every use of a refresh token, on every database: a **claim**.
Whoever wants to refresh (or remove) a connection first writes its claim on the row
with one conditional ``UPDATE``, which SQLite, PostgreSQL and MySQL/MariaDB all
serialise, and commits it at once. Only the claim's holder calls the provider; the
others wait for the row to change and read the new token. No database lock is held
while the provider answers, and the claim expires if its holder dies.

The claim and the new token are committed on their own, whatever the caller's
transaction does: inside ``atomic()`` or ``ATOMIC_REQUESTS`` the refresh runs on a
connection of its own, so a later rollback cannot bring back a refresh token the
provider has already replaced.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import secrets
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar, cast
from urllib.parse import urlsplit

import requests
from django.db import OperationalError, connections, models, router, transaction
from django.db.models.signals import post_delete
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from . import identity, signals, statements
from .conf import conf
from .core import oidc_id_tokens
from .core.endpoint_urls import absolute_url, check_base_uri, is_loopback
from .core.oidc_id_tokens import IDTokenSubjectMismatchError
from .core.rfc9449_dpop import NONCES, DPoPAuth, DPoPKey, nonce_challenge
from .crypto import TokenDecryptionError
from .exceptions import (
    AuthCodeFlowError,
    BaseAuthCodeFlowError,
    EndpointURLError,
    InvalidGrantError,
    NotConnectedError,
    ReauthorizationRequiredError,
    UntrustedURLError,
)
from .models import OAuthToken
from .providers import Provider, UnknownProviderError, get_provider

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
    from django.db.backends.sqlite3.base import DatabaseWrapper as SQLiteWrapper

    from .core.rfc6749_token_replies import TokenResponse

    User = AbstractBaseUser | AnonymousUser

__all__ = [
    "OAuthSession",
    "authorized_session",
    "connect",
    "fetch_account",
    "get_access_token",
    "identify",
    "refresh",
    "revoke",
]

logger = logging.getLogger("auth_code_flow_django.tokens")

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


# --- who is connected -----------------------------------------------------------------


def _id_fields(config: Provider) -> tuple[str, ...]:
    return identity.field_paths(config.identity.get("id"), identity.DEFAULT_ID_FIELDS)


def _name_fields(config: Provider) -> tuple[str, ...]:
    return identity.field_paths(config.identity.get("name"), identity.DEFAULT_NAME_FIELDS)


@sensitive_variables()
def identify(
    config: Provider, result: TokenResponse, *, dpop_key: DPoPKey | None = None
) -> identity.Account | None:
    """The provider account ``result`` belongs to, or ``None`` when unknown.

    Read from the ``id_token`` claims when they name one; else from the provider's
    identity request (``identity["url"]``); else from the token reply itself (an
    ``identity`` without ``url``, such as Slack's); else, for a provider without
    ``identity``, from its OpenID Connect UserInfo endpoint (set, or discovered). See
    :func:`fetch_account`.
    """
    if result.id_token_claims:
        account = identity.account_from(
            result.id_token_claims, _id_fields(config), _name_fields(config)
        )
        if account is not None:
            return account
    if config.identity and not config.identity.get("url"):
        account = identity.account_from(result.extras, _id_fields(config), _name_fields(config))
        if account is None:
            logger.warning("the %s token reply names no account", config.slug)
        return account
    return fetch_account(config, result.access_token, dpop_key=dpop_key)


def _identity_url(config: Provider) -> tuple[str, bool] | None:
    """The URL to ask who is connected, and whether it must be under the provider's
    ``api_base_urls``: ``identity["url"]`` must; the UserInfo endpoint of a provider
    without ``identity`` is the provider's own, like its token endpoint."""
    url = config.identity.get("url")
    if url:
        return url, True
    if not config.identity and config.userinfo_endpoint:
        return config.userinfo_endpoint, False
    return None


@sensitive_variables()
def fetch_account(
    config: Provider, access_token: str, *, dpop_key: DPoPKey | None = None
) -> identity.Account | None:
    """Ask the provider's identity URL (or UserInfo endpoint) whose ``access_token`` it
    is; ``None`` when it has none, or (logged) when the request fails or the reply
    names no account. The token goes only to https URLs (http on loopback), and an
    ``identity["url"]`` only under the provider's ``api_base_urls``."""
    target = _identity_url(config)
    if target is None:
        return None
    url, api = target
    try:
        if api:
            check_api_url(config, url)
        else:
            absolute_url(url, "userinfo_endpoint")
        document = identity.fetch_identity_document(
            config.flow_manager,
            access_token,
            url,
            params=config.identity.get("params"),
            token_param=config.identity.get("token_param"),
            dpop_key=dpop_key,
        )
    except (AuthCodeFlowError, UntrustedURLError, EndpointURLError) as exc:
        logger.warning(
            "looking up the %s account failed (%s); it is looked up again later",
            config.slug,
            exc.description,
        )
        return None
    account = identity.account_from(document, _id_fields(config), _name_fields(config))
    if account is None:
        logger.warning("the %s identity reply names no account", config.slug)
    return account


def _account_due(config: Provider, token: OAuthToken) -> bool:
    """Whether to look up a connection's unknown account again: once per access token
    (not since the token was last written), and only for a provider that may have an
    identity URL (a discovered one may have a UserInfo endpoint)."""
    if token.account_id:
        return False
    checked = token.account_checked_at
    if checked is not None and checked > token.updated_at:
        return False
    if config.identity:
        return bool(config.identity.get("url"))
    return bool(config.userinfo_endpoint) or config.uses_discovery


def _look_up_account(config: Provider, token: OAuthToken) -> None:
    try:
        config = config.resolved()
    except BaseAuthCodeFlowError as exc:
        logger.warning("cannot look up the %s account: %s", config.slug, exc.description)
    access_token, dpop_key = _credentials(token)
    account = fetch_account(config, access_token, dpop_key=dpop_key)
    changes: dict[str, Any] = {"account_checked_at": timezone.now()}
    if account is not None:
        changes.update(account_id=account.id, account_name=account.name)
    # Only the row that still holds this token and no account: a reconnection
    # meanwhile wrote its own.
    queryset = _tokens().filter(
        pk=token.pk, access_token_encrypted=token.access_token_encrypted, account_id=""
    )
    _retrying(lambda: queryset.update(**changes))
    for name, value in changes.items():
        setattr(token, name, value)


@sensitive_variables()
def connect(
    user: AbstractBaseUser,
    config: Provider,
    result: TokenResponse,
    *,
    dpop_key: DPoPKey | None = None,
) -> OAuthToken:
    """Store a new grant for ``user`` (see :meth:`OAuthTokenQuerySet.store`), with the
    account it belongs to. A connection to another account at the provider is
    replaced: its grant is revoked where the provider supports it, and
    ``token_revoked`` is sent for it. ``dpop_key`` is the key the tokens are bound to
    (DPoP)."""

    def replaced(old: OAuthToken) -> None:
        pair = _stored_pair(config, old)
        _revoke_at_provider(config, *pair, dpop_key=_stored_dpop_key(old))
        signals.send(signals.token_revoked, old, user)
        logger.info(
            "replaced the %s connection of user %s by another account", config.slug, user.pk
        )

    account = identify(config, result, dpop_key=dpop_key)
    return OAuthToken.objects.store(
        user, config.slug, result, account=account, on_replace=replaced, dpop_key=dpop_key
    )


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


def _claim_lifetime() -> timedelta:
    # Longer than any provider request can last (the HTTP deadline), so a claim only
    # expires when its holder died.
    return timedelta(seconds=2 * float(conf.HTTP_TIMEOUT) + 5)


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

    For an OpenID Connect provider, an ID token in the reply must be valid and name the
    connection's account (OpenID Connect Core 12.2), or nothing is stored: an invalid
    one raises :class:`.core.oidc_id_tokens.InvalidIDTokenError` (the stored tokens are kept, as
    for any provider failure), and one naming another account raises
    :class:`.core.oidc_id_tokens.IDTokenSubjectMismatchError`, marks the connection as needing
    re-authorization and revokes what the reply gave. Both are
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


class ClaimedElsewhere(Exception):
    """The row a batch read is another caller's now: it holds the row's claim, or
    changed the row since the batch read it."""


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
            _revoke_unstored(config, user_id, refresh_token, result, dpop_key)
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
        # Removed or reconnected meanwhile: this new grant is stored nowhere.
        _revoke_unstored(config, user_id, refresh_token, result, dpop_key)
        raise NotConnectedError(provider=config.slug, user_pk=user_id)
    signals.send_on_commit(signals.token_refreshed, token, user, using=_db())
    logger.info("refreshed %s token for user %s", config.slug, user_id)
    return token


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).digest()


@sensitive_variables()
def _revoke_unstored(
    config: Provider,
    user_id: Any,
    used_refresh_token: str,
    result: TokenResponse,
    dpop_key: DPoPKey | None = None,
) -> None:
    """Revoke what a refresh that lost its claim obtained, but nothing the connection
    stored meanwhile holds (a reconnection may have kept the same refresh token, or even
    been given the same access token).

    A reply that did not rotate the refresh token gave back the grant it used, which
    is never revoked here: the row may keep it, or the removal that took the row has
    revoked it already. While the row keeps that grant, the new access token is not
    revoked either: a server may revoke the whole grant with one of its access tokens
    (RFC 7009 2.1 allows it, and some do), and that token is held nowhere and expires."""
    if not config.revokes(result.token_type):
        return  # shared beyond its user (Slack's workspace bot token)
    row = _retrying(
        functools.partial(
            _first, _tokens().order_by().filter(user_id=user_id, provider=config.slug)
        )
    )
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
    if _digest(result.access_token) in held or (
        not rotated and _digest(used_refresh_token) in held
    ):
        access_token = None
    _revoke_at_provider(config, refresh_token, access_token, dpop_key=dpop_key)


def _check_refreshed_id_token(config: Provider, token: OAuthToken, result: TokenResponse) -> None:
    """An ID token in a refresh reply (validated by the flow manager) must be the
    original ID token's subject's, with its nonce or none (OpenID Connect Core 12.2).
    A connection that recorded no ID token (made before they were recorded, or without
    one) is compared by its account, read from the claims as when connecting. Raises
    :class:`.core.oidc_id_tokens.IDTokenSubjectMismatchError` or
    :class:`.core.oidc_id_tokens.InvalidIDTokenError`."""
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


class BearerAuth(requests.auth.AuthBase):
    """``Authorization: Bearer ...`` as a requests auth object: given explicitly, it keeps
    requests from using ``~/.netrc`` credentials instead, and requests does not carry it
    to another host on a redirect."""

    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request

    def __repr__(self) -> str:
        return "BearerAuth(...)"


def connection_api_base(config: Provider, token: OAuthToken) -> str | None:
    """The API base URL ``token``'s connection has of its own (the reply field the
    provider's ``api_base_url_field`` names), or ``None``. Checked again here, as it was
    when stored: an unusable value is no base (logged)."""
    field = config.api_base_url_field
    if not field:
        return None
    value = token.extra.get(field)
    if value is None:
        return None
    try:
        check_base_uri(value)
    except EndpointURLError:
        logger.warning("the %s connection of %r has an unusable %s", config.slug, token, field)
        return None
    return cast("str", value)


def check_api_url(config: Provider, url: str, *, connection_base: str | None = None) -> None:
    """Refuse, before a byte is sent, a URL that is not under one of the provider's
    ``api_base_urls`` (or ``connection_base``, the connection's own API base: see
    :func:`connection_api_base`) or that is not https (RFC 6750 5.3; http only on
    loopback)."""
    try:
        absolute_url(url, "the URL")
    except EndpointURLError as error:
        # A backslash, user information or a control character: parsers disagree on
        # which host such a URL names (urllib.parse and requests do), so none is trusted.
        if error.problem == "unsafe":
            raise UntrustedURLError(
                f"Refusing to send the {config.name} token: {error.description}"
            ) from None
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme != "https" and not (parts.scheme == "http" and is_loopback(host)):
        raise UntrustedURLError(
            f"Refusing to send the {config.name} token over {parts.scheme or 'no'} scheme: "
            "bearer tokens go over https only (http on loopback)."
        )
    bases = (*config.api_base_urls, *((connection_base,) if connection_base else ()))
    for base in bases:
        allowed = urlsplit(base)
        same_origin = (parts.scheme, host, parts.port) == (
            allowed.scheme,
            allowed.hostname,
            allowed.port,
        )
        prefix = allowed.path.rstrip("/")
        if same_origin and (parts.path == prefix or parts.path.startswith(prefix + "/")):
            return
    declared = ", ".join(bases) or "none"
    raise UntrustedURLError(
        f"Refusing to send the {config.name} token to {parts.scheme}://{host}: not under the "
        f"provider's api_base_urls ({declared})."
    )


def _credentials(token: OAuthToken) -> tuple[str, DPoPKey | None]:
    """The access token of ``token``, and its DPoP key when the token is bound to one."""
    key = token.dpop_key if token.token_type == "DPoP" else None
    return token.access_token, key


class OAuthSession(requests.Session):
    """A ``requests.Session`` that sends ``user``'s token for ``provider``, only to the
    provider's ``api_base_urls`` (and the connection's own API base, for a provider
    with ``api_base_url_field``): as a Bearer token, or, for a DPoP-bound token, as
    ``Authorization: DPoP`` with a fresh proof for each request (RFC 9449 7).

    Before each request the token is refreshed if needed; a 401 answer causes one
    refresh and one retry (a DPoP server's ``use_dpop_nonce`` first causes one retry
    with its nonce). The provider's ``request_headers`` and ``user_agent`` are the
    session's (a request's own headers win).
    """

    def __init__(
        self,
        user: User,
        provider: str,
        *,
        access_token: str | None = None,
        token: OAuthToken | None = None,
    ) -> None:
        super().__init__()
        self.oauth_user = user
        self.oauth_provider = provider
        # Read (and refreshed if due) when the session was made: the first request
        # needs no second read.
        self._next_token = token
        self._next_access_token = access_token
        config = get_provider(provider)
        self.headers.update(config.request_headers)
        if config.user_agent:
            self.headers["User-Agent"] = config.user_agent

    def __repr__(self) -> str:
        return f"<OAuthSession provider={self.oauth_provider!r} user={self.oauth_user.pk}>"

    def _token(self) -> OAuthToken:
        token, self._next_token = self._next_token, None
        return token or _current_token(self.oauth_user, self.oauth_provider)

    def bearer_token(self) -> str:
        """The access token the next request sends (valid, refreshed if it was due)."""
        access_token, self._next_access_token = self._next_access_token, None
        return access_token or self._token().access_token

    @property
    def api_base_urls(self) -> tuple[str, ...]:
        """Where this session sends the token: the provider's ``api_base_urls`` and the
        connection's own API base, if it has one."""
        config = get_provider(self.oauth_provider)
        own = connection_api_base(config, _get_token(self.oauth_user, self.oauth_provider))
        return (*config.api_base_urls, *((own,) if own else ()))

    def _next_credentials(self) -> tuple[str, DPoPKey | None]:
        access_token, self._next_access_token = self._next_access_token, None
        if access_token:
            return access_token, None
        return _credentials(self._token())

    def _send(
        self,
        method: str | bytes,
        url: str,
        access_token: str,
        dpop_key: DPoPKey | None,
        kwargs: dict[str, Any],
    ) -> requests.Response:
        if dpop_key is None:
            return super().request(method, url, auth=BearerAuth(access_token), **kwargs)
        verb = method.decode() if isinstance(method, bytes) else method
        auth = DPoPAuth(access_token, dpop_key, NONCES.get(url))
        response = super().request(verb, url, auth=auth, **kwargs)
        nonce = NONCES.remember(url, response)
        if nonce is not None and nonce != auth.nonce and nonce_challenge(response):
            response.close()
            auth = DPoPAuth(access_token, dpop_key, nonce)
            response = super().request(verb, url, auth=auth, **kwargs)
            NONCES.remember(url, response)
        return response

    @sensitive_variables()
    def request(self, method: str | bytes, url: str | bytes, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs.pop("auth", None)
        text_url = url.decode() if isinstance(url, bytes) else url
        config = get_provider(self.oauth_provider)
        if not config.api_base_url_field:
            check_api_url(config, text_url)
            access_token, dpop_key = self._next_credentials()
        else:
            # The allowed hosts depend on the connection: read it first.
            token = self._token()
            check_api_url(config, text_url, connection_base=connection_api_base(config, token))
            access_token, dpop_key = _credentials(token)
        response = self._send(method, text_url, access_token, dpop_key, kwargs)
        # A nonce asked for again after one retry is the server's problem, not the
        # token's: no refresh for it.
        if response.status_code != 401 or (dpop_key is not None and nonce_challenge(response)):
            return response
        response.close()
        token = refresh(self.oauth_user, self.oauth_provider, stale_access_token=access_token)
        if config.api_base_url_field:
            check_api_url(config, text_url, connection_base=connection_api_base(config, token))
        return self._send(method, text_url, *_credentials(token), kwargs)


@sensitive_variables()
def authorized_session(user: User, provider: str) -> OAuthSession:
    """A session that calls ``provider``'s API as ``user``. Raises what
    :func:`get_access_token` raises when there is no usable connection."""
    return OAuthSession(user, provider, token=_current_token(user, provider))


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
