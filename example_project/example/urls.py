from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import URLPattern, URLResolver, include, path
from oauth2_provider.urls import metadata_urlpatterns

from . import api, views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.home, name="home"),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    # The site's connected accounts.
    path("oauth/", include("auth_code_flow_django.urls")),
    # The demo authorization server and its one protected resource.
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    # RFC 8414 metadata where clients look for it: the issuer's path after the
    # well-known name (https://host/.well-known/oauth-authorization-server/o).
    path("", include((metadata_urlpatterns, "oauth2_metadata"))),
    path("api/me/", api.ApiMeView.as_view(), name="api-me"),
]
