"""A real HTTP server on 127.0.0.1 that answers as slowly as a hostile provider."""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import threading
import time
from pathlib import Path
from types import TracebackType


def make_tls_files(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key (PEM files in ``directory``)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


class SlowServer:
    """Accepts connections, reads each request, then sends ``head`` and ``body`` one
    chunk of ``step`` bytes every ``interval`` seconds (``slow_head`` drips the
    status line and headers too). Stops when the client goes away."""

    def __init__(
        self,
        *,
        head: bytes = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        b"Content-Length: 40\r\n\r\n",
        body: bytes = b'{"access_token": "' + b"a" * 20 + b'"}',
        interval: float = 0.2,
        step: int = 1,
        slow_head: bool = False,
        tls: tuple[Path, Path] | None = None,
    ) -> None:
        self.head = head
        self.body = body
        self.interval = interval
        self.step = step
        self.slow_head = slow_head
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(5)
        self.port = self.listener.getsockname()[1]
        self.tls_context: ssl.SSLContext | None = None
        if tls is not None:
            self.tls_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.tls_context.load_cert_chain(*tls)
        scheme = "https" if tls else "http"
        self.base_uri = f"{scheme}://127.0.0.1:{self.port}"
        self.url = f"{self.base_uri}/token"
        self.requests = 0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> SlowServer:
        self.thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.done.set()
        self.listener.close()
        self.thread.join(5)

    def _serve(self) -> None:
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        try:
            if self.tls_context is not None:
                conn = self.tls_context.wrap_socket(conn, server_side=True)
            with conn:
                conn.settimeout(5)
                if not self._read_request(conn):
                    return
                self.requests += 1
                if self.slow_head:
                    self._drip(conn, self.head + self.body)
                else:
                    conn.sendall(self.head)
                    self._drip(conn, self.body)
        except OSError:  # the client went away (or refused the certificate)
            return

    def _read_request(self, conn: socket.socket) -> bool:
        """Read one request; ``False`` if the client closed the connection first."""
        data = b""
        while b"\r\n\r\n" not in data:
            received = conn.recv(4096)
            if not received:
                return False
            data += received
        head, _, rest = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(rest) < length:
            received = conn.recv(4096)
            if not received:
                return False
            rest += received
        return True

    def _drip(self, conn: socket.socket, data: bytes) -> None:
        for start in range(0, len(data), self.step):
            if self.done.is_set():
                return
            conn.sendall(data[start : start + self.step])
            time.sleep(self.interval)


class DripRelay:
    """A TCP relay on 127.0.0.1 in front of ``target_port`` that passes the client's
    bytes at once and the server's one byte every ``interval`` seconds (a TLS handshake
    included)."""

    def __init__(self, target_port: int, interval: float = 0.05) -> None:
        self.target_port = target_port
        self.interval = interval
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(5)
        self.port = self.listener.getsockname()[1]
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._relay, daemon=True)

    def __enter__(self) -> DripRelay:
        self.thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.done.set()
        self.listener.close()
        self.thread.join(5)

    def _relay(self) -> None:
        try:
            client, _ = self.listener.accept()
            upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
        except OSError:
            return
        with client, upstream:
            threading.Thread(target=self._forward, args=(client, upstream), daemon=True).start()
            try:
                while not self.done.is_set() and (byte := upstream.recv(1)):
                    client.sendall(byte)
                    time.sleep(self.interval)
            except OSError:
                return

    def _forward(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(4096):
                sink.sendall(data)
        except OSError:
            return
