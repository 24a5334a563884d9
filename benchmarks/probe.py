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
