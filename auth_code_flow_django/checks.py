"""System checks for ``OAUTH_PROVIDERS`` and the ``AUTH_CODE_FLOW_*`` settings.

Ids are never reused. Raw values are read as ``object`` and narrowed.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning

from .conf import DEFAULTS
from .flow import CLIENT_AUTH_METHODS
from .providers import PRESETS, PROVIDER_KEYS

_SLUG = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_BOOL_KEYS = ("use_pkce", "token_type_required")
_STR_KEYS = (
    "display_name",
    "base_uri",
    "authorization_path",
    "access_token_path",
    "revocation_path",
    "redirect_uri",
    "issuer",
    "expires_in_field",
    "client_id",
    "client_secret",
)


def _id(number: int) -> str:
    return f"auth_code_flow_django.E{number:03d}"


def is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _endpoint(base: object, path: object) -> str | None:
    if not isinstance(path, str) or not path:
        return None
    if path.startswith(("http://", "https://")):
        return path
    if not isinstance(base, str) or not base:
        return None
    return base.rstrip("/") + "/" + path.lstrip("/")


def _url_problem(url: str) -> int | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return 7
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        return 8
    return None


def check_providers(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    raw: object = getattr(settings, "OAUTH_PROVIDERS", {})
    if not isinstance(raw, Mapping):
        return [
            Error(
                "OAUTH_PROVIDERS must be a dict of provider dicts keyed by slug.",
                hint='OAUTH_PROVIDERS = {"github": {"preset": "github", "client_id": ...}}',
                id=_id(1),
            )
        ]
    errors: list[CheckMessage] = []
    for slug, entry in raw.items():
        errors.extend(_check_provider(slug, entry))
    return errors


def _check_provider(slug: object, entry: object) -> list[CheckMessage]:
    where = f"OAUTH_PROVIDERS[{slug!r}]"
    if not isinstance(slug, str) or not _SLUG.fullmatch(slug):
        return [
            Error(
                f"{where}: the key must be a slug (lowercase letters, digits, - and _).",
                hint="The slug appears in URLs such as /oauth/<slug>/callback/.",
                id=_id(12),
            )
        ]
    if not isinstance(entry, Mapping):
        return [Error(f"{where} must be a dict.", hint="See the settings reference.", id=_id(2))]
    errors: list[CheckMessage] = []
    unknown = sorted(str(k) for k in entry if k not in PROVIDER_KEYS)
    if unknown:
        errors.append(
            Error(
                f"{where} has unknown keys: {', '.join(unknown)}.",
                hint=f"Allowed keys: {', '.join(sorted(PROVIDER_KEYS))}.",
                id=_id(3),
            )
        )
    values: dict[str, object] = {}
    preset = entry.get("preset")
    if preset is not None:
        if isinstance(preset, str) and preset in PRESETS:
            values.update(PRESETS[preset])
        else:
            errors.append(
                Error(
                    f"{where}: unknown preset {preset!r}.",
                    hint=f"Known presets: {', '.join(sorted(PRESETS))}.",
                    id=_id(4),
                )
            )
    values.update(entry)
    errors.extend(_check_values(where, values))
    return errors


def _check_values(where: str, values: Mapping[str, object]) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    method = values.get("token_endpoint_auth_method", "client_secret_post")
    if method not in CLIENT_AUTH_METHODS:
        errors.append(
            Error(
                f"{where}: token_endpoint_auth_method must be one of "
                f"{', '.join(CLIENT_AUTH_METHODS)}.",
                hint="Most providers accept client_secret_post or client_secret_basic.",
                id=_id(10),
            )
        )
    if not values.get("client_id"):
        errors.append(
            Error(
                f"{where}: client_id is missing.",
                hint="Copy it from the OAuth app you registered with the provider.",
                id=_id(5),
            )
        )
    if method != "none" and not values.get("client_secret"):
        errors.append(
            Error(
                f"{where}: client_secret is missing.",
                hint="Read it from the environment, not from source control; "
                'or set "token_endpoint_auth_method": "none" for a public client.',
                id=_id(6),
            )
        )
    scope = values.get("scope", "")
    if not isinstance(scope, str):
        errors.append(
            Error(
                f"{where}: scope must be a string of space-separated scopes.",
                hint='For example "read:user repo".',
                id=_id(9),
            )
        )
    bad_types = [k for k in _BOOL_KEYS if k in values and not isinstance(values[k], bool)]
    bad_types += [
        k for k in _STR_KEYS if values.get(k) is not None and not isinstance(values[k], str)
    ]
    extra = values.get("extra_authorize_params", {})
    if not isinstance(extra, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in extra.items()
    ):
        bad_types.append("extra_authorize_params")
    if bad_types:
        errors.append(
            Error(
                f"{where}: wrong type for {', '.join(sorted(bad_types))}.",
                hint="Flags are booleans, extra_authorize_params is a dict of strings, "
                "the rest are strings.",
                id=_id(11),
            )
        )
    errors.extend(_check_endpoints(where, values))
    errors.extend(_check_api_base_urls(where, values.get("api_base_urls", ())))
    return errors


def _check_api_base_urls(where: str, value: object) -> list[CheckMessage]:
    ok = isinstance(value, (list, tuple)) and all(
        isinstance(url, str) and _url_problem(url) is None for url in value
    )
    if ok:
        return []
    return [
        Error(
            f"{where}: api_base_urls must be a list of https:// URL prefixes.",
            hint="authorized_session() sends the token only under these URLs, e.g. "
            '["https://api.github.com/"] (http is allowed on loopback hosts only).',
            id=_id(30),
        )
    ]


def _check_endpoints(where: str, values: Mapping[str, object]) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    base = values.get("base_uri")
    endpoints = {
        "authorization_path": values.get("authorization_path", "/authorize"),
        "access_token_path": values.get("access_token_path", "/access_token"),
    }
    if values.get("revocation_path"):
        endpoints["revocation_path"] = values["revocation_path"]
    for name in ("redirect_uri", "issuer"):
        if values.get(name):
            endpoints[name] = values[name]
    for name, path in endpoints.items():
        url = path if name in ("redirect_uri", "issuer") else _endpoint(base, path)
        problem = 7 if not isinstance(url, str) else _url_problem(url)
        if problem == 7:
            errors.append(
                Error(
                    f"{where}: {name} does not give an absolute http(s) URL.",
                    hint="Set base_uri (https://...) and a path, or an absolute URL.",
                    id=_id(7),
                )
            )
        elif problem == 8:
            errors.append(
                Error(
                    f"{where}: {name} uses http:// on a host that is not loopback.",
                    hint="Codes, secrets and tokens would cross the network in clear; "
                    "use https:// (http is allowed on localhost and 127.0.0.1 only).",
                    id=_id(8),
                )
            )
    return errors


def check_app_settings(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    positive_numbers = (
        "AUTH_CODE_FLOW_STATE_TTL",
        "AUTH_CODE_FLOW_HTTP_TIMEOUT",
        "AUTH_CODE_FLOW_MAX_RESPONSE_BYTES",
    )
    for name in positive_numbers:
        value: object = getattr(settings, name, DEFAULTS[name])
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            errors.append(
                Error(
                    f"{name} must be a positive number.",
                    hint=f"Default: {DEFAULTS[name]}.",
                    id=_id(20),
                )
            )
    leeway: object = getattr(settings, "AUTH_CODE_FLOW_REFRESH_LEEWAY", 60)
    if isinstance(leeway, bool) or not isinstance(leeway, int) or leeway < 0:
        errors.append(
            Error(
                "AUTH_CODE_FLOW_REFRESH_LEEWAY must be a whole number of seconds >= 0.",
                hint="Default: 60.",
                id=_id(20),
            )
        )
    for name in ("AUTH_CODE_FLOW_AUTHORIZE_ON_GET", "AUTH_CODE_FLOW_REVOKE_ON_DISCONNECT"):
        if not isinstance(getattr(settings, name, DEFAULTS[name]), bool):
            errors.append(
                Error(
                    f"{name} must be True or False.",
                    hint=f"Default: {DEFAULTS[name]}.",
                    id=_id(20),
                )
            )
    success: object = getattr(settings, "AUTH_CODE_FLOW_SUCCESS_URL", None)
    if success is not None and not isinstance(success, str):
        errors.append(
            Error(
                "AUTH_CODE_FLOW_SUCCESS_URL must be a URL path or None.",
                hint="Default: the connections page.",
                id=_id(20),
            )
        )
    errors.extend(_check_keys())
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
                id=_id(21),
            )
        ]
    return []
