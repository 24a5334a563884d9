"""A real HTTP server on 127.0.0.1 that answers as slowly as a hostile provider."""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType


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
    ) -> None:
        self.head = head
        self.body = body
        self.interval = interval
        self.step = step
        self.slow_head = slow_head
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(5)
        self.port = self.listener.getsockname()[1]
        self.base_uri = f"http://127.0.0.1:{self.port}"
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
        with conn:
            self.requests += 1
            self._read_request(conn)
            try:
                if self.slow_head:
                    self._drip(conn, self.head + self.body)
                else:
                    conn.sendall(self.head)
                    self._drip(conn, self.body)
            except OSError:
                return

    def _read_request(self, conn: socket.socket) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            data += conn.recv(4096)
        head, _, rest = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(rest) < length:
            rest += conn.recv(4096)

    def _drip(self, conn: socket.socket, data: bytes) -> None:
        for start in range(0, len(data), self.step):
            if self.done.is_set():
                return
            conn.sendall(data[start : start + self.step])
            time.sleep(self.interval)
