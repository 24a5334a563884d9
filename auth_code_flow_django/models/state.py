"""``OAuthState``: one pending authorization, and its queryset (start, validate,
consume)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models, router
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .. import crypto, statements
from ..conf import conf
from ..core.rfc9449_dpop import DPoPKey
from ..exceptions import (
    StateAlreadyUsedError,
    StateExpiredError,
    StateForgeryError,
    StateMissingError,
)
from ..flow import make_code_verifier, make_state
from .secret_values import decrypt_dpop_key, encrypt_dpop_key, state_digest

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


MAX_STATE_LENGTH = 512


class OAuthStateQuerySet(models.QuerySet["OAuthState"]):
    def _plain(self) -> bool:
        """Whether this is the whole table, as the built statements read it."""
        return not self.query.where and not self.query.is_sliced

    def _write_alias(self) -> str:
        # As create() and update() pick it: the queryset's own, or the router's.
        return getattr(self, "_db", None) or router.db_for_write(self.model)

    def expired(self, now: datetime | None = None) -> OAuthStateQuerySet:
        return self.filter(expires_at__lte=now or timezone.now())

    def start(
        self,
        user: AbstractBaseUser,
        provider: str,
        redirect_uri: str,
        next_url: str = "",
        *,
        nonce: str | None = None,
        dpop_key: DPoPKey | None = None,
    ) -> tuple[OAuthState, str, str]:
        """Record a new authorization for ``user``; return it, the raw ``state`` and the
        PKCE verifier (both kept only in digest or encrypted form). ``nonce``, the
        OpenID Connect nonce sent with it, and ``dpop_key``, the connection's DPoP key,
        are kept encrypted."""
        state = make_state()
        verifier = make_code_verifier()
        now = timezone.now()
        obj = OAuthState(
            user_id=user.pk,
            provider=provider,
            state_digest=state_digest(state),
            code_verifier_encrypted=crypto.encrypt(verifier),
            nonce_encrypted=crypto.encrypt(nonce) if nonce else "",
            dpop_key_encrypted=encrypt_dpop_key(dpop_key),
            redirect_uri=redirect_uri,
            next_url=next_url,
            created_at=now,
            expires_at=now + timedelta(seconds=conf.STATE_TTL),
        )
        _INSERT_STATE.run(self._write_alias(), obj)
        return obj, state, verifier

    def validate(self, state: str | None, user: AbstractBaseUser, provider: str) -> OAuthState:
        """The pending authorization ``state`` names, checked but not consumed.

        Each failure is its own class: missing, unknown or not this user's (forgery),
        expired, already used.
        """
        if not state:
            raise StateMissingError()
        if len(state) > MAX_STATE_LENGTH:
            raise StateForgeryError()
        digest = state_digest(state)
        if self._plain():
            found = _STATE_BY_DIGEST.first(self.db, digest=digest)
        else:
            found = self.filter(state_digest=digest).first()
        if found is None:
            raise StateForgeryError()
        obj = found
        if obj.user_id != user.pk or obj.provider != provider:
            raise StateForgeryError()
        if obj.used_at is not None:
            raise StateAlreadyUsedError()
        if obj.is_expired:
            raise StateExpiredError()
        return obj

    def consume(self, obj: OAuthState) -> None:
        """Mark ``obj`` used; exactly one concurrent caller succeeds."""
        now = timezone.now()
        if self._plain():
            claimed = _CONSUME_STATE.run(self._write_alias(), pk=obj.pk, now=now)
        else:
            claimed = self.filter(pk=obj.pk, used_at__isnull=True).update(used_at=now)
        if claimed != 1:
            raise StateAlreadyUsedError()


class OAuthState(models.Model):
    """One pending authorization: single-use, expiring, bound to the user who began it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="oauth_states"
    )
    provider = models.CharField(_("provider"), max_length=64)
    state_digest = models.CharField(max_length=64, unique=True, editable=False)
    code_verifier_encrypted = models.TextField(editable=False)
    nonce_encrypted = models.TextField(blank=True, default="", editable=False)
    # RFC 9449: the DPoP key pair made for this connection (the private key, encrypted).
    dpop_key_encrypted = models.TextField(blank=True, default="", editable=False)
    redirect_uri = models.TextField(_("redirect URI sent"))
    next_url = models.TextField(_("where to go after"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"), db_index=True)
    used_at = models.DateTimeField(_("used"), null=True, blank=True)

    objects = OAuthStateQuerySet.as_manager()

    class Meta:
        verbose_name = _("pending authorization")
        verbose_name_plural = _("pending authorizations")
        ordering = ("-created_at",)

    def __str__(self) -> str:
        started = self.created_at
        if timezone.is_aware(started):
            started = timezone.localtime(started)
        return f"{self.provider} authorization started {started:%Y-%m-%d %H:%M:%S %Z}".rstrip()

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()

    @property
    def code_verifier(self) -> str:
        return crypto.decrypt(self.code_verifier_encrypted)

    @property
    def nonce(self) -> str | None:
        """The OpenID Connect nonce sent with this authorization, if any."""
        if not self.nonce_encrypted:
            return None
        return crypto.decrypt(self.nonce_encrypted)

    @property
    def dpop_key(self) -> DPoPKey | None:
        """The DPoP key made for this authorization, if any."""
        return decrypt_dpop_key(self.dpop_key_encrypted)


# Run on every callback: built once per connection (see .statements).
_STATE_BY_DIGEST = statements.Select(
    OAuthState,
    lambda slot: OAuthState.objects.order_by().filter(state_digest=slot["digest"])[:1],
    digest="state_digest",
)
_INSERT_STATE = statements.Insert(OAuthState)
_CONSUME_STATE = statements.Update(
    OAuthState,
    lambda slot: (
        OAuthState.objects.filter(pk=slot["pk"], used_at__isnull=True),
        {"used_at": slot["now"]},
    ),
    pk="pk",
    now="used_at",
)
