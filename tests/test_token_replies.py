from __future__ import annotations

import json

import pytest
import requests

from auth_code_flow_django.core.rfc6749_token_replies import (
    MAX_JSON_DEPTH,
    TokenResponse,
    json_too_deep,
    raise_for_error,
    token_response_from,
)
from auth_code_flow_django.exceptions import (
    AuthCodeFlowError,
    InvalidGrantError,
    InvalidTokenResponseError,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{}", False),
        ("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH, False),
        ("[" * (MAX_JSON_DEPTH + 1), True),
        ("[]" * 10_000, False),  # many brackets, never deep
        ('{"a": "' + "[" * 100 + '"}', False),  # brackets in a string do not nest
        ('{"a": "\\"' + "[" * 100 + '"}', False),  # nor after an escaped quote
        ("{" * 20 + "[" * 20, True),  # arrays and objects count together
    ],
)
def test_json_too_deep(text: str, expected: bool) -> None:
    assert json_too_deep(text) is expected


def _reply(status: int, body: dict[str, object]) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode()
    response.headers["Content-Type"] = "application/json"
    return response


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"ok": False, "error": "invalid_code"}, "invalid_code"),
        ({"ok": False}, "server_error"),
        ({"ok": "true", "access_token": "x"}, "server_error"),
        ({"access_token": "x"}, "server_error"),
    ],
)
def test_success_field_must_be_true(body: dict[str, object], error: str) -> None:
    with pytest.raises(AuthCodeFlowError) as raised:
        raise_for_error(_reply(200, body), body, AuthCodeFlowError, str, "ok")
    assert raised.value.error == error


def test_success_field_false_with_invalid_grant_needs_reauthorization() -> None:
    body = {"ok": False, "error": "invalid_grant"}
    with pytest.raises(InvalidGrantError):
        raise_for_error(_reply(200, body), body, AuthCodeFlowError, str, "ok")


def test_success_field_true_passes_and_is_ignored_without_the_quirk() -> None:
    raise_for_error(_reply(200, {"ok": True}), {"ok": True}, AuthCodeFlowError, str, "ok")
    raise_for_error(_reply(200, {"ok": False}), {"ok": False}, AuthCodeFlowError, str)


def test_bearer_token_types_accept_a_provider_s_own_type() -> None:
    body = {"access_token": "xoxb-1", "token_type": "bot"}
    with pytest.raises(InvalidTokenResponseError):
        token_response_from(body)
    assert token_response_from(body, bearer_token_types=("bot",)).token_type == "bot"
    with pytest.raises(InvalidTokenResponseError):
        token_response_from({**body, "token_type": "mac"}, bearer_token_types=("bot",))


def test_id_token_claims_are_not_in_the_repr() -> None:
    result = TokenResponse(access_token="a", id_token_claims={"sub": "secret-subject"})
    assert "secret-subject" not in repr(result)
    assert TokenResponse(access_token="a").id_token_claims is None


def test_a_nested_token_is_read_from_its_object_without_leaving_tokens_in_extras() -> None:
    from auth_code_flow_django.core.rfc6749_token_replies import nested_token_reply

    body = {
        "ok": True,
        "access_token": "xoxb-bot",
        "token_type": "bot",
        "scope": "commands",
        "team": {"id": "T1"},
        "authed_user": {
            "id": "U1",
            "access_token": "xoxp-user",
            "refresh_token": "xoxe-1-user",
            "token_type": "user",
            "scope": "search:read",
            "expires_in": 43200,
        },
    }
    reply = nested_token_reply(body, "authed_user")
    assert reply == {
        "ok": True,
        "team": {"id": "T1"},
        "authed_user": {"id": "U1"},
        "access_token": "xoxp-user",
        "refresh_token": "xoxe-1-user",
        "token_type": "user",
        "scope": "search:read",
        "expires_in": 43200,
    }
    result = token_response_from(reply, bearer_token_types=("user",))
    assert (result.access_token, result.token_type, result.expires_in) == (
        "xoxp-user",
        "user",
        43200,
    )
    assert "xox" not in json.dumps(dict(result.extras))


@pytest.mark.parametrize(
    "body",
    [
        {"access_token": "top", "token_type": "user"},
        {"access_token": "top", "authed_user": {"id": "U1"}},
        {"access_token": "top", "authed_user": "U1"},
    ],
)
def test_a_reply_without_a_nested_token_is_read_at_its_top_level(body: dict[str, object]) -> None:
    from auth_code_flow_django.core.rfc6749_token_replies import nested_token_reply

    assert nested_token_reply(body, "authed_user") == body
    assert nested_token_reply(body, None) == body
