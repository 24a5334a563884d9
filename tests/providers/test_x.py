"""The ``x`` preset against X's documented replies: PKCE required, HTTP Basic for a
confidential client, ``offline.access`` for a refresh token (rotated at each refresh),
the account from ``/2/users/me`` and revocation at ``/2/oauth2/revoke``.

Data only: ``test_documented_replies`` runs every scenario on it."""

from __future__ import annotations

from .documented import DocumentedReplies, Reply, Revocation

TOKEN_URL = "https://api.x.com/2/oauth2/token"
REVOKE_URL = "https://api.x.com/2/oauth2/revoke"
ME_URL = "https://api.x.com/2/users/me"

#: docs.x.com/fundamentals/authentication/oauth-2-0/user-access-token (step 3).
TOKEN_REPLY = {
    "token_type": "bearer",
    "expires_in": 7200,
    "access_token": "VGNibzFWSWREZm01bjN1N3dicWlNUG1oa2xRRVNNdmVHelJGY2hPWGxNd2dxOjE2MjIxNjA4",
    "scope": "tweet.read users.read offline.access",
    "refresh_token": "bWRWa3gzdnk3WHRGU1o0bmRRcTJ5VUxWX1lZTDdJSUtmaWcxbTVxdEFXcW5tOjE2MjIxNDc3",
}
#: docs.x.com/x-api/users/get-my-user.
ME_REPLY = {"data": {"id": "2244994945", "name": "X Dev", "username": "TwitterDev"}}

DOCUMENTED = DocumentedReplies(
    slug="x",
    token_url=TOKEN_URL,
    # docs.x.com/fundamentals/authentication/oauth-2-0/user-access-token (the authorize
    # URL with code_challenge; a confidential client's Basic header on the token request).
    client_auth="basic",
    authorize_url="https://x.com/i/oauth2/authorize",
    authorize_params={
        "code_challenge_method": "S256",
        "scope": "tweet.read users.read offline.access",
    },
    token_reply=TOKEN_REPLY,
    identity=(ME_URL, ME_REPLY),
    account=("2244994945", "TwitterDev"),
    # docs.x.com/fundamentals/authentication/oauth-2-0/authorization-code ("Refresh
    # tokens": grant_type=refresh_token).
    refreshes=({**TOKEN_REPLY, "access_token": "access-2", "refresh_token": "refresh-2"},),
    # docs.x.com/fundamentals/authentication/oauth-2-0/user-access-token shows no error
    # reply: RFC 6749 5.2's shape, with X's wording.
    refused_code=Reply(
        400,
        {
            "error": "invalid_request",
            "error_description": "Value passed for the authorization code was invalid.",
        },
    ),
    # docs.x.com/fundamentals/authentication/oauth-2-0/authorization-code shows no error
    # reply for a refresh: RFC 6749 5.2's invalid_grant, with X's wording.
    refused_refresh=Reply(
        400,
        {"error": "invalid_grant", "error_description": "Value passed for the token was invalid."},
    ),
    # docs.x.com/fundamentals/authentication/oauth-2-0/user-access-token ("Revoke token":
    # POST token and token_type_hint to /2/oauth2/revoke).
    revocation=Revocation(
        REVOKE_URL, Reply(200, {"revoked": True}), hints=True, client_auth="basic"
    ),
)
