"""The views: connections list, authorize, callback, disconnect.

Views parse the request, call one function that does the work, and render. Every
failure renders ``auth_code_flow_django/error.html`` with a 4xx status (bad request,
state problems, cancelled) or 502 (the provider failed), and stores nothing.

``connect`` holds the flow's views (authorize, callback), ``connections`` the
connections list and disconnect, ``jwks`` the client's public keys, ``base``
what they share (the provider argument, the error page, safe ``next`` URLs).
"""

from __future__ import annotations

from .base import (
    MAX_NEXT_LENGTH,
    ProviderMixin,
    safe_next,
    status_for,
    unconfigured_provider,
)
from .connect import MAX_CODE_LENGTH, SINGLE_PARAMS, AuthorizeView, CallbackView
from .connections import ConnectionsView, DisconnectView
from .jwks import ClientJWKSView

__all__ = [
    "MAX_CODE_LENGTH",
    "MAX_NEXT_LENGTH",
    "SINGLE_PARAMS",
    "AuthorizeView",
    "CallbackView",
    "ClientJWKSView",
    "ConnectionsView",
    "DisconnectView",
    "ProviderMixin",
    "safe_next",
    "status_for",
    "unconfigured_provider",
]
