"""The presets of identity platforms, OpenID Connect servers first: Google, Microsoft
Entra ID, Keycloak, Okta, Auth0."""

from __future__ import annotations

from typing import Any

IDENTITY_PLATFORMS: dict[str, dict[str, Any]] = {
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
