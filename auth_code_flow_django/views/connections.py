"""The user's connections: the list of providers, connected or not, and disconnecting
one."""

from __future__ import annotations

from typing import ClassVar

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View

from .. import tokens
from ..models import OAuthToken
from ..providers import get_providers
from .base import ProviderMixin, current_user, safe_next, unconfigured_provider


class ConnectionsView(LoginRequiredMixin, View):
    """The user's providers, connected or not, with connect/disconnect buttons."""

    template_name = "auth_code_flow_django/connections.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        user = current_user(request)
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


@method_decorator(transaction.non_atomic_requests, name="dispatch")
class DisconnectView(ProviderMixin, View):
    """POST only: revoke at the provider where supported, then delete. Not wrapped in
    ``ATOMIC_REQUESTS``: the removal commits before the provider is called."""

    http_method_names: ClassVar[list[str]] = ["post"]  # type: ignore[misc]
    allow_unconfigured = True

    def post(self, request: HttpRequest, provider: str) -> HttpResponse:
        removed = tokens.revoke(current_user(request), self.provider.slug)
        if removed:
            text = _("Disconnected from %(provider)s.")
        else:
            text = _("You were not connected to %(provider)s.")
        messages.info(request, text % {"provider": self.provider.name}, fail_silently=True)
        next_url = safe_next(request, request.POST.get("next"))
        return HttpResponseRedirect(next_url or reverse("auth_code_flow:connections"))
