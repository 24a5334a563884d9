"""Property: whatever the query string and the token endpoint's reply, the callback
never answers 500, and a token is stored only when the state was valid and the token
response was valid."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlencode

import pytest
import responses
from django.contrib.auth import get_user_model
from django.test import Client
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from auth_code_flow_django.models import OAuthState, OAuthToken
from auth_code_flow_django.views import SINGLE_PARAMS

from .conftest import TOKEN_URL, start

User = get_user_model()

pytestmark = pytest.mark.django_db

EXAMPLES = 150  # per state kind
text = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=40)
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
UNSTORABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")

structured_body = st.fixed_dictionaries(
    {},
    optional={
        "access_token": st.one_of(text, st.integers(), st.none(), st.just("a-valid-token")),
        "token_type": st.one_of(
            st.sampled_from(["Bearer", "bearer", "BEARER", "mac", ""]), text, st.integers()
        ),
        "expires_in": st.one_of(st.integers(), st.floats(), text, st.booleans(), st.none()),
        "refresh_token": st.one_of(text, st.integers()),
        "scope": st.one_of(text, st.lists(text, max_size=3)),
        "error": text,
    },
)
valid_body = st.fixed_dictionaries(
    {
        "access_token": st.text(alphabet="abcdefXYZ0123456789-._~+/", min_size=1, max_size=40),
        "token_type": st.sampled_from(["Bearer", "bearer", "BEARER"]),
    },
    optional={
        "expires_in": st.one_of(st.integers(), st.floats(), text, st.booleans(), st.none()),
        "refresh_token": st.one_of(text, st.integers()),
        "scope": st.one_of(text, st.lists(text, max_size=3)),
    },
)
raw_body = st.tuples(
    st.binary(max_size=300),
    st.sampled_from(["application/json", "text/html", "application/x-www-form-urlencoded", ""]),
)


def storable(value: object) -> bool:
    return isinstance(value, str) and len(value) <= 8192 and not UNSTORABLE.search(value)


def body_is_valid(body: object) -> bool:
    """The oracle, from RFC 6749 5.1 and the rule that nothing unstorable is kept: a JSON
    object without ``error``, a non-blank access token, a Bearer type, and an optional
    refresh token and scope (a string or list of strings) free of control characters."""
    if not isinstance(body, dict) or "error" in body:
        return False
    access_token, token_type = body.get("access_token"), body.get("token_type")
    refresh_token, scope = body.get("refresh_token"), body.get("scope")
    if isinstance(scope, list) and all(isinstance(s, str) for s in scope):
        scope = " ".join(scope)
    return (
        storable(access_token)
        and bool(str(access_token).strip())
        and isinstance(token_type, str)
        and token_type.lower() == "bearer"
        and (refresh_token in (None, "") or storable(refresh_token))
        and (scope is None or storable(scope))
    )


@pytest.mark.parametrize("state_kind", ["valid", "absent", "random", "other-user"])
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    code=st.one_of(st.just("a-good-code"), st.none(), text),
    error=st.one_of(st.none(), st.sampled_from(["access_denied", "server_error"]), text),
    extras=st.one_of(
        st.just([]),
        st.lists(st.tuples(st.one_of(text, st.sampled_from(SINGLE_PARAMS)), text), max_size=4),
    ),
    body=st.one_of(valid_body, structured_body, raw_body),
    status=st.sampled_from([200, 400, 401, 500, 302]),
)
def test_callback_property(
    user: User,
    other_user: User,
    state_kind: str,
    code: str | None,
    error: str | None,
    extras: list[tuple[str, str]],
    body: Any,
    status: int,
) -> None:
    OAuthToken.objects.all().delete()
    OAuthState.objects.all().delete()
    client = Client()
    client.force_login(user)
    stranger = Client()
    stranger.force_login(other_user)
    own = start(client)["state"]
    states = {
        "valid": own,
        "absent": None,
        "random": ("y" if own[0] == "x" else "x") + own[1:],
        "other-user": start(stranger)["state"],
    }
    pairs: list[tuple[str, str]] = []
    if states[state_kind] is not None:
        pairs.append(("state", states[state_kind]))
    if code is not None:
        pairs.append(("code", code))
    if error is not None:
        pairs.append(("error", error))
    pairs.extend(extras)

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        if isinstance(body, dict):
            mocked.post(
                TOKEN_URL, status=status, body=json.dumps(body), content_type="application/json"
            )
        else:
            mocked.post(TOKEN_URL, status=status, body=body[0], content_type=body[1])
        response = client.get("/oauth/example/callback/", QUERY_STRING=urlencode(pairs))

    # What the callback receives, extras included: an extra "code" or "error" counts.
    received = {name: [v for n, v in pairs if n == name] for name in SINGLE_PARAMS}
    repeated = any(len(values) > 1 for values in received.values())
    sent_code = received["code"][0] if received["code"] else ""
    code_ok = bool(sent_code) and len(sent_code) <= 4096 and not CONTROL.search(sent_code)
    expect_stored = (
        state_kind == "valid"
        and not repeated
        and not received["error"]
        and code_ok
        and status == 200
        and body_is_valid(body)
    )
    event(f"status {response.status_code}")
    if state_kind == "valid" and response.status_code == 400:
        event(re.search(r"<p>(.*?)</p>", response.content.decode()).group(1)[:60])
    assert response.status_code in {302, 400, 403, 502}
    assert OAuthToken.objects.exists() == expect_stored
    assert (response.status_code == 302) == expect_stored


@settings(
    max_examples=EXAMPLES * 2,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    body=st.one_of(valid_body, structured_body, raw_body),
    status=st.sampled_from([200, 201, 400, 401, 500, 302]),
    extras=st.lists(
        st.tuples(text.filter(lambda name: name not in SINGLE_PARAMS), text), max_size=3
    ),
)
def test_valid_flow_property(
    user: User, body: Any, status: int, extras: list[tuple[str, str]]
) -> None:
    """A genuine callback: stored exactly when the token endpoint's reply is valid."""
    OAuthToken.objects.all().delete()
    client = Client()
    client.force_login(user)
    state = start(client)["state"]
    query = urlencode([("state", state), ("code", "a-good-code"), *extras])
    with responses.RequestsMock() as mocked:
        if isinstance(body, dict):
            mocked.post(
                TOKEN_URL, status=status, body=json.dumps(body), content_type="application/json"
            )
        else:
            mocked.post(TOKEN_URL, status=status, body=body[0], content_type=body[1])
        response = client.get("/oauth/example/callback/", QUERY_STRING=query)
        assert len(mocked.calls) == 1
    expect_stored = status in (200, 201) and body_is_valid(body)
    event(f"status {response.status_code}")
    assert response.status_code == (302 if expect_stored else 502)
    assert OAuthToken.objects.exists() == expect_stored
