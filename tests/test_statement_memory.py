"""Statements built per connection die with their connection.

Django makes a connection object per thread, and its ASGI handler runs each sync view
on a thread of its own: whatever keeps built statements must not keep a connection
alive after its thread has ended, or a site leaks one connection object per request.
Each test keeps a weak reference to every connection that read a token and requires
all of them dead once their threads are gone and the garbage collector has run.
"""

from __future__ import annotations

import asyncio
import gc
import threading
import weakref
from typing import Any

import pytest
from asgiref.testing import ApplicationCommunicator
from django.contrib.auth import get_user_model
from django.core.handlers.asgi import ASGIHandler
from django.db import connections, router
from django.http import HttpRequest, HttpResponse
from django.test import override_settings
from django.urls import path

from auth_code_flow_django import tokens
from auth_code_flow_django.models import OAuthToken
from auth_code_flow_django.tokens.refreshing import _usable_token
from auth_code_flow_django.tokens.transactions import _on_own_connection

from .conftest import make_token

User = get_user_model()

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 12

#: A weak reference to the connection each request or thread read the token on.
seen: list[weakref.ref[Any]] = []


def alias() -> str:
    return router.db_for_write(OAuthToken)


def read_token(request: HttpRequest, user_pk: str) -> HttpResponse:
    user = User.objects.get(pk=user_pk)
    token = tokens.get_access_token(user, "example")
    seen.append(weakref.ref(connections[alias()]))
    return HttpResponse(str(len(token)))


urlpatterns = [path("read/<str:user_pk>/", read_token)]


def alive() -> int:
    gc.collect()
    return sum(ref() is not None for ref in seen)


@pytest.fixture(autouse=True)
def fresh() -> None:
    seen.clear()


async def get(app: ASGIHandler, url: str) -> tuple[int, bytes]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": url,
        "raw_path": url.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    communicator = ApplicationCommunicator(app, scope)
    await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
    start = await communicator.receive_output(10)
    body = await communicator.receive_output(10)
    await communicator.wait(10)
    return start["status"], body["body"]


@override_settings(ROOT_URLCONF=__name__)
def test_requests_through_the_asgi_handler_leave_no_connection_alive(user: Any) -> None:
    make_token(user)
    app = ASGIHandler()

    async def requests() -> list[tuple[int, bytes]]:
        return [await get(app, f"/read/{user.pk}/") for _ in range(ROUNDS)]

    replies = asyncio.run(requests())
    assert replies == [(200, str(len("stored-access-token-0001")).encode())] * ROUNDS
    # Each request ran on a thread, and a connection, of its own.
    assert len(seen) == ROUNDS
    assert alive() == 0


def test_threads_that_read_a_token_leave_no_connection_alive(user: Any) -> None:
    make_token(user)

    def work() -> None:
        try:
            assert tokens.get_access_token(user, "example") == "stored-access-token-0001"
            seen.append(weakref.ref(connections[alias()]))
        finally:
            connections.close_all()

    for _ in range(ROUNDS):
        thread = threading.Thread(target=work)
        thread.start()
        thread.join()
    assert len(seen) == ROUNDS
    assert alive() == 0


def test_work_on_its_own_connection_leaves_no_connection_alive(user: Any) -> None:
    make_token(user)

    def work() -> str:
        token = _usable_token(user, "example").access_token
        seen.append(weakref.ref(connections[alias()]))
        return token

    for _ in range(ROUNDS):
        assert _on_own_connection(alias(), work) == "stored-access-token-0001"
    assert len(seen) == ROUNDS
    assert seen[0]() is not connections[alias()]
    assert alive() == 0
