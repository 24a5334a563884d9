"""The example site's URLs, and ``/stampede/``: what the home page does with the demo
connection (``authorized_session(user, "demo")``, then ``GET /api/me/``), answered as
JSON with the worker's process id and the access token the API call sent, so that
``benchmarks/stampede.py`` can tell which worker served each caller and what it got.
The tokens are the counting provider's throwaway ones."""

from __future__ import annotations

import os

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.urls import URLPattern, URLResolver, include, path

from auth_code_flow_django.tokens import authorized_session


def stampede(request: HttpRequest) -> JsonResponse:
    pid = os.getpid()
    if not request.user.is_authenticated:
        return JsonResponse({"pid": pid, "error": "not logged in"}, status=403)
    try:
        with authorized_session(request.user, "demo") as session:
            response = session.get(f"{settings.DEMO_PROVIDER_URL}/api/me/", timeout=30)
    except Exception as exc:
        return JsonResponse({"pid": pid, "error": f"{type(exc).__name__}: {exc}"}, status=500)
    sent = str(response.request.headers.get("Authorization", "")).removeprefix("Bearer ")
    return JsonResponse(
        {"pid": pid, "api_status": response.status_code, "token": sent},
        status=200 if response.ok else 502,
    )


urlpatterns: list[URLPattern | URLResolver] = [
    path("stampede/", stampede),
    path("", include("example.urls")),
]
