"""Steps the provider tests share: configure a preset, walk the views (authorize,
callback, disconnect), and make a stored token due for a refresh.

Each test module drives one preset against replies shaped as that provider's
documentation shows them; the replies live in the modules, beside the page they
follow.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import responses
from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpResponse
from django.test import Client
from django.utils import timezone

from auth_code_flow_django.models import OAuthToken

CLIENT_SECRET = "preset-client-secret-value"


def client_id(slug: str) -> str:
    return f"{slug}-client-id"


def configure(settings: Any, slug: str, **config: Any) -> None:
    """One provider, ``slug``, on its preset of the same name."""
    settings.OAUTH_PROVIDERS = {
        slug: {
            "preset": slug,
            "client_id": client_id(slug),
            "client_secret": CLIENT_SECRET,
            **config,
        }
    }


def authorize(client: Client, slug: str) -> tuple[str, dict[str, str]]:
    """POST the authorize view: the authorization endpoint it redirects to (without
    the query) and the query's parameters."""
    response = client.post(f"/oauth/{slug}/authorize/")
    assert response.status_code == 302, response.content
    parts = urlsplit(response["Location"])
    params = {k: v[0] for k, v in parse_qs(parts.query).items()}
    return f"{parts.scheme}://{parts.netloc}{parts.path}", params


def callback(client: Client, slug: str, params: dict[str, str], **extra: str) -> HttpResponse:
    """The provider's redirect back, with a code and the request's state."""
    query = {"state": params["state"], "code": "the-authorization-code", **extra}
    return client.get(f"/oauth/{slug}/callback/", query)  # type: ignore[return-value]


def form(call: responses.Call) -> dict[str, str]:
    """The form-encoded body of a request the app sent."""
    body = call.request.body
    text = body.decode() if isinstance(body, bytes) else str(body or "")
    return {k: v[0] for k, v in parse_qs(text).items()}


def stored(user: AbstractBaseUser, slug: str) -> OAuthToken:
    return OAuthToken.objects.get(user=user, provider=slug)


def make_due(user: AbstractBaseUser, slug: str) -> None:
    """The stored access token expired a second ago: its next use refreshes it."""
    OAuthToken.objects.filter(user=user, provider=slug).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )


def disconnect(client: Client, slug: str, capture: Any) -> HttpResponse:
    """POST the disconnect view, running what waits for the commit (revocation)."""
    with capture(execute=True):
        response = client.post(f"/oauth/{slug}/disconnect/")
    assert response.status_code == 302, response.content
    return response  # type: ignore[return-value]
