"""The ``spotify`` preset against Spotify's documented replies: HTTP Basic, a refresh
reply that may or may not carry a new refresh token, the account from ``/v1/me`` and no
revocation endpoint.

Data only: ``test_documented_replies`` runs every scenario on it."""

from __future__ import annotations

from .documented import DocumentedReplies, Reply

TOKEN_URL = "https://accounts.spotify.com/api/token"
ME_URL = "https://api.spotify.com/v1/me"

#: developer.spotify.com/documentation/web-api/tutorials/code-flow ("Response").
TOKEN_REPLY = {
    "access_token": "NgCXRKc3MzYjw9EhZ4qY3yzb2HNQ3ZiVUDQOyNAz5WJmaM9FNydA3Jn0mW",
    "token_type": "Bearer",
    "scope": "user-read-private user-read-email",
    "expires_in": 3600,
    "refresh_token": "NgAagA9Um_SHoOb5dTvC0nC1h8ZqeTfkHkL7R4bS2JI3sMbD",
}
#: developer.spotify.com/documentation/web-api/reference/get-current-users-profile.
ME_REPLY = {
    "country": "SE",
    "display_name": "JM Wizzler",
    "email": "email@example.com",
    "id": "wizzler",
    "type": "user",
    "uri": "spotify:user:wizzler",
}

DOCUMENTED = DocumentedReplies(
    slug="spotify",
    token_url=TOKEN_URL,
    # developer.spotify.com/documentation/web-api/tutorials/code-flow (the authorization
    # request; the token request with "Authorization: Basic <base64 client_id:secret>").
    client_auth="basic",
    authorize_url="https://accounts.spotify.com/authorize",
    authorize_params={"scope": "user-read-email user-read-private"},
    token_reply=TOKEN_REPLY,
    identity=(ME_URL, ME_REPLY),
    account=("wizzler", "email@example.com"),
    # developer.spotify.com/documentation/web-api/tutorials/refreshing-tokens: "the
    # refresh token ... may be returned"; without one, the old one stays valid.
    refreshes=(
        {k: v for k, v in TOKEN_REPLY.items() if k != "refresh_token"}
        | {"access_token": "access-2"},
        {**TOKEN_REPLY, "access_token": "access-2", "refresh_token": "NgAagA-rotated"},
    ),
    # developer.spotify.com/documentation/web-api/tutorials/code-flow (error replies).
    refused_code=Reply(
        400, {"error": "invalid_grant", "error_description": "Invalid authorization code"}
    ),
    # developer.spotify.com/documentation/web-api/tutorials/refreshing-tokens (an invalid
    # refresh token answers invalid_grant).
    refused_refresh=Reply(
        400, {"error": "invalid_grant", "error_description": "Refresh token revoked"}
    ),
    # developer.spotify.com/documentation/web-api documents no revocation endpoint (users
    # remove an app at spotify.com/account/apps).
    revocation=False,
)
