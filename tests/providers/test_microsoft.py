"""The ``microsoft`` preset against the Microsoft identity platform's documented
replies: the v2.0 authorization code flow, its ID tokens (whose ``iss`` names the
user's own tenant, also on the multi-tenant ``common`` and ``organizations``
endpoints), and Microsoft Graph's ``/me``.

Pages followed:
- https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow
- https://learn.microsoft.com/en-us/entra/identity-platform/id-token-claims-reference
- https://learn.microsoft.com/en-us/entra/identity-platform/access-tokens#validate-the-issuer
- https://learn.microsoft.com/en-us/entra/identity-platform/v2-protocols-oidc
- https://learn.microsoft.com/en-us/graph/api/user-get
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import responses
from django.contrib.auth.models import AbstractBaseUser
from django.core.checks import run_checks
from django.test import Client

from auth_code_flow_django import tokens
from auth_code_flow_django.models import OAuthToken
from tests import oidc

from .documented import DocumentedReplies, Reply
from .steps import (
    authorize,
    callback,
    client_id,
    configure,
    expire,
    form,
    stored,
)

pytestmark = pytest.mark.django_db

LOGIN = "https://login.microsoftonline.com"
TOKEN_URL = LOGIN + "/common/oauth2/v2.0/token"
JWKS_URL = LOGIN + "/common/discovery/v2.0/keys"
GRAPH_ME = "https://graph.microsoft.com/v1.0/me"
#: The tenant of the ID token claims reference's example, and another one.
CONTOSO = "b9419818-09af-49c2-b0c3-653adc1f376e"
FABRIKAM = "72f988bf-86f1-41af-91ab-2d7cd011db47"
OPENID = "openid profile offline_access User.Read"
KEY = oidc.SigningKey("microsoft-key-1")

# "Request an access token with a client_secret", successful response (the example's
# scope is URL-encoded as shown there).
TOKEN_REPLY = {
    "access_token": "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiIsIng1dCI6Ik5HVEZ2ZEstZnl0aEV1Q",
    "token_type": "Bearer",
    "expires_in": 3599,
    "scope": "https%3A%2F%2Fgraph.microsoft.com%2Fuser.read",
    "refresh_token": "AwABAAAAvPM1KaPlrEqdFSBzjqfTGAMxZGUTdM0t4B4",
}
# Microsoft Graph, "Get user", signed-in user example, abridged.
ME_REPLY = {
    "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users/$entity",
    "displayName": "Adele Vance",
    "mail": "AdeleV@contoso.com",
    "userPrincipalName": "AdeleV@contoso.com",
    "id": "87d349ed-44d7-43e1-9a83-5f2406dee5bd",
}
# "Microsoft identity platform and OpenID Connect protocol": the common endpoint's
# discovery document names its issuer as a template.
COMMON_DOCUMENT = {
    "token_endpoint": TOKEN_URL,
    "token_endpoint_auth_methods_supported": [
        "client_secret_post",
        "private_key_jwt",
        "client_secret_basic",
    ],
    "jwks_uri": JWKS_URL,
    "response_modes_supported": ["query", "fragment", "form_post"],
    "subject_types_supported": ["pairwise"],
    "id_token_signing_alg_values_supported": ["RS256"],
    "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
    "scopes_supported": ["openid", "profile", "email", "offline_access"],
    "issuer": LOGIN + "/{tenantid}/v2.0",
    "authorization_endpoint": LOGIN + "/common/oauth2/v2.0/authorize",
    "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
    "end_session_endpoint": LOGIN + "/common/oauth2/v2.0/logout",
    "tenant_region_scope": None,
}

DOCUMENTED = DocumentedReplies(
    slug="microsoft",
    token_url=TOKEN_URL,
    # Refresh the access token, error response: invalid_grant (AADSTS70008) with
    # Microsoft's extra fields, HTTP 400.
    refused_refresh=Reply(
        400,
        {
            "error": "invalid_grant",
            "error_description": "AADSTS70008: The provided authorization code or refresh "
            "token has expired due to inactivity.",
            "error_codes": [70008],
            "timestamp": "2025-01-01 00:00:00Z",
            "trace_id": "0000aaaa-11bb-cccc-dd22-eeeeee333333",
            "correlation_id": "aaaa0000-bb11-2222-33cc-444444dddddd",
        },
    ),
    # The v2.0 endpoints have no RFC 7009 revocation endpoint (revoking a user's
    # sessions is Graph's revokeSignInSessions, a different act).
    revocation=False,
)


def id_token(nonce: str | None, tenant: str = CONTOSO, **overrides: Any) -> str:
    """An ID token as the claims reference shows one (v2.0), for ``tenant``."""
    now = int(time.time())
    claims = {
        "aud": client_id("microsoft"),
        "iss": f"{LOGIN}/{tenant}/v2.0",
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "name": "Abe Lincoln",
        "oid": "00000000-0000-0000-66f3-3332eca7ea81",
        "preferred_username": "abeli@microsoft.com",
        "rh": "I",
        "sub": "HKZpfaHyWadeOouYlitjrI-KffTm222X5rrV3xDqfKQ",
        "tid": tenant,
        "uti": "fqiBqXLPj0eQa82S-IYFAA",
        "ver": "2.0",
        "nonce": nonce,
        **overrides,
    }
    return KEY.sign({k: v for k, v in claims.items() if v is not None})


def connect_with_id_token(
    alice: Client,
    mocked: responses.RequestsMock,
    slug: str = "microsoft",
    callback_params: dict[str, str] | None = None,
    **claims: Any,
) -> Any:
    mocked.get(JWKS_URL, json=oidc.jwks(KEY))
    _endpoint, params = authorize(alice, slug)
    mocked.post(TOKEN_URL, json={**TOKEN_REPLY, "id_token": id_token(params["nonce"], **claims)})
    return callback(alice, slug, params, **(callback_params or {}))


def test_without_openid_the_account_comes_from_graph(
    settings: Any, alice: Client, user: AbstractBaseUser, mocked: responses.RequestsMock
) -> None:
    """Auth code flow, successful token response, then Graph's GET /me: id and
    userPrincipalName."""
    endpoint, params = authorize(alice, "microsoft")
    assert endpoint == LOGIN + "/common/oauth2/v2.0/authorize"
    assert params["scope"] == "User.Read offline_access"
    mocked.post(TOKEN_URL, json=TOKEN_REPLY)
    me = mocked.get(GRAPH_ME, json=ME_REPLY)
    assert callback(alice, "microsoft", params).status_code == 302
    assert me.calls[0].request.headers["Authorization"] == f"Bearer {TOKEN_REPLY['access_token']}"
    token = stored(user, "microsoft")
    assert token.scope == TOKEN_REPLY["scope"]
    assert (token.account_id, token.account_name) == (ME_REPLY["id"], "AdeleV@contoso.com")


def test_the_preset_with_openid_on_common_connects_a_user_of_any_tenant(
    settings: Any, alice: Client, user: AbstractBaseUser, mocked: responses.RequestsMock
) -> None:
    """ID token claims reference: iss is https://login.microsoftonline.com/{tid}/v2.0
    with the user's own tenant, also on the common endpoint; oid and
    preferred_username name the account, with no Graph request."""
    configure(settings, "microsoft", scope=OPENID)
    me = mocked.get(GRAPH_ME, json=ME_REPLY)
    response = connect_with_id_token(alice, mocked)
    assert response.status_code == 302, response.content
    token = stored(user, "microsoft")
    assert (token.account_id, token.account_name) == (
        "00000000-0000-0000-66f3-3332eca7ea81",
        "abeli@microsoft.com",
    )
    assert len(me.calls) == 0
    assert token.id_token_subject == "HKZpfaHyWadeOouYlitjrI-KffTm222X5rrV3xDqfKQ"


def test_an_iss_that_is_not_the_token_s_own_tenant_is_refused(
    settings: Any, alice: Client, mocked: responses.RequestsMock
) -> None:
    """Validate the issuer: iss must be the template with the token's tid put in."""
    configure(settings, "microsoft", scope=OPENID)
    response = connect_with_id_token(alice, mocked, iss=f"{LOGIN}/{FABRIKAM}/v2.0")
    assert response.status_code == 502
    assert not OAuthToken.objects.exists()


@pytest.mark.parametrize("iss", [LOGIN + "/{tenantid}/v2.0", LOGIN + "/common/v2.0"])
def test_an_iss_naming_no_tenant_is_refused(
    settings: Any, alice: Client, mocked: responses.RequestsMock, iss: str
) -> None:
    """The template itself, or the endpoint's alias, is never a token's issuer."""
    configure(settings, "microsoft", scope=OPENID)
    assert connect_with_id_token(alice, mocked, iss=iss).status_code == 502


def test_allowed_tenants_restricts_who_may_connect(
    settings: Any, alice: Client, user: AbstractBaseUser, mocked: responses.RequestsMock
) -> None:
    """Multi-tenant apps decide which tenants may sign in by their tid."""
    configure(settings, "microsoft", scope=OPENID, allowed_tenants=[FABRIKAM])
    response = connect_with_id_token(alice, mocked)
    assert response.status_code == 502
    assert "tenant" in response.content.decode()
    assert not OAuthToken.objects.exists()
    response = connect_with_id_token(alice, mocked, tenant=FABRIKAM)
    assert response.status_code == 302, response.content
    assert stored(user, "microsoft").account_name == "abeli@microsoft.com"


def test_a_tenant_id_accepts_only_its_own_tenant(
    settings: Any, alice: Client, user: AbstractBaseUser, mocked: responses.RequestsMock
) -> None:
    """A single-tenant app's endpoints name its tenant id; its tokens carry it."""
    configure(settings, "microsoft", scope=OPENID, tenant=CONTOSO)
    mocked.get(f"{LOGIN}/{CONTOSO}/discovery/v2.0/keys", json=oidc.jwks(KEY))
    for tenant, status in ((FABRIKAM, 502), (CONTOSO, 302)):
        _endpoint, params = authorize(alice, "microsoft")
        reply = {**TOKEN_REPLY, "id_token": id_token(params["nonce"], tenant=tenant)}
        mocked.post(f"{LOGIN}/{CONTOSO}/oauth2/v2.0/token", json=reply)
        assert callback(alice, "microsoft", params).status_code == status
    assert stored(user, "microsoft").account_id == "00000000-0000-0000-66f3-3332eca7ea81"


def configure_entra(settings: Any) -> None:
    """A provider named by the common endpoint's issuer, without the preset."""
    settings.OAUTH_PROVIDERS = {
        "entra": {
            "issuer": LOGIN + "/common/v2.0",
            "client_id": client_id("microsoft"),
            "client_secret": "entra-client-secret",
            "scope": "openid profile",
        }
    }


def test_the_common_discovery_document_s_issuer_template_is_accepted(
    settings: Any, alice: Client, user: AbstractBaseUser, mocked: responses.RequestsMock
) -> None:
    """OpenID Connect on the Microsoft identity platform: the common endpoint's
    document names the issuer https://login.microsoftonline.com/{tenantid}/v2.0."""
    configure_entra(settings)
    mocked.get(LOGIN + "/.well-known/oauth-authorization-server/common/v2.0", status=404)
    mocked.get(LOGIN + "/common/v2.0/.well-known/openid-configuration", json=COMMON_DOCUMENT)
    response = connect_with_id_token(
        alice,
        mocked,
        slug="entra",
        callback_params={"iss": f"{LOGIN}/{FABRIKAM}/v2.0"},
        tenant=FABRIKAM,
    )
    assert response.status_code == 302, response.content
    token = OAuthToken.objects.get(user=user, provider="entra")
    assert token.id_token_subject == "HKZpfaHyWadeOouYlitjrI-KffTm222X5rrV3xDqfKQ"


def test_a_document_naming_another_issuer_is_still_refused(
    settings: Any, alice: Client, mocked: responses.RequestsMock
) -> None:
    """Only the template of the configured issuer stands for it."""
    configure_entra(settings)
    other = {**COMMON_DOCUMENT, "issuer": "https://login.example.net/{tenantid}/v2.0"}
    mocked.get(LOGIN + "/.well-known/oauth-authorization-server/common/v2.0", status=404)
    mocked.get(LOGIN + "/common/v2.0/.well-known/openid-configuration", json=other)
    response = alice.post("/oauth/entra/authorize/")
    assert response.status_code == 502


def test_refresh_rotates_the_refresh_token_and_checks_the_new_id_token(
    settings: Any, alice: Client, user: AbstractBaseUser, mocked: responses.RequestsMock
) -> None:
    """Refresh the access token, successful response: a new refresh token and, with
    openid, a new ID token of the same subject."""
    configure(settings, "microsoft", scope=OPENID)
    assert connect_with_id_token(alice, mocked).status_code == 302
    expire(user, "microsoft")
    renewed = {
        **TOKEN_REPLY,
        "access_token": "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiIsImtpZCI6IlJlbmV3ZWQifQ",
        "refresh_token": "AwABAAAAvPM1KaPlrEqdFSBzjqfTGAMxZGUTdM0t4B4renewed",
        "id_token": id_token(None),
    }
    mocked.replace(responses.POST, TOKEN_URL, json=renewed)
    assert tokens.get_access_token(user, "microsoft") == renewed["access_token"]
    sent = form(mocked.calls[-1])
    assert (sent["grant_type"], sent["refresh_token"]) == (
        "refresh_token",
        TOKEN_REPLY["refresh_token"],
    )
    assert stored(user, "microsoft").refresh_token == renewed["refresh_token"]


@pytest.mark.parametrize(
    "allowed", [[], "72f988bf-86f1-41af-91ab-2d7cd011db47", ["contoso.onmicrosoft.com"], [1]]
)
def test_a_bad_allowed_tenants_is_a_system_check_error(settings: Any, allowed: object) -> None:
    configure(settings, "microsoft", scope=OPENID, allowed_tenants=allowed)
    ids = [m.id for m in run_checks() if m.id.startswith("auth_code_flow_django.")]
    assert ids == ["auth_code_flow_django.E053"]


def test_allowed_tenants_of_tenant_ids_pass_the_checks(settings: Any) -> None:
    configure(settings, "microsoft", scope=OPENID, allowed_tenants=[CONTOSO, FABRIKAM])
    assert [m.id for m in run_checks() if m.id.startswith("auth_code_flow_django.")] == []


@pytest.mark.parametrize(
    ("iss", "status"),
    [
        (f"{LOGIN}/{CONTOSO}/v2.0", 302),
        (f"{LOGIN}/common/v2.0", 400),
        (LOGIN + "/{tenantid}/v2.0", 400),
        ("https://login.example.net/" + CONTOSO + "/v2.0", 400),
    ],
)
def test_a_callback_s_iss_names_a_tenant_of_the_issuer(
    settings: Any, alice: Client, mocked: responses.RequestsMock, iss: str, status: int
) -> None:
    """RFC 9207 and Validate the issuer: an iss on the callback is the issuer template
    with a tenant id put in; anything else is refused before the code is used."""
    configure(settings, "microsoft", scope=OPENID)
    mocked.get(JWKS_URL, json=oidc.jwks(KEY))
    _endpoint, params = authorize(alice, "microsoft")
    token = mocked.post(TOKEN_URL, json={**TOKEN_REPLY, "id_token": id_token(params["nonce"])})
    assert callback(alice, "microsoft", params, iss=iss).status_code == status
    assert len(token.calls) == (1 if status == 302 else 0)
