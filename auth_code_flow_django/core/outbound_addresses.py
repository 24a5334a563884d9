"""The addresses a request to a provider may connect to.

Endpoints that a remote server's metadata names must not lead this app's requests, with
their secrets, to this machine or its networks (server-side request forgery). An
:class:`AddressPolicy` says which addresses are refused; :class:`PolicedConnection`
applies it where the connection is made, on the addresses the host name resolves to,
and connects to the very address that was checked, so neither another spelling of an
address nor a second DNS answer gets past it. Nothing here imports Django.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import logging
import socket
import sys
from contextvars import ContextVar
from typing import Any
from urllib.parse import urlsplit

from urllib3.connection import HTTPConnection
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util.connection import allowed_gai_family

from .endpoint_urls import IPAddress, normalised

__all__ = [
    "PRIVATE_RANGES",
    "AddressPolicy",
    "AddressRefusedError",
    "IPNetwork",
    "PolicedConnection",
    "current_policy",
    "forbidden_kind",
    "origin",
    "private_network",
    "refusal_in",
]

logger = logging.getLogger("auth_code_flow_django.core.outbound_addresses")

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_THIS_NETWORK = ipaddress.IPv4Network("0.0.0.0/8")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def forbidden_kind(address: IPAddress) -> str | None:
    """What ``address`` is when no endpoint a remote server names may reach it
    (this machine, link-local, multicast, reserved), else ``None``."""
    address = normalised(address)
    if address.is_loopback:
        return "a loopback address (this machine)"
    if address.is_unspecified or address in _THIS_NETWORK:
        return "an unspecified address (this machine)"
    if address.is_link_local:
        return "a link-local address (where cloud metadata services answer)"
    if address.is_multicast:
        return "a multicast address"
    if address.is_reserved:
        return "a reserved address"
    return None


#: The private ranges :attr:`AddressPolicy.allowed_networks` may come from: RFC 1918,
#: the shared address space of RFC 6598 and IPv6 unique local addresses (RFC 4193).
PRIVATE_RANGES: tuple[IPNetwork, ...] = (
    ipaddress.IPv4Network("10.0.0.0/8"),
    ipaddress.IPv4Network("172.16.0.0/12"),
    ipaddress.IPv4Network("192.168.0.0/16"),
    ipaddress.IPv4Network("100.64.0.0/10"),
    ipaddress.IPv6Network("fc00::/7"),
)


def private_network(value: object) -> IPNetwork:
    """The network ``value`` (a CIDR string such as ``"10.20.0.0/16"``) names; raises
    :class:`ValueError` unless it is inside one of :data:`PRIVATE_RANGES`."""
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a string")
    network = ipaddress.ip_network(value)
    if not any(
        network.version == private.version and network.subnet_of(private)  # type: ignore[arg-type]
        for private in PRIVATE_RANGES
    ):
        raise ValueError(f"{value} is not inside a private range")
    return network


def origin(url: str) -> str:
    """``scheme://host:port`` of ``url``, the port written out."""
    parts = urlsplit(url)
    port = parts.port or _DEFAULT_PORTS.get(parts.scheme)
    return f"{parts.scheme}://{parts.hostname}:{port}"


@dataclasses.dataclass(frozen=True)
class AddressPolicy:
    """The addresses a session's requests may connect to: the rule for endpoints that a
    remote server's metadata names (a hostile or compromised server must not point
    this app's requests, with their secrets, at this machine or its networks).

    Never an address of :func:`forbidden_kind`; a private one (any other address that
    is not global: ``10.0.0.0/8``, ``192.168.0.0/16``, ``fc00::/7``...) only with
    ``allow_private`` or inside one of ``allowed_networks``. Requests to
    ``exempt_origins`` (``scheme://host:port``), the endpoints a site configured itself,
    are not under the policy.
    """

    allow_private: bool = False
    allowed_networks: tuple[IPNetwork, ...] = ()
    exempt_origins: frozenset[str] = frozenset()
    #: Added to the refusal of a private address (e.g. the setting that allows one).
    private_hint: str = ""

    def governs(self, url: str) -> bool:
        """Whether a request to ``url`` is under this policy."""
        return origin(url) not in self.exempt_origins

    def refusal(self, address: IPAddress) -> str | None:
        """What ``address`` is when a connection to it is refused, else ``None``."""
        address = normalised(address)
        kind = forbidden_kind(address)
        if kind is not None:
            return kind
        if (
            address.is_global
            or self.allow_private
            or any(address.version == n.version and address in n for n in self.allowed_networks)
        ):
            return None
        return "a private address"


#: The policy of the request being sent in this context (set by :class:`BoundedAdapter`).
current_policy: ContextVar[AddressPolicy | None] = ContextVar(
    "auth_code_flow_django_address_policy", default=None
)


class AddressRefusedError(NewConnectionError):
    """A connection the :class:`AddressPolicy` refuses; it was never attempted.
    ``description`` says which host and what kind of address, not the address."""

    def __init__(self, conn: HTTPConnection, description: str) -> None:
        super().__init__(conn, description)
        self.description = description


class PolicedConnection(HTTPConnection):
    """A connection that applies the :class:`AddressPolicy` of the request, if any.

    Direct: the host is resolved here, every address checked, and the socket connected
    to one of those very addresses (TLS still verifies the host name). Through a
    proxy, the proxy (the site's own) is not checked; the target host is resolved here
    and checked before the tunnel is asked for, or before each request a forwarding
    proxy relays. The proxy resolves the name again itself, and a name that only the
    proxy can resolve is left to it: what the proxy reaches is the proxy's rule.

    A pooled connection is reused only for its own origin, whose requests a session's
    policy governs alike, so it was checked under the policy it is reused under.
    """

    def _allowed(self, policy: AddressPolicy, host: str, port: int | None) -> list[Any]:
        """The resolved addresses of ``host``; raises when any is refused."""
        name = host.strip("[]")
        try:
            found = socket.getaddrinfo(name, port, allowed_gai_family(), socket.SOCK_STREAM)
        except socket.gaierror as exc:
            if self.proxy is not None:
                # Behind a proxy this machine may resolve no outside name: the proxy
                # does. (An address, however spelt, always resolves here.)
                return []
            raise NameResolutionError(host, self, exc) from exc
        for _family, _type, _proto, _canonical, sockaddr in found:
            address = ipaddress.ip_address(sockaddr[0])
            kind = policy.refusal(address)
            if kind is not None:
                logger.warning("refused to connect to %s (%s): %s", host, address, kind)
                text = f"The provider's address is refused: {host} is {kind}."
                if kind == "a private address" and policy.private_hint:
                    text += f" {policy.private_hint}"
                raise AddressRefusedError(self, text)
        return found

    def _connect_to(self, found: list[Any]) -> socket.socket:
        """A socket connected to the first of ``found`` that answers."""
        error: OSError | None = None
        for family, kind, proto, _canonical, sockaddr in found:
            sock = socket.socket(family, kind, proto)
            try:
                for option in self.socket_options or ():
                    sock.setsockopt(*option)
                sock.settimeout(
                    self.timeout
                    if isinstance(self.timeout, (int, float))
                    else socket.getdefaulttimeout()
                )
                if self.source_address:
                    sock.bind(self.source_address)
                sock.connect(sockaddr)
            except OSError as exc:
                sock.close()
                error = exc
                continue
            sys.audit("http.client.connect", self, self.host, self.port)
            return sock
        if isinstance(error, TimeoutError):
            raise ConnectTimeoutError(
                self, f"Connection to {self.host} timed out. (connect timeout={self.timeout})"
            ) from error
        raise NewConnectionError(self, f"Failed to establish a new connection: {error}") from error

    def _new_conn(self) -> socket.socket:
        policy = current_policy.get()
        if policy is None or self.proxy_is_forwarding:
            return super()._new_conn()
        if self._tunnel_host is not None:
            self._allowed(policy, self._tunnel_host, self._tunnel_port)
            return super()._new_conn()
        return self._connect_to(self._allowed(policy, self._dns_host, self.port))

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> None:
        policy = current_policy.get()
        if policy is not None and self.proxy_is_forwarding:
            target = urlsplit(url)
            self._allowed(policy, target.hostname or "", target.port or 80)
        super().request(method, url, *args, **kwargs)


def refusal_in(error: BaseException) -> AddressRefusedError | None:
    """The :class:`AddressRefusedError` that ``error`` wraps (requests and urllib3 wrap
    it in their own errors, a proxy's too), if any."""
    pending: list[object] = [error]
    seen: set[int] = set()
    while pending:
        item = pending.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        if isinstance(item, AddressRefusedError):
            return item
        seen.add(id(item))
        pending.extend(item.args)
        pending.extend(
            (getattr(item, "reason", None), getattr(item, "original_error", None), item.__cause__)
        )
    return None
