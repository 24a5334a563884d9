"""The ``bitbucket`` preset against Bitbucket Cloud's documented replies: client
credentials in HTTP Basic, a token reply that says ``scopes`` (not ``scope``), and no
revocation endpoint.

Pages followed:
- https://developer.atlassian.com/cloud/bitbucket/oauth-2/
- https://developer.atlassian.com/cloud/bitbucket/rest/api-group-users/#api-user-get


Data only: ``test_documented_replies`` runs every scenario on it."""

from __future__ import annotations

from .documented import DocumentedReplies, Reply

TOKEN_URL = "https://bitbucket.org/site/oauth2/access_token"
USER_URL = "https://api.bitbucket.org/2.0/user"

# "OAuth on Bitbucket Cloud", making requests: the access token reply.
TOKEN_REPLY = {
    "access_token": "C-Mv1f3e2AmSKMDEHpxvRT6w7ZJwZ8LjLiAsHX8iVi2DyLLr4",
    "scopes": "account",
    "token_type": "bearer",
    "expires_in": 7200,
    "state": "authorization_code",
    "refresh_token": "Tk9uNFk5VGpLRzF3R3N4ZkV",
}
# "Get current user", abridged.
USER_REPLY = {
    "type": "user",
    "uuid": "{d301aafa-d676-4ee0-88be-962be7417567}",
    "username": "evzijst",
    "nickname": "evzijst",
    "display_name": "Erik van Zijst",
    "account_id": "557058:c0b72ad0-1cb5-4018-9cdc-0cde8492c443",
}

DOCUMENTED = DocumentedReplies(
    slug="bitbucket",
    token_url=TOKEN_URL,
    # OAuth 2.0, authorization code grant: the client authenticates with HTTP Basic; the
    # reply names its scopes in "scopes" (the requested scope is kept).
    client_auth="basic",
    authorize_url="https://bitbucket.org/site/oauth2/authorize",
    token_reply=TOKEN_REPLY,
    identity=(USER_URL, USER_REPLY),
    account=("{d301aafa-d676-4ee0-88be-962be7417567}", "evzijst"),
    stored_fields={"scope": "account"},
    # OAuth 2.0, refresh tokens: grant_type=refresh_token with Basic credentials...
    refreshes=({**TOKEN_REPLY, "access_token": "D-Nw2g4f3BnTLNEFIqywSU7x8AKxA9MkMjBtIY9jWj3E"},),
    # ... and a bad one is answered HTTP 400 invalid_grant.
    refused_refresh=Reply(
        400, {"error_description": "Invalid refresh_token", "error": "invalid_grant"}
    ),
    # OAuth 2.0 on Bitbucket Cloud documents no revocation endpoint.
    revocation=False,
)
