"""``OAuthToken``: a user's tokens for one provider, and its queryset (stored in one
statement, the refresh token kept only for the same account)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import nullcontext
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.db import IntegrityError, OperationalError, connections, models, router, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .. import crypto, signals, statements
from ..core.oidc_id_tokens import MAX_SUB_LENGTH, nonce_digest
from ..core.rfc9449_dpop import DPoPKey
from ..identity import MAX_ACCOUNT_ID_LENGTH, MAX_ACCOUNT_NAME_LENGTH
from .secret_values import decrypt_dpop_key, encrypt_dpop_key, mask
from .writes import is_deadlock, retry_on_deadlock, stored_datetime

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from ..flow import TokenResponse
    from ..identity import Account


class OAuthTokenQuerySet(models.QuerySet["OAuthToken"]):
    def expired(self, now: datetime | None = None) -> OAuthTokenQuerySet:
        return self.filter(expires_at__lte=now or timezone.now())

    def active(self, now: datetime | None = None) -> OAuthTokenQuerySet:
        return self.filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now or timezone.now()),
            needs_reauthorization=False,
        )

    def store(
        self,
        user: AbstractBaseUser,
        provider: str,
        result: TokenResponse,
        *,
        account: Account | None = None,
        on_replace: Callable[[OAuthToken], None] | None = None,
        dpop_key: DPoPKey | None = None,
        refresh_token_bound_to_key: bool = False,
    ) -> OAuthToken:
        """Insert or update ``user``'s one token for ``provider``; send ``token_obtained``
        once committed.

        ``account`` is the provider account the reply belongs to (``None``: unknown).
        A reply without a refresh token keeps the stored one only when both name the
        same, known account, in one ``UPDATE`` conditional on the stored account. An
        unknown account on either side (a provider without identity, a failed look-up)
        may be another one, whose refresh token would switch the connection back at its
        first refresh: the new connection then has no refresh token, and the old grant
        is not revoked (it may be the new one's). Any other new grant replaces the row
        in one statement (``INSERT ... ON CONFLICT DO UPDATE``, or ``ON DUPLICATE KEY
        UPDATE`` on MySQL/MariaDB), so concurrent connections cannot collide. When the
        stored connection was another account's, ``on_replace`` is called with it once
        committed (to revoke its grant). A refresh in flight loses its claim: it cannot
        overwrite the new grant.

        With ``refresh_token_bound_to_key`` (a public client's DPoP-bound refresh token,
        RFC 9449 5), a refresh token is never kept for a new ``dpop_key``: it is bound to
        the old key, which the new tokens do not use."""
        using = router.db_for_write(OAuthToken)
        queryset = self.using(using)
        token = OAuthToken(
            user_id=user.pk,
            provider=provider,
            account_id=account.id if account else "",
            account_name=account.name if account else "",
            account_checked_at=timezone.now(),
            dpop_key_encrypted=encrypt_dpop_key(dpop_key),
        )
        token.apply(result)
        token.record_id_token(result.id_token_claims)
        # Most connections are new: one INSERT, and the unique key tells when the user
        # is connected already (a reconnection, or a concurrent first connection).
        inserted = self._insert_new(queryset, token, user)
        if inserted is not None:
            return inserted
        previous = None
        if token.account_id:
            # Read before the transaction: SQLite cannot turn a transaction that has
            # read into one that writes while another connection does the same. The
            # writes below are conditional, so a change meanwhile is still caught.
            previous = queryset.filter(user_id=user.pk, provider=provider).first()
        # One atomic block: a failure after a write leaves nothing half-saved.

        def write() -> OAuthToken:
            saved = token
            with transaction.atomic(using=using):
                if (
                    previous is not None
                    and not result.refresh_token
                    and bool(token.account_id)
                    and previous.account_id == token.account_id
                    and not (refresh_token_bound_to_key and dpop_key is not None)
                ):
                    kept = self._keep_refresh_token(queryset, previous, token)
                    if kept is not None:
                        signals.send_on_commit(signals.token_obtained, kept, user, using=using)
                        return kept
                replaced = (
                    previous is not None
                    and bool(previous.account_id)
                    and bool(token.account_id)
                    and previous.account_id != token.account_id
                )
                update_fields = [*_TOKEN_FIELDS, "refresh_token_encrypted", "updated_at"]
                if replaced:
                    update_fields.append("created_at")
                features = connections[using].features
                queryset.bulk_create(
                    [token],
                    update_conflicts=True,
                    # MySQL's upsert takes no conflict target: the one unique key decides.
                    unique_fields=(
                        ["user", "provider"]
                        if features.supports_update_conflicts_with_target
                        else None
                    ),
                    update_fields=update_fields,
                )
                if cast("int | None", token.pk) is None:  # MySQL returns no ids from upserts
                    saved = queryset.get(user_id=user.pk, provider=provider)
                if replaced and on_replace is not None:
                    assert previous is not None
                    old = previous
                    transaction.on_commit(lambda: on_replace(old), using=using)
                signals.send_on_commit(signals.token_obtained, saved, user, using=using)
            return saved

        return retry_on_deadlock(using, write)

    def _insert_new(
        self, queryset: OAuthTokenQuerySet, token: OAuthToken, user: AbstractBaseUser
    ) -> OAuthToken | None:
        """Insert ``token`` as ``user``'s first connection to its provider; ``None``
        when the user has one already. One statement, so in autocommit it needs no
        transaction of its own; inside the caller's transaction it runs in a
        savepoint, so a failed insert leaves that transaction usable."""
        using = queryset.db
        in_transaction = connections[using].in_atomic_block
        try:
            with transaction.atomic(using=using) if in_transaction else nullcontext():
                # Not bulk_create(): it always opens a transaction of its own.
                _INSERT_TOKEN.run(using, token)
        except (IntegrityError, OperationalError) as exc:
            # InnoDB may pick an INSERT that collides with concurrent upserts of the same
            # key as a deadlock's victim instead of reporting the duplicate. In autocommit
            # nothing was written, and the upsert path below retries deadlocks; inside
            # the caller's transaction InnoDB has rolled all of it back: the caller's.
            if isinstance(exc, OperationalError) and (in_transaction or not is_deadlock(exc)):
                raise
            token.pk = None
            token._state.adding = True
            return None
        signals.send_on_commit(signals.token_obtained, token, user, using=using)
        return token

    def _keep_refresh_token(
        self, queryset: OAuthTokenQuerySet, previous: OAuthToken, token: OAuthToken
    ) -> OAuthToken | None:
        """Write ``token``'s values over ``previous`` but keep its refresh token, if the
        row still belongs to the same account; ``None`` if it changed meanwhile."""
        changes = {name: getattr(token, name) for name in _TOKEN_FIELDS}
        changes["updated_at"] = timezone.now()
        updated = queryset.filter(pk=previous.pk, account_id=previous.account_id).update(**changes)
        if not updated:
            return None
        for name, value in changes.items():
            setattr(previous, name, value)
        return previous


#: What a new grant writes over a stored row (besides the refresh token).
_TOKEN_FIELDS = (
    "access_token_encrypted",
    "token_type",
    "scope",
    "expires_at",
    "needs_reauthorization",
    "refresh_claim",
    "refresh_claimed_until",
    "account_id",
    "account_name",
    "account_checked_at",
    "id_token_subject",
    "id_token_nonce_digest",
    "extra_fields",
    "dpop_key_encrypted",
)


class OAuthToken(models.Model):
    """A user's tokens for one provider, encrypted at rest."""

    STATUS_ACTIVE = "active"
    STATUS_EXPIRED = "expired"
    STATUS_REAUTHORIZE = "needs_reauthorization"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="oauth_tokens"
    )
    provider = models.CharField(_("provider"), max_length=64)
    access_token_encrypted = models.TextField(editable=False)
    refresh_token_encrypted = models.TextField(blank=True, editable=False)
    token_type = models.CharField(_("token type"), max_length=32, default="Bearer")
    scope = models.TextField(_("granted scope"), blank=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    needs_reauthorization = models.BooleanField(
        _("needs re-authorization"),
        default=False,
        help_text=_("The provider refused the refresh token; the user must connect again."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    # A refresh (or a removal) in progress: whoever wrote a claim that has not expired
    # is the only one to call the provider with this row's refresh token.
    refresh_claim = models.CharField(max_length=32, blank=True, default="", editable=False)
    refresh_claimed_until = models.DateTimeField(null=True, blank=True, editable=False)
    # The provider account (plain text: identifiers, not secrets), validated like every
    # stored provider value. Empty when the provider did not say (yet).
    account_id = models.CharField(
        _("account id"), max_length=MAX_ACCOUNT_ID_LENGTH, blank=True, default=""
    )
    account_name = models.CharField(
        _("account"), max_length=MAX_ACCOUNT_NAME_LENGTH, blank=True, default=""
    )
    # The last look-up of the account: an unknown one is looked up again once per
    # access token, when this is not later than ``updated_at``.
    account_checked_at = models.DateTimeField(
        _("account looked up"), null=True, blank=True, editable=False
    )
    # OpenID Connect: what the ID token of the authorization said that an ID token in a
    # refresh reply must repeat (OpenID Connect Core 12.2): its subject, and the SHA-256
    # of its nonce (the nonce itself is not kept). Empty without an ID token.
    id_token_subject = models.CharField(
        _("ID token subject"),
        max_length=MAX_SUB_LENGTH,
        blank=True,
        default="",
        editable=False,
    )
    id_token_nonce_digest = models.CharField(max_length=64, blank=True, default="", editable=False)
    # The token reply's other fields the site needs afterwards (Salesforce's
    # instance_url, Slack's team, Notion's workspace_id...): plain JSON, because no
    # credential is ever among them (stored_values.kept_fields leaves those out).
    extra_fields = models.JSONField(
        _("other reply fields"), default=dict, blank=True, editable=False
    )
    # RFC 9449: the private key the tokens are bound to (DPoP), encrypted like them.
    dpop_key_encrypted = models.TextField(blank=True, default="", editable=False)

    objects = OAuthTokenQuerySet.as_manager()

    class Meta:
        verbose_name = _("OAuth token")
        verbose_name_plural = _("OAuth tokens")
        ordering = ("provider", "user_id")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "provider"], name="auth_code_flow_one_token_per_provider"
            )
        ]
        # oauth_refresh_tokens reads due rows by (expires_at, id) in keyset chunks: with
        # the key in the index, each chunk is one index range that starts after the
        # last row read, however many rows share an expiry time.
        indexes = [
            models.Index(fields=["provider", "expires_at", "id"], name="acf_token_expiry_id_idx")
        ]

    def __str__(self) -> str:
        return f"{self.provider} token of {self.user.get_username()}"

    def __repr__(self) -> str:
        return (
            f"<OAuthToken id={self.pk} user_id={self.user_id} provider={self.provider!r} "
            f"status={self.status!r}>"
        )

    @property
    def access_token(self) -> str:
        return crypto.decrypt(self.access_token_encrypted)

    @access_token.setter
    def access_token(self, value: str) -> None:
        self.access_token_encrypted = crypto.encrypt(value)

    @property
    def refresh_token(self) -> str | None:
        if not self.refresh_token_encrypted:
            return None
        return crypto.decrypt(self.refresh_token_encrypted)

    @refresh_token.setter
    def refresh_token(self, value: str | None) -> None:
        self.refresh_token_encrypted = crypto.encrypt(value) if value else ""

    @property
    def dpop_key(self) -> DPoPKey | None:
        """The DPoP key the tokens are bound to, if any."""
        return decrypt_dpop_key(self.dpop_key_encrypted)

    @property
    def extra(self) -> Mapping[str, Any]:
        """The token reply's fields beyond the token (read-only): Salesforce's
        ``instance_url``, Slack's ``team``, Notion's ``workspace_id``, Dropbox's
        ``account_id``... Values are JSON values (strings, numbers, booleans, ``None``,
        lists and mappings). A refresh reply that carries a field updates it; no
        credential is ever kept here."""
        value = self.extra_fields
        return MappingProxyType(value if isinstance(value, dict) else {})

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def account_display(self) -> str:
        """The provider account's name, else its id, else ``""`` (unknown)."""
        return self.account_name or self.account_id

    def expires_within(self, seconds: int) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now() + timedelta(
            seconds=seconds
        )

    @property
    def status(self) -> str:
        if self.needs_reauthorization:
            return self.STATUS_REAUTHORIZE
        return self.STATUS_EXPIRED if self.is_expired else self.STATUS_ACTIVE

    def apply(self, result: TokenResponse) -> None:
        """Take the values of a token response (tokens, scope, expiry, other fields)."""
        self.access_token = result.access_token
        if result.refresh_token:
            self.refresh_token = result.refresh_token
        self.token_type = result.token_type
        self.scope = result.scope or ""
        self.expires_at = result.expires_at
        # A refresh reply updates the fields it carries and keeps the others.
        self.extra_fields = {**self.extra, **result.fields}
        if self.expires_at is not None:
            self.expires_at = stored_datetime(self.expires_at)
        self.needs_reauthorization = False
        self.refresh_claim = ""
        self.refresh_claimed_until = None

    def record_id_token(self, claims: Mapping[str, Any] | None) -> None:
        """Keep what the validated ID token ``claims`` of a new authorization say that a
        refreshed ID token must repeat (nothing when there is none)."""
        sub = claims.get("sub") if claims else None
        nonce = claims.get("nonce") if claims else None
        self.id_token_subject = sub if isinstance(sub, str) else ""
        self.id_token_nonce_digest = nonce_digest(nonce) if isinstance(nonce, str) else ""

    def masked_access_token(self) -> str:
        return self._masked("access_token")

    def masked_refresh_token(self) -> str:
        return self._masked("refresh_token")

    def _masked(self, name: str) -> str:
        try:
            value: Any = getattr(self, name)
        except crypto.TokenDecryptionError:
            return str(_("(cannot decrypt with the current keys)"))
        return mask(value)


# A first connection: built once per connection (see .statements).
_INSERT_TOKEN = statements.Insert(OAuthToken)
