"""The one bounded HTTP client that every request to a provider goes through.

A request here has a total deadline, a cap on the size of the reply, follows no
redirect, keeps no cookies and takes no credentials from the environment
(``~/.netrc``); proxies and a CA bundle from the environment still apply. Nothing here
imports Django.

A session may carry an :class:`AddressPolicy`: the addresses its requests may reach.
It is applied where the connection is made, on the addresses the host name resolves
to, and the socket connects to the very address that was checked, so neither another
spelling of an address nor a second DNS answer gets past it.
"""

from __future__ import annotations

import dataclasses
import functools
import http.client
import http.cookiejar
import io
import ipaddress
import logging
import os
import socket
import sys
import time
from contextvars import ContextVar
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection
from urllib3.connectionpool import HTTPConnectionPool
from urllib3.exceptions import (
    ConnectTimeoutError,
    NameResolutionError,
    NewConnectionError,
    ReadTimeoutError,
)
from urllib3.poolmanager import PoolManager
from urllib3.util.connection import allowed_gai_family

from .endpoints import IPAddress, normalised
from .exceptions import AuthCodeFlowError

__all__ = [
    "AddressPolicy",
    "AddressRefusedError",
    "BoundedAdapter",
    "IPNetwork",
    "ProviderSession",
    "environment_for",
    "forbidden_kind",
    "new_session",
    "origin",
    "private_network",
    "read_body",
    "send",
]

logger = logging.getLogger("auth_code_flow_django.provider_http")

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

CHUNK_BYTES = 8192
#: What requests' own sessions send with every request (its User-Agent, Accept...).
_DEFAULT_HEADERS = dict(requests.utils.default_headers())

#: The deadline (``time.monotonic()``) of the request being sent in this context.
_deadline: ContextVar[float | None] = ContextVar("auth_code_flow_django_deadline", default=None)


class _DeadlineReader(io.RawIOBase):
    """The socket's reader, with no read ending after the deadline.

    requests' read timeout bounds each socket read, not the whole reply: a provider
    sending one byte a second never trips it. Here each read waits at most the time
    left, so the status line, the headers and the body all end by the deadline.
    """

    def __init__(self, sock: socket.socket, raw: io.RawIOBase, deadline: float) -> None:
        super().__init__()
        self._sock = sock
        self._raw = raw
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("The total deadline has passed.")
        self._sock.settimeout(left)
        return self._raw.readinto(buffer)

    def close(self) -> None:
        self._raw.close()
        super().close()


class _DeadlineHTTPResponse(http.client.HTTPResponse):
    """``http.client``'s response, reading through a :class:`_DeadlineReader` when a
    deadline is set (only :func:`send` sets one)."""

    def __init__(self, sock: socket.socket, *args: Any, **kwargs: Any) -> None:
        super().__init__(sock, *args, **kwargs)
        deadline = _deadline.get()
        if deadline is not None:
            raw = self.fp.detach()
            self.fp = io.BufferedReader(_DeadlineReader(sock, raw, deadline))


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
_policy: ContextVar[AddressPolicy | None] = ContextVar(
    "auth_code_flow_django_address_policy", default=None
)


class AddressRefusedError(NewConnectionError):
    """A connection the :class:`AddressPolicy` refuses; it was never attempted.
    ``description`` says which host and what kind of address, not the address."""

    def __init__(self, conn: HTTPConnection, description: str) -> None:
        super().__init__(conn, description)
        self.description = description


class _PolicedConnection(HTTPConnection):
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
        policy = _policy.get()
        if policy is None or self.proxy_is_forwarding:
            return super()._new_conn()
        if self._tunnel_host is not None:
            self._allowed(policy, self._tunnel_host, self._tunnel_port)
            return super()._new_conn()
        return self._connect_to(self._allowed(policy, self._dns_host, self.port))

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> None:
        policy = _policy.get()
        if policy is not None and self.proxy_is_forwarding:
            target = urlsplit(url)
            self._allowed(policy, target.hostname or "", target.port or 80)
        super().request(method, url, *args, **kwargs)


@functools.cache
def _bounded_pool(pool_class: type[HTTPConnectionPool]) -> type[HTTPConnectionPool]:
    """``pool_class`` whose connections read replies through the deadline and apply
    the address policy."""
    connection_class = pool_class.ConnectionCls
    bounded_connection = type(
        connection_class.__name__,
        (_PolicedConnection, connection_class),
        {"response_class": _DeadlineHTTPResponse},
    )
    return type(pool_class.__name__, (pool_class,), {"ConnectionCls": bounded_connection})


def _bound(manager: PoolManager) -> PoolManager:
    manager.pool_classes_by_scheme = {
        scheme: _bounded_pool(pool_class)
        for scheme, pool_class in manager.pool_classes_by_scheme.items()
    }
    return manager


class BoundedAdapter(HTTPAdapter):
    """A transport adapter whose connections (direct or through a proxy) keep the total
    deadline of :func:`send` and, for the requests it governs, ``address_policy``. It
    never retries."""

    def __init__(self, address_policy: AddressPolicy | None = None, **kwargs: Any) -> None:
        self.address_policy = address_policy
        super().__init__(**kwargs)

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        policy = self.address_policy
        if policy is not None and not policy.governs(request.url or ""):
            policy = None
        token = _policy.set(policy)
        try:
            return super().send(request, *args, **kwargs)
        finally:
            _policy.reset(token)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        _bound(self.poolmanager)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        if proxy not in self.proxy_manager:
            _bound(super().proxy_manager_for(proxy, **proxy_kwargs))
        return self.proxy_manager[proxy]


class ProviderSession(requests.Session):
    """The session :func:`new_session` makes. :func:`send` prepares its requests itself:
    nothing of the session's (cookies, default auth, hooks) is merged in."""


def new_session(address_policy: AddressPolicy | None = None) -> ProviderSession:
    """A session for provider requests: bounded, keeping no cookies, taking nothing
    from the environment by itself, and connecting only where ``address_policy``
    allows (``None``: anywhere).

    One session serves many users' requests in turn, so a cookie one reply sets must
    not go out with the next user's request: none is kept. ``trust_env`` would attach
    ``~/.netrc`` credentials to a token request that has no ``Authorization`` header of
    its own (``client_secret_post``), sending them to the provider; proxies and a CA
    bundle from the environment are applied per request instead (see
    :func:`environment_for`).
    """
    session = ProviderSession()
    session.trust_env = False
    session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    adapter = BoundedAdapter(address_policy)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def environment_for(url: str) -> dict[str, Any]:
    """The proxies and CA bundle the environment gives for ``url``."""
    return {
        "proxies": requests.utils.get_environ_proxies(url),
        "verify": os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True,
    }


def read_body(response: requests.Response, deadline: float, max_bytes: int) -> None:
    """Read the whole reply into ``response.content``, within ``deadline`` and ``max_bytes``.

    The deadline is also checked between chunks, for a session that was not made by
    :func:`new_session`.
    """
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        response.close()
        raise AuthCodeFlowError("The provider's reply is too large.", response=response)
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_content(chunk_size=CHUNK_BYTES):
            size += len(chunk)
            if size > max_bytes:
                raise AuthCodeFlowError("The provider's reply is too large.", response=response)
            if time.monotonic() > deadline:
                raise AuthCodeFlowError("The provider did not answer in time.", response=response)
            chunks.append(chunk)
    except requests.RequestException as exc:
        if isinstance(exc.__context__, ReadTimeoutError):
            raise AuthCodeFlowError("The provider did not answer in time.") from exc
        raise AuthCodeFlowError("The provider's reply was cut off.") from exc
    finally:
        response.close()
    response._content = b"".join(chunks)


def _prepare(
    method: str,
    url: str,
    data: dict[str, str] | None,
    json: dict[str, str] | None,
    headers: dict[str, str] | None,
) -> requests.PreparedRequest:
    """The request a :class:`ProviderSession` sends. Prepared here: the session has
    nothing to merge in (merging costs more than the rest of the request), and a form
    is encoded as requests encodes it, without its per-call protocol checks (slow
    before Python 3.12)."""
    merged = {**_DEFAULT_HEADERS, **(headers or {})}
    body: str | None = None
    if data:
        body = urlencode(data)
        if not any(name.lower() == "content-type" for name in merged):
            merged["Content-Type"] = "application/x-www-form-urlencoded"
    # params="": a query already in ``url``; an empty mapping costs the same checks.
    return requests.Request(method, url, data=body, json=json, headers=merged, params="").prepare()


def _refusal_in(error: BaseException) -> AddressRefusedError | None:
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


def send(
    session: requests.Session,
    method: str,
    url: str,
    *,
    timeout: float,
    connect_timeout: float,
    max_bytes: int,
    data: dict[str, str] | None = None,
    json: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    environment: dict[str, Any] | None = None,
) -> requests.Response:
    """Send one request and read its whole reply, or raise :class:`AuthCodeFlowError`.

    Never retries and never follows a redirect (the caller sees the 3xx).
    """
    deadline = time.monotonic() + timeout
    options = {
        "timeout": (min(connect_timeout, timeout), timeout),
        "allow_redirects": False,
        "stream": True,
        **(environment if environment is not None else environment_for(url)),
    }
    token = _deadline.set(deadline)
    try:
        if isinstance(session, ProviderSession):
            response = session.send(_prepare(method, url, data, json, headers), **options)
        else:
            response = session.request(
                method, url, data=data, json=json, headers=headers, **options
            )
    except requests.Timeout as exc:
        raise AuthCodeFlowError("The provider did not answer in time.") from exc
    except requests.RequestException as exc:
        refused = _refusal_in(exc)
        if refused is not None:
            raise AuthCodeFlowError(refused.description) from exc
        raise AuthCodeFlowError("The provider could not be reached.") from exc
    finally:
        _deadline.reset(token)
    read_body(response, deadline, max_bytes)
    return response
