"""Counters for the load benchmark (``benchmarks/load.py``), one line per event in the
file ``BENCH_PROBE_LOG`` (appended by every worker process; a short ``O_APPEND`` write
is atomic, so concurrent workers never mix their lines).

- :class:`ProbeConfig`, an app for the site: one line per ``token_obtained``,
  ``token_refreshed`` and ``token_revoked`` signal.
- :class:`WellKnownCounter`, a middleware for the demo server: one line per request
  for a discovery document or a JWK Set (any ``.well-known`` path), with its status:
  how often the site's workers fetched them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from django.apps import AppConfig
from django.http import HttpRequest, HttpResponse


def record(*fields: object) -> None:
    path = os.environ.get("BENCH_PROBE_LOG")
    if not path:
        return
    line = (" ".join(str(field) for field in fields) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


class ProbeConfig(AppConfig):
    name = "benchmarks"
    label = "benchmarks_probe"
    verbose_name = "Load benchmark probe"

    def ready(self) -> None:
        from auth_code_flow_django import signals

        for signal, name in (
            (signals.token_obtained, "token_obtained"),
            (signals.token_refreshed, "token_refreshed"),
            (signals.token_revoked, "token_revoked"),
        ):

            def receiver(*, provider: str, user: Any, name: str = name, **kwargs: Any) -> None:
                record("signal", name, provider, user.pk, os.getpid())

            signal.connect(receiver, weak=False, dispatch_uid=f"bench-probe-{name}")


class WellKnownCounter:
    """Count the requests for ``.well-known`` documents this server answers."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if ".well-known" in request.path:
            record("hit", request.path, response.status_code, os.getpid())
        return response


# --- views of the load site's own URLconf (``benchmarks/load_urls.py``) ----------------


def live_connection_objects() -> int:
    """Database connection objects (``DatabaseWrapper``) alive in this process after a
    full garbage collection: one per thread that touched the database, while the thread
    lives. A count that grows with requests served is a leak, whatever the memory
    allocator does with the pages."""
    import gc

    from django.db.backends.base.base import BaseDatabaseWrapper

    gc.collect()
    return sum(1 for item in gc.get_objects() if isinstance(item, BaseDatabaseWrapper))


def memory(request: HttpRequest) -> HttpResponse:
    """This worker's process id, live connection objects and threads, as JSON."""
    import threading

    from django.http import JsonResponse

    return JsonResponse(
        {
            "pid": os.getpid(),
            "connection_objects": live_connection_objects(),
            "threads": threading.active_count(),
        }
    )


def token_read(request: HttpRequest, provider: str) -> HttpResponse:
    """``get_access_token(request.user, provider)`` once: the read behind every API
    call, on its own. Answers the token's length, never the token."""
    from django.http import JsonResponse

    from auth_code_flow_django.exceptions import BaseAuthCodeFlowError
    from auth_code_flow_django.tokens import get_access_token

    if not request.user.is_authenticated:
        return JsonResponse({"error": "not logged in"}, status=403)
    try:
        length = len(get_access_token(request.user, provider))
    except BaseAuthCodeFlowError as exc:
        return JsonResponse({"error": type(exc).__name__}, status=409)
    return JsonResponse({"pid": os.getpid(), "length": length})
