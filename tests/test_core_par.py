"""Pushed authorization requests (auth_code_flow_django.core.rfc9126_par)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from auth_code_flow_django.core.rfc9126_par import (
    PushedAuthorizationError,
    authorization_url,
    pushed_request,
)


def test_a_reply_gives_the_request_uri_and_its_lifetime() -> None:
    pushed = pushed_request(
        {"request_uri": "urn:ietf:params:oauth:request_uri:abc", "expires_in": 60}
    )
    assert (pushed.request_uri, pushed.expires_in) == ("urn:ietf:params:oauth:request_uri:abc", 60)


@pytest.mark.parametrize(
    "body",
    [
        None,
        {},
        {"request_uri": "", "expires_in": 60},
        {"request_uri": 5, "expires_in": 60},
        {"request_uri": "urn:x y", "expires_in": 60},
        {"request_uri": "urn:x\n", "expires_in": 60},
        {"request_uri": "u" * 2049, "expires_in": 60},
        {"request_uri": "urn:x"},
        {"request_uri": "urn:x", "expires_in": 0},
        {"request_uri": "urn:x", "expires_in": True},
        {"request_uri": "urn:x", "expires_in": "60"},
    ],
)
def test_an_unusable_reply_is_refused(body: Any) -> None:
    with pytest.raises(PushedAuthorizationError):
        pushed_request(body)


def test_the_browser_url_carries_only_client_id_and_request_uri() -> None:
    url = authorization_url(
        "https://as.example/auth?tenant=t&client_id=old", "client 1", "urn:x:1"
    )
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "as.example", "/auth")
    assert parse_qsl(parts.query) == [
        ("tenant", "t"),
        ("client_id", "client 1"),
        ("request_uri", "urn:x:1"),
    ]
