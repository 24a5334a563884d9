"""What the views share: the ``provider`` URL argument, the error page and its status,
safe ``next`` URLs, the views' logger."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from ..exceptions import (
    AccessDeniedError,
    AuthCodeFlowError,
    BaseAuthCodeFlowError,
    ImproperlyConfigured,
)
from ..models import OAuthToken
from ..providers import Provider, UnknownProviderError, get_provider

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


# One logger for every view module, under the name logging settings know it by.
logger = logging.getLogger("auth_code_flow_django.views")

MAX_NEXT_LENGTH = 2048


def status_for(error: BaseAuthCodeFlowError) -> int:
    """The HTTP status of the error page for ``error``: never a 500."""
    if isinstance(error, AccessDeniedError):
        return 403
    if isinstance(error, AuthCodeFlowError):
        return 502
    if isinstance(error, ImproperlyConfigured):
        return 503
    # State problems, a refused authorization, an iss mismatch, a pending
    # authorization that the current keys cannot decrypt: start again.
    return 400


def safe_next(request: HttpRequest, value: object) -> str:
    """``value`` if it is a safe place on this site to go to, else ``""``."""
    if not isinstance(value, str) or not value or len(value) > MAX_NEXT_LENGTH:
        return ""
    if any(ch in value for ch in "\\\x00\r\n\t"):
        return ""
    allowed = url_has_allowed_host_and_scheme(
        value, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return value if allowed else ""


def current_user(request: HttpRequest) -> AbstractBaseUser:
    user = request.user
    assert user.is_authenticated
    return user


def unconfigured_provider(slug: str) -> Provider:
    """A stand-in for a provider removed from settings while connections to it remain."""
    return Provider(slug=slug, client_id="", display_name=slug)


class ProviderMixin(LoginRequiredMixin):
    """Resolve the ``provider`` URL argument; an unknown slug is a 404."""

    provider: Provider
    error_template_name = "auth_code_flow_django/error.html"
    #: Whether a provider no longer in settings is accepted when the user still has a
    #: connection to it (so it can be removed).
    allow_unconfigured = False

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        slug = kwargs["provider"]
        try:
            self.provider = get_provider(slug)
        except UnknownProviderError:
            user = request.user
            if not (
                self.allow_unconfigured
                and user.is_authenticated
                and OAuthToken.objects.filter(user_id=user.pk, provider=slug).exists()
            ):
                raise Http404(_("Unknown provider.")) from None
            self.provider = unconfigured_provider(slug)
        return super().dispatch(request, *args, **kwargs)

    def render_error(self, request: HttpRequest, error: BaseAuthCodeFlowError) -> HttpResponse:
        context = {
            "provider": self.provider,
            "error": error,
            "error_code": error.error,
            "description": error.description,
            "hint": self.error_hint(error),
            "cancelled": isinstance(error, AccessDeniedError),
            "connections_url": reverse("auth_code_flow:connections"),
        }
        return render(request, self.error_template_name, context, status=status_for(error))

    def error_hint(self, error: BaseAuthCodeFlowError) -> str:
        """What may explain ``error`` to whoever set the provider up, or ``""``."""
        response = error.response if isinstance(error, AuthCodeFlowError) else None
        if response is None or response.status_code < 500 or not self.provider.requests_openid:
            return ""
        try:
            token_endpoint = self.provider.flow_manager.get_access_token_endpoint()
        except BaseAuthCodeFlowError:
            return ""
        if response.url != token_endpoint:
            return ""
        # django-oauth-toolkit, for one, answers 500 when its application has no
        # signing algorithm: the failure says nothing of the cause.
        return _(
            "The scope asks for an OpenID Connect ID token: a server that cannot sign "
            "ID tokens for this client fails the token request this way. With "
            "django-oauth-toolkit, set the application's algorithm to \"RSA with SHA-2 "
            '256" (not "No OIDC support").'
        )
