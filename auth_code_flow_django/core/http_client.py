"""The one bounded HTTP client that every request to a provider goes through.

A request here has a total deadline, a cap on the size of the reply, follows no
redirect, keeps no cookies and takes no credentials from the environment
(``~/.netrc``); proxies and a CA bundle from the environment still apply. Nothing here
imports Django.

A session may carry an :class:`~.outbound_addresses.AddressPolicy`: the addresses its
requests may reach (see :mod:`.outbound_addresses`).
"""

from __future__ import annotations

import functools
import http.client
import http.cookiejar
import io
import os
import socket
import time
from contextvars import ContextVar
from typing import Any
from urllib.parse import urlencode

import requests
from requests.adapters import HTTPAdapter
from urllib3.connectionpool import HTTPConnectionPool
from urllib3.exceptions import ReadTimeoutError
from urllib3.poolmanager import PoolManager

from .errors import AuthCodeFlowError
from .outbound_addresses import AddressPolicy, PolicedConnection, current_policy, refusal_in

__all__ = [
    "BoundedAdapter",
    "ProviderSession",
    "environment_for",
    "new_session",
    "read_body",
    "send",
]

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


@functools.cache
def _bounded_pool(pool_class: type[HTTPConnectionPool]) -> type[HTTPConnectionPool]:
    """``pool_class`` whose connections read replies through the deadline and apply
    the address policy."""
    connection_class = pool_class.ConnectionCls
    bounded_connection = type(
        connection_class.__name__,
        (PolicedConnection, connection_class),
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
        token = current_policy.set(policy)
        try:
            return super().send(request, *args, **kwargs)
        finally:
            current_policy.reset(token)

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
        refused = refusal_in(exc)
        if refused is not None:
            raise AuthCodeFlowError(refused.description) from exc
        raise AuthCodeFlowError("The provider could not be reached.") from exc
    finally:
        _deadline.reset(token)
    read_body(response, deadline, max_bytes)
    return response
