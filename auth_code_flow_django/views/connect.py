"""The flow's views: ``AuthorizeView`` sends the user to the provider, ``CallbackView``
checks the reply, exchanges the code and stores the token."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import SuspiciousOperation
from django.db import DatabaseError, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_variables

from .. import tokens
from ..conf import conf
from ..core.oidc_id_tokens import make_nonce
from ..core.rfc9449_dpop import DPoPKey
from ..exceptions import (
    AccessDeniedError,
    AuthorizationError,
    BaseAuthCodeFlowError,
    ImproperlyConfigured,
    IssuerMismatchError,
    StateAlreadyUsedError,
    clean_error_code,
    clean_provider_text,
)
from ..models import OAuthState, OAuthToken, state_digest
from ..providers import Provider
from .base import ProviderMixin, current_user, logger, safe_next

#: Callback parameters that must appear at most once (RFC 6749 3.1).
SINGLE_PARAMS = ("state", "code", "error", "error_description", "error_uri", "iss")
MAX_CODE_LENGTH = 4096


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
            current_user(request),
            provider.slug,
            redirect_uri,
            next_url,
            nonce=nonce,
            dpop_key=dpop_key,
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
        user = current_user(request)
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
        user = current_user(self.request)
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
