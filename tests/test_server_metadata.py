"""Server metadata of the core (RFC 8414, OpenID Connect Discovery), without Django."""

from __future__ import annotations

import time
from typing import Any

import pytest
import responses

from auth_code_flow_django.core.http_client import new_session
from auth_code_flow_django.core.rfc8414_server_metadata import (
    DiscoveryError,
    ServerMetadata,
    fetch_metadata,
    metadata_from,
    metadata_urls,
)

from .oidc import ISSUER, OPENID_URL, RFC8414_URL, TOKEN_URL, document
from .slow_server import SlowServer


def fetch(issuer: str = ISSUER, **options: Any) -> ServerMetadata:
    limits = {"timeout": 5.0, "connect_timeout": 5.0, "max_bytes": 64 * 1024, **options}
    return fetch_metadata(new_session(), issuer, **limits)


@pytest.mark.parametrize(
    ("issuer", "expected"),
    [
        (
            "https://idp.example",
            [
                "https://idp.example/.well-known/oauth-authorization-server",
                "https://idp.example/.well-known/openid-configuration",
            ],
        ),
        (
            "https://idp.example/realms/main",
            [
                "https://idp.example/.well-known/oauth-authorization-server/realms/main",
                "https://idp.example/realms/main/.well-known/openid-configuration",
            ],
        ),
        (
            "https://idp.example/tenant/",
            [
                "https://idp.example/.well-known/oauth-authorization-server/tenant",
                "https://idp.example/tenant/.well-known/openid-configuration",
            ],
        ),
        (
            "http://127.0.0.1:8000/o",
            [
                "http://127.0.0.1:8000/.well-known/oauth-authorization-server/o",
                "http://127.0.0.1:8000/o/.well-known/openid-configuration",
            ],
        ),
    ],
)
def test_metadata_urls_insert_then_append(issuer: str, expected: list[str]) -> None:
    assert metadata_urls(issuer) == expected


def test_a_good_document_gives_its_values() -> None:
    metadata = metadata_from(document(), ISSUER, OPENID_URL)
    assert metadata.token_endpoint == TOKEN_URL
    assert metadata.supports_s256 is True
    assert metadata.token_endpoint_auth_methods_supported == (
        "client_secret_post",
        "private_key_jwt",
    )
    assert metadata.authorization_response_iss_parameter_supported is False
    assert metadata.hosts_other_than_issuer() == {}
    assert metadata_from(metadata.as_document(), ISSUER, OPENID_URL) == metadata


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"issuer": "https://evil.example/realms/main"}, "names the issuer"),
        ({"issuer": ISSUER + "/"}, "names the issuer"),
        ({"issuer": None}, "no issuer"),
        ({"issuer": ["x"]}, "no issuer"),
        ({"token_endpoint": "http://idp.example/token"}, "token_endpoint uses http://"),
        ({"authorization_endpoint": "/relative"}, "authorization_endpoint is not an absolute"),
        ({"jwks_uri": "javascript:alert(1)"}, "jwks_uri is not an absolute"),
        (
            {"revocation_endpoint": "https://u:p@idp.example/r"},
            "revocation_endpoint has user information",
        ),
        ({"token_endpoint": TOKEN_URL + "#x"}, "token_endpoint has a fragment"),
        ({"token_endpoint": None}, "has no token_endpoint"),
        ({"token_endpoint": "http://127.0.0.1:8080/t"}, "token_endpoint points at this machine"),
        ({"jwks_uri": "https://localhost/certs"}, "jwks_uri points at this machine"),
        ({"authorization_endpoint": None}, "has no authorization_endpoint"),
        ({"code_challenge_methods_supported": "S256"}, "not a list of strings"),
        ({"response_types_supported": ["token"]}, "authorization code flow"),
    ],
)
def test_a_bad_document_is_refused_saying_why(overrides: dict[str, Any], match: str) -> None:
    with pytest.raises(DiscoveryError, match=match):
        metadata_from(document(**overrides), ISSUER, OPENID_URL)


@pytest.mark.parametrize(
    ("host", "kind"),
    [
        ("127.1", "this machine"),
        ("2130706433", "this machine"),
        ("0x7f000001", "this machine"),
        ("0177.0.0.1", "this machine"),
        ("[::ffff:127.0.0.1]", "this machine"),
        ("0.0.0.0", "an unspecified address"),
        ("[::]", "an unspecified address"),
        ("169.254.169.254", "a link-local address"),
        ("[fe80::1]", "a link-local address"),
        ("224.0.0.1", "a multicast address"),
    ],
)
@pytest.mark.parametrize("field", ["token_endpoint", "jwks_uri", "userinfo_endpoint"])
def test_a_remote_document_naming_this_machine_or_its_link_is_refused(
    field: str, host: str, kind: str
) -> None:
    with pytest.raises(DiscoveryError, match=f"{field} points at {kind}"):
        metadata_from(document(**{field: f"https://{host}:8443/x"}), ISSUER, OPENID_URL)


def test_private_addresses_and_names_are_left_to_the_connection() -> None:
    # Whether they may be reached depends on the settings, and a name on what it
    # resolves to when the request is made.
    for url in ("https://10.0.0.1/t", "https://192.168.1.1/t", "https://internal.example/t"):
        assert metadata_from(document(token_endpoint=url), ISSUER).token_endpoint == url


def test_an_issuer_on_this_machine_may_name_endpoints_on_it() -> None:
    issuer = "http://127.0.0.1:8000/o"
    metadata = metadata_from(document(issuer=issuer, token_endpoint="http://127.1:8000/t"), issuer)
    assert metadata.token_endpoint == "http://127.1:8000/t"


def test_endpoints_on_other_hosts_are_named() -> None:
    metadata = metadata_from(
        document(token_endpoint="https://tokens.example/token", jwks_uri="https://keys.example/"),
        ISSUER,
    )
    assert metadata.hosts_other_than_issuer() == {
        "token_endpoint": "tokens.example",
        "jwks_uri": "keys.example",
    }


def test_absent_s256_list_is_unknown_not_refused() -> None:
    metadata = metadata_from(document(code_challenge_methods_supported=None), ISSUER)
    assert metadata.supports_s256 is None
    assert metadata_from(document(code_challenge_methods_supported=["plain"]), ISSUER)
    assert (
        metadata_from(document(code_challenge_methods_supported=["plain"]), ISSUER).supports_s256
        is False
    )


@responses.activate
def test_rfc8414_first_then_openid_configuration() -> None:
    responses.get(RFC8414_URL, status=404)
    responses.get(OPENID_URL, json=document())
    metadata = fetch()
    assert metadata.source_url == OPENID_URL
    assert [c.request.url for c in responses.calls] == [RFC8414_URL, OPENID_URL]
    assert all(c.request.method == "GET" for c in responses.calls)


@responses.activate
def test_an_rfc8414_document_is_used_without_asking_for_the_other() -> None:
    responses.get(RFC8414_URL, json=document())
    assert fetch().source_url == RFC8414_URL
    assert len(responses.calls) == 1


@responses.activate
def test_an_html_page_makes_the_next_url_be_tried() -> None:
    responses.get(RFC8414_URL, body="<html>app shell</html>", content_type="text/html")
    responses.get(OPENID_URL, json=document())
    assert fetch().source_url == OPENID_URL


@responses.activate
def test_a_document_naming_another_issuer_is_never_used() -> None:
    responses.get(RFC8414_URL, json=document(issuer="https://evil.example"))
    responses.get(OPENID_URL, json=document(issuer="https://evil.example"))
    with pytest.raises(DiscoveryError, match=r"names the issuer 'https://evil\.example'"):
        fetch()


@responses.activate
def test_another_issuers_document_at_the_rfc8414_url_falls_back_to_openid() -> None:
    # A host that serves its root issuer's document whatever the path.
    responses.get(RFC8414_URL, json=document(issuer="https://idp.example"))
    responses.get(OPENID_URL, json=document())
    metadata = fetch()
    assert metadata.source_url == OPENID_URL
    assert metadata.issuer == ISSUER


@responses.activate
def test_a_broken_document_of_this_issuer_is_not_skipped_over() -> None:
    responses.get(RFC8414_URL, json=document(token_endpoint="http://idp.example/t"))
    responses.get(OPENID_URL, json=document())
    with pytest.raises(DiscoveryError, match="token_endpoint uses http://"):
        fetch()
    assert len(responses.calls) == 1


@responses.activate
def test_a_redirect_is_not_followed() -> None:
    responses.get(RFC8414_URL, status=404)
    responses.get(OPENID_URL, status=302, headers={"Location": "https://evil.example/doc"})
    with pytest.raises(DiscoveryError, match="HTTP 302"):
        fetch()
    assert len(responses.calls) == 2


@responses.activate
def test_an_oversized_document_is_refused() -> None:
    responses.get(RFC8414_URL, json=document(padding="x" * 70_000))
    with pytest.raises(DiscoveryError, match="too large"):
        fetch()
    assert len(responses.calls) == 1


@responses.activate
def test_nothing_found_names_each_failure() -> None:
    responses.get(RFC8414_URL, status=404)
    responses.get(OPENID_URL, status=500)
    with pytest.raises(DiscoveryError, match=r"No metadata found.*HTTP 404.*HTTP 500"):
        fetch()


def test_a_slow_document_ends_at_the_deadline() -> None:
    body = b'{"issuer": "' + b"x" * 200 + b'"}'
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    )
    with SlowServer(head=head, body=body, interval=0.1) as server:
        started = time.monotonic()
        with pytest.raises(DiscoveryError, match="in time"):
            fetch(server.base_uri, timeout=1.0)
        elapsed = time.monotonic() - started
    assert elapsed < 3
    assert server.requests == 1


def spy_on_timeouts(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The ``timeout`` of each request :func:`fetch_metadata` sends, in order."""
    from auth_code_flow_django.core import http_client

    sent: list[float] = []
    send = http_client.send

    def spy(*args: Any, timeout: float, **kwargs: Any) -> Any:
        sent.append(timeout)
        return send(*args, timeout=timeout, **kwargs)

    monkeypatch.setattr(http_client, "send", spy)
    return sent


def slow_404(seconds: float) -> Any:
    def reply(request: Any) -> tuple[int, dict[str, str], str]:
        time.sleep(seconds)
        return 404, {}, ""

    return reply


@responses.activate
def test_both_urls_share_one_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    sent = spy_on_timeouts(monkeypatch)
    responses.add_callback(responses.GET, RFC8414_URL, callback=slow_404(0.2))
    responses.get(OPENID_URL, json=document())
    assert fetch(timeout=5.0).source_url == OPENID_URL
    assert sent[0] > 4.5
    assert sent[1] <= 5.0 - 0.2


@responses.activate
def test_no_time_left_for_the_second_url_is_a_timeout() -> None:
    responses.add_callback(responses.GET, RFC8414_URL, callback=slow_404(0.3))
    responses.get(OPENID_URL, json=document())
    with pytest.raises(DiscoveryError, match=r"could not be fetched in time: .*HTTP 404"):
        fetch(timeout=0.2)
    assert [call.request.url for call in responses.calls] == [RFC8414_URL]


@pytest.mark.parametrize(
    ("named", "configured", "same"),
    [
        (ISSUER, ISSUER, True),
        (
            "https://login.microsoftonline.com/{tenantid}/v2.0",
            "https://login.microsoftonline.com/common/v2.0",
            True,
        ),
        (
            "https://login.microsoftonline.com/{tenantid}/v2.0",
            "https://login.microsoftonline.com/organizations/v2.0",
            True,
        ),
        (
            "https://login.microsoftonline.com/{tenantid}/v2.0",
            "https://login.microsoftonline.com/v2.0",
            False,
        ),
        (
            "https://login.microsoftonline.com/{tenantid}/v2.0",
            "https://login.microsoftonline.com/a/b/v2.0",
            False,
        ),
        (
            "https://login.microsoftonline.com/{tenantid}/v2.0",
            "https://login.example.net/common/v2.0",
            False,
        ),
        (
            "https://login.microsoftonline.com{tenantid}/v2.0",
            "https://login.microsoftonline.com/common/v2.0",
            False,
        ),
        ("https://{tenantid}/{tenantid}/v2.0", "https://a/b/v2.0", False),
        (None, ISSUER, False),
    ],
)
def test_names_issuer_accepts_the_tenant_template_of_the_configured_issuer(
    named: object, configured: str, same: bool
) -> None:
    from auth_code_flow_django.core.rfc8414_server_metadata import names_issuer

    assert names_issuer(named, configured) is same
