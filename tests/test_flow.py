from __future__ import annotations

import base64
import io
import logging
import math
import time
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from responses import matchers

from auth_code_flow_django import exceptions as exc
from auth_code_flow_django.core import http_client
from auth_code_flow_django.flow import (
    AbstractBaseFlowManager,
    TokenResponse,
    code_challenge_s256,
    decode_body,
    make_code_verifier,
    make_state,
    parse_expires_in,
    states_match,
)

from .slow_server import SlowServer

TOKEN_URL = "https://auth.example/token"
REVOKE_URL = "https://auth.example/revoke"
SECRET = "s3cr3t-client-secret"


class Manager(AbstractBaseFlowManager):
    base_uri = "https://auth.example"
    authorization_path = "/authorize"
    access_token_path = "/token"
    revocation_path = "/revoke"
    client_id = "client id"
    client_secret = SECRET
    redirect_uri = "https://app.example/cb"
    scope = "read write"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.states: dict[Any, str] = {}

    def store_user_state(self, user: Any, state: str) -> None:
        self.states[user] = state

    def check_user_state(self, user: Any, state: str) -> bool:
        return states_match(self.states.get(user), state)


def form(request: Any) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(str(request.body), keep_blank_values=True).items()}


def started(manager: Manager, user: str = "u") -> str:
    state = manager.make_state()
    manager.store_user_state(user, state)
    return state


# --- configuration -------------------------------------------------------------------


def test_missing_required_attribute_raises_improperly_configured() -> None:
    with pytest.raises(exc.ImproperlyConfigured, match="client_id, client_secret"):
        Manager(client_id=None, client_secret=None)


def test_public_client_needs_no_secret() -> None:
    manager = Manager(client_secret=None, token_endpoint_auth_method="none", pkce_secret="k")
    assert manager.client_secret is None


def test_public_client_without_pkce_is_refused() -> None:
    """RFC 9700 2.1.1: a public client has no secret, so PKCE must bind the code."""
    with pytest.raises(exc.ImproperlyConfigured, match="must use PKCE"):
        Manager(client_secret=None, token_endpoint_auth_method="none", use_pkce=False)
    assert Manager(use_pkce=False).use_pkce is False


def test_private_key_jwt_needs_a_key() -> None:
    with pytest.raises(exc.ImproperlyConfigured, match="client_private_key"):
        Manager(client_secret=None, token_endpoint_auth_method="private_key_jwt")


def test_unknown_auth_method_is_rejected() -> None:
    with pytest.raises(exc.ImproperlyConfigured, match="token_endpoint_auth_method"):
        Manager(token_endpoint_auth_method="tls_client_auth")


@pytest.mark.parametrize("name", ["nonsense", "_session", "get_session"])
def test_unknown_or_private_keyword_is_a_type_error(name: str) -> None:
    with pytest.raises(TypeError, match=name):
        Manager(**{name: 1})


def test_missing_redirect_uri_raises_at_use() -> None:
    class NoRedirect(Manager):
        required_attributes = tuple(a for a in Manager.required_attributes if a != "redirect_uri")
        redirect_uri = None

    manager = NoRedirect()
    with pytest.raises(exc.ImproperlyConfigured, match="redirect_uri"):
        manager.get_authorization_endpoint("s")
    url = manager.get_authorization_endpoint("s", redirect_uri="https://x.example/cb")
    assert parse_qs(urlsplit(url).query)["redirect_uri"] == ["https://x.example/cb"]


def test_missing_revocation_path_raises() -> None:
    with pytest.raises(exc.ImproperlyConfigured, match="revocation_path is not set"):
        Manager(revocation_path=None).revoke("tok")


def test_repr_never_shows_the_secret() -> None:
    manager = Manager(pkce_secret="pkce-key-value")
    assert SECRET not in repr(manager)
    assert "pkce-key-value" not in repr(manager)
    assert "client id" in repr(manager)


# --- state ---------------------------------------------------------------------------


def test_state_has_256_bits_from_secrets_and_is_unique() -> None:
    states = {make_state() for _ in range(200)}
    assert len(states) == 200
    state = states.pop()
    assert len(base64.urlsafe_b64decode(state + "=")) == 32
    assert len(state) == 43


def test_manager_make_state_uses_make_state() -> None:
    assert len(Manager().make_state()) == 43


@pytest.mark.parametrize(
    ("expected", "received", "result"),
    [
        ("abc", "abc", True),
        ("abc", "abd", False),
        ("abc", None, False),
        (None, "abc", False),
        ("", "", False),
        ("é", "é", True),
    ],
)
def test_states_match(expected: object, received: object, result: bool) -> None:
    assert states_match(expected, received) is result


@responses.activate
def test_failed_state_check_raises_state_forgery_and_sends_nothing() -> None:
    manager = Manager()
    started(manager)
    with pytest.raises(exc.StateForgeryError):
        manager.fetch_access_token("u", "code", "forged")
    assert len(responses.calls) == 0


# --- PKCE ----------------------------------------------------------------------------


def test_pkce_challenge_matches_rfc7636_appendix_b() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert code_challenge_s256(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_make_code_verifier_is_in_rfc7636_bounds() -> None:
    verifier = make_code_verifier()
    assert 43 <= len(verifier) <= 128
    assert verifier != make_code_verifier()


def test_derived_verifier_depends_on_the_secret_not_only_the_state() -> None:
    state = make_state()
    one = Manager().get_code_verifier(state)
    other = Manager(client_secret="another-secret").get_code_verifier(state)
    assert one != other
    assert Manager().get_code_verifier(state) == one
    assert Manager(pkce_secret="dedicated").get_code_verifier(state) not in {one, other}
    assert 43 <= len(one) <= 128


def test_derived_verifier_without_any_key_raises() -> None:
    manager = Manager(client_secret=None, token_endpoint_auth_method="none")
    with pytest.raises(exc.ImproperlyConfigured, match="pkce_secret"):
        manager.get_authorization_endpoint("s")
    url = manager.get_authorization_endpoint("s", code_verifier="v" * 43)
    assert parse_qs(urlsplit(url).query)["code_challenge"] == [code_challenge_s256("v" * 43)]


def test_pkce_off_sends_no_challenge() -> None:
    params = Manager(use_pkce=False).get_authorization_endpoint_params("s")
    assert "code_challenge" not in params
    assert "code_verifier" not in Manager(use_pkce=False).get_access_token_endpoint_params(
        "c", "s"
    )


# --- authorization URL ---------------------------------------------------------------


def test_authorization_url_parameters() -> None:
    url = Manager().get_authorization_endpoint("the-state", code_verifier="v" * 50)
    parts = urlsplit(url)
    assert parts.netloc == "auth.example"
    assert parts.path == "/authorize"
    assert parse_qs(parts.query) == {
        "client_id": ["client id"],
        "redirect_uri": ["https://app.example/cb"],
        "response_type": ["code"],
        "scope": ["read write"],
        "state": ["the-state"],
        "code_challenge": [code_challenge_s256("v" * 50)],
        "code_challenge_method": ["S256"],
    }


def test_authorization_path_keeps_its_query() -> None:
    manager = Manager(authorization_path="/oauth?tenant=acme&scope=old")
    parts = urlsplit(manager.get_authorization_endpoint("st"))
    query = parse_qs(parts.query)
    assert parts.path == "/oauth"
    assert query["tenant"] == ["acme"]
    assert query["scope"] == ["read write"]
    assert query["state"] == ["st"]


def test_authorization_path_with_a_fragment_is_refused() -> None:
    """RFC 6749 3.1: an endpoint URI must not include a fragment."""
    with pytest.raises(exc.EndpointURLError, match="authorization_path has a fragment"):
        Manager(authorization_path="/oauth#frag").get_authorization_endpoint("st")


def test_absolute_endpoint_paths_and_trailing_slash_base() -> None:
    manager = Manager(base_uri="https://auth.example/", authorization_path="/a")
    assert manager.get_authorization_endpoint("s").startswith("https://auth.example/a?")
    other = Manager(access_token_path="https://tokens.example/t")
    assert other.get_access_token_endpoint() == "https://tokens.example/t"


def test_extra_authorize_params_do_not_override_protocol_params() -> None:
    manager = Manager(extra_authorize_params={"prompt": "consent", "state": "evil"}, scope="")
    params = manager.get_authorization_endpoint_params("real")
    assert params["prompt"] == "consent"
    assert params["state"] == "real"
    assert "scope" not in params


# --- token request -------------------------------------------------------------------


@responses.activate
def test_token_request_is_form_encoded_with_post_auth_and_no_state() -> None:
    call = responses.post(TOKEN_URL, json={"access_token": "at", "token_type": "bearer"})
    manager = Manager()
    state = started(manager)
    result = manager.exchange_code("u", "the-code", state)
    request = call.calls[0].request
    body = form(request)
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.headers["Accept"] == "application/json"
    assert "Authorization" not in request.headers
    assert body == {
        "grant_type": "authorization_code",
        "code": "the-code",
        "redirect_uri": "https://app.example/cb",
        "code_verifier": manager.get_code_verifier(state),
        "client_id": "client id",
        "client_secret": SECRET,
    }
    assert state not in str(request.body)
    assert request.url == TOKEN_URL
    assert result.access_token == "at"


@responses.activate
def test_client_secret_basic_form_encodes_credentials_before_base64() -> None:
    call = responses.post(TOKEN_URL, json={"access_token": "at", "token_type": "Bearer"})
    manager = Manager(
        token_endpoint_auth_method="client_secret_basic",
        client_id="id:with space",
        client_secret="p@ss/wörd+",
    )
    manager.exchange_code(None, "c", "s", check_state=False)
    request = call.calls[0].request
    scheme, encoded = request.headers["Authorization"].split(" ")
    assert scheme == "Basic"
    assert base64.b64decode(encoded).decode() == "id%3Awith+space:p%40ss%2Fw%C3%B6rd%2B"
    assert "client_secret" not in form(request)
    assert "client_id" not in form(request)


@responses.activate
def test_public_client_sends_only_client_id() -> None:
    call = responses.post(TOKEN_URL, json={"access_token": "at", "token_type": "Bearer"})
    manager = Manager(client_secret=None, token_endpoint_auth_method="none")
    manager.exchange_code(None, "c", "s", check_state=False, code_verifier="v" * 43)
    body = form(call.calls[0].request)
    assert body["client_id"] == "client id"
    assert "client_secret" not in body
    assert body["code_verifier"] == "v" * 43


@responses.activate
def test_explicit_redirect_uri_and_verifier_are_sent() -> None:
    call = responses.post(TOKEN_URL, json={"access_token": "at", "token_type": "Bearer"})
    Manager().exchange_code(
        None, "c", "s", check_state=False, code_verifier="x" * 60, redirect_uri="https://o/cb"
    )
    body = form(call.calls[0].request)
    assert body["redirect_uri"] == "https://o/cb"
    assert body["code_verifier"] == "x" * 60


@pytest.mark.parametrize("code", ["", "a\x00b", "line\nbreak"])
@responses.activate
def test_unusable_code_is_refused_before_any_request(code: str) -> None:
    with pytest.raises(exc.AuthorizationError):
        Manager().fetch_access_token(None, code, "s", check_state=False)
    assert len(responses.calls) == 0


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429])
@responses.activate
def test_code_exchange_is_never_retried(status: int) -> None:
    call = responses.post(TOKEN_URL, status=status, body="oops")
    with pytest.raises(exc.AuthCodeFlowError) as info:
        Manager().fetch_access_token(None, "c", "s", check_state=False)
    assert call.call_count == 1
    assert info.value.status_code == status
    assert info.value.response is not None


@responses.activate
def test_redirect_is_not_followed_and_nothing_goes_to_the_other_host() -> None:
    responses.post(TOKEN_URL, status=307, headers={"Location": "https://evil.example/steal"})
    evil = responses.post("https://evil.example/steal", json={"access_token": "x"})
    with pytest.raises(exc.AuthCodeFlowError, match="redirect"):
        Manager().exchange_code(None, "c", "s", check_state=False)
    assert evil.call_count == 0


@responses.activate
def test_timeout_is_always_passed_and_bounded() -> None:
    responses.post(TOKEN_URL, json={"access_token": "at", "token_type": "Bearer"})
    sent: list[Any] = []
    manager = Manager(timeout=3.0, connect_timeout=5.0)
    original = manager.get_session().send

    def spy(request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        sent.append(kwargs)
        return original(request, **kwargs)

    manager.get_session().send = spy  # type: ignore[method-assign]
    manager.exchange_code(None, "c", "s", check_state=False)
    assert sent[0]["timeout"] == (3.0, 3.0)
    assert sent[0]["allow_redirects"] is False


@responses.activate
def test_timeout_becomes_auth_code_flow_error() -> None:
    responses.post(TOKEN_URL, body=requests.ReadTimeout("slow"))
    with pytest.raises(exc.AuthCodeFlowError, match="in time") as info:
        Manager().exchange_code(None, "c", "s", check_state=False)
    assert info.value.response is None


@responses.activate
def test_connection_error_becomes_auth_code_flow_error() -> None:
    responses.post(TOKEN_URL, body=requests.ConnectionError("refused"))
    with pytest.raises(exc.AuthCodeFlowError, match="reached"):
        Manager().exchange_code(None, "c", "s", check_state=False)


@responses.activate
def test_reply_over_the_size_cap_is_refused() -> None:
    responses.post(
        TOKEN_URL,
        body=b'{"access_token": "' + b"a" * 5000 + b'"}',
        auto_calculate_content_length=False,
    )
    with pytest.raises(exc.AuthCodeFlowError, match="too large"):
        Manager(max_response_bytes=1000).exchange_code(None, "c", "s", check_state=False)


@responses.activate
def test_declared_content_length_over_the_cap_is_refused_unread() -> None:
    responses.post(TOKEN_URL, body=b"{}", headers={"Content-Length": "99999999"})
    with pytest.raises(exc.AuthCodeFlowError, match="too large"):
        Manager().exchange_code(None, "c", "s", check_state=False)


def test_slow_dripping_reply_hits_the_total_deadline() -> None:
    """A real server on 127.0.0.1 sends the headers, then one byte every 0.2 s."""
    with SlowServer(interval=0.2) as server:
        manager = Manager(base_uri=server.base_uri, timeout=1.0)
        started = time.monotonic()
        with pytest.raises(exc.AuthCodeFlowError, match="did not answer in time"):
            manager.exchange_code(None, "c", "s", check_state=False)
        elapsed = time.monotonic() - started
        assert server.requests == 1
    assert 0.95 <= elapsed < 1.6


@responses.activate
def test_reply_cut_off_mid_body() -> None:
    responses.post(TOKEN_URL, body=requests.exceptions.ChunkedEncodingError("cut"))
    with pytest.raises(exc.AuthCodeFlowError):
        Manager().exchange_code(None, "c", "s", check_state=False)


def test_read_error_while_streaming_becomes_auth_code_flow_error() -> None:
    class Broken(requests.Response):
        def iter_content(self, chunk_size: int | None = 1, decode_unicode: bool = False) -> Any:
            yield b"{"
            raise requests.exceptions.ChunkedEncodingError("cut")

    response = Broken()
    response.status_code = 200
    response.raw = io.BytesIO(b"")
    with pytest.raises(exc.AuthCodeFlowError, match="cut off"):
        http_client.read_body(response, deadline=float("inf"), max_bytes=1000)


# --- token response validation -------------------------------------------------------


@responses.activate
def test_full_json_reply_is_parsed() -> None:
    responses.post(
        TOKEN_URL,
        json={
            "access_token": "at",
            "token_type": "BeArEr",
            "expires_in": 3600,
            "refresh_token": "rt",
            "scope": "read write",
            "id_token": "jwt",
        },
    )
    before = datetime.now(timezone.utc)
    result = Manager().exchange_code(None, "c", "s", check_state=False)
    assert result.token_type == "Bearer"
    assert result.expires_in == 3600
    assert result.expires_at is not None
    assert before + timedelta(seconds=3599) <= result.expires_at
    assert result.expires_at <= datetime.now(timezone.utc) + timedelta(seconds=3600)
    assert result.refresh_token == "rt"
    assert result.scope == "read write"
    assert result.extras == {"id_token": "jwt"}


@responses.activate
def test_form_encoded_reply_is_parsed() -> None:
    responses.post(
        TOKEN_URL,
        body="access_token=at%2B1&token_type=bearer&scope=repo%2Cgist",
        content_type="application/x-www-form-urlencoded",
    )
    result = Manager().exchange_code(None, "c", "s", check_state=False)
    assert result.access_token == "at+1"
    assert result.scope == "repo,gist"


@responses.activate
def test_200_with_error_is_an_error() -> None:
    responses.post(
        TOKEN_URL, json={"error": "bad_verification_code", "error_description": "The code..."}
    )
    with pytest.raises(exc.AuthCodeFlowError, match="bad_verification_code") as info:
        Manager().fetch_access_token(None, "c", "s", check_state=False)
    assert info.value.error == "bad_verification_code"
    assert info.value.status_code == 200


@responses.activate
def test_invalid_grant_has_its_own_class() -> None:
    responses.post(TOKEN_URL, status=400, json={"error": "invalid_grant"})
    with pytest.raises(exc.InvalidGrantError) as info:
        Manager().exchange_code(None, "c", "s", check_state=False)
    assert info.value.error == "invalid_grant"


@responses.activate
def test_provider_error_description_is_cleaned_and_redacted() -> None:
    responses.post(
        TOKEN_URL,
        status=401,
        json={
            "error": "invalid_client",
            "error_description": f"bad secret {SECRET}\r\nX-Injected: 1 " + "x" * 500,
        },
    )
    with pytest.raises(exc.AuthCodeFlowError) as info:
        Manager().exchange_code(None, "c", "s", check_state=False)
    message = str(info.value)
    assert SECRET not in message
    assert "[redacted]" in message
    assert "\r" not in message
    assert "\n" not in message
    assert len(info.value.description) < 350
    assert info.value.error == "invalid_client"


@responses.activate
def test_malformed_error_code_is_replaced() -> None:
    responses.post(TOKEN_URL, status=400, json={"error": '<script>"x"</script>'})
    with pytest.raises(exc.AuthCodeFlowError) as info:
        Manager().exchange_code(None, "c", "s", check_state=False)
    assert info.value.error == "server_error"


_BEARER = '{"access_token": "a", "token_type": "Bearer", '


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        ("<html>login</html>", "text/html", "neither JSON nor form"),
        ("[1, 2]", "application/json", "not an object"),
        ("null", "application/json", "not an object"),
        ('{"access_token": "a", "access_token": "b"}', "application/json", "repeats"),
        ("access_token=a&access_token=b", "application/x-www-form-urlencoded", "repeats"),
        ('{"access_token": ""}', "application/json", "no access token"),
        ('{"token_type": "Bearer"}', "application/json", "no access token"),
        ('{"access_token": 5, "token_type": "Bearer"}', "application/json", "no access token"),
        ('{"access_token": "a\\nb", "token_type": "Bearer"}', "application/json", "control"),
        ('{"access_token": "a\\u0000", "token_type": "Bearer"}', "application/json", "control"),
        (_BEARER + '"scope": "read\\u0000"}', "application/json", "control"),
        (_BEARER + '"scope": ["r", "\\u0085"]}', "application/json", "control"),
        (_BEARER + '"scope": 5}', "application/json", "scope is not"),
        (_BEARER + '"refresh_token": "\\ud800"}', "application/json", "control"),
        (_BEARER + '"refresh_token": 7}', "application/json", "refresh token is not"),
        ("access_token=a&token_type=bearer&scope=x%00", "text/plain", "control"),
        ('{"access_token": "a", "token_type": "mac"}', "application/json", "token type"),
        ('{"access_token": "a"}', "application/json", "token type"),
        ('{"access_token": "a", "token_type": 3}', "application/json", "token type"),
        ("{not json", "application/json", "neither"),
        ("\xff\xfe", "application/json", "neither"),
        ("plain words", "text/plain", "neither"),
        ("a=%zz&&b", "text/plain", "neither"),
    ],
)
@responses.activate
def test_invalid_token_replies_are_refused(body: str, content_type: str, message: str) -> None:
    responses.post(TOKEN_URL, body=body.encode("latin-1"), content_type=content_type)
    with pytest.raises(exc.InvalidTokenResponseError, match=message) as info:
        Manager().exchange_code(None, "c", "s", check_state=False)
    assert info.value.response is not None


@responses.activate
def test_non_json_error_status_reports_the_status() -> None:
    responses.post(TOKEN_URL, status=500, body="<html>500</html>", content_type="text/html")
    with pytest.raises(exc.AuthCodeFlowError, match="HTTP 500"):
        Manager().exchange_code(None, "c", "s", check_state=False)


@responses.activate
def test_missing_token_type_is_accepted_when_the_provider_omits_it() -> None:
    responses.post(TOKEN_URL, json={"access_token": "a", "expires": 86400})
    manager = Manager(token_type_required=False, expires_in_field="expires")
    result = manager.exchange_code(None, "c", "s", check_state=False)
    assert result.token_type == "Bearer"
    assert result.expires_in == 86400
    assert "expires" not in result.extras


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (3600, 3600),
        ("3600", 3600),
        (" 60 ", 60),
        (59.9, 59),
        (None, None),
        (-5, None),
        (0, None),
        (True, None),
        (False, None),
        ("abc", None),
        ("-5", None),
        ("²", None),
        (math.nan, None),
        (math.inf, None),
        (10**12, None),
        ([60], None),
    ],
)
def test_parse_expires_in(value: object, expected: int | None) -> None:
    assert parse_expires_in(value) == expected


@responses.activate
def test_nan_expires_in_in_json_means_unknown_expiry() -> None:
    responses.post(
        TOKEN_URL, body='{"access_token": "a", "token_type": "Bearer", "expires_in": NaN}'
    )
    result = Manager().exchange_code(None, "c", "s", check_state=False)
    assert result.expires_in is None
    assert result.expires_at is None


@responses.activate
def test_granted_scope_differing_from_requested_is_kept_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    responses.post(TOKEN_URL, json={"access_token": "a", "token_type": "Bearer", "scope": "read"})
    with caplog.at_level(logging.INFO, logger="auth_code_flow_django"):
        result = Manager().exchange_code(None, "c", "s", check_state=False)
    assert result.scope == "read"
    assert "differs" in caplog.text


@responses.activate
def test_scope_as_list_and_absent_scope() -> None:
    responses.post(
        TOKEN_URL, json={"access_token": "a", "token_type": "Bearer", "scope": ["write", "read"]}
    )
    assert Manager().exchange_code(None, "c", "s", check_state=False).scope == "write read"
    responses.post(TOKEN_URL, json={"access_token": "a", "token_type": "Bearer"})
    assert Manager().exchange_code(None, "c", "s", check_state=False).scope == "read write"
    responses.post(TOKEN_URL, json={"access_token": "a", "token_type": "Bearer", "scope": "x"})
    assert (
        Manager(scope=None, required_attributes=())
        .exchange_code(None, "c", "s", check_state=False)
        .scope
        == "x"
    )


def test_token_response_repr_hides_tokens() -> None:
    result = TokenResponse(
        access_token="ACCESS-123", refresh_token="REFRESH-456", extras={"id_token": "ID-789"}
    )
    text = repr(result) + str(result)
    for secret in ("ACCESS-123", "REFRESH-456", "ID-789"):
        assert secret not in text
    assert "has_refresh_token=True" in text


def test_parse_token_response_with_fixed_now() -> None:
    now = datetime(2030, 1, 1, tzinfo=timezone.utc)
    result = Manager().token_response_from(
        {"access_token": "a", "token_type": "Bearer", "expires_in": 10}, now=now
    )
    assert result.expires_at == now + timedelta(seconds=10)


def test_decode_body_without_content_type_sniffs_json_and_form() -> None:
    response = requests.Response()
    response._content = b'{"a": 1}'
    assert decode_body(response) == {"a": 1}
    response._content = b"a=1"
    assert decode_body(response) == {"a": "1"}


# --- refresh and revocation ----------------------------------------------------------


@responses.activate
def test_refresh_rotates_the_refresh_token() -> None:
    call = responses.post(
        TOKEN_URL,
        json={"access_token": "new-at", "token_type": "Bearer", "refresh_token": "new-rt"},
    )
    result = Manager().refresh("old-rt", scope="read")
    body = form(call.calls[0].request)
    assert body["grant_type"] == "refresh_token"
    assert body["refresh_token"] == "old-rt"
    assert body["scope"] == "read"
    assert body["client_secret"] == SECRET
    assert result.access_token == "new-at"
    assert result.refresh_token == "new-rt"


@responses.activate
def test_refresh_without_a_new_refresh_token_keeps_the_old_one() -> None:
    call = responses.post(TOKEN_URL, json={"access_token": "new-at", "token_type": "Bearer"})
    result = Manager().refresh("old-rt")
    assert result.refresh_token == "old-rt"
    assert "scope" not in form(call.calls[0].request)


@responses.activate
def test_refresh_reply_without_scope_keeps_the_granted_scope() -> None:
    """RFC 6749 6: the configured scope ("read write") must not replace the grant's."""
    responses.post(TOKEN_URL, json={"access_token": "new-at", "token_type": "Bearer"})
    assert Manager().refresh("rt", granted_scope="read").scope == "read"
    assert Manager().refresh("rt", scope="write", granted_scope="read").scope == "write"


@responses.activate
def test_refresh_invalid_grant_and_missing_refresh_token() -> None:
    responses.post(
        TOKEN_URL,
        status=400,
        json={"error": "invalid_grant", "error_description": "old-rt revoked"},
    )
    with pytest.raises(exc.InvalidGrantError) as info:
        Manager().refresh("old-rt")
    assert "old-rt" not in str(info.value)
    with pytest.raises(exc.InvalidGrantError):
        Manager().refresh("")


@responses.activate
def test_revoke_posts_token_and_hint_with_client_auth() -> None:
    call = responses.post(REVOKE_URL, body="")
    Manager(token_endpoint_auth_method="client_secret_basic").revoke(
        "rt-value", token_type_hint="refresh_token"
    )
    request = call.calls[0].request
    assert form(request) == {"token": "rt-value", "token_type_hint": "refresh_token"}
    assert request.headers["Authorization"].startswith("Basic ")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"status": 503, "body": "down"}, "HTTP 503"),
        ({"status": 400, "json": {"error": "unsupported_token_type"}}, "unsupported_token_type"),
        ({"body": requests.ConnectionError("refused")}, "reached"),
        ({"status": 400, "body": "[1]", "content_type": "application/json"}, "HTTP 400"),
    ],
)
@responses.activate
def test_revoke_failures_raise_revocation_error(kwargs: dict[str, Any], match: str) -> None:
    responses.post(REVOKE_URL, **kwargs)
    with pytest.raises(exc.RevocationError, match=match):
        Manager().revoke("tok")


@responses.activate
def test_revoke_without_hint() -> None:
    call = responses.post(
        REVOKE_URL,
        match=[
            matchers.urlencoded_params_matcher(
                {"token": "t", "client_id": "client id", "client_secret": SECRET}
            )
        ],
    )
    Manager().revoke("t")
    assert call.call_count == 1


# --- exceptions ----------------------------------------------------------------------


def test_state_errors_are_distinct() -> None:
    classes = [
        exc.StateMissingError,
        exc.StateForgeryError,
        exc.StateExpiredError,
        exc.StateAlreadyUsedError,
    ]
    for cls in classes:
        assert issubclass(cls, exc.StateError)
        assert cls.error == "invalid_request"
        assert [c for c in classes if issubclass(cls, c)] == [cls]
    assert len({cls.default_description for cls in classes}) == 4


def test_exception_repr_and_error_override() -> None:
    error = exc.AuthorizationError("Denied here", error="consent_required")
    assert error.error == "consent_required"
    assert exc.AuthorizationError.error == "invalid_request"
    assert repr(error) == "AuthorizationError(error='consent_required', description='Denied here')"
    assert str(exc.AccessDeniedError()) == "The authorization was cancelled."
    assert exc.AuthCodeFlowError().status_code is None
    assert isinstance(exc.InvalidGrantError(), exc.AuthCodeFlowError)
    assert isinstance(exc.ImproperlyConfigured(), exc.BaseAuthCodeFlowError)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, ""), (5, ""), ("a\x00b\r\nc", "a b c"), ("x" * 400, "x" * 299 + "\u2026")],
)
def test_clean_provider_text(value: object, expected: str) -> None:
    assert exc.clean_provider_text(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("access_denied", "access_denied"), ('a"b', "d"), ("", "d"), (None, "d"), ("é", "d")],
)
def test_clean_error_code(value: object, expected: str) -> None:
    assert exc.clean_error_code(value, "d") == expected


@responses.activate
def test_netrc_credentials_are_never_sent(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine auth.example login netrc-user password netrc-password\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    call = responses.post(TOKEN_URL, json={"access_token": "at", "token_type": "Bearer"})
    Manager().exchange_code(None, "c", "s", check_state=False)
    assert "Authorization" not in call.calls[0].request.headers
    # A plain requests session would have used them: the test is meaningful.
    plain = requests.Session().post(TOKEN_URL)
    assert plain.request.headers["Authorization"].startswith("Basic ")


def test_proxies_and_ca_bundle_still_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "tokens.example")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/corporate.pem")
    manager = Manager()
    env = manager._environment(TOKEN_URL)
    assert env["proxies"]["https"] == "http://proxy.internal:3128"
    assert env["verify"] == "/etc/ssl/corporate.pem"
    assert manager._environment("https://tokens.example/t")["proxies"] == {}
    assert manager._environment(TOKEN_URL) is env
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    assert Manager()._environment(TOKEN_URL)["verify"] is True


# --- hostile nesting -----------------------------------------------------------------

NESTED = [
    ("arrays", "[" * 60_000),
    ("objects", '{"a":' * 12_000),
    ("inside a valid object", '{"access_token": "a", "token_type": "Bearer", "x": ' + "[" * 5000),
]


@pytest.mark.parametrize(("kind", "body"), NESTED, ids=[kind for kind, _ in NESTED])
@responses.activate
def test_deeply_nested_token_reply_is_an_invalid_reply(kind: str, body: str) -> None:
    responses.post(TOKEN_URL, body=body, content_type="application/json")
    with pytest.raises(exc.InvalidTokenResponseError, match="nested too deeply") as info:
        Manager().exchange_code(None, "c", "s", check_state=False)
    assert info.value.response is not None


@responses.activate
def test_deeply_nested_refresh_reply_is_an_invalid_reply() -> None:
    responses.post(TOKEN_URL, body="[" * 60_000, content_type="text/plain")
    with pytest.raises(exc.InvalidTokenResponseError, match="nested too deeply"):
        Manager().refresh("rt")


@responses.activate
def test_deeply_nested_revocation_reply_is_ignored_on_success_and_an_error_otherwise() -> None:
    responses.post(REVOKE_URL, body="[" * 60_000, content_type="application/json")
    Manager().revoke("rt")  # RFC 7009 2.2: the body of a 200 is ignored.
    responses.post(REVOKE_URL, status=400, body="[" * 60_000, content_type="application/json")
    with pytest.raises(exc.RevocationError, match="HTTP 400"):
        Manager().revoke("rt")


@responses.activate
def test_brackets_inside_strings_and_moderate_nesting_are_accepted() -> None:
    extra = "[" * 30 + "]" * 30
    responses.post(
        TOKEN_URL,
        body='{"access_token": "'
        + "[" * 500
        + '\\"{", "token_type": "Bearer", "x": '
        + extra
        + "}",
        content_type="application/json",
    )
    result = Manager().exchange_code(None, "c", "s", check_state=False)
    assert result.access_token == "[" * 500 + '"{'


def test_openid_without_an_issuer_or_jwks_uri_is_a_configuration_error() -> None:
    """Validating an ID token needs both: without them nothing is fetched or trusted."""
    with pytest.raises(exc.ImproperlyConfigured, match="no issuer"):
        Manager(jwks_uri="https://provider.example/jwks").validate_id_token("a.b.c", nonce="n")
    with pytest.raises(exc.ImproperlyConfigured, match="no jwks_uri"):
        Manager(issuer="https://provider.example").get_jwks()
