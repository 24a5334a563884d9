"""The demo authorization server's one protected resource."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from oauth2_provider.views.generic import ProtectedResourceView


class ApiMeView(ProtectedResourceView):  # type: ignore[misc]
    """Who the bearer token belongs to."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        owner = request.resource_owner  # type: ignore[attr-defined]
        return JsonResponse({"username": owner.get_username(), "provider": "demo"})
