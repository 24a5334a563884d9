"""The bounded client, against real sockets: a total deadline however slowly a
provider answers."""

from __future__ import annotations

import http.server
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from auth_code_flow_django.core import http_client
from auth_code_flow_django.exceptions import AuthCodeFlowError

from .loopback import QuietHandler, serving
from .slow_server import DripRelay, SlowServer, make_tls_files

TIMEOUT = 1.0
#: The deadline plus room for a loaded machine; the unbounded client took 7.8 s here.
LIMIT = 1.6


def timed_send(url: str, session: requests.Session | None = None, **kwargs: Any) -> float:
    started = time.monotonic()
    with pytest.raises(AuthCodeFlowError, match="did not answer in time"):
        http_client.send(
            session or http_client.new_session(),
            "POST",
            url,
            data={"grant_type": "authorization_code"},
            timeout=TIMEOUT,
            connect_timeout=TIMEOUT,
            max_bytes=65536,
            **kwargs,
        )
    return time.monotonic() - started


def test_body_dripping_one_byte_at_a_time_ends_at_the_deadline() -> None:
    with SlowServer(interval=0.2) as server:
        elapsed = timed_send(server.url)
    assert TIMEOUT - 0.05 <= elapsed < LIMIT


def test_status_line_and_headers_dripping_end_at_the_deadline() -> None:
    with SlowServer(interval=0.2, slow_head=True) as server:
        elapsed = timed_send(server.url)
    assert TIMEOUT - 0.05 <= elapsed < LIMIT


def test_a_reply_over_tls_keeps_the_deadline(tmp_path: Path) -> None:
    cert_file, key_file = make_tls_files(tmp_path)
    environment = {"proxies": {}, "verify": str(cert_file)}
    for slow_head in (False, True):
        with SlowServer(interval=0.2, slow_head=slow_head, tls=(cert_file, key_file)) as server:
            elapsed = timed_send(server.url, environment=environment)
            assert server.requests == 1
        assert TIMEOUT - 0.05 <= elapsed < LIMIT


def test_a_prompt_reply_over_tls_is_read_whole(tmp_path: Path) -> None:
    cert_file, key_file = make_tls_files(tmp_path)
    body = b'{"access_token": "at"}'
    head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n".encode()
    tls = (cert_file, key_file)
    with SlowServer(head=head, body=body, step=len(body), interval=0, tls=tls) as server:
        response = http_client.send(
            http_client.new_session(),
            "POST",
            server.url,
            timeout=TIMEOUT,
            connect_timeout=TIMEOUT,
            max_bytes=65536,
            environment={"proxies": {}, "verify": str(cert_file)},
        )
    assert response.content == body


def test_a_tls_handshake_dripped_byte_by_byte_ends_in_time(tmp_path: Path) -> None:
    """The handshake is bounded by the connect timeout (the ssl module makes a socket
    timeout the handshake's total), the rest by the deadline."""
    cert_file, key_file = make_tls_files(tmp_path)
    body = b'{"access_token": "at"}'
    head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n".encode()
    tls = (cert_file, key_file)
    with (
        SlowServer(head=head, body=body, step=len(body), interval=0, tls=tls) as server,
        DripRelay(server.port, interval=0.05) as relay,
    ):
        elapsed = timed_send(
            f"https://127.0.0.1:{relay.port}/token",
            environment={"proxies": {}, "verify": str(cert_file)},
        )
    assert TIMEOUT - 0.05 <= elapsed < LIMIT


def test_a_reply_through_a_proxy_keeps_the_deadline() -> None:
    with SlowServer(interval=0.2) as proxy:
        # An http:// URL through a proxy: the proxy itself drips the reply.
        environment = {"proxies": {"http": proxy.base_uri}, "verify": True}
        elapsed = timed_send("http://provider.example/token", environment=environment)
        assert proxy.requests == 1
    assert TIMEOUT - 0.05 <= elapsed < LIMIT


def test_a_session_not_made_here_still_checks_the_deadline_between_chunks() -> None:
    size = 3 * http_client.CHUNK_BYTES
    head = f"HTTP/1.1 200 OK\r\nContent-Length: {size}\r\n\r\n".encode()
    with SlowServer(head=head, body=b"a" * size, step=http_client.CHUNK_BYTES, interval=0.6) as s:
        elapsed = timed_send(s.url, session=requests.Session())
    # The last chunk arrives at 1.2 s, after the deadline: refused, not accepted late.
    assert 1.1 <= elapsed < 1.7


def test_a_prompt_reply_is_read_whole() -> None:
    body = b'{"access_token": "at", "token_type": "Bearer"}'
    head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n".encode()
    with SlowServer(head=head, body=body, step=len(body), interval=0) as server:
        response = http_client.send(
            http_client.new_session(),
            "POST",
            server.url,
            timeout=TIMEOUT,
            connect_timeout=TIMEOUT,
            max_bytes=65536,
        )
    assert response.status_code == 200
    assert response.content == body


def test_a_read_starting_after_the_deadline_fails_without_waiting() -> None:
    left, right = socket.socketpair()
    with left, right:
        right.sendall(b"data")
        reader = http_client._DeadlineReader(
            left, left.makefile("rb", buffering=0), time.monotonic() - 1
        )
        with pytest.raises(TimeoutError):
            reader.readinto(bytearray(4))
        reader.close()
        assert reader.closed


def test_proxy_managers_are_bounded_and_reused() -> None:
    adapter = http_client.BoundedAdapter()
    manager = adapter.proxy_manager_for("http://proxy.internal:3128")
    assert adapter.proxy_manager_for("http://proxy.internal:3128") is manager
    for pool_class in manager.pool_classes_by_scheme.values():
        assert pool_class.ConnectionCls.response_class is http_client._DeadlineHTTPResponse


def test_new_sessions_mount_the_bounded_adapter() -> None:
    session = http_client.new_session()
    assert session.trust_env is False
    for url in ("https://provider.example/", "http://127.0.0.1/"):
        assert isinstance(session.get_adapter(url), http_client.BoundedAdapter)


def test_outside_send_the_bounded_session_reads_as_requests_does() -> None:
    body = b'{"ok": true}'
    head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n".encode()
    with SlowServer(head=head, body=body, step=4, interval=0.05) as server:
        response = http_client.new_session().post(server.url, timeout=TIMEOUT)
    assert response.content == body


class _RecordingHandler(QuietHandler):
    """Answers every GET with a cookie, and records each request's headers."""

    seen: list[dict[str, str]] = []

    def do_GET(self) -> None:
        self.seen.append(dict(self.headers.items()))
        self.reply_json({"ok": True}, headers={"Set-Cookie": "lb=user-a-affinity; Path=/"})


@pytest.fixture
def recording_server() -> Iterator[tuple[str, list[dict[str, str]]]]:
    seen: list[dict[str, str]] = []
    handler = type("Handler", (_RecordingHandler,), {"seen": seen})
    with serving(http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)) as server:
        yield f"http://127.0.0.1:{server.server_address[1]}/userinfo", seen


def _get(session: requests.Session, url: str, headers: dict[str, str]) -> requests.Response:
    return http_client.send(
        session,
        "GET",
        url,
        headers=headers,
        timeout=TIMEOUT,
        connect_timeout=TIMEOUT,
        max_bytes=65536,
    )


def test_a_cookie_from_one_users_reply_never_goes_out_with_the_next(
    recording_server: tuple[str, list[dict[str, str]]],
) -> None:
    """One session serves every user of a provider in turn (per thread)."""
    url, seen = recording_server
    session = http_client.new_session()
    _get(session, url, {"Authorization": "Bearer user-a"})
    response = _get(session, url, {"Authorization": "Bearer user-b"})
    assert response.json() == {"ok": True}
    assert [h.get("Authorization") for h in seen] == ["Bearer user-a", "Bearer user-b"]
    assert "Cookie" not in seen[1]
    assert len(session.cookies) == 0
    # What requests' own sessions send is still sent.
    assert seen[1]["User-Agent"] == requests.utils.default_user_agent()
    assert seen[1]["Accept-Encoding"] == requests.utils.default_headers()["Accept-Encoding"]


def test_a_session_not_made_here_keeps_its_own_headers(
    recording_server: tuple[str, list[dict[str, str]]],
) -> None:
    url, seen = recording_server
    session = requests.Session()
    session.headers["X-Site"] = "example"
    _get(session, url, {"Authorization": "Bearer user-a"})
    assert seen[0]["X-Site"] == "example"
    assert seen[0]["Authorization"] == "Bearer user-a"


@pytest.mark.parametrize(
    "data",
    [
        {
            "grant_type": "authorization_code",
            "code": "a b+c/é&=",
            "redirect_uri": "https://x/?q=1",
        },
        {"refresh_token": "\u2603 snow", "scope": ""},
    ],
)
def test_a_form_is_encoded_as_requests_encodes_it(data: dict[str, str]) -> None:
    ours = http_client._prepare("POST", "https://provider.example/token?x=1", data, None, None)
    theirs = requests.Session().prepare_request(
        requests.Request("POST", "https://provider.example/token?x=1", data=data)
    )
    assert ours.body == theirs.body
    assert ours.url == theirs.url
    assert ours.headers["Content-Type"] == theirs.headers["Content-Type"]
    assert ours.headers["Content-Length"] == theirs.headers["Content-Length"]


def test_a_content_type_given_by_the_caller_is_kept() -> None:
    prepared = http_client._prepare(
        "POST", "https://provider.example/token", {"a": "b"}, None, {"content-type": "text/x"}
    )
    assert prepared.headers["Content-Type"] == "text/x"
    assert http_client._prepare("GET", "https://p.example/", None, None, None).body is None
