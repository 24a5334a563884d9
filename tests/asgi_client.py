"""Django's test client speaking ASGI to Django's real ``ASGIHandler``.

``django.test.AsyncClient`` hands its requests to a test handler that runs the view in
the caller's thread; a site under uvicorn runs each request through ``ASGIHandler``,
which gives every request a thread of its own (``ThreadSensitiveContext``), and with it
a database connection object of its own. :class:`ASGIClient` keeps the test client's
cookies and sessions but sends each request as ASGI messages to ``ASGIHandler``, with
CSRF checks enforced as on a site, and records the thread each request ran on.

The test database must be visible from those threads: use it with
``pytest.mark.django_db(transaction=True)``.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from django.core.handlers.asgi import ASGIHandler
from django.core.signals import request_started
from django.http import HttpResponse
from django.test import AsyncClient


class _RealHandler:
    """What ``AsyncClient`` calls its handler: here the scope goes to ``ASGIHandler``."""

    def __init__(self) -> None:
        self.app = ASGIHandler()
        self.threads: list[threading.Thread] = []

    def _started(self, **kwargs: Any) -> None:
        # The thread itself: an ended thread's identifier can be given to the next one.
        self.threads.append(threading.current_thread())

    async def __call__(self, scope: dict[str, Any]) -> HttpResponse:
        body_file = scope.pop("_body_file", None)
        body = body_file.read() if body_file is not None else b""
        messages: list[dict[str, Any]] = []
        pending = [{"type": "http.request", "body": body, "more_body": False}]

        async def receive() -> dict[str, Any]:
            if pending:
                return pending.pop()
            # Never disconnects: the handler cancels this wait once it has answered.
            await asyncio.get_running_loop().create_future()
            raise AssertionError("unreachable")

        async def send(message: dict[str, Any]) -> None:
            messages.append(message)

        request_started.connect(self._started, dispatch_uid="asgi-client-thread")
        try:
            await self.app(scope, receive, send)
        finally:
            request_started.disconnect(dispatch_uid="asgi-client-thread")
        start = next(m for m in messages if m["type"] == "http.response.start")
        content = b"".join(
            m.get("body", b"") for m in messages if m["type"] == "http.response.body"
        )
        response = HttpResponse(content, status=start["status"])
        for name, value in start["headers"]:
            if name.lower() == b"set-cookie":
                response.cookies.load(value.decode("latin-1"))
            else:
                response.headers[name.decode("latin-1")] = value.decode("latin-1")
        # AsyncClient looks for the request here (for resolver_match); it stayed in the
        # handler's thread.
        response.asgi_request = None  # type: ignore[attr-defined]
        return response


class ASGIClient:
    """``get`` and ``post`` as the sync test client has them, through ``ASGIHandler``.
    Each runs in an event loop of its own in the calling thread, as a server's would
    (``async_to_sync`` would run the views in the calling thread instead).
    ``post`` sends the CSRF token from the ``csrftoken`` cookie, as a browser's form
    would; ``threads`` lists the thread each request ran on."""

    def __init__(self) -> None:
        self.client = AsyncClient(enforce_csrf_checks=True)
        self._handler = _RealHandler()
        self.client.handler = self._handler

    @property
    def threads(self) -> list[threading.Thread]:
        return self._handler.threads

    def force_login(self, user: Any) -> None:
        self.client.force_login(user)

    def get(self, path: str, data: Any = None, **extra: Any) -> Any:
        return asyncio.run(self.client.get(path, data, **extra))

    def post(self, path: str, data: dict[str, str] | None = None, **extra: Any) -> Any:
        if "csrftoken" not in self.client.cookies:
            # Any page with a form sets the cookie; the connections page has several.
            self.get("/oauth/")
        token = self.client.cookies["csrftoken"].value
        return asyncio.run(
            self.client.post(path, {**(data or {}), "csrfmiddlewaretoken": token}, **extra)
        )
