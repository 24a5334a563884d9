"""Faults of the token endpoint, seen through the callback view.

Each fault: the 502 page, no token stored, the state consumed, exactly one request
(no retry). Nonsense ``expires_in`` values are not faults: the token is kept with an
unknown expiry.
"""

from __future__ import annotations

import logging
import socket
from typing import Any

import pytest
import requests
import responses
from django.contrib.auth import get_user_model
from django.test import Client

from auth_code_flow_django.models import OAuthState, OAuthToken

from .conftest import TOKEN_URL, start

User = get_user_model()

pytestmark = pytest.mark.django_db

CALLBACK = "/oauth/example/callback/"
SECRET = "example-client-secret-value"


def callback(client: Client, provider: str = "example") -> Any:
    params = start(client, provider=provider)
    return client.get(f"/oauth/{provider}/callback/", {"state": params["state"], "code": "c0de"})


def assert_failed_cleanly(response: Any, calls: int = 1, mocked: Any = None) -> str:
    html = response.content.decode()
    assert response.status_code == 502, html[:400]
    assert OAuthToken.objects.count() == 0
    assert OAuthState.objects.get().used_at is not None
    if mocked is not None:
        assert len(mocked.calls) == calls
    return html


FAULTS: list[tuple[str, dict[str, Any]]] = [
    ("200 with html", {"body": "<html>Sign in</html>", "content_type": "text/html"}),
    ("json array", {"json": [1, 2, 3]}),
    ("json null", {"body": "null", "content_type": "application/json"}),
    ("200 with error", {"json": {"error": "bad_verification_code"}}),
    ("missing access_token", {"json": {"token_type": "Bearer"}}),
    ("empty access_token", {"json": {"access_token": "", "token_type": "Bearer"}}),
    ("token_type mac", {"json": {"access_token": "a", "token_type": "mac"}}),
    ("token_type missing", {"json": {"access_token": "a"}}),
    ("invalid_grant", {"status": 400, "json": {"error": "invalid_grant"}}),
    ("500 html", {"status": 500, "body": "<h1>oops</h1>", "content_type": "text/html"}),
    ("503", {"status": 503, "body": "unavailable"}),
    ("timeout", {"body": requests.ReadTimeout("timed out")}),
    (
        "duplicate json keys",
        {
            "body": '{"access_token": "a", "access_token": "b", "token_type": "Bearer"}',
            "content_type": "application/json",
        },
    ),
    # Values a database would refuse: each must be a 502, never a 503 from the save.
    ("NUL in scope", {"json": {"access_token": "a", "token_type": "Bearer", "scope": "r\x00"}}),
    (
        "NUL in refresh_token",
        {"json": {"access_token": "a", "token_type": "Bearer", "refresh_token": "r\x00t"}},
    ),
    (
        "lone surrogate in scope",
        {
            "body": '{"access_token": "a", "token_type": "Bearer", "scope": "\\udc80"}',
            "content_type": "application/json",
        },
    ),
    (
        "body over the cap",
        {"json": {"access_token": "a" * 70_000, "token_type": "Bearer"}},
    ),
]


@pytest.mark.parametrize(("name", "reply"), FAULTS, ids=[name for name, _ in FAULTS])
def test_token_endpoint_fault(
    alice: Client, mocked: responses.RequestsMock, name: str, reply: dict[str, Any]
) -> None:
    mocked.post(TOKEN_URL, **reply)
    assert_failed_cleanly(callback(alice), mocked=mocked)


def test_invalid_client_keeps_the_secret_out_of_logs_and_page(
    alice: Client, mocked: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    mocked.post(
        TOKEN_URL,
        status=401,
        json={"error": "invalid_client", "error_description": f"secret {SECRET} is wrong"},
    )
    html = assert_failed_cleanly(callback(alice), mocked=mocked)
    assert "invalid_client" in html
    assert SECRET not in html
    assert SECRET not in caplog.text


def test_redirect_to_another_host_is_not_followed(
    alice: Client, mocked: responses.RequestsMock
) -> None:
    mocked.post(TOKEN_URL, status=307, headers={"Location": "https://evil.example/token"})
    evil = mocked.post("https://evil.example/token", json={"access_token": "x"})
    html = assert_failed_cleanly(callback(alice), mocked=mocked)
    assert evil.call_count == 0
    assert "redirect" in html


def test_connection_refused_by_a_real_closed_port(
    user: User, settings: Any, mocked: responses.RequestsMock
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # The port is closed now: a real connection attempt is refused.
    mocked.add_passthru(f"http://127.0.0.1:{port}")
    settings.OAUTH_PROVIDERS = {
        "example": {
            **settings.OAUTH_PROVIDERS["example"],
            "access_token_path": f"http://127.0.0.1:{port}/token",
        }
    }
    client = Client()
    client.force_login(user)
    html = assert_failed_cleanly(callback(client))
    assert "could not be reached" in html


def test_stackexchange_may_omit_token_type(alice: Client, mocked: responses.RequestsMock) -> None:
    mocked.post(
        "https://stackoverflow.com/oauth/access_token/json",
        json={"access_token": "se-token", "expires": 86400},
    )
    response = callback(alice, provider="stackexchange")
    assert response.status_code == 302
    token = OAuthToken.objects.get()
    assert token.access_token == "se-token"
    assert token.token_type == "Bearer"
    assert token.expires_at is not None


@pytest.mark.parametrize(
    "expires_in",
    [-5, 0, True, "abc", float("nan")],
    ids=["-5", "0", "true", "abc", "nan"],
)
def test_nonsense_expires_in_means_unknown_expiry(
    alice: Client, mocked: responses.RequestsMock, expires_in: object
) -> None:
    import json

    body = json.dumps({"access_token": "tok", "token_type": "Bearer", "expires_in": expires_in})
    mocked.post(TOKEN_URL, body=body, content_type="application/json")
    response = callback(alice)
    assert response.status_code == 302
    token = OAuthToken.objects.get()
    assert token.expires_at is None
    assert not token.is_expired
    assert len(mocked.calls) == 1
