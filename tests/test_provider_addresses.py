"""The address rule of the bounded client, where the connection is made: against a real
listener on loopback, every spelling of a forbidden address, a name resolving to one,
DNS rebinding, private networks and proxies."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from auth_code_flow_django.core import http_client, outbound_addresses
from auth_code_flow_django.core.endpoint_urls import IPAddress, ip_literal
from auth_code_flow_django.core.outbound_addresses import AddressPolicy
from auth_code_flow_django.exceptions import AuthCodeFlowError

from .connections import Listener, Resolver, attempts, listener, serving

__all__ = ["listener"]

#: Hosts that reach the listener on this machine, however they are written.
THIS_MACHINE = [
    "127.0.0.1",
    "127.1",
    "2130706433",
    "0x7f000001",
    "0177.0.0.1",
    "[::ffff:127.0.0.1]",
    "0.0.0.0",
    "[::]",
    "localhost",
]
#: Hosts beside this machine: cloud metadata, link-local, private networks.
NEIGHBOURS = ["169.254.169.254", "[fe80::1]", "10.0.0.1", "192.168.1.1", "[fd00::1]"]


def get(url: str, session: Any, **environment: Any) -> Any:
    return http_client.send(
        session,
        "GET",
        url,
        timeout=2.0,
        connect_timeout=1.0,
        max_bytes=4096,
        environment={"proxies": {}, "verify": True, **environment},
    )


def refused(url: str, session: Any, **environment: Any) -> str:
    with pytest.raises(AuthCodeFlowError) as caught:
        get(url, session, **environment)
    assert "address is refused" in caught.value.description
    return caught.value.description


def reachable(listener: Listener, host: str) -> bool:
    return host != "[::]" or listener.has_ipv6


@pytest.mark.parametrize("host", THIS_MACHINE)
def test_every_spelling_of_this_machine_reaches_the_listener_without_a_policy(
    listener: Listener, host: str
) -> None:
    if not reachable(listener, host):
        pytest.skip("no IPv6 on this machine: [::] leads nowhere")
    response = get(f"http://{host}:{listener.port}/", http_client.new_session())
    assert response.status_code == 200
    assert listener.connections == 1


@pytest.mark.parametrize("scheme", ["http", "https"])
@pytest.mark.parametrize("host", THIS_MACHINE)
def test_every_spelling_of_this_machine_is_refused_before_connecting(
    listener: Listener, host: str, scheme: str
) -> None:
    session = http_client.new_session(AddressPolicy())
    with attempts() as tried:
        description = refused(f"{scheme}://{host}:{listener.port}/token", session)
    assert tried == []
    assert listener.connections == 0
    assert "(this machine)" in description


@pytest.mark.parametrize("host", NEIGHBOURS)
def test_an_address_beside_this_machine_is_tried_without_a_policy(host: str) -> None:
    with attempts() as tried, pytest.raises(AuthCodeFlowError, match="could not be reached"):
        get(f"https://{host}/token", http_client.new_session())
    assert [ip_literal(address) for address, _port in tried] == [ip_literal(host)]


@pytest.mark.parametrize(
    ("host", "kind"),
    [
        ("169.254.169.254", "a link-local address (where cloud metadata services answer)"),
        ("[fe80::1]", "a link-local address"),
        ("10.0.0.1", "a private address"),
        ("192.168.1.1", "a private address"),
        ("[fd00::1]", "a private address"),
        ("[ff02::1]", "a multicast address"),
        ("240.0.0.1", "a reserved address"),
        ("0.1.2.3", "an unspecified address"),
    ],
)
def test_an_address_beside_this_machine_is_refused_without_trying(host: str, kind: str) -> None:
    session = http_client.new_session(AddressPolicy(private_hint="Allow it if it is yours."))
    with attempts() as tried:
        description = refused(f"https://{host}/token", session)
    assert tried == []
    assert kind in description
    assert description.endswith("Allow it if it is yours.") == (kind == "a private address")


@pytest.mark.parametrize("name", ["internal.idp.example", "localhost"])
def test_a_name_resolving_to_this_machine_is_refused(
    listener: Listener, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    Resolver(monkeypatch, {"internal.idp.example": [["127.0.0.1"]]})
    session = http_client.new_session(AddressPolicy())
    with attempts() as tried:
        description = refused(f"https://{name}:{listener.port}/token", session)
    assert tried == []
    assert listener.connections == 0
    # The page names the host, never what it resolved to.
    assert "127.0.0.1" not in description


def test_a_name_with_one_forbidden_address_among_public_ones_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    Resolver(monkeypatch, {"mixed.idp.example": [["93.184.215.14", "169.254.169.254"]]})
    with attempts() as tried:
        refused("https://mixed.idp.example/token", http_client.new_session(AddressPolicy()))
    assert tried == []


class AllowOnly(AddressPolicy):
    """A policy under which ``allowed`` (on loopback, for a real listener) may be
    reached, and nothing else."""

    def __init__(self, allowed: str) -> None:
        super().__init__()
        object.__setattr__(self, "allowed", ipaddress.ip_address(allowed))

    def refusal(self, address: IPAddress) -> str | None:
        return None if address == self.allowed else "not the allowed address"  # type: ignore[attr-defined]


def test_the_socket_connects_to_the_address_that_was_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The name answers 127.0.0.1 (allowed), then 127.0.0.2 (refused): one look-up per
    # connection, whose checked answer is where the socket goes; a second answer
    # (rebinding) is never used for it.
    resolver = Resolver(monkeypatch, {"rebind.idp.example": [["127.0.0.1"], ["127.0.0.2"]]})
    with Listener(("127.0.0.1", "127.0.0.2")).serving() as both:
        url = f"http://rebind.idp.example:{both.port}/token"
        with attempts() as tried:
            response = get(url, http_client.new_session(AllowOnly("127.0.0.1")))
        assert response.status_code == 200
        assert tried == [("127.0.0.1", both.port)]
        assert resolver.calls["rebind.idp.example"] == 1
        assert both.connections == 1
        # A new connection resolves again, and the new answer is checked in turn.
        with attempts() as tried:
            refused(url, http_client.new_session(AllowOnly("127.0.0.1")))
        assert tried == []
        assert both.connections == 1


class Anywhere(AddressPolicy):
    """A policy that refuses nothing: the connection code, on loopback."""

    def refusal(self, address: IPAddress) -> str | None:
        return None


def closed_port(host: str) -> int:
    """A port on ``host`` where nothing listens."""
    with socket.create_server((host, 0)) as server:
        return int(server.getsockname()[1])


def test_the_next_address_is_tried_when_one_does_not_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    Resolver(monkeypatch, {"two.idp.example": [["127.0.0.2", "127.0.0.1"]]})
    with Listener().serving() as server:
        # Nothing listens on 127.0.0.2 at this port: refused, then 127.0.0.1 answers.
        with attempts() as tried:
            response = get(
                f"http://two.idp.example:{server.port}/", http_client.new_session(Anywhere())
            )
        assert response.status_code == 200
        assert tried == [("127.0.0.2", server.port), ("127.0.0.1", server.port)]


def test_no_address_answering_is_a_clear_error() -> None:
    port = closed_port("127.0.0.1")
    with pytest.raises(AuthCodeFlowError, match="could not be reached"):
        get(f"http://127.0.0.1:{port}/", http_client.new_session(Anywhere()))


def test_a_connection_that_times_out_is_a_timeout() -> None:
    # A listener whose backlog is full answers no further SYN: the connect waits.
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(0)
        port = server.getsockname()[1]
        waiting = []
        for _ in range(4):
            sock = socket.socket()
            sock.setblocking(False)
            sock.connect_ex(("127.0.0.1", port))
            waiting.append(sock)
        try:
            with pytest.raises(AuthCodeFlowError, match="did not answer in time"):
                http_client.send(
                    http_client.new_session(Anywhere()),
                    "GET",
                    f"http://127.0.0.1:{port}/",
                    timeout=2.0,
                    connect_timeout=0.3,
                    max_bytes=4096,
                    environment={"proxies": {}, "verify": True},
                )
        finally:
            for sock in waiting:
                sock.close()


def test_a_name_that_does_not_resolve_is_a_clear_error() -> None:
    with pytest.raises(AuthCodeFlowError, match="could not be reached"):
        get("https://nowhere.invalid/token", http_client.new_session(AddressPolicy()))


def test_a_source_address_is_bound(listener: Listener) -> None:
    session = http_client.new_session(Anywhere())
    adapter: Any = session.get_adapter("http://127.0.0.1/")
    adapter.poolmanager.connection_pool_kw["source_address"] = ("127.0.0.3", 0)
    assert get(f"http://127.0.0.1:{listener.port}/", session).status_code == 200
    assert listener.clients == ["127.0.0.3"]


def test_a_private_network_is_reached_only_when_allowed() -> None:
    allowed = AddressPolicy(allowed_networks=(ipaddress.ip_network("10.20.0.0/16"),))
    with attempts() as tried, pytest.raises(AuthCodeFlowError, match="could not be reached"):
        get("https://10.20.0.5/token", http_client.new_session(allowed))
    assert tried == [("10.20.0.5", 443)]
    with attempts() as tried:
        refused("https://10.21.0.5/token", http_client.new_session(allowed))
        refused("https://[fd00::1]/token", http_client.new_session(allowed))
    assert tried == []


def test_private_addresses_are_reached_with_allow_private_but_never_this_machine(
    listener: Listener,
) -> None:
    session = http_client.new_session(AddressPolicy(allow_private=True))
    with attempts() as tried, pytest.raises(AuthCodeFlowError, match="could not be reached"):
        get("https://192.168.1.1/token", session)
    assert tried == [("192.168.1.1", 443)]
    with attempts() as tried:
        refused(f"http://127.1:{listener.port}/", session)
        refused("https://169.254.169.254/latest/meta-data/", session)
    assert tried == []
    assert listener.connections == 0


def test_an_allowed_network_never_opens_this_machine(listener: Listener) -> None:
    everything = AddressPolicy(allowed_networks=(ipaddress.ip_network("0.0.0.0/0"),))
    with attempts() as tried:
        refused(f"http://127.0.0.1:{listener.port}/", http_client.new_session(everything))
    assert tried == []


def test_origins_the_site_configured_are_not_under_the_policy(listener: Listener) -> None:
    policy = AddressPolicy(exempt_origins=frozenset({f"http://127.0.0.1:{listener.port}"}))
    session = http_client.new_session(policy)
    assert get(f"http://127.0.0.1:{listener.port}/token", session).status_code == 200
    # The same listener under another spelling is another origin: refused.
    refused(f"http://127.1:{listener.port}/token", session)
    assert listener.connections == 1


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://idp.example/token", "https://idp.example:443"),
        ("http://IDP.example:8080/x?y", "http://idp.example:8080"),
        ("http://[::1]/", "http://::1:80"),
    ],
)
def test_an_origin_writes_its_port(url: str, expected: str) -> None:
    assert outbound_addresses.origin(url) == expected


class ProxyRecorder(HTTPServer):
    """A proxy that records what it is asked to reach and answers JSON itself."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.asked.append(f"GET {self.path}")
                body = b'{"ok": true}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_CONNECT(self) -> None:
                outer.asked.append(f"CONNECT {self.path}")
                self.send_response(403)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def proxy() -> Iterator[ProxyRecorder]:
    server = ProxyRecorder()
    with serving(server):
        yield server


def via(proxy: ProxyRecorder) -> dict[str, Any]:
    return {"proxies": {"http": proxy.url, "https": proxy.url}}


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_through_a_proxy_a_refused_target_is_never_asked_for(
    proxy: ProxyRecorder, monkeypatch: pytest.MonkeyPatch, scheme: str
) -> None:
    Resolver(monkeypatch, {"internal.idp.example": [["10.0.0.7"]]})
    session = http_client.new_session(AddressPolicy())
    for host in ("169.254.169.254", "127.1", "internal.idp.example"):
        refused(f"{scheme}://{host}/token", session, **via(proxy))
    assert proxy.asked == []


@pytest.mark.parametrize("policy", [Anywhere(), AddressPolicy()])
def test_through_a_proxy_an_allowed_target_or_a_name_only_the_proxy_knows_is_relayed(
    proxy: ProxyRecorder, policy: AddressPolicy
) -> None:
    # idp.example resolves nowhere here, as outside names behind many proxies.
    session = http_client.new_session(policy)
    assert get("http://idp.example/token", session, **via(proxy)).status_code == 200
    with pytest.raises(AuthCodeFlowError, match="could not be reached"):
        get("https://idp.example/token", session, **via(proxy))
    assert proxy.asked == ["GET http://idp.example/token", "CONNECT idp.example:443"]


def test_a_forwarding_proxy_checks_each_request_on_a_reused_connection(
    proxy: ProxyRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    Resolver(monkeypatch, {"idp.example": [["93.184.215.14"]], "evil.example": [["127.0.0.1"]]})
    session = http_client.new_session(AddressPolicy())
    assert get("http://idp.example/a", session, **via(proxy)).status_code == 200
    refused("http://evil.example/b", session, **via(proxy))
    assert proxy.asked == ["GET http://idp.example/a"]


def test_a_refusal_is_found_however_deeply_it_is_wrapped() -> None:
    inner = outbound_addresses.AddressRefusedError(None, "The provider's address is refused: x.")  # type: ignore[arg-type]
    loop = ValueError("a cycle")
    loop.__cause__ = loop
    outer = RuntimeError("outer", loop)
    outer.__cause__ = OSError("wrapped", inner)
    assert outbound_addresses.refusal_in(outer) is inner
    assert outbound_addresses.refusal_in(RuntimeError("plain", loop)) is None


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("10.20.0.0/16", None),
        ("fd12:3456::/48", None),
        ("192.168.4.7", None),
        ("100.64.0.0/10", None),
        ("0.0.0.0/0", "not inside a private range"),
        ("127.0.0.0/8", "not inside a private range"),
        ("169.254.0.0/16", "not inside a private range"),
        ("8.8.8.0/24", "not inside a private range"),
        ("10.0.0.1/8", "host bits set"),
        ("ten", "does not appear to be"),
        (10, "not a string"),
    ],
)
def test_only_private_networks_can_be_allowed(value: object, problem: str | None) -> None:
    if problem is None:
        assert outbound_addresses.private_network(value) == ipaddress.ip_network(value)  # type: ignore[arg-type]
    else:
        with pytest.raises(ValueError, match=problem):
            outbound_addresses.private_network(value)
