"""Using stored tokens: get a valid access token, call an API, revoke.

Refreshes run in a transaction holding the token's row lock (``SELECT ... FOR
UPDATE``) and re-read the row once locked, so N concurrent callers make one refresh
request and all get its result.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, cast

import requests
from django.db import transaction

from . import signals
from .conf import conf
from .crypto import TokenDecryptionError
from .exceptions import (
    AuthCodeFlowError,
    InvalidGrantError,
    NotConnectedError,
    ReauthorizationRequiredError,
)
from .models import OAuthToken
from .providers import UnknownProviderError, get_provider

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    User = AbstractBaseUser | AnonymousUser

__all__ = ["OAuthSession", "authorized_session", "get_access_token", "refresh", "revoke"]

logger = logging.getLogger("auth_code_flow_django.tokens")


def _user_pk(user: User) -> int | str:
    if user.pk is None:
        raise NotConnectedError()
    return cast("int | str", user.pk)


def _get_token(user: User, provider: str) -> OAuthToken:
    token = OAuthToken.objects.filter(user_id=_user_pk(user), provider=provider).first()
    if token is None:
        raise NotConnectedError()
    return token


def get_access_token(user: User, provider: str) -> str:
    """A valid access token of ``user`` for ``provider``, refreshed first if it expires
    within ``AUTH_CODE_FLOW_REFRESH_LEEWAY`` seconds."""
    token = _get_token(user, provider)
    if token.needs_reauthorization:
        raise ReauthorizationRequiredError()
    if token.expires_within(conf.REFRESH_LEEWAY):
        token = refresh(user, provider)
    return token.access_token


def refresh(
    user: User,
    provider: str,
    *,
    stale_access_token: str | None = None,
    within: int | None = None,
) -> OAuthToken:
    """Refresh ``user``'s token for ``provider`` unless another worker just did.

    Without ``stale_access_token`` the token is refreshed when it expires within
    ``within`` seconds (default: the leeway setting); with it (an API just refused
    that token), when the stored access token is still that one.
    """
    config = get_provider(provider)
    reauthorize = False
    with transaction.atomic():
        token = (
            OAuthToken.objects.select_for_update()
            .filter(user_id=_user_pk(user), provider=provider)
            .first()
        )
        if token is None:
            raise NotConnectedError()
        if token.needs_reauthorization:
            raise ReauthorizationRequiredError()
        if stale_access_token is None:
            due = token.expires_within(conf.REFRESH_LEEWAY if within is None else within)
        else:
            due = token.access_token == stale_access_token
        if not due:
            return token
        refresh_token = token.refresh_token
        try:
            if not refresh_token:
                raise InvalidGrantError("There is no refresh token.")
            result = config.flow_manager.refresh(refresh_token, granted_scope=token.scope)
        except InvalidGrantError as exc:
            logger.warning(
                "refresh of %s token for user %s refused (%s); needs re-authorization",
                provider,
                user.pk,
                exc.error,
            )
            token.needs_reauthorization = True
            token.save(update_fields=["needs_reauthorization", "updated_at"])
            reauthorize = True
        else:
            token.apply(result)
            token.save()
            signals.send_on_commit(signals.token_refreshed, token, user)
            logger.info("refreshed %s token for user %s", provider, user.pk)
    if reauthorize:
        raise ReauthorizationRequiredError()
    return token


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


class OAuthSession(requests.Session):
    """A ``requests.Session`` that sends ``user``'s bearer token for ``provider``.

    Before each request the token is refreshed if needed; a 401 answer causes one
    refresh and one retry.
    """

    def __init__(self, user: User, provider: str) -> None:
        super().__init__()
        self.oauth_user = user
        self.oauth_provider = provider

    def __repr__(self) -> str:
        return f"<OAuthSession provider={self.oauth_provider!r} user={self.oauth_user.pk}>"

    def request(self, method: str | bytes, url: str | bytes, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs.pop("auth", None)
        access_token = get_access_token(self.oauth_user, self.oauth_provider)
        response = super().request(method, url, auth=BearerAuth(access_token), **kwargs)
        if response.status_code != 401:
            return response
        response.close()
        token = refresh(self.oauth_user, self.oauth_provider, stale_access_token=access_token)
        return super().request(method, url, auth=BearerAuth(token.access_token), **kwargs)


def authorized_session(user: User, provider: str) -> OAuthSession:
    """A session that calls ``provider``'s API as ``user``."""
    _get_token(user, provider)
    return OAuthSession(user, provider)


def revoke(user: User, provider: str) -> bool:
    """Revoke ``user``'s tokens at ``provider`` (RFC 7009) when it supports it, then
    delete them. A provider failure is logged and the tokens are deleted anyway.
    Returns whether there was a connection to remove."""
    token = OAuthToken.objects.filter(user_id=_user_pk(user), provider=provider).first()
    if token is None:
        return False
    try:
        config = get_provider(provider)
    except UnknownProviderError:
        config = None
    if config is not None and config.supports_revocation and conf.REVOKE_ON_DISCONNECT:
        _revoke_at_provider(token, config.flow_manager)
    with transaction.atomic():
        token.delete()
        signals.send_on_commit(signals.token_revoked, token, user)
    logger.info("removed %s connection of user %s", provider, user.pk)
    return True


def _revoke_at_provider(token: OAuthToken, manager: Any) -> None:
    for hint in ("refresh_token", "access_token"):
        try:
            value = getattr(token, hint)
        except TokenDecryptionError:
            logger.warning("cannot decrypt the %s of %r to revoke it", hint, token)
            continue
        if not value:
            continue
        try:
            manager.revoke(value, token_type_hint=hint)
        except AuthCodeFlowError as exc:
            logger.warning(
                "revoking the %s %s of user %s failed (%s); deleting it locally",
                token.provider,
                hint,
                token.user_id,
                exc.description,
            )
