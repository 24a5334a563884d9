"""Hostile inputs to the callback: each gets the documented 4xx page, no token request,
no row written or changed, and nothing in the logs but a safe summary."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs

import pytest
import responses
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from auth_code_flow_django.models import OAuthState, OAuthToken

from .conftest import TOKEN_URL, make_token, start

User = get_user_model()

pytestmark = pytest.mark.django_db

CALLBACK = "/oauth/example/callback/"


def snapshot() -> list[tuple[Any, ...]]:
    tokens = OAuthToken.objects.order_by("pk").values_list(
        "pk",
        "user_id",
        "provider",
        "access_token_encrypted",
        "refresh_token_encrypted",
        "scope",
        "expires_at",
        "updated_at",
    )
    states = OAuthState.objects.order_by("pk").values_list("pk", "used_at")
    return [*tokens, *states]


class Guard:
    """Records the tables before a hostile request; checks nothing moved after it."""

    def __init__(self, mocked: responses.RequestsMock, caplog: pytest.LogCaptureFixture) -> None:
        self.mocked = mocked
        self.caplog = caplog
        self.before: list[tuple[Any, ...]] = []

    def arm(self) -> None:
        self.before = snapshot()
        self.caplog.clear()

    def check(self, response: Any, status: int, *secrets: str) -> str:
        html = response.content.decode("utf-8", "replace")
        assert response.status_code == status, html[:500]
        assert len(self.mocked.calls) == 0, "a token request was made"
        assert snapshot() == self.before, "a row was written or changed"
        for record in self.caplog.records:
            message = record.getMessage()
            assert "\n" not in message
            assert "\r" not in message
            for secret in secrets:
                if secret:
                    assert secret not in message
        return html


@pytest.fixture
def guard(mocked: responses.RequestsMock, caplog: pytest.LogCaptureFixture) -> Guard:
    caplog.set_level(logging.DEBUG, logger="auth_code_flow_django")
    return Guard(mocked, caplog)


@pytest.fixture
def connected(user: User) -> OAuthToken:
    return make_token(user)


def test_no_state(alice: Client, guard: Guard, connected: OAuthToken) -> None:
    start(alice)
    guard.arm()
    html = guard.check(alice.get(CALLBACK, {"code": "a-code"}), 400, "a-code")
    assert "did not say which authorization request" in html


def test_forged_state(alice: Client, guard: Guard, connected: OAuthToken) -> None:
    start(alice)
    guard.arm()
    html = guard.check(alice.get(CALLBACK, {"state": "forged", "code": "c0de"}), 400, "c0de")
    assert "does not match" in html


def test_state_replayed_after_success(alice: Client, mocked: Any, caplog: Any) -> None:
    from .conftest import TOKEN_URL, token_json

    mocked.post(TOKEN_URL, json=token_json())
    params = start(alice)
    assert alice.get(CALLBACK, {"state": params["state"], "code": "c1"}).status_code == 302
    mocked.calls.reset()
    guard = Guard(mocked, caplog)
    guard.arm()
    # The user reloads the page: the connection stands, nothing is exchanged again.
    response = alice.get(CALLBACK, {"state": params["state"], "code": "c1"})
    guard.check(response, 302)
    assert response["Location"] == "/oauth/"


def test_state_replayed_after_a_failed_exchange(
    alice: Client, mocked: Any, caplog: Any, connected: OAuthToken
) -> None:
    from .conftest import TOKEN_URL

    mocked.post(TOKEN_URL, status=400, json={"error": "invalid_grant"})
    params = start(alice)
    assert alice.get(CALLBACK, {"state": params["state"], "code": "c1"}).status_code == 502
    mocked.calls.reset()
    guard = Guard(mocked, caplog)
    guard.arm()
    html = guard.check(alice.get(CALLBACK, {"state": params["state"], "code": "c1"}), 400)
    assert "already completed" in html


def test_another_users_state(
    alice: Client, guard: Guard, client_for: Any, other_user: User
) -> None:
    params = start(client_for(other_user))
    guard.arm()
    guard.check(alice.get(CALLBACK, {"state": params["state"], "code": "c"}), 400, params["state"])


def test_state_after_logout_and_login_as_someone_else(
    alice: Client, guard: Guard, other_user: User
) -> None:
    params = start(alice)
    alice.logout()
    alice.force_login(other_user)
    guard.arm()
    html = guard.check(alice.get(CALLBACK, {"state": params["state"], "code": "c"}), 400)
    assert "started from your account" in html


def test_expired_state(alice: Client, guard: Guard) -> None:
    params = start(alice)
    OAuthState.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    guard.arm()
    html = guard.check(alice.get(CALLBACK, {"state": params["state"], "code": "c"}), 400)
    assert "expired" in html


@pytest.mark.parametrize("query", [{}, {"code": ""}, {"code": "x" * 5000}])
def test_valid_state_with_code_missing_empty_or_huge(
    alice: Client, guard: Guard, query: dict[str, str]
) -> None:
    params = start(alice)
    guard.arm()
    response = alice.get(CALLBACK, {"state": params["state"], **query})
    # The state is spent (the flow is over), nothing else moves.
    guard.before = [*guard.before[:-1], (guard.before[-1][0], OAuthState.objects.get().used_at)]
    html = guard.check(response, 400)
    assert "no usable authorization code" in html


def test_access_denied_with_valid_state_keeps_the_token(
    alice: Client, guard: Guard, connected: OAuthToken
) -> None:
    params = start(alice)
    guard.arm()
    response = alice.get(CALLBACK, {"state": params["state"], "error": "access_denied"})
    guard.before[-1] = (guard.before[-1][0], OAuthState.objects.get().used_at)
    html = guard.check(response, 403)
    assert "cancelled" in html.lower()
    assert OAuthToken.objects.get().access_token == "stored-access-token-0001"


def test_access_denied_with_a_bad_state(alice: Client, guard: Guard) -> None:
    start(alice)
    guard.arm()
    guard.check(alice.get(CALLBACK, {"state": "bad", "error": "access_denied"}), 400)


@pytest.mark.parametrize("error", ["server_error", "temporarily_unavailable", "invalid_scope"])
def test_provider_errors(alice: Client, guard: Guard, error: str) -> None:
    params = start(alice)
    guard.arm()
    response = alice.get(CALLBACK, {"state": params["state"], "error": error})
    guard.before[-1] = (guard.before[-1][0], OAuthState.objects.get().used_at)
    html = guard.check(response, 400)
    assert error in html


def test_both_code_and_error_is_an_error(alice: Client, guard: Guard) -> None:
    params = start(alice)
    guard.arm()
    response = alice.get(
        CALLBACK, {"state": params["state"], "code": "c", "error": "access_denied"}
    )
    guard.before[-1] = (guard.before[-1][0], OAuthState.objects.get().used_at)
    guard.check(response, 403)


def test_error_description_with_html_and_crlf(alice: Client, guard: Guard) -> None:
    params = start(alice)
    guard.arm()
    evil = '<script>alert("x")</script>\r\nSet-Cookie: pwned=1'
    response = alice.get(
        CALLBACK, {"state": params["state"], "error": "invalid_request", "error_description": evil}
    )
    guard.before[-1] = (guard.before[-1][0], OAuthState.objects.get().used_at)
    html = guard.check(response, 400)
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "\r\nSet-Cookie" not in html
    assert "pwned" not in response.cookies
    assert not any("pwned" in value for _name, value in response.items())


def test_error_uri_is_never_rendered(alice: Client, guard: Guard) -> None:
    params = start(alice)
    guard.arm()
    response = alice.get(
        CALLBACK,
        {"state": params["state"], "error": "invalid_request", "error_uri": "javascript:alert(1)"},
    )
    guard.before[-1] = (guard.before[-1][0], OAuthState.objects.get().used_at)
    html = guard.check(response, 400)
    assert "javascript:" not in html


def test_malformed_error_code_is_replaced(alice: Client, guard: Guard) -> None:
    params = start(alice)
    guard.arm()
    response = alice.get(CALLBACK, {"state": params["state"], "error": '"><img src=x>'})
    guard.before[-1] = (guard.before[-1][0], OAuthState.objects.get().used_at)
    html = guard.check(response, 400)
    assert "<img" not in html
    assert "invalid_request" in html


@pytest.mark.parametrize("name", ["state", "code", "error", "iss"])
def test_duplicated_parameters(alice: Client, guard: Guard, name: str) -> None:
    params = start(alice)
    guard.arm()
    query = {"state": [params["state"]], "code": ["c"], name: ["one", "two"]}
    if name == "state":
        query["state"] = [params["state"], params["state"]]
    html = guard.check(alice.get(CALLBACK, query), 400)
    assert f"repeats the {name} parameter" in html


def test_a_100_kb_state(alice: Client, guard: Guard) -> None:
    start(alice)
    guard.arm()
    guard.check(alice.get(CALLBACK, {"state": "s" * 100_000, "code": "c"}), 400)


def test_thousands_of_parameters(alice: Client, guard: Guard) -> None:
    params = start(alice)
    guard.arm()
    query = "&".join(f"p{i}=v" for i in range(5000))
    response = alice.get(CALLBACK, QUERY_STRING=f"state={params['state']}&code=c&{query}")
    html = guard.check(response, 400)
    assert "too many parameters" in html


@pytest.mark.parametrize(
    "query",
    [
        "state=%00&code=c",
        "state=abc%00def&code=c",
        "state=%ff%fe%fd&code=c",
        "state=%ED%A0%80&code=c",
        "code=%00&state=nope",
    ],
)
def test_nul_and_invalid_utf8_bytes(alice: Client, guard: Guard, query: str) -> None:
    start(alice)
    guard.arm()
    guard.check(alice.get(CALLBACK, QUERY_STRING=query), 400)


@pytest.mark.parametrize("code", ["%00", "a%0d%0ab"])
def test_valid_state_with_control_bytes_in_code(alice: Client, guard: Guard, code: str) -> None:
    params = start(alice)
    guard.arm()
    response = alice.get(CALLBACK, QUERY_STRING=f"state={params['state']}&code={code}")
    guard.before[-1] = (guard.before[-1][0], OAuthState.objects.get().used_at)
    guard.check(response, 400)


def test_valid_state_with_an_invalid_utf8_code_exchanges_the_replacement(
    alice: Client, mocked: responses.RequestsMock
) -> None:
    """ "%ff" decodes to U+FFFD, a printable code: it is exchanged like any other (and here
    refused by the provider), never stored."""
    params = start(alice)
    refused = mocked.post(TOKEN_URL, status=400, json={"error": "invalid_grant"})
    response = alice.get(CALLBACK, QUERY_STRING=f"state={params['state']}&code=%ff")
    assert response.status_code == 502
    assert parse_qs(str(refused.calls[0].request.body))["code"] == ["\ufffd"]
    assert OAuthToken.objects.count() == 0


@pytest.mark.parametrize("iss", [None, "https://evil.example"])
def test_issuer_missing_or_mismatched(
    alice: Client, guard: Guard, settings: Any, iss: str | None
) -> None:
    settings.OAUTH_PROVIDERS = {
        "example": {
            **settings.OAUTH_PROVIDERS["example"],
            "issuer": "https://provider.example",
            "discovery": False,
        }
    }
    params = start(alice)
    guard.arm()
    query = {"state": params["state"], "code": "c"}
    if iss:
        query["iss"] = iss
    html = guard.check(alice.get(CALLBACK, query), 400)
    assert "expected authorization server" in html
    assert OAuthState.objects.get().used_at is None


def test_post_to_callback(alice: Client, guard: Guard) -> None:
    params = start(alice)
    guard.arm()
    guard.check(alice.post(CALLBACK, {"state": params["state"], "code": "c"}), 405)


def test_logged_out_user(client: Client, guard: Guard) -> None:
    guard.arm()
    response = client.get(CALLBACK, {"state": "s", "code": "the-code"})
    assert response.status_code == 302
    assert "the-code" not in response["Location"]
    assert "state" not in response["Location"]
    assert len(guard.mocked.calls) == 0


@pytest.mark.parametrize(
    "next_url",
    [
        "//evil.example",
        "https:evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "https://app@evil.example",
        "https://other.example/page",
        "http://testserver@evil.example/",
        "/ok\r\nLocation: https://evil.example",
        "/" + "a" * 5000,
    ],
)
def test_unsafe_next_falls_back_to_the_default(alice: Client, mocked: Any, next_url: str) -> None:
    from .conftest import TOKEN_URL, token_json

    mocked.post(TOKEN_URL, json=token_json())
    params = start(alice, next_url=next_url)
    response = alice.get(CALLBACK, {"state": params["state"], "code": "c"})
    assert response.status_code == 302
    assert response["Location"] == "/oauth/"


def test_unsafe_next_stored_by_other_means_is_checked_again(alice: Client, mocked: Any) -> None:
    from .conftest import TOKEN_URL, token_json

    mocked.post(TOKEN_URL, json=token_json())
    params = start(alice)
    OAuthState.objects.update(next_url="//evil.example")
    assert alice.get(CALLBACK, {"state": params["state"], "code": "c"})["Location"] == "/oauth/"


@pytest.mark.parametrize("next_url", ["/projects/?tab=1", "http://testserver/x/"])
def test_safe_next_is_followed(alice: Client, mocked: Any, next_url: str) -> None:
    from .conftest import TOKEN_URL, token_json

    mocked.post(TOKEN_URL, json=token_json())
    params = start(alice, next_url=next_url)
    assert alice.get(CALLBACK, {"state": params["state"], "code": "c"})["Location"] == next_url
