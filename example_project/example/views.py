from __future__ import annotations

from typing import Any

import requests
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from oauth2_provider.views.generic import ProtectedResourceView

from auth_code_flow_django.exceptions import BaseAuthCodeFlowError
from auth_code_flow_django.models import OAuthToken
from auth_code_flow_django.tokens import authorized_session


def home(request: HttpRequest) -> HttpResponse:
    """The home page; when the demo provider is connected, call its API as the user."""
    profile: Any = None
    problem = ""
    user = request.user
    if (
        user.is_authenticated
        and OAuthToken.objects.filter(user_id=user.pk, provider="demo").exists()
    ):
        try:
            with authorized_session(user, "demo") as session:
                response = session.get(f"{settings.DEMO_PROVIDER_URL}/api/me/", timeout=5)
            response.raise_for_status()
            profile = response.json()
        except (BaseAuthCodeFlowError, requests.RequestException, ValueError) as exc:
            problem = str(exc)
    return render(request, "example/home.html", {"profile": profile, "problem": problem})


class ApiMeView(ProtectedResourceView):  # type: ignore[misc]
    """The demo provider's API: who the bearer token belongs to."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        owner = request.resource_owner  # type: ignore[attr-defined]
        return JsonResponse({"username": owner.get_username(), "provider": "demo"})
