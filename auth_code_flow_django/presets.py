"""Presets: the endpoints, quirks and identity mapping of well-known providers, as data.

A preset's strings may name ``{base_uri}``, ``{tenant}`` and ``{realm}``: they are
filled from the provider's own values, so a self-hosted GitLab (``base_uri``), a
Microsoft Entra ID tenant (``tenant``) or a Keycloak realm (``realm``) needs one key.
Relative ``api_base_urls`` and ``identity["url"]`` follow ``base_uri`` like the
endpoint paths do. Nothing here imports Django.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

__all__ = ["PLACEHOLDERS", "PRESETS", "merged_values", "unfilled_placeholders"]

#: Provider keys a preset's strings may name as ``{key}``.
PLACEHOLDERS = ("base_uri", "tenant", "realm")
_PLACEHOLDER = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")

PRESETS: Mapping[str, Mapping[str, Any]] = MappingProxyType(
    {
        "stackexchange": {
            "display_name": "Stack Exchange",
            "base_uri": "https://stackoverflow.com",
            "authorization_path": "/oauth",
            "access_token_path": "/oauth/access_token/json",
            "scope": "no_expiry",
            # Its token reply has no token_type and says "expires", not "expires_in".
            "token_type_required": False,
            "expires_in_field": "expires",
            "api_base_urls": ("https://api.stackexchange.com/",),
            # Since June 2026 the API takes the token as a Bearer header only (no key,
            # no access_token in the query). account_id is the network-wide account
            # (user_id differs per site).
            "identity": {
                "url": "https://api.stackexchange.com/2.3/me",
                "params": {"site": "stackoverflow"},
                "id": "items.0.account_id",
                "name": "items.0.display_name",
            },
        },
        "github": {
            "display_name": "GitHub",
            "base_uri": "https://github.com",
            "authorization_path": "/login/oauth/authorize",
            "access_token_path": "/login/oauth/access_token",
            "scope": "read:user",
            "api_base_urls": ("https://api.github.com/",),
            # A used or expired refresh token is answered (HTTP 200 or 400) with
            # {"error": "bad_refresh_token"}: the grant is gone.
            # https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/refreshing-user-access-tokens
            "invalid_grant_errors": ("bad_refresh_token",),
            # JSON only when asked with Accept (always sent); errors come as a 200 with
            # "error", which the core treats as an error for every provider. Revoking
            # is DELETE /applications/{client_id}/grant, not RFC 7009: not offered.
            "identity": {"url": "https://api.github.com/user", "id": "id", "name": "login"},
        },
        "gitlab": {
            "display_name": "GitLab",
            "base_uri": "https://gitlab.com",
            "authorization_path": "/oauth/authorize",
            "access_token_path": "/oauth/token",
            "revocation_path": "/oauth/revoke",
            "scope": "read_user",
            # Relative: a self-hosted GitLab only sets base_uri.
            "api_base_urls": ("/api/",),
            "identity": {"url": "/api/v4/user", "id": "id", "name": ["username", "name"]},
        },
        "google": {
            "display_name": "Google",
            "base_uri": "https://accounts.google.com",
            "authorization_path": "/o/oauth2/v2/auth",
            "access_token_path": "https://oauth2.googleapis.com/token",
            "revocation_path": "https://oauth2.googleapis.com/revoke",
            # OpenID Connect with the endpoints above: the ID token is checked against
            # this issuer and JWKS, and no iss is required on the callback.
            "issuer": "https://accounts.google.com",
            # "The value of iss in the ID token is equal to accounts.google.com or
            # https://accounts.google.com."
            # https://developers.google.com/identity/openid-connect/openid-connect#validatinganidtoken
            "issuer_aliases": ("accounts.google.com",),
            "discovery": False,
            "require_iss": False,
            "jwks_uri": "https://www.googleapis.com/oauth2/v3/certs",
            "scope": "openid email",
            "extra_authorize_params": {"access_type": "offline", "prompt": "consent"},
            "api_base_urls": (
                "https://www.googleapis.com/",
                "https://openidconnect.googleapis.com/",
            ),
            # The id_token's claims when there is one, else the userinfo endpoint.
            "identity": {
                "url": "https://openidconnect.googleapis.com/v1/userinfo",
                "id": "sub",
                "name": ["email", "name"],
            },
        },
        "microsoft": {
            "display_name": "Microsoft",
            "base_uri": "https://login.microsoftonline.com",
            "tenant": "common",
            "authorization_path": "/{tenant}/oauth2/v2.0/authorize",
            "access_token_path": "/{tenant}/oauth2/v2.0/token",
            # OpenID Connect (add openid to the scope) with the endpoints above. Every
            # ID token names its user's own tenant: iss is this template with the
            # token's tid put in, for common and organizations as for one tenant.
            # https://learn.microsoft.com/en-us/entra/identity-platform/access-tokens#validate-the-issuer
            # https://learn.microsoft.com/en-us/entra/identity-platform/id-token-claims-reference
            "issuer": "https://login.microsoftonline.com/{tenantid}/v2.0",
            "discovery": False,
            "require_iss": False,
            "jwks_uri": "https://login.microsoftonline.com/{tenant}/discovery/v2.0/keys",
            "scope": "User.Read offline_access",
            "api_base_urls": ("https://graph.microsoft.com/",),
            # No RFC 7009 endpoint. The object id: "oid" in an id_token, "id" in Graph.
            "identity": {
                "url": "https://graph.microsoft.com/v1.0/me",
                "id": ["oid", "id"],
                "name": ["preferred_username", "userPrincipalName", "mail", "displayName"],
            },
        },
        "slack": {
            "display_name": "Slack",
            "base_uri": "https://slack.com",
            "authorization_path": "/oauth/v2/authorize",
            "access_token_path": "/api/oauth.v2.access",
            "revocation_path": "/api/auth.revoke",
            "scope": "users:read",
            # Every reply is a 200: an error says {"ok": false, "error": ...}.
            "success_field": "ok",
            # With token rotation on, a dead refresh token says so in its own words.
            "invalid_grant_errors": ("invalid_refresh_token",),
            # A bot token's token_type is "bot", a user token's (user_scope) "user",
            # both used as Bearer tokens; a rotated user token refreshes as "user".
            # https://docs.slack.dev/reference/methods/oauth.v2.access
            # https://docs.slack.dev/authentication/using-token-rotation
            "bearer_token_types": ("bot", "user"),
            # The bot token is the workspace's, shared by everyone there: revoking it
            # when one user disconnects would uninstall the app for all of them.
            # https://docs.slack.dev/reference/methods/auth.revoke
            "shared_token_types": ("bot",),
            "api_base_urls": ("https://slack.com/api/",),
            # The installing user is named in the token reply itself.
            "identity": {"id": "authed_user.id", "name": "team.name"},
        },
        "discord": {
            "display_name": "Discord",
            "base_uri": "https://discord.com",
            "authorization_path": "/oauth2/authorize",
            "access_token_path": "/api/oauth2/token",
            "revocation_path": "/api/oauth2/token/revoke",
            "scope": "identify",
            "api_base_urls": ("https://discord.com/api/",),
            "identity": {
                "url": "https://discord.com/api/users/@me",
                "id": "id",
                "name": ["username", "global_name"],
            },
        },
        "bitbucket": {
            "display_name": "Bitbucket",
            "base_uri": "https://bitbucket.org",
            "authorization_path": "/site/oauth2/authorize",
            "access_token_path": "/site/oauth2/access_token",
            "token_endpoint_auth_method": "client_secret_basic",
            # Scopes are chosen on the consumer; the request's scope is informative.
            "scope": "account",
            "api_base_urls": ("https://api.bitbucket.org/2.0/",),
            # No revocation endpoint.
            "identity": {
                "url": "https://api.bitbucket.org/2.0/user",
                "id": "uuid",
                "name": ["username", "nickname", "display_name"],
            },
        },
        "keycloak": {
            "display_name": "Keycloak",
            # base_uri (the server, e.g. https://sso.example.com) and realm are required.
            "issuer": "{base_uri}/realms/{realm}",
            "authorization_path": "/realms/{realm}/protocol/openid-connect/auth",
            "access_token_path": "/realms/{realm}/protocol/openid-connect/token",
            "revocation_path": "/realms/{realm}/protocol/openid-connect/revoke",
            "scope": "openid profile email",
            "api_base_urls": ("/realms/{realm}/",),
            "identity": {
                "url": "/realms/{realm}/protocol/openid-connect/userinfo",
                "id": "sub",
                "name": ["preferred_username", "email", "name"],
            },
        },
    }
)


def _fill(value: Any, fill: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return _PLACEHOLDER.sub(lambda m: fill.get(m.group(1), m.group(0)), value)
    if isinstance(value, tuple):
        return tuple(_fill(v, fill) for v in value)
    if isinstance(value, Mapping):
        return {k: _fill(v, fill) for k, v in value.items()}
    return value


def merged_values(raw: Mapping[Any, Any]) -> dict[Any, Any]:
    """An ``OAUTH_PROVIDERS`` entry's values over its preset's, the preset's placeholders
    filled from the merged values. An ``identity`` mapping in the entry is merged over
    the preset's (and its ``params`` over the preset's ``params``). An unknown preset
    gives the entry's own values."""
    preset_name = raw.get("preset")
    preset = PRESETS.get(preset_name) if isinstance(preset_name, str) else None
    values: dict[Any, Any] = dict(preset or {})
    values.update((k, v) for k, v in raw.items() if k != "preset")
    if preset is None:
        return values
    fill = {
        name: value.rstrip("/") if name == "base_uri" else value
        for name in PLACEHOLDERS
        if isinstance(value := values.get(name), str) and value
    }
    for key, preset_value in preset.items():
        if key not in raw:
            values[key] = _fill(preset_value, fill)
    own_identity = raw.get("identity")
    preset_identity = preset.get("identity")
    if isinstance(own_identity, Mapping) and isinstance(preset_identity, Mapping):
        identity = {**_fill(preset_identity, fill), **own_identity}
        own_params, preset_params = own_identity.get("params"), preset_identity.get("params")
        if isinstance(own_params, Mapping) and isinstance(preset_params, Mapping):
            identity["params"] = {**preset_params, **own_params}
        values["identity"] = identity
    return values


def unfilled_placeholders(values: Mapping[Any, Any]) -> list[str]:
    """The placeholders (``tenant``, ``realm``...) still unfilled in ``values``."""
    found: set[str] = set()

    def scan(value: object) -> None:
        if isinstance(value, str):
            found.update(_PLACEHOLDER.findall(value))
        elif isinstance(value, (list, tuple)):
            for item in value:
                scan(item)
        elif isinstance(value, Mapping):
            for item in value.values():
                scan(item)

    for value in values.values():
        scan(value)
    return sorted(found)
