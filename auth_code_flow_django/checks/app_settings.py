"""Checks of the app-wide ``AUTH_CODE_FLOW_*`` settings: numbers and flags, the
encryption keys, the allowed private networks, unknown names."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning

from ..conf import DEFAULTS
from ..core.outbound_addresses import private_network
from .ids import check_id


def check_app_settings(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    positive_numbers = (
        "AUTH_CODE_FLOW_STATE_TTL",
        "AUTH_CODE_FLOW_HTTP_TIMEOUT",
        "AUTH_CODE_FLOW_MAX_RESPONSE_BYTES",
        "AUTH_CODE_FLOW_DISCOVERY_CACHE_TTL",
    )
    for name in positive_numbers:
        value: object = getattr(settings, name, DEFAULTS[name])
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            errors.append(
                Error(
                    f"{name} must be a positive number.",
                    hint=f"Default: {DEFAULTS[name]}.",
                    id=check_id(20),
                )
            )
    for name in ("AUTH_CODE_FLOW_REFRESH_LEEWAY", "AUTH_CODE_FLOW_DISCOVERY_RETRY_AFTER"):
        seconds: object = getattr(settings, name, DEFAULTS[name])
        if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 0:
            errors.append(
                Error(
                    f"{name} must be a whole number of seconds >= 0.",
                    hint=f"Default: {DEFAULTS[name]}.",
                    id=check_id(20),
                )
            )
    for name in ("AUTH_CODE_FLOW_AUTHORIZE_ON_GET", "AUTH_CODE_FLOW_REVOKE_ON_DISCONNECT"):
        if not isinstance(getattr(settings, name, DEFAULTS[name]), bool):
            errors.append(
                Error(
                    f"{name} must be True or False.",
                    hint=f"Default: {DEFAULTS[name]}.",
                    id=check_id(20),
                )
            )
    success: object = getattr(settings, "AUTH_CODE_FLOW_SUCCESS_URL", None)
    if success is not None and not isinstance(success, str):
        errors.append(
            Error(
                "AUTH_CODE_FLOW_SUCCESS_URL must be a URL path or None.",
                hint="Default: the connections page.",
                id=check_id(20),
            )
        )
    errors.extend(_check_keys())
    errors.extend(_check_private_networks())
    unknown = sorted(
        name
        for name in dir(settings)
        if name.startswith("AUTH_CODE_FLOW_") and name not in DEFAULTS
    )
    if unknown:
        errors.append(
            Warning(
                f"Unknown settings: {', '.join(unknown)}.",
                hint=f"Known settings: {', '.join(sorted(DEFAULTS))}.",
                id="auth_code_flow_django.W001",
            )
        )
    return errors


def _check_keys() -> list[CheckMessage]:
    from cryptography.fernet import Fernet

    keys: object = getattr(settings, "AUTH_CODE_FLOW_ENCRYPTION_KEYS", None)
    if keys is None:
        return []
    problem = not isinstance(keys, (list, tuple)) or not keys
    if not problem:
        assert isinstance(keys, (list, tuple))
        for key in keys:
            try:
                Fernet(key)
            except (TypeError, ValueError):
                problem = True
    if problem:
        return [
            Error(
                "AUTH_CODE_FLOW_ENCRYPTION_KEYS must be a non-empty list of Fernet keys, "
                "newest first.",
                hint="Make one with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'. Or remove the setting to derive "
                "keys from SECRET_KEY and SECRET_KEY_FALLBACKS.",
                id=check_id(21),
            )
        ]
    return []


def _check_private_networks() -> list[CheckMessage]:
    """E052: ``AUTH_CODE_FLOW_ALLOWED_PRIVATE_NETWORKS`` lists private networks only."""
    value: object = getattr(settings, "AUTH_CODE_FLOW_ALLOWED_PRIVATE_NETWORKS", ())
    hint = (
        'A list of private networks in CIDR form, e.g. ["10.20.0.0/16", "fd12:3456::/48"], '
        "inside 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10 or fc00::/7; "
        "loopback, link-local and public addresses cannot be allowed."
    )
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        return [
            Error(
                "AUTH_CODE_FLOW_ALLOWED_PRIVATE_NETWORKS must be a list of networks.",
                hint=hint,
                id=check_id(52),
            )
        ]
    errors: list[CheckMessage] = []
    for network in value:
        try:
            private_network(network)
        except ValueError as exc:
            errors.append(
                Error(
                    f"AUTH_CODE_FLOW_ALLOWED_PRIVATE_NETWORKS: {exc}.",
                    hint=hint,
                    id=check_id(52),
                )
            )
    return errors
