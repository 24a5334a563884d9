"""App-wide settings, read lazily so ``override_settings`` always applies.

Provider settings live in ``settings.OAUTH_PROVIDERS`` (see :mod:`.providers`); the
options here are the ``AUTH_CODE_FLOW_*`` settings. :mod:`.checks` validates them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

_MISSING = object()
_values: dict[str, object] = {}


def _read(name: str, default: object) -> object:
    # An unset setting costs Django an exception at each read (microseconds, and some are
    # read several times per request): the value is kept until a setting changes.
    value = _values.get(name, _MISSING)
    if value is _MISSING:
        value = _values[name] = getattr(settings, name, default)
    return value


@receiver(setting_changed)
def _forget(setting: str, **kwargs: object) -> None:
    _values.pop(setting, None)


class Settings:
    """One typed property per setting; each reads ``django.conf.settings`` when first
    used and again after ``override_settings`` (or any ``setting_changed``)."""

    @property
    def STATE_TTL(self) -> int:
        """Seconds a started authorization stays valid."""
        return cast("int", _read("AUTH_CODE_FLOW_STATE_TTL", 600))

    @property
    def HTTP_TIMEOUT(self) -> float:
        """Seconds allowed for a whole request to a provider."""
        return cast("float", _read("AUTH_CODE_FLOW_HTTP_TIMEOUT", 10.0))

    @property
    def MAX_RESPONSE_BYTES(self) -> int:
        """Largest token endpoint reply read."""
        return cast("int", _read("AUTH_CODE_FLOW_MAX_RESPONSE_BYTES", 64 * 1024))

    @property
    def SUCCESS_URL(self) -> str | None:
        """Where to go after connecting when no ``next`` was given (default: connections)."""
        return cast("str | None", _read("AUTH_CODE_FLOW_SUCCESS_URL", None))

    @property
    def AUTHORIZE_ON_GET(self) -> bool:
        """Start the flow on a GET to ``authorize`` instead of showing a confirm page."""
        return cast("bool", _read("AUTH_CODE_FLOW_AUTHORIZE_ON_GET", False))

    @property
    def ENCRYPTION_KEYS(self) -> Sequence[str] | None:
        """Fernet keys, newest first; ``None`` derives them from ``SECRET_KEY`` and
        ``SECRET_KEY_FALLBACKS``."""
        return cast("Sequence[str] | None", _read("AUTH_CODE_FLOW_ENCRYPTION_KEYS", None))

    @property
    def REFRESH_LEEWAY(self) -> int:
        """Seconds before expiry at which a token is refreshed."""
        return cast("int", _read("AUTH_CODE_FLOW_REFRESH_LEEWAY", 60))

    @property
    def REVOKE_ON_DISCONNECT(self) -> bool:
        """Revoke tokens at the provider when a user disconnects."""
        return cast("bool", _read("AUTH_CODE_FLOW_REVOKE_ON_DISCONNECT", True))

    @property
    def DISCOVERY_CACHE_TTL(self) -> int:
        """Seconds a provider's discovered metadata and JWK Set stay in Django's cache."""
        return cast("int", _read("AUTH_CODE_FLOW_DISCOVERY_CACHE_TTL", 3600))

    @property
    def DISCOVERY_RETRY_AFTER(self) -> int:
        """Seconds a failed fetch of a provider's metadata or JWK Set is remembered in
        Django's cache. Meanwhile every caller gets the same error at once, without a
        request to the provider; then one caller tries again, and a success replaces
        the failure. ``0`` remembers no failure."""
        return cast("int", _read("AUTH_CODE_FLOW_DISCOVERY_RETRY_AFTER", 30))

    @property
    def ALLOWED_PRIVATE_NETWORKS(self) -> Sequence[str]:
        """Private networks the endpoints a remote issuer's discovery document names
        may reach, for an identity server on your own network, e.g.
        ``["10.20.0.0/16", "fd12:3456::/48"]``.

        The requests to the endpoints a remote issuer's metadata names (token, JWKS,
        UserInfo, revocation) never connect to loopback, link-local (``169.254.0.0/16``,
        where cloud metadata services answer; ``fe80::/10``), unspecified, multicast or
        reserved addresses, and connect to private ones (``10.0.0.0/8``,
        ``172.16.0.0/12``, ``192.168.0.0/16``, ``100.64.0.0/10``, ``fc00::/7``) only
        inside these networks, or when the issuer is itself configured by a private
        address (``https://10.1.2.3/...``). The rule reads the address the host name
        resolves to when the connection is made. An issuer on an intranet known by
        its name (``https://sso.corp.example``) needs its network here: what a name
        resolves to is no proof, the issuer's own DNS could say so. Endpoints the
        settings or a preset give are not under the rule. Each value must lie inside
        one of the private ranges above (system check ``E052``). See the
        `security model <../security.md>`__."""
        return cast("Sequence[str]", _read("AUTH_CODE_FLOW_ALLOWED_PRIVATE_NETWORKS", ()))


conf = Settings()

#: Every app setting with its default, for the system checks and the docs.
DEFAULTS: dict[str, object] = {
    "AUTH_CODE_FLOW_STATE_TTL": 600,
    "AUTH_CODE_FLOW_HTTP_TIMEOUT": 10.0,
    "AUTH_CODE_FLOW_MAX_RESPONSE_BYTES": 64 * 1024,
    "AUTH_CODE_FLOW_SUCCESS_URL": None,
    "AUTH_CODE_FLOW_AUTHORIZE_ON_GET": False,
    "AUTH_CODE_FLOW_ENCRYPTION_KEYS": None,
    "AUTH_CODE_FLOW_REFRESH_LEEWAY": 60,
    "AUTH_CODE_FLOW_REVOKE_ON_DISCONNECT": True,
    "AUTH_CODE_FLOW_DISCOVERY_CACHE_TTL": 3600,
    "AUTH_CODE_FLOW_DISCOVERY_RETRY_AFTER": 30,
    "AUTH_CODE_FLOW_ALLOWED_PRIVATE_NETWORKS": (),
}
