"""Pushed authorization requests (RFC 9126) as a provider option."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.core.cache import cache
from django.test import Client, override_settings

from auth_code_flow_django.flow import code_challenge_s256
from auth_code_flow_django.models import OAuthState, OAuthToken

from . import hardened
from .hardened import AS, PAR, TOKEN, check_assertion, form

pytestmark = pytest.mark.django_db

PUSHED = hardened.providers(dpop=False)


@pytest.fixture(autouse=True)
def _no_cached_metadata() -> Any:
    cache.clear()
    yield
    cache.clear()


REQUEST_URI = "urn:ietf:params:oauth:request_uri:abc123"


@override_settings(OAUTH_PROVIDERS=PUSHED)
def test_the_request_is_pushed_and_the_browser_gets_only_its_uri(
    alice: Client, mocked: Any
) -> None:
    mocked.post(PAR, status=201, json={"request_uri": REQUEST_URI, "expires_in": 60})
    response = alice.post("/oauth/hardened/authorize/", {"next": "/done/"})
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{AS}/authorize"
    assert parse_qsl(location.query) == [("client_id", "client-1"), ("request_uri", REQUEST_URI)]
    pushed = form(mocked.calls[0])
    assert pushed["response_type"] == "code"
    assert pushed["scope"] == "read"
    assert pushed["redirect_uri"] == "http://testserver/oauth/hardened/callback/"
    assert pushed["code_challenge_method"] == "S256"
    assert "dpop_jkt" not in pushed
    check_assertion(pushed, TOKEN)
    # The state pushed is the pending authorization's, and the callback completes it.
    state = OAuthState.objects.get()
    assert code_challenge_s256(state.code_verifier) == pushed["code_challenge"]
    mocked.post(TOKEN, json={"access_token": "at", "token_type": "Bearer"})
    done = alice.get("/oauth/hardened/callback/", {"state": pushed["state"], "code": "c"})
    assert done.status_code == 302
    assert done["Location"] == "/done/"
    assert form(mocked.calls[1])["code_verifier"] == state.code_verifier


@override_settings(OAUTH_PROVIDERS=PUSHED)
@pytest.mark.parametrize(
    "reply",
    [
        {"status": 400, "json": {"error": "invalid_client", "error_description": "<i>no</i>"}},
        {"status": 201, "json": {"expires_in": 60}},
        {"status": 201, "body": "<html>"},
        {"status": 201, "json": ["request_uri"]},
        {"status": 500, "body": "oops"},
        {"status": 302, "headers": {"Location": "https://elsewhere.example/"}},
    ],
)
def test_a_refused_push_is_a_502_and_leaves_no_pending_authorization(
    alice: Client, mocked: Any, reply: dict[str, Any]
) -> None:
    mocked.post(PAR, **reply)
    response = alice.post("/oauth/hardened/authorize/")
    assert response.status_code == 502
    assert b"<i>" not in response.content
    assert not OAuthState.objects.exists()
    assert not OAuthToken.objects.exists()


@override_settings(OAUTH_PROVIDERS=PUSHED)
def test_an_unreachable_push_endpoint_is_a_502(alice: Client, mocked: Any) -> None:
    import requests

    mocked.post(PAR, body=requests.ConnectionError("down"))
    assert alice.post("/oauth/hardened/authorize/").status_code == 502
    assert not OAuthState.objects.exists()


METADATA = {
    "issuer": AS,
    "authorization_endpoint": f"{AS}/authorize",
    "token_endpoint": TOKEN,
    "pushed_authorization_request_endpoint": PAR,
    "token_endpoint_auth_methods_supported": ["client_secret_basic"],
}


@pytest.mark.parametrize(("required", "pushed"), [(True, True), (False, False)])
def test_without_the_key_the_metadata_decides(
    alice: Client, mocked: Any, required: bool, pushed: bool
) -> None:
    mocked.get(
        f"{AS}/.well-known/oauth-authorization-server",
        json={**METADATA, "require_pushed_authorization_requests": required},
    )
    mocked.post(PAR, status=201, json={"request_uri": REQUEST_URI, "expires_in": 60})
    entry = {"client_id": "c", "client_secret": "s", "issuer": AS}
    with override_settings(OAUTH_PROVIDERS={"disc": entry}):
        response = alice.post("/oauth/disc/authorize/")
    assert response.status_code == 302
    query = dict(parse_qsl(urlsplit(response["Location"]).query))
    assert ("request_uri" in query) is pushed
    assert ("state" in query) is not pushed
    assert any(call.request.url == PAR for call in mocked.calls) is pushed


def test_the_key_turns_pushing_off_even_when_the_metadata_requires_it(
    alice: Client, mocked: Any
) -> None:
    mocked.get(
        f"{AS}/.well-known/oauth-authorization-server",
        json={**METADATA, "require_pushed_authorization_requests": True},
    )
    entry = {
        "client_id": "c",
        "client_secret": "s",
        "issuer": AS,
        "pushed_authorization_requests": False,
    }
    with override_settings(OAUTH_PROVIDERS={"disc": entry}):
        response = alice.post("/oauth/disc/authorize/")
    assert "state=" in response["Location"]


def test_pushing_without_an_endpoint_is_refused_before_anything_is_stored(
    alice: Client, mocked: Any
) -> None:
    document = {k: v for k, v in METADATA.items() if k != "pushed_authorization_request_endpoint"}
    mocked.get(
        f"{AS}/.well-known/oauth-authorization-server",
        json={**document, "require_pushed_authorization_requests": True},
    )
    entry = {"client_id": "c", "client_secret": "s", "issuer": AS}
    with override_settings(OAUTH_PROVIDERS={"disc": entry}):
        response = alice.post("/oauth/disc/authorize/")
    assert response.status_code == 503
    assert b"pushed_authorization_request_endpoint" in response.content
    assert not OAuthState.objects.exists()
