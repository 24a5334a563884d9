"""Where a token may be sent: under the provider's ``api_base_urls`` or the
connection's own API base (``api_base_url_field``), over https (http on loopback)."""

from __future__ import annotations

import logging
from typing import cast
from urllib.parse import urlsplit

from ..core.endpoint_urls import absolute_url, check_base_uri, host_matches, is_loopback
from ..exceptions import EndpointURLError, UntrustedURLError
from ..models import OAuthToken
from ..providers import Provider

# One logger for the whole package, under the name sites already configure.
logger = logging.getLogger("auth_code_flow_django.tokens")


def connection_api_base(config: Provider, token: OAuthToken) -> str | None:
    """The API base URL ``token``'s connection has of its own (the reply field the
    provider's ``api_base_url_field`` names), or ``None``. Checked again here, as it was
    when stored (the settings may have changed since): an unusable value, or a host
    outside ``api_base_url_hosts``, is no base (logged)."""
    field = config.api_base_url_field
    if not field:
        return None
    value = token.extra.get(field)
    if value is None:
        return None
    try:
        parts = check_base_uri(value)
    except EndpointURLError:
        logger.warning("the %s connection of %r has an unusable %s", config.slug, token, field)
        return None
    hosts = config.api_base_url_hosts
    if hosts and not host_matches(parts.hostname or "", hosts):
        logger.warning(
            "the %s connection of %r has a %s outside api_base_url_hosts",
            config.slug,
            token,
            field,
        )
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
