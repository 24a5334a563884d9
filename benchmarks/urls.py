from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import URLPattern, URLResolver, include, path


@login_required
def floor(request: HttpRequest) -> HttpResponseRedirect:
    """Nothing but an authenticated request: the framework's own cost."""
    return HttpResponseRedirect("/next/?state=floor")


urlpatterns: list[URLPattern | URLResolver] = [
    path("floor/", floor),
    path("oauth/", include("auth_code_flow_django.urls")),
]
if settings.PEERS:
    urlpatterns += [
        path("accounts/", include("allauth.urls")),
        path("social/", include("social_django.urls", namespace="social")),
    ]
