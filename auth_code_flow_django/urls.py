from __future__ import annotations

from django.urls import path

from . import views

app_name = "auth_code_flow"

urlpatterns = [
    path("", views.ConnectionsView.as_view(), name="connections"),
    path("<slug:provider>/authorize/", views.AuthorizeView.as_view(), name="authorize"),
    path("<slug:provider>/callback/", views.CallbackView.as_view(), name="callback"),
    path("<slug:provider>/disconnect/", views.DisconnectView.as_view(), name="disconnect"),
    path("<slug:provider>/jwks.json", views.ClientJWKSView.as_view(), name="jwks"),
]
