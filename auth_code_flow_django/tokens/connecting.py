"""Storing a new connection after the callback, with the account it belongs to: a
reconnection to the same known account may keep its refresh token, and a connection
to another account is replaced and its grant revoked (see
:meth:`.models.OAuthTokenQuerySet.store`)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.views.decorators.debug import sensitive_variables

from .. import signals
from ..core.rfc9449_dpop import DPoPKey
from ..models import OAuthToken
from ..providers import Provider
from .accounts import identify
from .revocation import _revoke_at_provider, _stored_dpop_key, _stored_pair

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from ..core.rfc6749_token_replies import TokenResponse

# One logger for the whole package, under the name sites already configure.
logger = logging.getLogger("auth_code_flow_django.tokens")


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
    # RFC 9449 5: a public client's refresh token is bound to the DPoP key it was
    # issued with, and each authorization has a key of its own.
    public = config.flow_manager.token_endpoint_auth_method == "none"
    return OAuthToken.objects.store(
        user,
        config.slug,
        result,
        account=account,
        on_replace=replaced,
        dpop_key=dpop_key,
        refresh_token_bound_to_key=public and dpop_key is not None,
    )
