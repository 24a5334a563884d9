"""A provider configured by its issuer alone: discovery at first use, in Django's cache,
and what the metadata allows or forbids, through the views and the token API."""

from __future__ import annotations

import base64
import json
import logging
import pickle
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from django.utils.html import escape

from auth_code_flow_django import discovery, tokens
from auth_code_flow_django.exceptions import AuthCodeFlowError
from auth_code_flow_django.models import OAuthState, OAuthToken
from auth_code_flow_django.providers import get_provider

from .conftest import make_token, start, token_json
from .oidc import (
    AUTHORIZE_URL,
    CLIENT_ID,
    CLIENT_SECRET,
    ISSUER,
    JWKS_URL,
    OPENID_URL,
    REVOKE_URL,
    RFC8414_URL,
    TOKEN_URL,
    SigningKey,
    claims,
    document,
    jwks,
    provider_settings,
)
from .slow_server import SlowServer

User = get_user_model()

KEY = SigningKey("key-1")
CALLBACK = "/oauth/idp/callback/"


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def configure(settings: Any, **overrides: Any) -> None:
    settings.OAUTH_PROVIDERS = {"idp": provider_settings(**overrides)}


def serve(mocked: responses.RequestsMock, **overrides: Any) -> None:
    mocked.upsert(responses.GET, RFC8414_URL, status=404)
    mocked.upsert(responses.GET, OPENID_URL, json=document(**overrides))
    mocked.upsert(responses.GET, JWKS_URL, json=jwks(KEY))


def fail(mocked: responses.RequestsMock, status: int = 503) -> None:
    mocked.upsert(responses.GET, RFC8414_URL, status=404)
    mocked.upsert(responses.GET, OPENID_URL, status=status)


def slowly(seconds: float, status: int, body: dict[str, Any]) -> Any:
    """A ``responses`` callback answering ``status`` and ``body`` after ``seconds``."""

    def reply(request: Any) -> tuple[int, dict[str, str], str]:
        time.sleep(seconds)
        return status, {"Content-Type": "application/json"}, json.dumps(body)

    return reply


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[float], None]:
    """``clock(seconds)`` moves the time the cache's expiry reads to ``seconds`` after
    now (the lock and its wait use the monotonic clock, left alone)."""
    start = time.time()

    def move(seconds: float) -> None:
        monkeypatch.setattr(time, "time", lambda: start + seconds)

    return move


def token_request(mocked: responses.RequestsMock) -> Any:
    return next(call.request for call in mocked.calls if call.request.url == TOKEN_URL)


def fetches(mocked: responses.RequestsMock, url: str) -> int:
    return sum(1 for call in mocked.calls if call.request.url == url)


def refused_to_start(client: Client, status: int, text: str) -> str:
    response = client.post("/oauth/idp/authorize/")
    html = response.content.decode()
    assert response.status_code == status, html
    assert text in html
    assert OAuthState.objects.count() == 0
    return html


def test_issuer_alone_connects(
    alice: Client, user: User, settings: Any, mocked: responses.RequestsMock
) -> None:
    configure(settings)
    serve(mocked)
    params = start(alice, "idp")
    mocked.post(TOKEN_URL, json=token_json(id_token=KEY.sign(claims(params["nonce"]))))
    response = alice.get(CALLBACK, {"state": params["state"], "code": "c"})
    assert response.status_code == 302
    assert OAuthToken.objects.get(user=user, provider="idp")
    # The server supports client_secret_post only (of the methods this app has).
    sent = parse_qs(token_request(mocked).body)
    assert sent["client_secret"] == [CLIENT_SECRET]


def test_discovery_is_lazy_and_cached(
    alice: Client, settings: Any, mocked: responses.RequestsMock
) -> None:
    configure(settings)
    serve(mocked)
    assert get_provider("idp").metadata is None
    alice.get("/oauth/")
    call_command("check")
    assert len(mocked.calls) == 0
    start(alice, "idp")
    start(alice, "idp")
    assert fetches(mocked, OPENID_URL) == 1
    assert fetches(mocked, RFC8414_URL) == 1


def test_the_cache_lifetime_is_a_setting(
    alice: Client, settings: Any, mocked: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(settings)
    settings.AUTH_CODE_FLOW_DISCOVERY_CACHE_TTL = 1
    serve(mocked)
    start(alice, "idp")
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 2)
    start(alice, "idp")
    assert fetches(mocked, OPENID_URL) == 2


def test_explicit_values_override_discovered_ones(
    alice: Client, settings: Any, mocked: responses.RequestsMock
) -> None:
    configure(
        settings,
        access_token_path="https://idp.example/custom/token",
        token_endpoint_auth_method="client_secret_basic",
        scope="profile",
    )
    serve(mocked)
    provider = get_provider("idp").resolved()
    assert provider.access_token_path == "https://idp.example/custom/token"
    assert provider.authorization_path == AUTHORIZE_URL
    assert provider.revocation_path == REVOKE_URL
    assert provider.sources["access_token_path"] == "settings"
    assert provider.sources["authorization_path"] == "discovery"
    assert provider.token_endpoint_auth_method == "client_secret_basic"


@pytest.mark.parametrize(
    ("supported", "has_secret", "expected"),
    [
        (None, True, "client_secret_basic"),
        (["client_secret_basic", "client_secret_post"], True, "client_secret_basic"),
        (["private_key_jwt", "client_secret_post"], True, "client_secret_post"),
        (["none", "client_secret_basic"], False, "none"),
    ],
)
def test_client_authentication_is_one_the_server_supports(
    settings: Any,
    mocked: responses.RequestsMock,
    supported: list[str] | None,
    has_secret: bool,
    expected: str,
) -> None:
    configure(settings, client_secret=CLIENT_SECRET if has_secret else None, scope="profile")
    serve(mocked, token_endpoint_auth_methods_supported=supported)
    provider = get_provider("idp").resolved()
    assert provider.token_endpoint_auth_method == expected
    assert provider.flow_manager.token_endpoint_auth_method == expected


def test_basic_authentication_is_sent_when_the_server_says_nothing(
    alice: Client, settings: Any, mocked: responses.RequestsMock
) -> None:
    configure(settings)
    serve(mocked, token_endpoint_auth_methods_supported=None)
    params = start(alice, "idp")
    mocked.post(TOKEN_URL, json=token_json(id_token=KEY.sign(claims(params["nonce"]))))
    assert alice.get(CALLBACK, {"state": params["state"], "code": "c"}).status_code == 302
    header = token_request(mocked).headers["Authorization"]
    assert base64.b64decode(header.split()[1]).decode() == f"{CLIENT_ID}:{CLIENT_SECRET}"


def test_no_supported_client_authentication_refuses_to_start(
    alice: Client, settings: Any, mocked: responses.RequestsMock
) -> None:
    configure(settings)
    serve(mocked, token_endpoint_auth_methods_supported=["private_key_jwt"])
    refused_to_start(alice, 503, "none of the client authentication methods")


def test_no_s256_refuses_to_start(
    alice: Client, settings: Any, mocked: responses.RequestsMock, caplog: Any
) -> None:
    configure(settings)
    serve(mocked, code_challenge_methods_supported=["plain"])
    with caplog.at_level(logging.ERROR, "auth_code_flow_django.views"):
        refused_to_start(alice, 503, "does not support PKCE with S256")
    assert "does not support PKCE with S256" in caplog.text


def test_no_s256_list_still_sends_s256(
    alice: Client, settings: Any, mocked: responses.RequestsMock
) -> None:
    configure(settings)
    serve(mocked, code_challenge_methods_supported=None)
    assert start(alice, "idp")["code_challenge_method"] == "S256"


def test_iss_required_when_the_server_advertises_it(
    alice: Client, settings: Any, mocked: responses.RequestsMock
) -> None:
    configure(settings)
    serve(mocked, authorization_response_iss_parameter_supported=True)
    params = start(alice, "idp")
    mocked.post(TOKEN_URL, json=token_json(id_token=KEY.sign(claims(params["nonce"]))))
    response = alice.get(CALLBACK, {"state": params["state"], "code": "c"})
    assert response.status_code == 400
    assert OAuthState.objects.get().used_at is None
    response = alice.get(CALLBACK, {"state": params["state"], "code": "c", "iss": ISSUER})
    assert response.status_code == 302


def test_iss_not_required_but_checked_when_present(
    alice: Client, settings: Any, mocked: responses.RequestsMock
) -> None:
    configure(settings)
    serve(mocked)
    params = start(alice, "idp")
    query = {"state": params["state"], "code": "c", "iss": "https://evil.example"}
    assert alice.get(CALLBACK, query).status_code == 400
    assert OAuthToken.objects.count() == 0


@pytest.mark.parametrize(
    ("overrides", "text"),
    [
        ({"issuer": "https://evil.example/realms/main"}, "names the issuer"),
        ({"token_endpoint": "http://idp.example/token"}, "uses http://"),
        ({"authorization_endpoint": None}, "has no authorization_endpoint"),
    ],
)
def test_a_bad_document_is_a_502_and_nothing_is_stored(
    alice: Client,
    settings: Any,
    mocked: responses.RequestsMock,
    overrides: dict[str, Any],
    text: str,
) -> None:
    configure(settings)
    serve(mocked, **overrides)
    refused_to_start(alice, 502, text)
    assert cache.get(discovery._key("metadata", ISSUER)) is None


def test_an_oversized_document_is_a_502(
    alice: Client, settings: Any, mocked: responses.RequestsMock
) -> None:
    configure(settings)
    settings.AUTH_CODE_FLOW_MAX_RESPONSE_BYTES = 4096
    serve(mocked, padding="x" * 5000)
    mocked.upsert(responses.GET, RFC8414_URL, json=document(padding="x" * 5000))
    refused_to_start(alice, 502, "too large")


def test_a_slow_document_is_a_502_within_the_timeout(
    alice: Client, settings: Any, mocked: responses.RequestsMock
) -> None:
    body = b'{"issuer": "' + b"x" * 100 + b'"}'
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    )
    mocked.add_passthru("http://127.0.0.1")
    settings.AUTH_CODE_FLOW_HTTP_TIMEOUT = 1.0
    with SlowServer(head=head, body=body, interval=0.1) as server:
        configure(settings, issuer=server.base_uri)
        started = time.monotonic()
        refused_to_start(alice, 502, "in time")
        assert time.monotonic() - started < 3


def test_an_unreachable_server_is_a_502(alice: Client, settings: Any) -> None:
    configure(settings, issuer="http://127.0.0.1:9")
    with responses.RequestsMock() as mocked:
        mocked.add_passthru("http://127.0.0.1")
        refused_to_start(alice, 502, "could not be fetched")


def test_openid_without_jwks_uri_refuses_to_start(
    alice: Client, settings: Any, mocked: responses.RequestsMock
) -> None:
    configure(settings)
    serve(mocked, jwks_uri=None)
    refused_to_start(alice, 503, "no issuer and jwks_uri")


def test_refresh_and_revoke_use_discovered_endpoints(
    user: User, settings: Any, mocked: responses.RequestsMock
) -> None:
    configure(settings)
    serve(mocked)
    make_token(user, "idp")
    OAuthToken.objects.update(expires_at=timezone.now() - timedelta(days=1))
    mocked.post(TOKEN_URL, json=token_json(access_token="fresh-access-token-0009"))
    assert tokens.get_access_token(user, "idp") == "fresh-access-token-0009"
    mocked.post(REVOKE_URL)
    with django_capture_on_commit():
        assert tokens.revoke(user, "idp")
    assert fetches(mocked, REVOKE_URL) == 2


def test_revocation_is_skipped_when_discovery_fails(
    user: User, settings: Any, mocked: responses.RequestsMock, caplog: Any
) -> None:
    configure(settings)
    mocked.get(RFC8414_URL, status=404)
    mocked.get(OPENID_URL, status=503)
    make_token(user, "idp")
    with caplog.at_level(logging.WARNING), django_capture_on_commit():
        assert tokens.revoke(user, "idp")
    assert OAuthToken.objects.count() == 0
    assert "cannot revoke idp tokens" in caplog.text


def test_other_hosts_are_logged(
    alice: Client, settings: Any, mocked: responses.RequestsMock, caplog: Any
) -> None:
    configure(settings)
    serve(mocked, token_endpoint="https://tokens.example/token")
    with caplog.at_level(logging.INFO, "auth_code_flow_django.core.rfc8414_server_metadata"):
        start(alice, "idp")
    assert "token_endpoint=tokens.example" in caplog.text


def django_capture_on_commit() -> Any:
    from django.test import TestCase

    return TestCase.captureOnCommitCallbacks(execute=True)


def test_authorize_url_keeps_the_discovered_query(
    alice: Client, settings: Any, mocked: responses.RequestsMock
) -> None:
    configure(settings)
    serve(mocked, authorization_endpoint=AUTHORIZE_URL + "?tenant=main")
    response = alice.post("/oauth/idp/authorize/")
    query = parse_qs(urlsplit(response["Location"]).query)
    assert query["tenant"] == ["main"]
    assert query["client_id"] == [CLIENT_ID]


def test_a_cached_document_that_no_longer_passes_the_checks_is_fetched_again(
    alice: Client, settings: Any, mocked: responses.RequestsMock
) -> None:
    configure(settings)
    serve(mocked)
    cache.set(
        discovery._key("metadata", ISSUER),
        {"document": document(issuer="https://evil.example"), "url": OPENID_URL},
    )
    start(alice, "idp")
    assert fetches(mocked, OPENID_URL) == 1
    assert discovery.cached(ISSUER) is not None


def test_concurrent_callers_fetch_the_document_and_the_keys_once(
    settings: Any, mocked: responses.RequestsMock
) -> None:
    """Workers that find the cache empty at once cost the server one request each for
    the document and the JWK Set, not one per worker (with a shared cache: here the
    threads of one process share the local-memory cache the same way)."""
    from tests.conftest import run_in_threads

    configure(settings)
    mocked.upsert(responses.GET, RFC8414_URL, status=404)
    mocked.add_callback(responses.GET, OPENID_URL, callback=slowly(0.2, 200, document()))
    found = run_in_threads(8, lambda i: discovery.discover(ISSUER))
    assert all(isinstance(metadata, type(found[0])) for metadata in found), found
    assert {metadata.token_endpoint for metadata in found} == {TOKEN_URL}
    assert fetches(mocked, OPENID_URL) == 1
    assert fetches(mocked, RFC8414_URL) == 1

    calls: list[int] = []

    def fetch_keys(timeout: float) -> dict[str, Any]:
        calls.append(1)
        time.sleep(0.2)
        return jwks(KEY)

    keys = run_in_threads(8, lambda i: discovery.cached_jwks(JWKS_URL, fetch_keys))
    assert all(k == jwks(KEY) for k in keys), keys
    assert len(calls) == 1
    # An unknown key id still fetches again at once.
    discovery.cached_jwks(JWKS_URL, fetch_keys, refresh=True)
    assert len(calls) == 2


def test_a_caller_waits_for_another_process_fetching(
    settings: Any, mocked: responses.RequestsMock
) -> None:
    import threading

    configure(settings)
    serve(mocked)
    key = discovery._key("metadata", ISSUER)
    # Another process holds the lock and caches the document a moment later.
    assert cache.add(f"{key}:fetching", "another-process", 30)
    threading.Timer(
        0.2, lambda: cache.set(key, {"document": document(), "url": OPENID_URL})
    ).start()
    metadata = discovery.discover(ISSUER)
    assert metadata.token_endpoint == TOKEN_URL
    assert len(mocked.calls) == 0


def test_a_waiter_gives_up_when_the_fetcher_never_finishes(
    settings: Any, mocked: responses.RequestsMock
) -> None:
    """A waiter never starts a fetch of its own after waiting the whole timeout: it
    gives up then, so waiting and fetching never take twice the timeout."""
    configure(settings)
    settings.AUTH_CODE_FLOW_HTTP_TIMEOUT = 0.5
    mocked.upsert(responses.GET, RFC8414_URL, status=404)
    # Were it asked, this server would keep the caller three more seconds.
    mocked.add_callback(responses.GET, OPENID_URL, callback=slowly(3.0, 200, document()))
    key = discovery._key("metadata", ISSUER)
    assert cache.add(f"{key}:fetching", "a-process-that-died", 30)
    began = time.monotonic()
    with pytest.raises(discovery.DiscoveryError, match=r"did not finish within 0\.5 seconds"):
        discovery.discover(ISSUER)
    assert 0.5 <= time.monotonic() - began < 2.5
    assert len(mocked.calls) == 0
    # Its lock is not ours: left alone, it expires by itself. Giving up is not a
    # failure of the server: nothing is remembered, the next caller may fetch.
    assert cache.get(f"{key}:fetching") == "a-process-that-died"
    assert cache.get(f"{key}:failed") is None


def test_a_failed_fetch_releases_the_lock_and_is_remembered(
    settings: Any, mocked: responses.RequestsMock, clock: Callable[[float], None]
) -> None:
    configure(settings)
    fail(mocked)
    with pytest.raises(discovery.DiscoveryError, match="HTTP 503"):
        discovery.discover(ISSUER)
    assert cache.get(discovery._key("metadata", ISSUER) + ":fetching") is None
    serve(mocked)
    with pytest.raises(discovery.DiscoveryError, match="HTTP 503"):
        discovery.discover(ISSUER)
    assert fetches(mocked, OPENID_URL) == 1
    clock(31)
    assert discovery.discover(ISSUER).token_endpoint == TOKEN_URL
    assert fetches(mocked, OPENID_URL) == 2


# --- A failed discovery is remembered for AUTH_CODE_FLOW_DISCOVERY_RETRY_AFTER -------


def failure_entry(kind: str = "metadata", url: str = ISSUER) -> Any:
    return cache.get(discovery._key(kind, url) + ":failed")


def test_a_failing_server_is_asked_once_while_its_failure_is_remembered(
    alice: Client, settings: Any, mocked: responses.RequestsMock
) -> None:
    configure(settings)
    fail(mocked)
    pages = [refused_to_start(alice, 502, "HTTP 503") for _ in range(5)]
    assert fetches(mocked, OPENID_URL) == 1
    assert fetches(mocked, RFC8414_URL) == 1
    # The same page each time: the remembered error is the error.
    description = failure_entry()["description"]
    assert all(escape(description) in page for page in pages)
    assert OAuthToken.objects.count() == 0


def test_the_failure_is_fetched_again_once_the_window_ends(
    alice: Client, settings: Any, mocked: responses.RequestsMock, clock: Callable[[float], None]
) -> None:
    configure(settings)
    settings.AUTH_CODE_FLOW_DISCOVERY_RETRY_AFTER = 60
    fail(mocked)
    refused_to_start(alice, 502, "HTTP 503")
    clock(59)
    refused_to_start(alice, 502, "HTTP 503")
    assert fetches(mocked, OPENID_URL) == 1
    clock(61)
    refused_to_start(alice, 502, "HTTP 503")
    assert fetches(mocked, OPENID_URL) == 2


def test_a_success_replaces_the_failure(
    alice: Client, settings: Any, mocked: responses.RequestsMock, clock: Callable[[float], None]
) -> None:
    configure(settings)
    fail(mocked)
    refused_to_start(alice, 502, "HTTP 503")
    # Back within the window: still the error, and no request.
    serve(mocked)
    refused_to_start(alice, 502, "HTTP 503")
    assert fetches(mocked, OPENID_URL) == 1
    clock(31)
    start(alice, "idp")
    assert failure_entry() is None
    assert fetches(mocked, OPENID_URL) == 2
    # Failing again later changes nothing while the document is cached.
    fail(mocked)
    start(alice, "idp")
    assert fetches(mocked, OPENID_URL) == 2


@pytest.mark.parametrize(
    ("overrides", "text"),
    [
        ({"issuer": "https://evil.example/realms/main"}, "names the issuer"),
        ({"token_endpoint": "http://idp.example/token"}, "uses http://"),
        ({"response_types_supported": ["token"]}, "authorization code flow"),
    ],
)
def test_a_bad_document_is_remembered_as_a_failure(
    alice: Client,
    settings: Any,
    mocked: responses.RequestsMock,
    overrides: dict[str, Any],
    text: str,
) -> None:
    configure(settings)
    serve(mocked, **overrides)
    refused_to_start(alice, 502, text)
    refused_to_start(alice, 502, text)
    assert fetches(mocked, OPENID_URL) == 1
    assert discovery.cached(ISSUER) is None


def test_the_remembered_error_page_is_escaped(
    alice: Client, settings: Any, mocked: responses.RequestsMock
) -> None:
    configure(settings)
    serve(mocked, issuer="https://evil.example/<b>bad</b>")
    for _ in range(2):
        html = refused_to_start(alice, 502, "names the issuer")
        assert "&lt;b&gt;bad&lt;/b&gt;" in html
        assert "<b>bad" not in html
    assert fetches(mocked, OPENID_URL) == 1


def test_no_secret_and_no_reply_is_remembered(
    alice: Client, settings: Any, mocked: responses.RequestsMock
) -> None:
    configure(settings)
    mocked.upsert(responses.GET, RFC8414_URL, status=404)
    mocked.upsert(
        responses.GET,
        OPENID_URL,
        status=500,
        body="internal detail " + CLIENT_SECRET,
        headers={"Set-Cookie": "session=cookie-from-the-provider"},
    )
    refused_to_start(alice, 502, "HTTP 500")
    entry = failure_entry()
    assert set(entry) == {"error", "description"}
    assert entry["error"] == "server_error"
    assert "HTTP 500" in entry["description"]
    stored = pickle.dumps(entry)
    for secret in (CLIENT_SECRET, "internal detail", "cookie-from-the-provider"):
        assert secret.encode() not in stored


def test_retry_after_zero_remembers_nothing(
    alice: Client, settings: Any, mocked: responses.RequestsMock
) -> None:
    configure(settings)
    settings.AUTH_CODE_FLOW_DISCOVERY_RETRY_AFTER = 0
    fail(mocked)
    for _ in range(3):
        refused_to_start(alice, 502, "HTTP 503")
    assert fetches(mocked, OPENID_URL) == 3
    assert failure_entry() is None


def test_a_fetch_without_the_cache_neither_reads_nor_writes_the_failure(
    settings: Any, mocked: responses.RequestsMock
) -> None:
    """``manage.py oauth_providers`` asks the server now, whatever the cache says."""
    configure(settings)
    fail(mocked)
    with pytest.raises(discovery.DiscoveryError):
        discovery.discover(ISSUER, use_cache=False)
    assert failure_entry() is None
    with pytest.raises(discovery.DiscoveryError):
        discovery.discover(ISSUER)
    serve(mocked)
    assert discovery.discover(ISSUER, use_cache=False).token_endpoint == TOKEN_URL
    assert failure_entry() is not None


def test_a_failing_jwks_endpoint_is_asked_once_while_remembered(
    settings: Any, clock: Callable[[float], None]
) -> None:
    asked: list[float] = []

    def failing(timeout: float) -> dict[str, Any]:
        asked.append(timeout)
        raise AuthCodeFlowError(f"{JWKS_URL} answered HTTP 500.")

    for refresh in (False, False, True):
        with pytest.raises(AuthCodeFlowError, match="HTTP 500"):
            discovery.cached_jwks(JWKS_URL, failing, refresh=refresh)
    assert len(asked) == 1
    assert failure_entry("jwks", JWKS_URL) == {
        "error": "server_error",
        "description": f"{JWKS_URL} answered HTTP 500.",
    }
    clock(31)
    assert discovery.cached_jwks(JWKS_URL, lambda timeout: jwks(KEY)) == jwks(KEY)
    assert failure_entry("jwks", JWKS_URL) is None


def test_a_failed_key_refresh_keeps_the_cached_keys(settings: Any) -> None:
    discovery.cached_jwks(JWKS_URL, lambda timeout: jwks(KEY))

    def failing(timeout: float) -> dict[str, Any]:
        raise AuthCodeFlowError("The provider did not answer in time.")

    with pytest.raises(AuthCodeFlowError):
        discovery.cached_jwks(JWKS_URL, failing, refresh=True)
    assert discovery.cached_jwks(JWKS_URL, failing) == jwks(KEY)
    with pytest.raises(AuthCodeFlowError, match="in time"):
        discovery.cached_jwks(JWKS_URL, failing, refresh=True)


# --- Waiting and fetching together take about one HTTP timeout ----------------------


def timed(call: Callable[[], object]) -> tuple[object, float]:
    began = time.monotonic()
    try:
        outcome = call()
    except Exception as exc:
        outcome = exc
    return outcome, time.monotonic() - began


def test_waiters_get_the_fetchers_failure_without_fetching(
    settings: Any, mocked: responses.RequestsMock
) -> None:
    from tests.conftest import run_in_threads

    configure(settings)
    settings.AUTH_CODE_FLOW_HTTP_TIMEOUT = 1.0
    mocked.upsert(responses.GET, RFC8414_URL, status=404)
    mocked.add_callback(responses.GET, OPENID_URL, callback=slowly(0.3, 503, {}))
    results = run_in_threads(8, lambda i: timed(lambda: discovery.discover(ISSUER)))
    errors = [outcome for outcome, _ in results]
    assert all(isinstance(error, discovery.DiscoveryError) for error in errors), errors
    assert len({str(error) for error in errors}) == 1
    assert fetches(mocked, OPENID_URL) == 1
    # Everyone has the answer when the one request has it (0.3 s), well before the
    # timeout; the margin is for slow machines.
    assert max(seconds for _, seconds in results) < 1.0


def test_waiters_of_a_fetch_that_times_out_are_done_within_about_one_timeout(
    settings: Any, mocked: responses.RequestsMock
) -> None:
    """The server never finishes its reply: the fetcher gives up at the timeout, and so
    do its waiters, at once, instead of then starting their own fetches (which would
    take a second timeout)."""
    from tests.conftest import run_in_threads

    body = b'{"issuer": "' + b"x" * 200 + b'"}'
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    )
    mocked.add_passthru("http://127.0.0.1")
    settings.AUTH_CODE_FLOW_HTTP_TIMEOUT = 2.0
    with SlowServer(head=head, body=body, interval=0.1) as server:
        configure(settings, issuer=server.base_uri)
        results = run_in_threads(4, lambda i: timed(lambda: discovery.discover(server.base_uri)))
    errors = [outcome for outcome, _ in results]
    assert all(isinstance(error, discovery.DiscoveryError) for error in errors), errors
    assert all("in time" in str(error) for error in errors), errors
    assert server.requests == 1
    # About 2 s each (a second fetch would make it about 4 s).
    assert max(seconds for _, seconds in results) < 3.2


def test_a_waiter_that_takes_over_fetches_within_the_time_left(
    settings: Any, mocked: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fetcher stopped without a result or a failure (not a provider error): a
    waiter takes the lock and fetches, within what is left of its timeout."""
    import threading

    configure(settings)
    settings.AUTH_CODE_FLOW_HTTP_TIMEOUT = 5.0
    serve(mocked)
    given: list[float] = []
    fetch_metadata = discovery.fetch_metadata

    def spy(*args: Any, timeout: float, **kwargs: Any) -> Any:
        given.append(timeout)
        return fetch_metadata(*args, timeout=timeout, **kwargs)

    monkeypatch.setattr(discovery, "fetch_metadata", spy)
    key = discovery._key("metadata", ISSUER)
    assert cache.add(f"{key}:fetching", "a-process-that-stopped", 30)
    threading.Timer(0.3, lambda: cache.delete(f"{key}:fetching")).start()
    assert discovery.discover(ISSUER).token_endpoint == TOKEN_URL
    assert len(given) == 1
    assert given[0] <= 5.0 - 0.3
    assert fetches(mocked, OPENID_URL) == 1
