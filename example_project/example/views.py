from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from auth_code_flow_django.exceptions import BaseAuthCodeFlowError
from auth_code_flow_django.models import OAuthToken
from auth_code_flow_django.tokens import authorized_session

#: The providers backed by the demo server, whose API the home page calls.
DEMO_PROVIDERS = ("demo", "demo-openid")


def home(request: HttpRequest) -> HttpResponse:
    """The home page; when a demo provider is connected ("demo" or "demo-openid"),
    call the demo server's API as the user through it."""
    profile: Any = None
    problem = ""
    user = request.user
    connected = (
        OAuthToken.objects.filter(user_id=user.pk, provider__in=DEMO_PROVIDERS)
        .order_by("provider")
        .values_list("provider", flat=True)
        .first()
        if user.is_authenticated
        else None
    )
    if user.is_authenticated and connected:
        try:
            with authorized_session(user, connected) as session:
                response = session.get(f"{settings.DEMO_PROVIDER_URL}/api/me/", timeout=5)
            response.raise_for_status()
            profile = response.json()
        except (BaseAuthCodeFlowError, requests.RequestException, ValueError) as exc:
            problem = str(exc)
    return render(
        request,
        "example/home.html",
        {"connected": connected, "profile": profile, "problem": problem},
    )


class LoginView(auth_views.LoginView):
    """One login URL, two looks: the demo provider's host gets the provider's page."""

    def get_template_names(self) -> list[str]:
        if self.request.get_host() == urlsplit(settings.DEMO_PROVIDER_URL).netloc:
            return ["provider/login.html"]
        return ["registration/login.html"]
