"""The views: connections list, authorize, callback, disconnect.

Views parse the request, call one function that does the work, and render. Every
failure renders ``auth_code_flow_django/error.html`` with a 4xx status (bad request,
state problems, cancelled) or 502 (the provider failed), and stores nothing.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, ClassVar

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import SuspiciousOperation
from django.db import DatabaseError, transaction
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_variables

from . import tokens
from .conf import conf
from .core.oidc_id_tokens import make_nonce
from .core.rfc9449_dpop import DPoPKey
from .exceptions import (
    AccessDeniedError,
    AuthCodeFlowError,
    AuthorizationError,
    BaseAuthCodeFlowError,
    ImproperlyConfigured,
    IssuerMismatchError,
    StateAlreadyUsedError,
    clean_error_code,
    clean_provider_text,
)
from .models import OAuthState, OAuthToken, state_digest
from .providers import Provider, UnknownProviderError, get_provider, get_providers

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

logger = logging.getLogger("auth_code_flow_django.views")

#: Callback parameters that must appear at most once (RFC 6749 3.1).
SINGLE_PARAMS = ("state", "code", "error", "error_description", "error_uri", "iss")
MAX_CODE_LENGTH = 4096
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


def _user(request: HttpRequest) -> AbstractBaseUser:
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


class ConnectionsView(LoginRequiredMixin, View):
    """The user's providers, connected or not, with connect/disconnect buttons."""

    template_name = "auth_code_flow_django/connections.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        user = _user(request)
        stored = {t.provider: t for t in OAuthToken.objects.filter(user_id=user.pk)}
        providers = get_providers()
        rows = [
            {"provider": provider, "token": stored.get(slug), "configured": True}
            for slug, provider in providers.items()
        ]
        # Connections to providers removed from settings can still be removed.
        rows += [
            {"provider": unconfigured_provider(slug), "token": token, "configured": False}
            for slug, token in stored.items()
            if slug not in providers
        ]
        return render(request, self.template_name, {"connections": rows})


class AuthorizeView(ProviderMixin, View):
    """POST starts the flow (302 to the provider); GET shows a confirm page."""

    template_name = "auth_code_flow_django/authorize.html"

    def get_extra_authorize_params(self) -> dict[str, str]:
        """Extra query parameters for this authorization request (override me)."""
        return {}

    def get_redirect_uri(self) -> str:
        if self.provider.redirect_uri:
            return self.provider.redirect_uri
        path = reverse("auth_code_flow:callback", args=[self.provider.slug])
        return self.request.build_absolute_uri(path)

    def get(self, request: HttpRequest, provider: str) -> HttpResponse:
        next_url = safe_next(request, request.GET.get("next"))
        # HEAD must have no side effects: it gets the confirm page.
        if conf.AUTHORIZE_ON_GET and request.method == "GET":
            return self.start(request, next_url)
        return render(
            request, self.template_name, {"provider": self.provider, "next_url": next_url}
        )

    def post(self, request: HttpRequest, provider: str) -> HttpResponse:
        next_url = safe_next(request, request.POST.get("next") or request.GET.get("next"))
        return self.start(request, next_url)

    def start(self, request: HttpRequest, next_url: str) -> HttpResponse:
        try:
            # Discovery (at first use) and what the server's metadata forbids, before
            # anything is stored.
            provider = self.provider.resolved()
            problem = provider.connect_problem()
            if problem:
                raise ImproperlyConfigured(problem)
        except BaseAuthCodeFlowError as error:
            logger.error("cannot start connecting %s: %s", self.provider.slug, error)
            return self.render_error(request, error)
        redirect_uri = self.get_redirect_uri()
        nonce = make_nonce() if provider.requests_openid else None
        try:
            dpop_key = provider.new_dpop_key()
        except BaseAuthCodeFlowError as error:
            return self.render_error(request, error)
        oauth_state, state, verifier = OAuthState.objects.start(
            _user(request), provider.slug, redirect_uri, next_url, nonce=nonce, dpop_key=dpop_key
        )
        try:
            url = self.authorization_url(provider, state, verifier, redirect_uri, nonce, dpop_key)
        except BaseAuthCodeFlowError as error:  # a refused push, a URL the checks refuse
            oauth_state.delete()
            logger.error("cannot start connecting %s: %s", self.provider.slug, error)
            return self.render_error(request, error)
        return HttpResponseRedirect(url)

    def authorization_url(
        self,
        provider: Provider,
        state: str,
        verifier: str,
        redirect_uri: str,
        nonce: str | None,
        dpop_key: DPoPKey | None,
    ) -> str:
        """Where to send the user: the authorization request in the URL, or pushed
        first (RFC 9126) with only its ``request_uri`` in the URL."""
        options: dict[str, Any] = {
            "code_verifier": verifier,
            "redirect_uri": redirect_uri,
            "extra_params": self.get_extra_authorize_params(),
            "nonce": nonce,
        }
        manager = provider.flow_manager
        if provider.uses_par:
            return manager.push_authorization_request(state, dpop_key=dpop_key, **options)
        jkt = dpop_key.thumbprint if dpop_key is not None else None
        return manager.get_authorization_endpoint(state, dpop_jkt=jkt, **options)


@method_decorator(never_cache, name="dispatch")
@method_decorator(transaction.non_atomic_requests, name="dispatch")
class CallbackView(ProviderMixin, View):
    """The provider sends the user back here with ``code`` and ``state`` (or ``error``)."""

    # Not HEAD: link checkers and prefetchers must not spend the single-use code.
    http_method_names: ClassVar[list[str]] = ["get"]  # type: ignore[misc]

    def handle_no_permission(self) -> HttpResponseRedirect:
        # Never carry the code into a login URL's ``next``: start over from the list.
        return redirect_to_login(reverse("auth_code_flow:connections"))

    def get(self, request: HttpRequest, provider: str) -> HttpResponse:
        try:
            token, next_url = self.complete(request)
        except BaseAuthCodeFlowError as error:
            response = self.connection_failed(error)
        except DatabaseError:
            logger.exception("could not store the %s token", self.provider.slug)
            response = self.connection_failed(
                AuthorizationError(
                    _("The connection could not be saved. Please try again."),
                    error="temporarily_unavailable",
                )
            )
            response.status_code = 503
        else:
            response = self.connection_succeeded(token, next_url)
        # The callback URL carries the code: keep it out of Referer headers. A rendered
        # page says "same-origin" instead, because with "no-referrer" browsers send
        # "Origin: null" with the page's own POST forms (a logout button in a site's
        # base template) and Django's CSRF check rejects them.
        response["Referrer-Policy"] = (
            "no-referrer" if response.status_code == 302 else "same-origin"
        )
        return response

    def read_params(self, request: HttpRequest) -> dict[str, str]:
        try:
            query = request.GET
        except SuspiciousOperation:  # too many fields
            raise AuthorizationError(_("The reply has too many parameters.")) from None
        params: dict[str, str] = {}
        for name in SINGLE_PARAMS:
            values = query.getlist(name)
            if len(values) > 1:
                raise AuthorizationError(
                    _("The reply repeats the %(name)s parameter.") % {"name": name}
                )
            if values:
                params[name] = values[0]
        return params

    @method_decorator(sensitive_variables())
    def complete(self, request: HttpRequest) -> tuple[OAuthToken, str]:
        """Check, exchange and store; return the token and where to go next."""
        user = _user(request)
        params = self.read_params(request)
        oauth_state = OAuthState.objects.validate(params.get("state"), user, self.provider.slug)
        self.provider = self.provider.resolved()
        self.check_issuer(params.get("iss"))
        OAuthState.objects.consume(oauth_state)
        if "error" in params:
            raise self.authorization_error(params)
        code = params.get("code", "")
        if not code or len(code) > MAX_CODE_LENGTH:
            raise AuthorizationError(_("The reply carried no usable authorization code."))
        dpop_key = oauth_state.dpop_key
        result = self.provider.flow_manager.exchange_code(
            None,
            code,
            params["state"],
            check_state=False,
            code_verifier=oauth_state.code_verifier,
            redirect_uri=oauth_state.redirect_uri,
            nonce=oauth_state.nonce,
            dpop_key=dpop_key,
        )
        token = tokens.connect(user, self.provider, result, dpop_key=dpop_key)
        logger.info("connected %s for user %s", self.provider.slug, user.pk)
        return token, safe_next(request, oauth_state.next_url)

    def check_issuer(self, iss: str | None) -> None:
        """RFC 9207: ``iss`` must be there when the provider requires it (its metadata
        advertises it, or its settings say so), and match the issuer whenever present."""
        expected = self.provider.issuer
        if self.provider.requires_iss and (not expected or iss is None):
            raise IssuerMismatchError()
        if iss is not None and expected and not self.provider.is_issuer(iss):
            raise IssuerMismatchError()

    def authorization_error(self, params: dict[str, str]) -> AuthorizationError:
        code = clean_error_code(params.get("error"), "invalid_request")
        detail = clean_provider_text(params.get("error_description"))
        if code == "access_denied":
            return AccessDeniedError(
                _("You cancelled the connection to %(provider)s. Nothing was changed.")
                % {"provider": self.provider.name},
                error=code,
            )
        message = _("%(provider)s refused the request (%(code)s).") % {
            "provider": self.provider.name,
            "code": code,
        }
        return AuthorizationError(f"{message} {detail}".strip(), error=code)

    def connection_succeeded(self, token: OAuthToken, next_url: str) -> HttpResponse:
        """Hook: the token is stored. Default: redirect to ``next`` or the success URL."""
        messages.success(
            self.request,
            _("Connected to %(provider)s.") % {"provider": self.provider.name},
            fail_silently=True,
        )
        return HttpResponseRedirect(
            next_url or conf.SUCCESS_URL or reverse("auth_code_flow:connections")
        )

    def connection_failed(self, error: BaseAuthCodeFlowError) -> HttpResponse:
        """Hook: the flow failed; nothing was stored. Default: the error page, except
        for a reload of the callback that connected the user (see ``reloaded``)."""
        if isinstance(error, StateAlreadyUsedError) and (reloaded := self.reloaded()):
            return reloaded
        logger.warning(
            "connecting %s failed: %s (%s)", self.provider.slug, type(error).__name__, error.error
        )
        return self.render_error(self.request, error)

    def reloaded(self) -> HttpResponse | None:
        """The callback URL loaded again after its state connected the user (a reload,
        the back button): go where that connection went, with an info message. Nothing
        is exchanged or changed. ``None`` when the user is not connected since then."""
        user = _user(self.request)
        used = OAuthState.objects.filter(
            state_digest=state_digest(self.request.GET.get("state", "")),
            user_id=user.pk,
            provider=self.provider.slug,
            used_at__isnull=False,
        ).first()
        if used is None or not (
            OAuthToken.objects.filter(
                user_id=user.pk,
                provider=self.provider.slug,
                needs_reauthorization=False,
                updated_at__gte=used.used_at,
            ).exists()
        ):
            return None
        messages.info(
            self.request,
            _("You are connected to %(provider)s.") % {"provider": self.provider.name},
            fail_silently=True,
        )
        next_url = safe_next(self.request, used.next_url)
        return HttpResponseRedirect(
            next_url or conf.SUCCESS_URL or reverse("auth_code_flow:connections")
        )


@method_decorator(transaction.non_atomic_requests, name="dispatch")
class DisconnectView(ProviderMixin, View):
    """POST only: revoke at the provider where supported, then delete. Not wrapped in
    ``ATOMIC_REQUESTS``: the removal commits before the provider is called."""

    http_method_names: ClassVar[list[str]] = ["post"]  # type: ignore[misc]
    allow_unconfigured = True

    def post(self, request: HttpRequest, provider: str) -> HttpResponse:
        removed = tokens.revoke(_user(request), self.provider.slug)
        if removed:
            text = _("Disconnected from %(provider)s.")
        else:
            text = _("You were not connected to %(provider)s.")
        messages.info(request, text % {"provider": self.provider.name}, fail_silently=True)
        next_url = safe_next(request, request.POST.get("next"))
        return HttpResponseRedirect(next_url or reverse("auth_code_flow:connections"))


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
