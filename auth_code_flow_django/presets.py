"""Presets: the endpoints, quirks and identity mapping of well-known providers, as data.

A preset's strings may name ``{base_uri}``, ``{tenant}``, ``{realm}``, ``{issuer}`` and
``{user_agent}``: they are filled from the provider's own values, so a self-hosted
GitLab (``base_uri``), a Microsoft Entra ID tenant (``tenant``), a Keycloak realm
(``realm``) or an Okta authorization server (``issuer``) needs one key. A preset value
that is only a placeholder (``"user_agent": "{user_agent}"``) is one the site must give.
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
PLACEHOLDERS = ("base_uri", "tenant", "realm", "issuer", "user_agent")
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
        # help.salesforce.com: "OAuth 2.0 Web Server Flow for Web App Integration"
        # (remoteaccess_oauth_web_server_flow), "OAuth 2.0 Refresh Token Flow",
        # "Revoke OAuth Tokens" and "UserInfo Endpoint".
        "salesforce": {
            "display_name": "Salesforce",
            # A sandbox sets https://test.salesforce.com, a My Domain login its own host.
            "base_uri": "https://login.salesforce.com",
            "authorization_path": "/services/oauth2/authorize",
            "access_token_path": "/services/oauth2/token",
            "revocation_path": "/services/oauth2/revoke",
            "scope": "api id refresh_token",
            # Each org's API lives on its own host, named by instance_url in every token
            # reply. The reply has no expires_in (the org's session timeout applies):
            # authorized_session refreshes on a 401.
            "api_base_url_field": "instance_url",
            "api_base_urls": ("/services/oauth2/userinfo",),
            # sub is the identity URL (org and user ids), unique across orgs.
            "identity": {
                "url": "/services/oauth2/userinfo",
                "id": "sub",
                "name": ["preferred_username", "name"],
            },
        },
        # developers.dropbox.com/oauth-guide and dropbox.com/developers/documentation/
        # http/documentation (oauth2/token, auth/token/revoke).
        "dropbox": {
            "display_name": "Dropbox",
            "base_uri": "https://www.dropbox.com",
            "authorization_path": "/oauth2/authorize",
            "access_token_path": "https://api.dropboxapi.com/oauth2/token",
            # No scope: the app's scopes as set in the App Console.
            "scope": "",
            # Without it the access token is short-lived and comes without a refresh token.
            "extra_authorize_params": {"token_access_type": "offline"},
            "api_base_urls": (
                "https://api.dropboxapi.com/2/",
                "https://content.dropboxapi.com/2/",
            ),
            # Revoking is POST /2/auth/token/revoke with the token as Bearer, not RFC
            # 7009: not offered. The account is named in the token reply (account_id);
            # its name needs a POST (users/get_current_account), so none is read.
            "identity": {"id": "account_id"},
        },
        # developers.notion.com: "Authorization" guide, "Create a token", "Refresh a
        # token", "Revoke a token".
        "notion": {
            "display_name": "Notion",
            "base_uri": "https://api.notion.com",
            "authorization_path": "/v1/oauth/authorize",
            "access_token_path": "/v1/oauth/token",
            "revocation_path": "/v1/oauth/revoke",
            # HTTP Basic and JSON bodies, as documented; every request names an API
            # version.
            "token_endpoint_auth_method": "client_secret_basic",
            "post_form_data": False,
            "request_headers": {"Notion-Version": "2022-06-28"},
            # Capabilities are set on the integration, not requested.
            "scope": "",
            "extra_authorize_params": {"owner": "user"},
            "api_base_urls": ("https://api.notion.com/v1/",),
            # The reply names the authorizing user (owner.user) and the workspace; the
            # workspace fields are kept with the connection (token.extra).
            "identity": {
                "id": ["owner.user.id", "bot_id"],
                "name": ["owner.user.person.email", "owner.user.name", "workspace_name"],
            },
        },
        # developer.atlassian.com/cloud/jira/platform/oauth-2-3lo-apps/ (rotating
        # refresh tokens, accessible-resources) and .../cloud/oauth/getting-started/.
        "atlassian": {
            "display_name": "Atlassian",
            "base_uri": "https://auth.atlassian.com",
            "authorization_path": "/authorize",
            "access_token_path": "/oauth/token",
            "post_form_data": False,
            "scope": "read:me offline_access",
            "extra_authorize_params": {"audience": "api.atlassian.com", "prompt": "consent"},
            # Every product API goes through the gateway, per site:
            # /ex/jira/{cloudid}/..., the cloud id from
            # GET /oauth/token/accessible-resources. No revocation endpoint.
            "api_base_urls": ("https://api.atlassian.com/",),
            "identity": {
                "url": "https://api.atlassian.com/me",
                "id": "account_id",
                "name": ["email", "name", "nickname"],
            },
        },
        # developer.box.com/guides/authentication/oauth2/ and
        # .../guides/authentication/tokens/refresh/ (single-use refresh tokens).
        "box": {
            "display_name": "Box",
            "base_uri": "https://account.box.com",
            "authorization_path": "/api/oauth2/authorize",
            "access_token_path": "https://api.box.com/oauth2/token",
            "revocation_path": "https://api.box.com/oauth2/revoke",
            # Scopes are set on the app; a request may only narrow them.
            "scope": "",
            "api_base_urls": ("https://api.box.com/2.0/", "https://upload.box.com/api/2.0/"),
            "identity": {
                "url": "https://api.box.com/2.0/users/me",
                "id": "id",
                "name": ["login", "name"],
            },
        },
        # github.com/reddit-archive/reddit/wiki/OAuth2 and github.com/reddit-archive/
        # reddit/wiki/API (the User-Agent rule).
        "reddit": {
            "display_name": "Reddit",
            "base_uri": "https://www.reddit.com",
            "authorization_path": "/api/v1/authorize",
            "access_token_path": "/api/v1/access_token",
            "revocation_path": "/api/v1/revoke_token",
            "token_endpoint_auth_method": "client_secret_basic",
            "scope": "identity",
            # Without it the grant lasts an hour and has no refresh token.
            "extra_authorize_params": {"duration": "permanent"},
            # Generic User-Agents are throttled or refused: the site must give its own,
            # "<platform>:<app ID>:<version> (by /u/<username>)".
            "user_agent": "{user_agent}",
            "api_base_urls": ("https://oauth.reddit.com/",),
            "identity": {
                "url": "https://oauth.reddit.com/api/v1/me",
                "id": "id",
                "name": "name",
            },
        },
        # docs.x.com/fundamentals/authentication/oauth-2-0/authorization-code and
        # .../user-access-token.
        "x": {
            "display_name": "X",
            "base_uri": "https://x.com",
            "authorization_path": "/i/oauth2/authorize",
            "access_token_path": "https://api.x.com/2/oauth2/token",
            "revocation_path": "https://api.x.com/2/oauth2/revoke",
            # PKCE is required; a confidential client authenticates with HTTP Basic.
            "token_endpoint_auth_method": "client_secret_basic",
            "scope": "tweet.read users.read offline.access",
            "api_base_urls": ("https://api.x.com/2/",),
            "identity": {
                "url": "https://api.x.com/2/users/me",
                "id": "data.id",
                "name": "data.username",
            },
        },
        # developers.zoom.us/docs/integrations/oauth/ (authorization code flow, PKCE,
        # refreshing, revoking) and .../oauth-error-messages/.
        "zoom": {
            "display_name": "Zoom",
            "base_uri": "https://zoom.us",
            "authorization_path": "/oauth/authorize",
            "access_token_path": "/oauth/token",
            "revocation_path": "/oauth/revoke",
            "token_endpoint_auth_method": "client_secret_basic",
            # Scopes are set on the app in the Marketplace.
            "scope": "",
            # The reply's api_url names the account's API host (data residency).
            "api_base_url_field": "api_url",
            "api_base_urls": ("https://api.zoom.us/v2/",),
            "identity": {
                "url": "https://api.zoom.us/v2/users/me",
                "id": "id",
                "name": ["email", "display_name"],
            },
        },
        # learn.microsoft.com/linkedin/consumer/integrations/self-serve/
        # sign-in-with-linkedin-v2 and learn.microsoft.com/linkedin/shared/
        # authentication/authorization-code-flow.
        "linkedin": {
            "display_name": "LinkedIn",
            "base_uri": "https://www.linkedin.com",
            "authorization_path": "/oauth/v2/authorization",
            "access_token_path": "/oauth/v2/accessToken",
            # OpenID Connect with the endpoints above (its discovery document names
            # them too): the ID token is checked against this issuer and JWKS.
            "issuer": "https://www.linkedin.com/oauth",
            "discovery": False,
            "require_iss": False,
            "jwks_uri": "https://www.linkedin.com/oauth/openid/jwks",
            "scope": "openid profile email",
            "api_base_urls": ("https://api.linkedin.com/",),
            # Refresh tokens only for approved partners; no revocation endpoint.
            "identity": {
                "url": "https://api.linkedin.com/v2/userinfo",
                "id": "sub",
                "name": ["email", "name"],
            },
        },
        # developer.spotify.com/documentation/web-api/tutorials/code-flow and
        # .../refreshing-tokens.
        "spotify": {
            "display_name": "Spotify",
            "base_uri": "https://accounts.spotify.com",
            "authorization_path": "/authorize",
            "access_token_path": "/api/token",
            "token_endpoint_auth_method": "client_secret_basic",
            "scope": "user-read-email user-read-private",
            "api_base_urls": ("https://api.spotify.com/v1/",),
            # A refresh reply may or may not carry a new refresh token. No revocation.
            "identity": {
                "url": "https://api.spotify.com/v1/me",
                "id": "id",
                "name": ["email", "display_name"],
            },
        },
        # dev.twitch.tv/docs/authentication/getting-tokens-oidc/,
        # .../refresh-tokens/ and .../revoke-tokens/.
        "twitch": {
            "display_name": "Twitch",
            "base_uri": "https://id.twitch.tv",
            "authorization_path": "/oauth2/authorize",
            "access_token_path": "/oauth2/token",
            "revocation_path": "/oauth2/revoke",
            "issuer": "https://id.twitch.tv/oauth2",
            "discovery": False,
            "require_iss": False,
            "jwks_uri": "https://id.twitch.tv/oauth2/keys",
            "scope": "openid user:read:email",
            # The ID token and UserInfo name the user only when these claims are asked
            # for.
            "extra_authorize_params": {
                "claims": '{"id_token":{"email":null,"preferred_username":null},'
                '"userinfo":{"email":null,"preferred_username":null}}'
            },
            # A dead refresh token answers 400 {"error": "Bad Request", "message":
            # "Invalid refresh token"}.
            "invalid_grant_errors": ("Bad Request",),
            "api_base_urls": (
                "https://api.twitch.tv/helix/",
                "https://id.twitch.tv/oauth2/userinfo",
            ),
            "identity": {
                "url": "https://id.twitch.tv/oauth2/userinfo",
                "id": "sub",
                "name": ["preferred_username", "email"],
            },
        },
        # developer.okta.com/docs/guides/implement-grant-type/authcode/main/ and
        # .../concepts/auth-servers/: issuer https://{yourOktaDomain}/oauth2/default
        # (or another custom authorization server); everything else is discovered.
        "okta": {
            "display_name": "Okta",
            "issuer": "{issuer}",
            "scope": "openid profile email offline_access",
        },
        # auth0.com/docs/get-started/authentication-and-authorization-flow/
        # authorization-code-flow-with-pkce: issuer https://{yourDomain}/ (with the
        # slash); everything else is discovered.
        "auth0": {
            "display_name": "Auth0",
            "issuer": "{issuer}",
            "scope": "openid profile email offline_access",
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
