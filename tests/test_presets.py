"""Each preset, through the authorize and callback views, against its provider's
documented token and identity replies (the examples of each provider's documentation,
with their field names and shapes)."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from auth_code_flow_django.core.endpoint_urls import endpoint_url
from auth_code_flow_django.models import OAuthToken
from auth_code_flow_django.presets import PRESETS
from auth_code_flow_django.providers import build_provider

from .conftest import start

User = get_user_model()

pytestmark = pytest.mark.django_db


@dataclass
class Replay:
    preset: str
    authorize_url: str
    token_url: str
    token_reply: dict[str, Any]
    identity_url: str | None
    identity_reply: dict[str, Any] | None
    account_id: str
    account_name: str
    config: dict[str, Any] = field(default_factory=dict)
    callback_params: dict[str, str] = field(default_factory=dict)
    #: Other documents the provider serves: (url, status, JSON body).
    documents: list[tuple[str, int, dict[str, Any]]] = field(default_factory=list)


KEYCLOAK = "https://sso.example.com/realms/acme"
KEYCLOAK_OIDC = KEYCLOAK + "/protocol/openid-connect"


REPLAYS = [
    Replay(
        "github",
        "https://github.com/login/oauth/authorize",
        "https://github.com/login/oauth/access_token",
        # docs.github.com: "Authorizing OAuth apps", step 2 (Accept: application/json).
        {
            "access_token": "gho_16C7e42F292c6912E7710c838347Ae178B4a",
            "scope": "read:user",
            "token_type": "bearer",
        },
        "https://api.github.com/user",
        # docs.github.com: "Get the authenticated user".
        {
            "login": "octocat",
            "id": 1,
            "node_id": "MDQ6VXNlcjE=",
            "type": "User",
            "name": "monalisa octocat",
            "email": "octocat@github.com",
        },
        "1",
        "octocat",
    ),
    Replay(
        "gitlab",
        "https://gitlab.com/oauth/authorize",
        "https://gitlab.com/oauth/token",
        # docs.gitlab.com: "OAuth 2.0 identity provider API", authorization code flow.
        {
            "access_token": "de6780bc506a0446309bd9362820ba8aed28aa506c71eedbe1c5c4f9dd350e54",
            "token_type": "bearer",
            "expires_in": 7200,
            "refresh_token": "8257e65c97202ed1726cf9571600918f3bffb2544b26e00a61df9897668c33a1",
            "created_at": 1607635748,
        },
        "https://gitlab.com/api/v4/user",
        # docs.gitlab.com: "Users API", for the current user.
        {
            "id": 1,
            "username": "john_smith",
            "email": "john@example.com",
            "name": "John Smith",
            "state": "active",
        },
        "1",
        "john_smith",
    ),
    Replay(
        "gitlab",
        "https://git.example.org/oauth/authorize",
        "https://git.example.org/oauth/token",
        {"access_token": "self-hosted-access-token", "token_type": "Bearer", "expires_in": 7200},
        "https://git.example.org/api/v4/user",
        {"id": 42, "username": "jdoe", "name": "Jane Doe"},
        "42",
        "jdoe",
        config={"base_uri": "https://git.example.org"},
    ),
    Replay(
        "google",
        "https://accounts.google.com/o/oauth2/v2/auth",
        "https://oauth2.googleapis.com/token",
        # developers.google.com: "Using OAuth 2.0 for Web Server Applications", step 5.
        {
            "access_token": "1/fFAGRNJru1FTz70BzhT3Zg",
            "expires_in": 3920,
            "token_type": "Bearer",
            "scope": "email",
            "refresh_token": "1//xEoDL4iW3cxlI7yDbSRFYNG01kVKM2C-259HOF2aQbI",
        },
        "https://openidconnect.googleapis.com/v1/userinfo",
        # OpenID Connect userinfo, as Google answers it.
        {
            "sub": "110169484474386276334",
            "email": "alice.example@gmail.com",
            "email_verified": True,
            "picture": "https://lh3.googleusercontent.com/a/photo.jpg",
        },
        "110169484474386276334",
        "alice.example@gmail.com",
        # Without openid: the account comes from userinfo, not an id_token.
        config={"scope": "email"},
    ),
    Replay(
        "microsoft",
        "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
        "https://login.microsoftonline.com/common/oauth2/v2.0/token",
        # learn.microsoft.com: "Microsoft identity platform and OAuth 2.0 authorization
        # code flow", successful response.
        {
            "access_token": "eyJ0eXAiOiJKV1QiLCJub25jZSI6IkFRQUJBQUFBQUFCeGZHb2tFZ0",
            "token_type": "Bearer",
            "expires_in": 3599,
            "scope": "User.Read offline_access",
            "refresh_token": "AwABAAAAvPM1KaPlrEqdFSBzjqfTGAMxZGUTdM0t4B4",
            "ext_expires_in": 3599,
        },
        "https://graph.microsoft.com/v1.0/me",
        # learn.microsoft.com: Graph "Get user", example 1.
        {
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users/$entity",
            "businessPhones": ["+1 412 555 0109"],
            "displayName": "Megan Bowen",
            "mail": "MeganB@M365x214355.onmicrosoft.com",
            "userPrincipalName": "MeganB@M365x214355.onmicrosoft.com",
            "id": "48d31887-5fad-4d73-a9f5-3c356e68a038",
        },
        "48d31887-5fad-4d73-a9f5-3c356e68a038",
        "MeganB@M365x214355.onmicrosoft.com",
    ),
    Replay(
        "microsoft",
        "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/authorize",
        "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token",
        {"access_token": "tenant-access-token", "token_type": "Bearer", "expires_in": 3599},
        "https://graph.microsoft.com/v1.0/me",
        {"id": "87d349ed-44d7-43e1-9a83-5f2406dee5bd", "userPrincipalName": "AdeleV@contoso.com"},
        "87d349ed-44d7-43e1-9a83-5f2406dee5bd",
        "AdeleV@contoso.com",
        config={"tenant": "contoso.onmicrosoft.com"},
    ),
    Replay(
        "slack",
        "https://slack.com/oauth/v2/authorize",
        "https://slack.com/api/oauth.v2.access",
        # api.slack.com: "Installing with OAuth", the oauth.v2.access response.
        {
            "ok": True,
            "access_token": "xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy",
            "token_type": "bot",
            "scope": "commands,incoming-webhook",
            "bot_user_id": "U0KRQLJ9H",
            "app_id": "A0KRD7HC3",
            "team": {"name": "Slack Softworks", "id": "T9TK3CUKW"},
            "enterprise": {"name": "slack-sports", "id": "E12345678"},
            "authed_user": {
                "id": "U1234",
                "scope": "chat:write",
                "access_token": "xoxp-1234",
                "token_type": "user",
            },
        },
        None,
        None,
        "U1234",
        "Slack Softworks",
    ),
    Replay(
        "discord",
        "https://discord.com/oauth2/authorize",
        "https://discord.com/api/oauth2/token",
        # discord.com/developers/docs/topics/oauth2: access token response.
        {
            "access_token": "6qrZcUqja7812RVdnEKjpzOL4CvHBFG",
            "token_type": "Bearer",
            "expires_in": 604800,
            "refresh_token": "D43f5y0ahjqew82jZ4NViEr2YafMKhue",
            "scope": "identify",
        },
        "https://discord.com/api/users/@me",
        # discord.com/developers/docs/resources/user: example user.
        {
            "id": "80351110224678912",
            "username": "nelly",
            "discriminator": "0",
            "global_name": "Nelly",
            "avatar": "8342729096ea3675442027381ff50dfe",
            "verified": True,
            "flags": 64,
        },
        "80351110224678912",
        "nelly",
    ),
    Replay(
        "bitbucket",
        "https://bitbucket.org/site/oauth2/authorize",
        "https://bitbucket.org/site/oauth2/access_token",
        # developer.atlassian.com: Bitbucket Cloud OAuth 2.0, access token response.
        {
            "access_token": "bitbucket-access-token-value",
            "scopes": "account",
            "expires_in": 7200,
            "refresh_token": "bitbucket-refresh-token-value",
            "token_type": "bearer",
            "state": "authorization_code",
        },
        "https://api.bitbucket.org/2.0/user",
        # developer.atlassian.com: "Get current user".
        {
            "display_name": "Tutorials Account",
            "type": "user",
            "uuid": "{c788b2da-b7a2-404c-9e26-d3f077557007}",
            "username": "tutorials",
            "nickname": "tutorials",
            "account_id": "557058:c0b72ad0-1cb5-4018-9cdc-0cde8492c443",
            "account_status": "active",
        },
        "{c788b2da-b7a2-404c-9e26-d3f077557007}",
        "tutorials",
    ),
    Replay(
        "stackexchange",
        "https://stackoverflow.com/oauth",
        "https://stackoverflow.com/oauth/access_token/json",
        # api.stackexchange.com/docs/authentication: explicit flow, JSON (no_expiry).
        {"access_token": "se-access-token-value"},
        "https://api.stackexchange.com/2.3/me",
        # api.stackexchange.com/docs/me: a wrapper with one user.
        {
            "items": [
                {
                    "badge_counts": {"bronze": 3, "silver": 2, "gold": 0},
                    "account_id": 1165580,
                    "is_employee": False,
                    "reputation": 101,
                    "user_id": 1114,
                    "display_name": "Jon Ericson",
                    "link": "https://stackoverflow.com/users/1114/jon-ericson",
                }
            ],
            "has_more": False,
            "quota_max": 10000,
            "quota_remaining": 9999,
        },
        "1165580",
        "Jon Ericson",
    ),
    Replay(
        "keycloak",
        "https://sso.example.com/realms/acme/protocol/openid-connect/auth",
        "https://sso.example.com/realms/acme/protocol/openid-connect/token",
        # Keycloak's token endpoint reply.
        {
            "access_token": "eyJhbGciOiJSUzI1NiIsInR5cCIgOiAiSldUIn0.keycloak",
            "expires_in": 300,
            "refresh_expires_in": 1800,
            "refresh_token": "eyJhbGciOiJIUzI1NiIsInR5cCIgOiAiSldUIn0.refresh",
            "token_type": "Bearer",
            "not-before-policy": 0,
            "session_state": "0c2b7f0a-5b9e-4c59-a3b6-2f1e9d1c8a11",
            "scope": "profile email",
        },
        "https://sso.example.com/realms/acme/protocol/openid-connect/userinfo",
        {
            "sub": "f2a1c3d4-0e5f-4a6b-8c7d-9e0f1a2b3c4d",
            "email_verified": True,
            "preferred_username": "alice",
            "email": "alice@example.com",
        },
        "f2a1c3d4-0e5f-4a6b-8c7d-9e0f1a2b3c4d",
        "alice",
        # Without openid: the account comes from userinfo, not an id_token.
        config={"base_uri": "https://sso.example.com", "realm": "acme", "scope": "profile email"},
        callback_params={"iss": KEYCLOAK},
        # Its discovery document, for a server that reads it (the explicit endpoints
        # above win over it).
        documents=[
            (
                "https://sso.example.com/.well-known/oauth-authorization-server/realms/acme",
                404,
                {},
            ),
            (
                KEYCLOAK + "/.well-known/openid-configuration",
                200,
                {
                    "issuer": KEYCLOAK,
                    "authorization_endpoint": KEYCLOAK_OIDC + "/auth",
                    "token_endpoint": KEYCLOAK_OIDC + "/token",
                    "userinfo_endpoint": KEYCLOAK_OIDC + "/userinfo",
                    "jwks_uri": KEYCLOAK_OIDC + "/certs",
                    "revocation_endpoint": KEYCLOAK_OIDC + "/revoke",
                    "response_types_supported": ["code", "none", "id_token", "code id_token"],
                    "code_challenge_methods_supported": ["plain", "S256"],
                    "token_endpoint_auth_methods_supported": [
                        "private_key_jwt",
                        "client_secret_basic",
                        "client_secret_post",
                        "client_secret_jwt",
                    ],
                    "authorization_response_iss_parameter_supported": True,
                },
            ),
        ],
    ),
]


def configure(settings: Any, replay: Replay) -> None:
    settings.OAUTH_PROVIDERS = {
        replay.preset: {
            "preset": replay.preset,
            "client_id": f"{replay.preset}-client-id",
            "client_secret": f"{replay.preset}-client-secret-value",
            **replay.config,
        }
    }


def connect(alice: Client, replay: Replay) -> Any:
    params = start(alice, provider=replay.preset)
    return alice.get(
        f"/oauth/{replay.preset}/callback/",
        {"state": params["state"], "code": "the-code", **replay.callback_params},
    )


def test_every_preset_has_a_replay() -> None:
    """Here, or in a module of its own under tests/providers/."""
    modules = Path(__file__).parent / "providers"
    own = {path.stem.removeprefix("test_") for path in modules.glob("test_*.py")}
    assert set(PRESETS) <= {r.preset for r in REPLAYS} | own


def test_every_preset_of_each_family_is_listed_once() -> None:
    """A preset added to a family module but not to the catalog's order would vanish."""
    from auth_code_flow_django.presets import (
        catalog,
        developer_tools,
        identity_platforms,
        social,
        workplace,
    )

    families = (
        developer_tools.DEVELOPER_TOOLS,
        identity_platforms.IDENTITY_PLATFORMS,
        workplace.WORKPLACE,
        social.SOCIAL,
    )
    names = [name for family in families for name in family]
    assert sorted(names) == sorted(catalog.ORDER) == sorted(PRESETS)
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("replay", REPLAYS, ids=[f"{r.preset}-{i}" for i, r in enumerate(REPLAYS)])
def test_preset_connects_and_records_the_account(
    alice: Client, user: User, settings: Any, mocked: responses.RequestsMock, replay: Replay
) -> None:
    configure(settings, replay)
    for url, status, document in replay.documents:
        mocked.get(url, status=status, json=document)
    authorize = urlsplit(alice.post(f"/oauth/{replay.preset}/authorize/")["Location"])
    assert f"{authorize.scheme}://{authorize.netloc}{authorize.path}" == replay.authorize_url
    assert parse_qs(authorize.query)["code_challenge_method"] == ["S256"]
    token_call = mocked.post(replay.token_url, json=replay.token_reply)
    identity_call = None
    if replay.identity_url is not None:
        identity_call = mocked.get(replay.identity_url, json=replay.identity_reply)
    response = connect(alice, replay)
    assert response.status_code == 302, response.content
    token = OAuthToken.objects.get(user=user, provider=replay.preset)
    assert token.access_token == replay.token_reply["access_token"]
    assert token.account_id == replay.account_id
    assert token.account_name == replay.account_name
    assert len(token_call.calls) == 1
    if identity_call is not None:
        (call,) = identity_call.calls
        sent = call.request
        query = parse_qs(urlsplit(sent.url).query)
        assert sent.headers["Authorization"] == f"Bearer {replay.token_reply['access_token']}"
        assert "access_token" not in query
        if replay.preset == "stackexchange":
            assert query == {"site": ["stackoverflow"]}
    html = alice.get("/oauth/").content.decode()
    assert f"Connected as <strong>{replay.account_name}</strong>" in html


def test_bitbucket_authenticates_with_basic(
    alice: Client, settings: Any, mocked: responses.RequestsMock
) -> None:
    replay = next(r for r in REPLAYS if r.preset == "bitbucket")
    configure(settings, replay)
    call = mocked.post(replay.token_url, json=replay.token_reply)
    mocked.get(str(replay.identity_url), json=replay.identity_reply)
    connect(alice, replay)
    expected = base64.b64encode(b"bitbucket-client-id:bitbucket-client-secret-value").decode()
    assert call.calls[0].request.headers["Authorization"] == f"Basic {expected}"
    assert "client_secret" not in str(call.calls[0].request.body)


@pytest.mark.parametrize(
    "reply",
    [
        {"ok": False, "error": "invalid_code"},
        {"ok": False},
        {"access_token": "xoxb-no-ok-field", "token_type": "bot"},
    ],
)
def test_slack_error_with_http_200_is_a_502_and_stores_nothing(
    alice: Client, settings: Any, mocked: responses.RequestsMock, reply: dict[str, Any]
) -> None:
    replay = next(r for r in REPLAYS if r.preset == "slack")
    configure(settings, replay)
    mocked.post(replay.token_url, json=reply)
    response = connect(alice, replay)
    assert response.status_code == 502
    assert OAuthToken.objects.count() == 0
    if "error" in reply:
        assert "invalid_code" in response.content.decode()


def test_identity_failure_still_stores_the_connection(
    alice: Client, user: User, settings: Any, mocked: responses.RequestsMock
) -> None:
    replay = next(r for r in REPLAYS if r.preset == "github")
    configure(settings, replay)
    mocked.post(replay.token_url, json=replay.token_reply)
    mocked.get(str(replay.identity_url), status=503, json={"message": "unavailable"})
    response = connect(alice, replay)
    assert response.status_code == 302
    token = OAuthToken.objects.get(user=user)
    assert (token.account_id, token.account_name) == ("", "")
    assert token.account_checked_at is not None


def test_an_identity_in_settings_is_merged_over_the_preset_s() -> None:
    provider = build_provider(
        "se",
        {
            "preset": "stackexchange",
            "client_id": "i",
            "client_secret": "s",
            "identity": {"params": {"site": "superuser"}, "id": "items.0.user_id"},
        },
    )
    assert dict(provider.identity["params"]) == {"site": "superuser"}
    assert provider.identity["id"] == "items.0.user_id"
    assert provider.identity["name"] == "items.0.display_name"
    assert provider.identity["url"] == "https://api.stackexchange.com/2.3/me"


def test_self_hosted_gitlab_follows_base_uri() -> None:
    provider = build_provider(
        "gl",
        {
            "preset": "gitlab",
            "client_id": "i",
            "client_secret": "s",
            "base_uri": "https://git.example.org/",
        },
    )
    assert provider.api_base_urls == ("https://git.example.org/api/",)
    assert provider.identity["url"] == "https://git.example.org/api/v4/user"
    assert (
        provider.flow_manager.get_revocation_endpoint() == "https://git.example.org/oauth/revoke"
    )


def test_keycloak_issuer_follows_base_uri_and_realm() -> None:
    provider = build_provider(
        "kc",
        {
            "preset": "keycloak",
            "client_id": "i",
            "client_secret": "s",
            "base_uri": "https://sso.example.com",
            "realm": "r",
        },
    )
    assert provider.issuer == "https://sso.example.com/realms/r"
    assert endpoint_url(provider.base_uri, provider.access_token_path) == (
        "https://sso.example.com/realms/r/protocol/openid-connect/token"
    )
    assert provider.api_base_urls == ("https://sso.example.com/realms/r/",)


def test_microsoft_tenant_defaults_to_common() -> None:
    provider = build_provider(
        "ms", {"preset": "microsoft", "client_id": "i", "client_secret": "s"}
    )
    assert provider.tenant == "common"
    assert provider.flow_manager.get_access_token_endpoint() == (
        "https://login.microsoftonline.com/common/oauth2/v2.0/token"
    )


def test_slack_revocation_needs_ok_true(settings: Any, mocked: responses.RequestsMock) -> None:
    from auth_code_flow_django.exceptions import RevocationError

    replay = next(r for r in REPLAYS if r.preset == "slack")
    configure(settings, replay)
    manager = build_provider("slack", settings.OAUTH_PROVIDERS["slack"]).flow_manager
    call = mocked.post(
        "https://slack.com/api/auth.revoke", json={"ok": False, "error": "invalid_auth"}
    )
    with pytest.raises(RevocationError, match="invalid_auth"):
        manager.revoke("xoxb-1")
    assert parse_qs(str(call.calls[0].request.body))["token"] == ["xoxb-1"]


def test_slack_refresh_refused_needs_reauthorization(
    user: User, settings: Any, mocked: responses.RequestsMock
) -> None:
    from auth_code_flow_django import tokens
    from auth_code_flow_django.exceptions import ReauthorizationRequiredError
    from auth_code_flow_django.identity import Account

    from .conftest import make_token

    replay = next(r for r in REPLAYS if r.preset == "slack")
    configure(settings, replay)
    make_token(user, "slack", account=Account("U1234", "Slack Softworks"))
    OAuthToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    call = mocked.post(replay.token_url, json={"ok": False, "error": "invalid_refresh_token"})
    with pytest.raises(ReauthorizationRequiredError):
        tokens.get_access_token(user, "slack")
    assert parse_qs(str(call.calls[0].request.body))["grant_type"] == ["refresh_token"]
    assert OAuthToken.objects.get().needs_reauthorization


def test_google_with_openid_names_the_account_from_the_id_token(
    alice: Client, user: User, settings: Any, mocked: responses.RequestsMock
) -> None:
    from django.core.cache import cache

    from . import oidc

    cache.clear()
    replay = next(r for r in REPLAYS if r.preset == "google")
    configure(settings, Replay(**{**replay.__dict__, "config": {}}))
    key = oidc.SigningKey("google-key-1")
    mocked.get("https://www.googleapis.com/oauth2/v3/certs", json=oidc.jwks(key))
    params = start(alice, provider="google")
    id_token = key.sign(
        oidc.claims(
            params["nonce"],
            iss="https://accounts.google.com",
            aud="google-client-id",
            sub="110169484474386276334",
            preferred_username=None,
            email="alice.example@gmail.com",
        )
    )
    mocked.post(replay.token_url, json={**replay.token_reply, "id_token": id_token})
    userinfo = mocked.get(str(replay.identity_url), json={"sub": "other"})
    response = alice.get("/oauth/google/callback/", {"state": params["state"], "code": "c"})
    assert response.status_code == 302, response.content
    token = OAuthToken.objects.get(user=user)
    assert (token.account_id, token.account_name) == (
        "110169484474386276334",
        "alice.example@gmail.com",
    )
    # The ID token said who it is: no UserInfo request.
    assert len(userinfo.calls) == 0
    cache.clear()


def test_keycloak_with_openid_through_discovery_names_the_account_from_the_id_token(
    alice: Client, user: User, settings: Any, mocked: responses.RequestsMock
) -> None:
    from django.core.cache import cache

    from . import oidc

    cache.clear()
    replay = next(r for r in REPLAYS if r.preset == "keycloak")
    config = {"base_uri": "https://sso.example.com", "realm": "acme"}  # scope: the preset's
    configure(settings, Replay(**{**replay.__dict__, "config": config}))
    key = oidc.SigningKey("keycloak-key-1")
    for url, status, document in replay.documents:
        mocked.get(url, status=status, json=document)
    mocked.get(KEYCLOAK_OIDC + "/certs", json=oidc.jwks(key))
    params = start(alice, provider="keycloak")
    assert params["scope"] == "openid profile email"
    id_token = key.sign(
        oidc.claims(
            params["nonce"],
            iss=KEYCLOAK,
            aud="keycloak-client-id",
            sub="f2a1c3d4-0e5f-4a6b-8c7d-9e0f1a2b3c4d",
            preferred_username="alice",
        )
    )
    mocked.post(replay.token_url, json={**replay.token_reply, "id_token": id_token})
    userinfo = mocked.get(str(replay.identity_url), json={"sub": "other"})
    response = alice.get(
        "/oauth/keycloak/callback/", {"state": params["state"], "code": "c", "iss": KEYCLOAK}
    )
    assert response.status_code == 302, response.content
    token = OAuthToken.objects.get(user=user)
    assert (token.account_id, token.account_name) == (
        "f2a1c3d4-0e5f-4a6b-8c7d-9e0f1a2b3c4d",
        "alice",
    )
    assert len(userinfo.calls) == 0
    cache.clear()
