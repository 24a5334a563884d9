"""Who is connected: the provider account a token reply or an access token belongs to
(:func:`identify`, :func:`fetch_account`), and looking an unknown one up again once
per access token when the connection is used."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from .. import identity
from ..core.endpoint_urls import absolute_url
from ..core.rfc9449_dpop import DPoPKey
from ..exceptions import (
    AuthCodeFlowError,
    BaseAuthCodeFlowError,
    EndpointURLError,
    UntrustedURLError,
)
from ..models import OAuthToken
from ..providers import Provider
from .api_urls import check_api_url
from .rows import _credentials, _retrying, _tokens

if TYPE_CHECKING:
    from ..core.rfc6749_token_replies import TokenResponse

# One logger for the whole package, under the name sites already configure.
logger = logging.getLogger("auth_code_flow_django.tokens")


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
