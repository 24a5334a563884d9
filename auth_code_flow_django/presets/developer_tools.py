"""The presets of code hosting and developer tools: Stack Exchange, GitHub, GitLab,
Bitbucket, Atlassian."""

from __future__ import annotations

from typing import Any

DEVELOPER_TOOLS: dict[str, dict[str, Any]] = {
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
}
