"""Checks of the URLconf: the app's URLs are included, and ``LOGIN_URL`` leads to a
view."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning
from django.urls import NoReverseMatch, Resolver404, get_script_prefix, resolve, reverse

from .ids import check_id


def check_urls(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """E050: the app's URLs are not included; W003: ``LOGIN_URL`` leads to no view.

    A URLconf that cannot even be loaded is left to Django's own URL checks and to
    the error it raises: these checks only report what they can tell for sure.
    """
    if not getattr(settings, "ROOT_URLCONF", None):
        return []
    errors: list[CheckMessage] = []
    try:
        reverse("auth_code_flow:connections")
    except NoReverseMatch:
        urlconf = settings.ROOT_URLCONF
        where = f"urlpatterns in {urlconf}" if isinstance(urlconf, str) else "your urlpatterns"
        errors.append(
            Error(
                "The auth_code_flow URLs are not in the URLconf: "
                "reverse('auth_code_flow:connections') fails, the connections page is a "
                "404 and a redirect to it is a server error.",
                hint=f'Add path("oauth/", include("auth_code_flow_django.urls")) to {where} '
                "(include comes from django.urls).",
                id=check_id(50),
            )
        )
    except Exception:  # a URLconf that does not load: Django reports it
        return []
    login_url: object = getattr(settings, "LOGIN_URL", None)
    try:
        login_url_ok = _leads_to_a_view(login_url)
    except Exception:  # as above
        return errors
    if not login_url_ok:
        shown = f" ({login_url!r})" if isinstance(login_url, str) else ""
        errors.append(
            Warning(
                f"LOGIN_URL{shown} leads to no view: users who are not "
                "logged in are sent there by the connect pages and get a 404.",
                hint='Set LOGIN_URL to the name of your login view (e.g. "login") or a '
                'path your URLconf serves, e.g. path("accounts/", '
                'include("django.contrib.auth.urls")) serves /accounts/login/.',
                id="auth_code_flow_django.W003",
            )
        )
    return errors


def _leads_to_a_view(login_url: object) -> bool:
    """Whether ``login_url`` is what :func:`django.shortcuts.resolve_url` turns into a
    URL this site serves (a view name that reverses, or a path that resolves), or an
    absolute URL, which may well be another site's login page."""
    try:
        url = str(login_url) if login_url is not None else ""  # reverse_lazy() is fine
    except NoReverseMatch:
        return False
    if not url:
        return False
    try:
        reverse(url)
    except NoReverseMatch:
        pass
    else:
        return True
    parts = urlsplit(url)
    if parts.scheme or parts.netloc:
        return bool(parts.netloc)
    prefix = get_script_prefix()
    path = parts.path
    if path.startswith(prefix):
        path = "/" + path.removeprefix(prefix)
    try:
        resolve(path)
    except Resolver404:
        return False
    return True
