"""Checks of each ``OAUTH_PROVIDERS`` entry: its slug, preset, keys, value types,
headers, identity mapping, tenants and client keys (its URLs: :mod:`.provider_urls`)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning

from ..core.client_auth import ClientKey, ClientKeyError, public_jwk
from ..core.oidc_id_tokens import TENANT_ID
from ..flow import CLIENT_AUTH_METHODS
from ..identity import IDENTITY_KEYS
from ..presets import merged_values, unfilled_placeholders
from ..providers import PRESETS, PROVIDER_KEYS
from .ids import check_id
from .provider_urls import (
    check_api_base_url_hosts,
    check_api_base_urls,
    check_endpoints,
    check_openid,
    discovers,
)

_SLUG = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_BOOL_KEYS = (
    "use_pkce",
    "token_type_required",
    "discovery",
    "post_form_data",
    "revoke_shared_tokens",
    "dpop",
)
_STR_KEYS = (
    "display_name",
    "base_uri",
    "authorization_path",
    "access_token_path",
    "revocation_path",
    "redirect_uri",
    "issuer",
    "jwks_uri",
    "userinfo_endpoint",
    "expires_in_field",
    "client_id",
    "client_secret",
    "success_field",
    "tenant",
    "realm",
    "api_base_url_field",
    "user_agent",
    "scope_param",
    "token_reply_object",
    "pushed_authorization_request_endpoint",
)


def check_providers(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    raw: object = getattr(settings, "OAUTH_PROVIDERS", {})
    if not isinstance(raw, Mapping):
        return [
            Error(
                "OAUTH_PROVIDERS must be a dict of provider dicts keyed by slug.",
                hint='OAUTH_PROVIDERS = {"github": {"preset": "github", "client_id": ...}}',
                id=check_id(1),
            )
        ]
    if not raw:
        return [
            Warning(
                "OAUTH_PROVIDERS is empty or not set: there is no provider to connect to.",
                hint='Add one, e.g. OAUTH_PROVIDERS = {"github": {"preset": "github", '
                '"client_id": ..., "client_secret": ...}}.',
                id="auth_code_flow_django.W002",
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
                id=check_id(12),
            )
        ]
    if not isinstance(entry, Mapping):
        return [
            Error(f"{where} must be a dict.", hint="See the settings reference.", id=check_id(2))
        ]
    preset = entry.get("preset")
    if preset is not None and not (isinstance(preset, str) and preset in PRESETS):
        # The entry's other values would be checked without the preset's: only noise.
        return [
            Error(
                f"{where}: unknown preset {preset!r}.",
                hint=f"Known presets: {', '.join(sorted(PRESETS))}.",
                id=check_id(4),
            )
        ]
    errors: list[CheckMessage] = []
    unknown = sorted(str(k) for k in entry if k not in PROVIDER_KEYS)
    if unknown:
        errors.append(
            Error(
                f"{where} has unknown keys: {', '.join(unknown)}.",
                hint=f"Allowed keys: {', '.join(sorted(PROVIDER_KEYS))}.",
                id=check_id(3),
            )
        )
    values: dict[str, object] = merged_values(entry)
    unfilled = unfilled_placeholders(values)
    if unfilled:
        errors.append(
            Error(
                f"{where}: the {preset} preset needs {', '.join(unfilled)}.",
                hint="For example "
                '{"preset": "keycloak", "base_uri": "https://sso.example.com", '
                '"realm": "myrealm"}.',
                id=check_id(49),
            )
        )
    errors.extend(_check_values(where, values, check_urls=not unfilled))
    return errors


def _check_values(
    where: str, values: Mapping[str, object], *, check_urls: bool = True
) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    method = values.get("token_endpoint_auth_method", "client_secret_post")
    if method not in CLIENT_AUTH_METHODS:
        errors.append(
            Error(
                f"{where}: token_endpoint_auth_method must be one of "
                f"{', '.join(CLIENT_AUTH_METHODS)}.",
                hint="Most providers accept client_secret_post or client_secret_basic.",
                id=check_id(10),
            )
        )
    if not values.get("client_id"):
        errors.append(
            Error(
                f"{where}: client_id is missing.",
                hint="Copy it from the OAuth app you registered with the provider.",
                id=check_id(5),
            )
        )
    if method not in ("none", "private_key_jwt") and not values.get("client_secret"):
        errors.append(
            Error(
                f"{where}: client_secret is missing.",
                hint="Read it from the environment, not from source control; "
                'or set "token_endpoint_auth_method": "none" for a public client.',
                id=check_id(6),
            )
        )
    if method == "none" and values.get("use_pkce", True) is False:
        errors.append(
            Error(
                f'{where}: a public client (token_endpoint_auth_method "none") must use PKCE.',
                hint="Remove use_pkce (PKCE is on by default): without a client secret, "
                "PKCE is what stops a stolen authorization code from being redeemed "
                "(RFC 9700 2.1.1).",
                id=check_id(14),
            )
        )
    scope = values.get("scope", "")
    if not isinstance(scope, str):
        errors.append(
            Error(
                f"{where}: scope must be a string of space-separated scopes.",
                hint='For example "read:user repo".',
                id=check_id(9),
            )
        )
    bad_types = [k for k in _BOOL_KEYS if k in values and not isinstance(values[k], bool)]
    for key in ("require_iss", "pushed_authorization_requests"):
        if values.get(key) is not None and not isinstance(values[key], bool):
            bad_types.append(key)
    bad_types += [
        k for k in _STR_KEYS if values.get(k) is not None and not isinstance(values[k], str)
    ]
    for key in ("extra_authorize_params", "request_headers"):
        extra = values.get(key, {})
        if not isinstance(extra, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in extra.items()
        ):
            bad_types.append(key)
    for key in (
        "bearer_token_types",
        "invalid_grant_errors",
        "issuer_aliases",
        "shared_token_types",
    ):
        if not _is_str_list(values.get(key, ())):
            bad_types.append(key)
    if bad_types:
        errors.append(
            Error(
                f"{where}: wrong type for {', '.join(sorted(bad_types))}.",
                hint="Flags are booleans, extra_authorize_params and request_headers are "
                "dicts of strings, "
                "the rest are strings.",
                id=check_id(11),
            )
        )
    errors.extend(_check_headers(where, values))
    errors.extend(_check_identity(where, values.get("identity", {})))
    errors.extend(_check_allowed_tenants(where, values.get("allowed_tenants")))
    errors.extend(_check_client_keys(where, values, method))
    errors.extend(check_api_base_url_hosts(where, values))
    if values.get("pushed_authorization_requests") is True and not (
        values.get("pushed_authorization_request_endpoint") or discovers(values)
    ):
        errors.append(
            Error(
                f"{where}: pushed_authorization_requests is on, but there is no "
                "pushed_authorization_request_endpoint.",
                hint='Set "issuer" (its metadata names the endpoint), or set '
                '"pushed_authorization_request_endpoint".',
                id=check_id(57),
            )
        )
    if not check_urls:
        return errors
    errors.extend(check_endpoints(where, values))
    errors.extend(check_openid(where, values))
    errors.extend(check_api_base_urls(where, values))
    return errors


def _check_client_keys(
    where: str, values: Mapping[str, object], method: object
) -> list[CheckMessage]:
    """E054-E056: the ``private_key_jwt`` keys. A message names the problem, never the
    key."""
    errors: list[CheckMessage] = []
    key = values.get("client_private_key")
    if key is None and method == "private_key_jwt":
        errors.append(
            Error(
                f"{where}: private_key_jwt needs client_private_key.",
                hint="Give the private key as a JWK dict (RSA, or EC on P-256) or a PEM "
                "string, read from the environment or a secrets store.",
                id=check_id(55),
            )
        )
    elif key is not None:
        try:
            ClientKey(key)
        except ClientKeyError as exc:
            errors.append(
                Error(
                    f"{where}: client_private_key cannot be used: {exc.description}",
                    hint="A private RSA key (2048 bits or more) or EC key on P-256, as "
                    "a JWK dict or a PEM string.",
                    id=check_id(54),
                )
            )
    previous = values.get("client_previous_public_keys", ())
    problem = "" if isinstance(previous, (list, tuple)) else "it is not a list."
    for item in previous if isinstance(previous, (list, tuple)) else ():
        try:
            public_jwk(item)
        except ClientKeyError as exc:
            problem = exc.description
            break
    if problem:
        errors.append(
            Error(
                f"{where}: client_previous_public_keys cannot be published: {problem}",
                hint="A list of the public keys (JWK dicts or PEM strings) still valid "
                "while a key is rolled.",
                id=check_id(56),
            )
        )
    return errors


_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _check_headers(where: str, values: Mapping[str, object]) -> list[CheckMessage]:
    """E051: ``user_agent`` and ``request_headers`` must make valid header lines."""
    headers: list[tuple[object, object]] = []
    if isinstance(values.get("user_agent"), str):
        headers.append(("User-Agent", values["user_agent"]))
    extra = values.get("request_headers", {})
    if isinstance(extra, Mapping):
        headers.extend(extra.items())
    bad = [
        str(name)
        for name, value in headers
        if isinstance(name, str)
        and isinstance(value, str)
        and (not _HEADER_NAME.fullmatch(name) or bool(_CONTROL.search(value)))
    ]
    if not bad:
        return []
    return [
        Error(
            f"{where}: the header {', '.join(sorted(bad))} is not a valid header line.",
            hint="A header name is a token (letters, digits and !#$%&'*+.^_`|~-); a value "
            "has no control character (no line break).",
            id=check_id(51),
        )
    ]


def _check_allowed_tenants(where: str, tenants: object) -> list[CheckMessage]:
    """E053: ``allowed_tenants`` is ``None`` or a non-empty list of tenant ids."""
    if tenants is None or (
        isinstance(tenants, (list, tuple))
        and tenants
        and all(isinstance(t, str) and TENANT_ID.fullmatch(t) for t in tenants)
    ):
        return []
    return [
        Error(
            f"{where}: allowed_tenants must be a non-empty list of tenant ids (GUIDs).",
            hint='For example ["72f988bf-86f1-41af-91ab-2d7cd011db47"]: the "Directory '
            '(tenant) ID" of each tenant whose accounts may connect. Leave it out to '
            "accept the tenant the endpoints name (any tenant for common and "
            "organizations).",
            id=check_id(53),
        )
    ]


def _is_str_list(value: object) -> bool:
    return isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)


def _is_fields(value: object) -> bool:
    if isinstance(value, str):
        return bool(value)
    return isinstance(value, (list, tuple)) and bool(value) and _is_str_list(value) and all(value)


def _check_identity(where: str, identity: object) -> list[CheckMessage]:
    """E047: the ``identity`` mapping's shape."""
    problems: list[str] = []
    if not isinstance(identity, Mapping):
        problems.append("it must be a dict")
    else:
        unknown = sorted(str(k) for k in identity if k not in IDENTITY_KEYS)
        if unknown:
            problems.append(f"unknown keys {', '.join(unknown)}")
        for key in ("url", "token_param"):
            if identity.get(key) is not None and not (
                isinstance(identity[key], str) and identity[key]
            ):
                problems.append(f"{key} must be a non-empty string")
        for key in ("id", "name"):
            if key in identity and not _is_fields(identity[key]):
                problems.append(f"{key} must be a field path or a list of them")
        params = identity.get("params", {})
        if not isinstance(params, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in params.items()
        ):
            problems.append("params must be a dict of strings")
    if not problems:
        return []
    return [
        Error(
            f"{where}: identity is not valid: {'; '.join(problems)}.",
            hint='For example {"url": "https://api.github.com/user", "id": "id", '
            f'"name": ["login", "name"]}}. Keys: {", ".join(sorted(IDENTITY_KEYS))}.',
            id=check_id(47),
        )
    ]
