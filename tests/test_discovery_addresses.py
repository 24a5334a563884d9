"""A remote issuer's metadata may not point this site's requests at this machine or
its networks: the token, JWKS, UserInfo and revocation requests against a real
listener on loopback, for every spelling of a forbidden address and for names that
resolve to one. The issuer's documents are served by ``responses``; the requests to
the endpoints they name pass through to real sockets."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
import responses
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.test import Client, TestCase

from auth_code_flow_django import tokens
from auth_code_flow_django.models import OAuthToken

from .conftest import make_token, start, token_json
from .connections import Listener, Resolver, attempts, listener
from .oidc import (
    JWKS_URL,
    OPENID_URL,
    RFC8414_URL,
    TOKEN_URL,
    SigningKey,
    claims,
    document,
    jwks,
    provider_settings,
)

__all__ = ["listener"]

User = get_user_model()
KEY = SigningKey("key-1")
CALLBACK = "/oauth/idp/callback/"
ENDPOINTS = ["token_endpoint", "jwks_uri", "userinfo_endpoint", "revocation_endpoint"]

#: Spellings the document's check refuses: the discovery fails with a clear 502.
LITERALS = [
    "127.1",
    "2130706433",
    "0x7f000001",
    "0177.0.0.1",
    "[::ffff:127.0.0.1]",
    "0.0.0.0",
    "[::]",
    "localhost",
    "169.254.169.254",
    "[fe80::1]",
]
#: Hosts only the connection can judge: names (and what they resolve to) and
#: private addresses, which a setting may allow.
RESOLVED = {
    "internal.idp.example": "127.0.0.1",
    "metadata.idp.example": "169.254.169.254",
    "10.0.0.1": "10.0.0.1",
    "192.168.1.1": "192.168.1.1",
}


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def idp(monkeypatch: pytest.MonkeyPatch) -> Iterator[responses.RequestsMock]:
    """The remote issuer, served by ``responses``; any other URL goes to the network."""
    Resolver(monkeypatch, {name: [[a]] for name, a in RESOLVED.items() if name != a})
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        mocked.add_passthru(re.compile(r"https?://(?!idp\.example/)"))
        yield mocked


def serve(idp: responses.RequestsMock, **endpoints: str) -> None:
    idp.upsert(responses.GET, RFC8414_URL, status=404)
    idp.upsert(responses.GET, OPENID_URL, json=document(**endpoints))
    idp.upsert(responses.GET, JWKS_URL, json=jwks(KEY))


def connect(alice: Client, idp: responses.RequestsMock, *, openid: bool) -> Any:
    """Start a connection and come back from the provider: the last response."""
    response = alice.post("/oauth/idp/authorize/")
    if response.status_code != 302:
        return response
    params = start(alice, "idp")
    extra = {"id_token": KEY.sign(claims(params["nonce"]))} if openid else {}
    idp.upsert(responses.POST, TOKEN_URL, json=token_json(**extra))
    return alice.get(CALLBACK, {"state": params["state"], "code": "c"})


def outcome(
    field: str, host: str, listener: Listener, alice: Client, user: Any, idp: Any, settings: Any
) -> str:
    """Run the request that uses ``field`` with it at ``host``; return what the user
    (a page) or the operator (the log) is told."""
    openid = field == "jwks_uri"
    settings.OAUTH_PROVIDERS = {
        "idp": provider_settings(scope="openid profile" if openid else "profile")
    }
    serve(idp, **{field: f"https://{host}:{listener.port}/{field}"})
    if field == "revocation_endpoint":
        make_token(user, "idp")
        with TestCase.captureOnCommitCallbacks(execute=True):
            assert tokens.revoke(user, "idp")
        assert not OAuthToken.objects.exists()
        return ""
    response = connect(alice, idp, openid=openid)
    if field == "userinfo_endpoint" and response.status_code == 302:
        # Connected; who the account is stays unknown (and is asked again later).
        assert OAuthToken.objects.get().account_id == ""
        return ""
    assert response.status_code == 502, response.content
    assert not OAuthToken.objects.exists()
    return response.content.decode()


@pytest.mark.parametrize("field", ENDPOINTS)
@pytest.mark.parametrize("host", LITERALS)
def test_an_endpoint_spelling_this_machine_or_its_link_is_refused_at_discovery(
    listener: Listener,
    alice: Client,
    user: Any,
    idp: responses.RequestsMock,
    settings: Any,
    caplog: pytest.LogCaptureFixture,
    field: str,
    host: str,
) -> None:
    with attempts() as tried, caplog.at_level(logging.WARNING):
        page = outcome(field, host, listener, alice, user, idp, settings)
    assert tried == []
    assert listener.connections == 0
    told = page or caplog.text
    assert f"is refused: {field} points at" in told


@pytest.mark.parametrize("field", ENDPOINTS)
@pytest.mark.parametrize("host", list(RESOLVED))
def test_an_endpoint_resolving_to_this_machine_or_its_networks_is_refused_when_connecting(
    listener: Listener,
    alice: Client,
    user: Any,
    idp: responses.RequestsMock,
    settings: Any,
    caplog: pytest.LogCaptureFixture,
    field: str,
    host: str,
) -> None:
    with attempts() as tried, caplog.at_level(logging.WARNING):
        page = outcome(field, host, listener, alice, user, idp, settings)
    assert tried == []
    assert listener.connections == 0
    assert f"address is refused: {host} is" in (page or caplog.text)
    # The page names the host, never what it resolves to.
    assert RESOLVED[host] not in page or host == RESOLVED[host]


def test_a_private_network_the_settings_allow_is_reached(
    alice: Client, user: Any, idp: responses.RequestsMock, settings: Any
) -> None:
    # A bad value (the system checks report it) allows nothing, and stops nothing else.
    settings.AUTH_CODE_FLOW_ALLOWED_PRIVATE_NETWORKS = ["0.0.0.0/0", "10.0.0.0/8"]
    settings.OAUTH_PROVIDERS = {"idp": provider_settings(scope="profile")}
    serve(idp, token_endpoint="https://10.0.0.1/token")
    with attempts() as tried:
        response = connect(alice, idp, openid=False)
    # Tried (this test machine has no network: it fails there, and says so).
    assert tried == [("10.0.0.1", 443)]
    assert response.status_code == 502
    assert "could not be reached" in response.content.decode()


def test_a_private_address_is_refused_with_the_setting_named(
    alice: Client, user: Any, idp: responses.RequestsMock, settings: Any
) -> None:
    settings.OAUTH_PROVIDERS = {"idp": provider_settings(scope="profile")}
    serve(idp, token_endpoint="https://192.168.1.1/token")
    response = connect(alice, idp, openid=False)
    assert response.status_code == 502
    assert "AUTH_CODE_FLOW_ALLOWED_PRIVATE_NETWORKS" in response.content.decode()


def test_an_issuer_at_a_private_address_may_name_endpoints_on_its_network(
    alice: Client, user: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    issuer = "https://10.1.2.3/realms/main"
    settings.OAUTH_PROVIDERS = {"idp": provider_settings(issuer=issuer, scope="profile")}
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        mocked.add_passthru(re.compile(r"https://10\.9\."))
        mocked.get(
            issuer.replace("/realms", "/.well-known/oauth-authorization-server/realms"), status=404
        )
        mocked.get(
            issuer + "/.well-known/openid-configuration",
            json=document(
                issuer=issuer,
                authorization_endpoint=issuer + "/auth",
                token_endpoint="https://10.9.9.9/token",
            ),
        )
        alice.post("/oauth/idp/authorize/")
        params = start(alice, "idp")
        with attempts() as tried:
            response = alice.get(CALLBACK, {"state": params["state"], "code": "c"})
    assert tried == [("10.9.9.9", 443)]
    assert "could not be reached" in response.content.decode()


def test_endpoints_the_settings_give_keep_working_on_this_machine(
    listener: Listener, alice: Client, user: Any, idp: responses.RequestsMock, settings: Any
) -> None:
    # A remote issuer, but the token endpoint is the site's own choice: not refused.
    own = f"http://127.0.0.1:{listener.port}/token"
    settings.OAUTH_PROVIDERS = {"idp": provider_settings(scope="profile", access_token_path=own)}
    serve(idp, token_endpoint="https://127.1/elsewhere")
    params_response = alice.post("/oauth/idp/authorize/")
    assert params_response.status_code == 502  # the document itself is refused
    serve(idp)
    cache.clear()
    params = start(alice, "idp")
    response = alice.get(CALLBACK, {"state": params["state"], "code": "c"})
    assert response.status_code == 302
    assert listener.connections == 1
    assert OAuthToken.objects.get().provider == "idp"


def test_the_providers_command_checks_the_keys_under_the_rule(
    listener: Listener, idp: responses.RequestsMock, settings: Any, capsys: Any
) -> None:
    settings.OAUTH_PROVIDERS = {"idp": provider_settings()}
    serve(idp, jwks_uri=f"https://internal.idp.example:{listener.port}/certs")
    with attempts() as tried, pytest.raises(CommandError):
        call_command("oauth_providers", "--check")
    assert tried == []
    assert listener.connections == 0
    assert "internal.idp.example is a loopback address" in capsys.readouterr().out
