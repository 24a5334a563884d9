"""The public JWK Set of a provider's client keys (``private_key_jwt``)."""

from __future__ import annotations

from typing import ClassVar

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views import View

from ..exceptions import ImproperlyConfigured
from ..providers import UnknownProviderError, get_provider
from .base import logger


class ClientJWKSView(View):
    """The public JWK Set of a provider's ``client_private_key`` (and of the previous
    keys published while rolling), for the server to check this client's assertions
    (``private_key_jwt``): register this URL as the client's ``jwks_uri``. Public, like
    any JWK Set; a provider without a key is a 404."""

    http_method_names: ClassVar[list[str]] = ["get", "head"]  # type: ignore[misc]
    #: How long servers and caches may keep the set: short, so a rolled key is seen soon.
    max_age = 300

    def get(self, request: HttpRequest, provider: str) -> HttpResponse:
        try:
            jwks = get_provider(provider).client_jwks()
        except UnknownProviderError:
            jwks = None
        except ImproperlyConfigured:
            # A bad key: the system checks name it; nothing of it is shown here.
            logger.error("the client key of %s cannot be published", provider)
            jwks = None
        if jwks is None:
            raise Http404(_("Unknown provider."))
        response = JsonResponse(jwks)
        response["Cache-Control"] = f"public, max-age={self.max_age}"
        return response
