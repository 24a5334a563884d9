"""The one function that builds endpoint URLs, for the checks and the requests alike."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import requests
import responses
import urllib3
from hypothesis import given, settings
from hypothesis import strategies as st

from auth_code_flow_django.core.endpoint_urls import (
    absolute_url,
    endpoint_url,
    host_matches,
    ip_literal,
    is_loopback,
)
from auth_code_flow_django.exceptions import EndpointURLError, ImproperlyConfigured

from .test_flow import Manager

BASE = "https://provider.example"

#: Paths that would send the code and the client secret somewhere else, or that some
#: parser could read as another host.
EVIL_PATHS = [
    "@evil.example/token",
    "//evil.example/x",
    "\\\\evil",
    "/\\evil.example",
    ".evil.example",
    ":443@evil",
    "evil.example/token",
    "https://provider.example@evil.example/token",
    "https://provider.example:443@evil.example/token",
    "https://evil.example#@provider.example",
    "/token#frag",
    "/token\x00",
    "/to ken",
    "/token\n.evil.example",
    "/token\u2028",
    "https://provider.example:99999/token",
    "https://provider.example:0/token",
    "https://[::1/token",
    "https://provider.example%2F@evil.example/token",
    "https://provider.example%/token",
    "https://pr\u043evider.example/token",
    "https://provider.example\uff0fevil.example/token",
    "https://[fe80::1%25eth0]/token",
    "https://provider..example/token",
    "https://-provider.example/token",
]


@pytest.mark.parametrize("path", EVIL_PATHS)
def test_evil_paths_are_refused(path: str) -> None:
    with pytest.raises(EndpointURLError) as info:
        endpoint_url(BASE, path, "access_token_path")
    assert info.value.problem == "unsafe"
    assert info.value.setting == "access_token_path"
    assert str(info.value).startswith("access_token_path ")


@pytest.mark.parametrize("path", EVIL_PATHS)
@responses.activate
def test_evil_paths_are_refused_before_any_request(path: str) -> None:
    manager = Manager(base_uri=BASE, access_token_path=path)
    with pytest.raises(EndpointURLError):
        manager.exchange_code(None, "code", "state", check_state=False)
    with pytest.raises(EndpointURLError):
        manager.refresh("refresh-token")
    assert len(responses.calls) == 0


@pytest.mark.parametrize(
    "path",
    ["/token", "/users/@me/token", "/a/../..//evil.example", "/token?tenant=a&x=@evil", "/%2F/x"],
)
@pytest.mark.parametrize("base", [BASE, BASE + "/", BASE + "/prefix", "http://127.0.0.1:8000/"])
def test_a_relative_path_stays_on_the_base_host(base: str, path: str) -> None:
    url = endpoint_url(base, path)
    parts, base_parts = urlsplit(url), urlsplit(base)
    assert (parts.scheme, parts.netloc) == (base_parts.scheme, base_parts.netloc)
    assert parts.path.startswith(base_parts.path.rstrip("/") + "/")
    assert "//" not in url.removeprefix(f"{parts.scheme}://")[: len(parts.netloc) + 1]


def test_joining_keeps_the_path_and_query() -> None:
    assert endpoint_url(BASE + "/", "/oauth/token") == BASE + "/oauth/token"
    assert endpoint_url(BASE + "/gitlab/", "/oauth/token?x=1") == BASE + "/gitlab/oauth/token?x=1"


@pytest.mark.parametrize(
    "url",
    [
        "https://tokens.example/t",
        "HTTPS://tokens.example/t?api-version=2",
        "http://localhost:8000/t",
        "http://127.0.0.1/t",
        "http://[::1]:8000/t",
        "https://10.0.0.1/t",
        "https://xn--bcher-kva.example/t",
        "https://tokens.example./t",
    ],
)
def test_absolute_urls_are_used_as_given(url: str) -> None:
    assert endpoint_url(BASE, url) == url
    assert endpoint_url(None, url) == url
    assert absolute_url(url) == url


@pytest.mark.parametrize(
    ("base", "path", "setting", "problem"),
    [
        (BASE, None, "access_token_path", "missing"),
        (BASE, "", "access_token_path", "missing"),
        (BASE, 5, "access_token_path", "not_absolute"),
        (None, "/token", "base_uri", "missing"),
        ("", "/token", "base_uri", "missing"),
        ("provider.example", "/token", "base_uri", "not_absolute"),
        ("ftp://provider.example", "/token", "base_uri", "not_absolute"),
        ("https://", "/token", "base_uri", "not_absolute"),
        (BASE, "ftp://provider.example/token", "access_token_path", "not_absolute"),
        (BASE, "javascript://x/%0aalert(1)", "access_token_path", "not_absolute"),
        ("http://provider.example", "/token", "base_uri", "insecure"),
        (BASE, "http://provider.example/token", "access_token_path", "insecure"),
        (BASE, "http://127.0.0.1.evil.example/token", "access_token_path", "insecure"),
        ("https://user:pw@provider.example", "/token", "base_uri", "unsafe"),
        (BASE + "?tenant=a", "/token", "base_uri", "unsafe"),
        (BASE + "#x", "/token", "base_uri", "unsafe"),
    ],
)
def test_each_refusal_names_the_setting_and_the_problem(
    base: object, path: object, setting: str, problem: str
) -> None:
    with pytest.raises(EndpointURLError) as info:
        endpoint_url(base, path, "access_token_path")
    assert (info.value.setting, info.value.problem) == (setting, problem)
    assert isinstance(info.value, ImproperlyConfigured)


def test_refusals_never_repeat_the_url() -> None:
    with pytest.raises(EndpointURLError) as info:
        endpoint_url("https://user:hunter2@provider.example", "/token")
    assert "hunter2" not in str(info.value) + repr(info.value)


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("localhost", True),
        ("app.localhost", True),
        ("127.0.0.1", True),
        ("127.8.9.1", True),
        ("[::1]", True),
        ("::1", True),
        ("10.0.0.1", False),
        ("example.com", False),
        ("localhost.example.com", False),
        # Every spelling a resolver reads as 127.0.0.1.
        ("127.1", True),
        ("2130706433", True),
        ("0x7f000001", True),
        ("0177.0.0.1", True),
        ("[::ffff:127.0.0.1]", True),
        ("0.0.0.0", False),
    ],
)
def test_is_loopback(host: str, expected: bool) -> None:
    assert is_loopback(host) is expected


# --- the URL the checks accept is the URL requests sends to ------------------------------

_TRICKY = st.sampled_from(
    [
        *"/\\@:#?%.;=&[]",
        *("//", "..", "%2F", "%40", "\t", "\n", " ", "\x00", "\x85", "evil.example", "443"),
        *("\uff0f", "\uff20", "\u2100", "\u3002", "\u00a0", "\u2028", "\u0131", "::1"),
    ]
)
_TEXT = st.lists(st.one_of(_TRICKY, st.text("abcXYZ019-_~", max_size=3)), max_size=12).map("".join)


def _host_requests_uses(url: str) -> tuple[str, str | None, int | None]:
    prepared = requests.Request("POST", url).prepare()
    parsed = urllib3.util.parse_url(str(prepared.url))
    return (str(parsed.scheme), parsed.host, parsed.port)


@settings(max_examples=400, deadline=None)
@given(path=_TEXT)
def test_an_accepted_relative_path_is_sent_to_the_base_host(path: str) -> None:
    try:
        url = endpoint_url(BASE, "/" + path)
    except EndpointURLError:
        return
    assert _host_requests_uses(url) == ("https", "provider.example", None)


@settings(max_examples=400, deadline=None)
@given(rest=_TEXT)
def test_an_accepted_absolute_url_is_sent_to_the_host_the_checks_saw(rest: str) -> None:
    url = "https://provider.example" + rest
    try:
        absolute_url(url)
    except EndpointURLError:
        return
    parts = urlsplit(url)
    scheme, host, port = _host_requests_uses(url)
    assert (scheme, host, port or None) == (parts.scheme, parts.hostname, parts.port)


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("10.1", "10.0.0.1"),
        ("[::ffff:169.254.169.254]", "169.254.169.254"),
        ("[fe80::1]", "fe80::1"),
        ("[::]", "::"),
        ("0.0.0.0", "0.0.0.0"),
        ("example.com", None),
        ("deadbeef", None),
        ("localhost", None),
        ("127.0.0.1 x", None),
        ("", None),
    ],
)
def test_ip_literal_reads_an_address_as_resolvers_do(host: str, expected: str | None) -> None:
    address = ip_literal(host)
    assert (None if address is None else str(address)) == expected


@pytest.mark.parametrize(
    ("host", "patterns", "expected"),
    [
        ("api.zoom.us", ("api.zoom.us",), True),
        ("API.Zoom.US.", ("api.zoom.us",), True),
        ("api-eu.zoom.us", ("api.zoom.us",), False),
        ("na1.salesforce.com", ("*.salesforce.com",), True),
        ("acme--dev.sandbox.my.salesforce.com", ("*.salesforce.com",), True),
        ("salesforce.com", ("*.salesforce.com",), False),
        ("evilsalesforce.com", ("*.salesforce.com",), False),
        ("salesforce.com.evil.example", ("*.salesforce.com",), False),
        ("na1.salesforce.com", (), False),
        ("a.example", ("b.example", "*.example"), True),
    ],
)
def test_host_patterns_match_a_host_or_any_host_under_a_domain(
    host: str, patterns: tuple[str, ...], expected: bool
) -> None:
    assert host_matches(host, patterns) is expected
