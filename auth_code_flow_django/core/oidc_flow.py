"""OpenID Connect at the client (OpenID Connect Core 1.0 3.1.3.7): the server's JWK
Set, fetched through the bounded HTTP client, and the ``id_token`` of a token reply
validated against it (the rules are :mod:`.oidc_id_tokens`'). Nothing here imports
Django.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from .errors import ImproperlyConfigured
from .flow_base import FlowBase
from .oidc_id_tokens import validate_id_token
from .rfc8414_server_metadata import fetch_json

__all__ = ["IDTokenValidation"]

logger = logging.getLogger("auth_code_flow_django.flow")


class IDTokenValidation(FlowBase):
    """The JWK Set and ID token validation of the flow manager."""

    def get_jwks(self, refresh: bool = False) -> Mapping[str, Any]:
        """The server's JWK Set from ``jwks_uri``, through the bounded HTTP client.

        Fetched on every call here; ``refresh`` asks a caching subclass to fetch it
        again rather than use what it keeps.
        """
        return self.fetch_jwks()

    def fetch_jwks(self, timeout: float | None = None) -> Mapping[str, Any]:
        """Fetch the server's JWK Set now, within ``timeout`` seconds (default: the
        manager's ``timeout``)."""
        if not self.jwks_uri:
            raise ImproperlyConfigured(
                f"{type(self).__name__} asks for openid but has no jwks_uri to check "
                "the ID token with."
            )
        logger.debug("GET %s (JWKS)", self.jwks_uri)
        return fetch_json(
            self.get_session(),
            self.jwks_uri,
            timeout=self.timeout if timeout is None else timeout,
            connect_timeout=self.connect_timeout,
            max_bytes=self.max_response_bytes,
        )

    def validate_id_token(self, id_token: object, *, nonce: str | None) -> dict[str, Any]:
        """The claims of ``id_token`` (see :func:`.oidc_id_tokens.validate_id_token`)."""
        if not self.issuer:
            raise ImproperlyConfigured(
                f"{type(self).__name__} asks for openid but has no issuer to check the "
                "ID token against."
            )
        return validate_id_token(
            id_token,
            jwks=self.get_jwks,
            issuer=self.issuer,
            client_id=str(self.client_id),
            nonce=nonce,
            algorithms=self.id_token_algorithms,
            leeway=self.id_token_leeway,
            issuer_aliases=self.issuer_aliases,
            allowed_tenants=self.allowed_tenants,
        )
