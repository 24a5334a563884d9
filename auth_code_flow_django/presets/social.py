"""The presets of social and media services: Discord, Reddit, X, LinkedIn, Spotify,
Twitch."""

from __future__ import annotations

from typing import Any

SOCIAL: dict[str, dict[str, Any]] = {
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
}
