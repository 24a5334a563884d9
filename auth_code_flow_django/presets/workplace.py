"""The presets of workplace services: Slack, Salesforce, Dropbox, Notion, Box, Zoom."""

from __future__ import annotations

from typing import Any

WORKPLACE: dict[str, dict[str, Any]] = {
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
        # Instance and My Domain hosts: na1.salesforce.com, acme.my.salesforce.com,
        # acme--dev.sandbox.my.salesforce.com (help.salesforce.com: "My Domain URL
        # Formats"). Government Cloud and other clouds set their own.
        "api_base_url_hosts": ("*.salesforce.com",),
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
        # Every cluster it names is under zoom.us: api.zoom.us, eu01api.zoom.us,
        # sg01api.zoom.us... (developers.zoom.us/changelog/platform/
        # api_url_access_token_response).
        "api_base_url_hosts": ("*.zoom.us",),
        "api_base_urls": ("https://api.zoom.us/v2/",),
        "identity": {
            "url": "https://api.zoom.us/v2/users/me",
            "id": "id",
            "name": ["email", "display_name"],
        },
    },
}
