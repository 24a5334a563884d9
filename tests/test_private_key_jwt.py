"""private_key_jwt (RFC 7523, OpenID Connect Core 9) as a provider option: every token,
refresh and revocation request carries a fresh assertion the server can verify with the
JWK Set the site publishes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.checks import run_checks
from django.test import Client, override_settings
from django.utils import timezone

from auth_code_flow_django import discovery, tokens
from auth_code_flow_django.core.rfc8414_server_metadata import metadata_from
from auth_code_flow_django.models import OAuthState, OAuthToken
from auth_code_flow_django.providers import get_provider

from . import hardened
from .hardened import AS, PREVIOUS_JWK, PUBLIC_JWK, REVOKE, TOKEN, check_assertion, form

pytestmark = pytest.mark.django_db

PLAIN = hardened.providers(pushed_authorization_requests=False, dpop=False)


def connect(client: Client, mocked: Any, **token: Any) -> Any:
    response = client.post("/oauth/hardened/authorize/")
    assert response.status_code == 302
    query = {k: v[0] for k, v in parse_qs(urlsplit(response["Location"]).query).items()}
    mocked.post(TOKEN, json={"access_token": "at-1", "token_type": "Bearer", **token})
    return client.get("/oauth/hardened/callback/", {"state": query["state"], "code": "c-1"})


@override_settings(OAUTH_PROVIDERS=PLAIN)
def test_the_code_exchange_is_authenticated_with_an_assertion(alice: Client, mocked: Any) -> None:
    assert connect(alice, mocked).status_code == 302
    body = form(mocked.calls[0])
    assert body["grant_type"] == "authorization_code"
    # No issuer: the audience is the token endpoint.
    check_assertion(body, TOKEN)
    assert "Authorization" not in mocked.calls[0].request.headers


@override_settings(
    OAUTH_PROVIDERS=hardened.providers(
        pushed_authorization_requests=False, dpop=False, issuer=AS, require_iss=False
    )
)
def test_the_audience_is_the_issuer_when_there_is_one(alice: Client, mocked: Any) -> None:
    assert connect(alice, mocked).status_code == 302
    check_assertion(form(mocked.calls[0]), AS)


@override_settings(OAUTH_PROVIDERS=PLAIN)
def test_refresh_and_revocation_carry_new_assertions(
    alice: Client, user: Any, mocked: Any, django_capture_on_commit_callbacks: Any
) -> None:
    assert connect(alice, mocked, refresh_token="rt-1", expires_in=3600).status_code == 302
    OAuthToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    mocked.post(TOKEN, json={"access_token": "at-2", "token_type": "Bearer", "expires_in": 60})
    assert tokens.get_access_token(user, "hardened") == "at-2"
    mocked.post(REVOKE)
    with django_capture_on_commit_callbacks(execute=True):
        assert tokens.revoke(user, "hardened")
    bodies = [form(call) for call in mocked.calls]
    assert [b.get("grant_type", b.get("token_type_hint")) for b in bodies] == [
        "authorization_code",
        "refresh_token",
        "refresh_token",
        "access_token",
    ]
    jtis = {check_assertion(body, TOKEN)["jti"] for body in bodies}
    assert len(jtis) == 4


@override_settings(OAUTH_PROVIDERS=PLAIN)
def test_an_assertion_the_server_refuses_stores_nothing(alice: Client, mocked: Any) -> None:
    response = alice.post("/oauth/hardened/authorize/")
    query = {k: v[0] for k, v in parse_qs(urlsplit(response["Location"]).query).items()}
    mocked.post(
        TOKEN,
        status=401,
        json={"error": "invalid_client", "error_description": "<b>jwt expired</b>"},
    )
    response = alice.get("/oauth/hardened/callback/", {"state": query["state"], "code": "c"})
    assert response.status_code == 502
    assert b"<b>jwt expired" not in response.content
    assert b"&lt;b&gt;jwt expired" in response.content
    assert not OAuthToken.objects.exists()


@override_settings(OAUTH_PROVIDERS=PLAIN)
def test_the_jwk_set_publishes_the_public_keys_only(client: Client) -> None:
    response = client.get("/oauth/hardened/jwks.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "max-age" in response["Cache-Control"]
    keys = response.json()["keys"]
    assert [k["kid"] for k in keys] == ["client-key-1", "client-key-0"]
    assert {k: keys[0][k] for k in ("kty", "crv", "x", "y")} == {
        k: PUBLIC_JWK[k] for k in ("kty", "crv", "x", "y")
    }
    assert keys[1]["x"] == PREVIOUS_JWK["x"]
    assert all("d" not in k for k in keys)
    assert hardened.CLIENT_JWK["d"] not in response.content.decode()


@override_settings(OAUTH_PROVIDERS={**PLAIN, "other": {"client_id": "x", "client_secret": "y"}})
def test_no_jwk_set_without_a_key(client: Client) -> None:
    assert client.get("/oauth/other/jwks.json").status_code == 404
    assert client.get("/oauth/nowhere/jwks.json").status_code == 404
    assert client.post("/oauth/hardened/jwks.json").status_code == 405


@override_settings(
    OAUTH_PROVIDERS=hardened.providers(client_private_key="-----BEGIN PRIVATE KEY-----\nx\n")
)
def test_a_bad_key_is_a_404_for_the_jwk_set(client: Client) -> None:
    assert client.get("/oauth/hardened/jwks.json").status_code == 404


METADATA = {
    "issuer": AS,
    "authorization_endpoint": f"{AS}/authorize",
    "token_endpoint": TOKEN,
}


@pytest.mark.parametrize(
    ("supported", "secret", "chosen"),
    [
        (["private_key_jwt", "client_secret_basic"], None, "private_key_jwt"),
        (["private_key_jwt", "client_secret_basic"], "s", "private_key_jwt"),
        (["client_secret_basic"], "s", "client_secret_basic"),
        (None, "s", "client_secret_basic"),
        (["client_secret_post", "none"], None, "none"),
    ],
)
def test_discovery_picks_private_key_jwt_only_when_the_server_lists_it(
    supported: list[str] | None, secret: str | None, chosen: str
) -> None:
    entry = {"client_id": "c", "issuer": AS, "client_private_key": hardened.CLIENT_JWK}
    if secret:
        entry["client_secret"] = secret
    with override_settings(OAUTH_PROVIDERS={"p": entry}):
        document = dict(METADATA)
        if supported is not None:
            document["token_endpoint_auth_methods_supported"] = supported
        resolved = discovery.with_metadata(get_provider("p"), metadata_from(document, AS))
    assert resolved.token_endpoint_auth_method == chosen


def test_discovery_without_a_key_never_picks_private_key_jwt() -> None:
    assert discovery.choose_auth_method(("private_key_jwt", "client_secret_post"), True) == (
        "client_secret_post"
    )


def ids(providers: dict[str, Any]) -> list[str]:
    with override_settings(OAUTH_PROVIDERS=providers):
        return [m.id for m in run_checks() if m.id and m.id.startswith("auth_code_flow_django")]


def test_checks_accept_the_hardened_provider() -> None:
    assert ids(hardened.providers()) == []


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"client_private_key": None}, ["auth_code_flow_django.E055"]),
        ({"client_private_key": PUBLIC_JWK}, ["auth_code_flow_django.E054"]),
        ({"client_private_key": "not a key"}, ["auth_code_flow_django.E054"]),
        ({"client_previous_public_keys": "x"}, ["auth_code_flow_django.E056"]),
        ({"client_previous_public_keys": [{"kty": "oct"}]}, ["auth_code_flow_django.E056"]),
        ({"dpop": "yes"}, ["auth_code_flow_django.E011"]),
        ({"pushed_authorization_requests": 1}, ["auth_code_flow_django.E011"]),
        ({"pushed_authorization_request_endpoint": None}, ["auth_code_flow_django.E057"]),
        (
            {"pushed_authorization_request_endpoint": "http://as.example/par"},
            ["auth_code_flow_django.E008"],
        ),
    ],
)
def test_checks_refuse_bad_values(overrides: dict[str, Any], expected: list[str]) -> None:
    assert ids(hardened.providers(**overrides)) == expected


def test_a_check_message_never_shows_the_key() -> None:
    bad = {**hardened.CLIENT_JWK, "crv": "P-384"}
    with override_settings(OAUTH_PROVIDERS=hardened.providers(client_private_key=bad)):
        messages = [m for m in run_checks() if m.id == "auth_code_flow_django.E054"]
    assert len(messages) == 1
    text = f"{messages[0].msg} {messages[0].hint}"
    for member in ("d", "x", "y"):
        assert bad[member] not in text


@override_settings(OAUTH_PROVIDERS=PLAIN)
def test_no_state_is_left_by_a_connection(alice: Client, mocked: Any) -> None:
    connect(alice, mocked)
    assert OAuthState.objects.filter(used_at__isnull=True).count() == 0


@override_settings(OAUTH_PROVIDERS=hardened.providers())
def test_oauth_providers_never_prints_the_private_key() -> None:
    import io
    import json

    from django.core.management import call_command

    for output_format in ("text", "json"):
        out = io.StringIO()
        call_command("oauth_providers", format=output_format, stdout=out)
        text = out.getvalue()
        assert hardened.CLIENT_JWK["d"] not in text
        assert PREVIOUS_JWK["x"] not in text
    shown = json.loads(out.getvalue())
    values = shown[0]["values"] if isinstance(shown, list) else shown["hardened"]["values"]
    assert values["client_private_key"]["value"] == "(set)"
    assert values["client_previous_public_keys"]["value"] == "(1 public keys)"
