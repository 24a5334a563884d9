"""Real sockets for the address rule: a listener on loopback that counts the
connections it receives, a record of every connection the process attempts (Python's
``socket.connect`` audit event), and host names resolved as a test says.

While :func:`attempts` records, a connection to anything but this machine fails at
once (``ENETUNREACH``), as on a host without a network: the tests never reach the
internet, and a connection that should not have been tried is seen, not waited for.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from http.server import HTTPServer
from typing import Any

import pytest

from .loopback import QuietHandler

_recorders: list[list[tuple[str, int]]] = []


def _reaches_this_machine(host: str) -> bool:
    address = ipaddress.ip_address(host.split("%")[0])
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback or address.is_unspecified


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event != "socket.connect" or not _recorders:
        return
    sock, address = args
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return
    host, port = address[0], address[1]
    for recorder in _recorders:
        recorder.append((host, port))
    if not _reaches_this_machine(host):
        raise OSError(errno.ENETUNREACH, f"tests reach no network beyond loopback ({host})")


sys.addaudithook(_audit)


@contextmanager
def attempts() -> Iterator[list[tuple[str, int]]]:
    """Every TCP connection attempted meanwhile, as ``(address, port)``."""
    recorded: list[tuple[str, int]] = []
    _recorders.append(recorded)
    try:
        yield recorded
    finally:
        _recorders.remove(recorded)


class _Handler(QuietHandler):
    def do_GET(self) -> None:
        self.reply_json({"keys": [], "sub": "listener"})

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.reply_json({"access_token": "listener-token-0001", "token_type": "Bearer"})


class _CountingServer(HTTPServer):
    def __init__(self, address: tuple[str, int], counter: Listener) -> None:
        self.counter = counter
        super().__init__(address, _Handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        request = super().get_request()
        with self.counter.lock:
            self.counter.connections += 1
            self.counter.clients.append(request[1][0])
        return request


class _CountingServer6(_CountingServer):
    address_family = socket.AF_INET6


@contextmanager
def serving(server: HTTPServer) -> Iterator[None]:
    # A short poll: the tests start and stop many listeners.
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


class Listener:
    """An HTTP server answering JSON on ``127.0.0.1:port`` and, where this machine has
    IPv6, on ``[::1]:port`` too (where ``[::]`` leads); ``connections`` counts what
    both accept."""

    def __init__(self, addresses: Sequence[str] = ("127.0.0.1",)) -> None:
        self.connections = 0
        #: The address each connection came from.
        self.clients: list[str] = []
        self.lock = threading.Lock()
        self.addresses = addresses
        self.port = 0
        self.has_ipv6 = False

    @contextmanager
    def serving(self) -> Iterator[Listener]:
        with ExitStack() as stack:
            first = _CountingServer((self.addresses[0], 0), self)
            self.port = first.server_address[1]
            stack.enter_context(serving(first))
            for address in self.addresses[1:]:
                stack.enter_context(serving(_CountingServer((address, self.port), self)))
            try:
                ipv6 = _CountingServer6(("::1", self.port), self)
            except OSError:
                pass
            else:
                self.has_ipv6 = True
                stack.enter_context(serving(ipv6))
            yield self


@pytest.fixture
def listener() -> Iterator[Listener]:
    with Listener().serving() as running:
        yield running


class Resolver:
    """``socket.getaddrinfo`` answering ``names`` with the addresses a test gives (a
    list: one answer per call, the last one repeated); other hosts as usual. ``calls``
    counts the look-ups of each name."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, names: dict[str, list[list[str]]]):
        self.names = names
        self.calls: dict[str, int] = dict.fromkeys(names, 0)
        self._real = socket.getaddrinfo
        monkeypatch.setattr(socket, "getaddrinfo", self._getaddrinfo)

    def _getaddrinfo(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        answers = self.names.get(host)
        if answers is None:
            return self._real(host, port, *args, **kwargs)
        answer = answers[min(self.calls[host], len(answers) - 1)]
        self.calls[host] += 1
        found = []
        for address in answer:
            found.extend(self._real(address, port, *args, **kwargs))
        return found
