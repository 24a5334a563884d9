"""The steps every provider test takes: configure a preset, walk the site's views as
its users do (authorize, the provider's callback, disconnect), make a stored token due
for a refresh, and read the requests the app sent (``responses`` records them: nothing
leaves the machine)."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.http import HttpResponse
from django.test import Client, TestCase
from django.utils import timezone

from auth_code_flow_django.models import OAuthToken

CODE = "documented-authorization-code"


def client_id(slug: str) -> str:
    return f"{slug}-client-id"


def client_secret(slug: str) -> str:
    return f"{slug}-client-secret-value"


def configure(settings: Any, slug: str, **config: Any) -> None:
    """``slug`` as the site's one provider, with its preset and test credentials."""
    settings.OAUTH_PROVIDERS = {
        slug: {
            "preset": slug,
            "client_id": client_id(slug),
            "client_secret": client_secret(slug),
            **config,
        }
    }


def authorize(client: Client, slug: str) -> tuple[str, dict[str, str]]:
    """POST the authorize view: the authorization endpoint it redirects to (without the
    query) and the query's parameters."""
    response = client.post(f"/oauth/{slug}/authorize/")
    assert response.status_code == 302, response.content
    parts = urlsplit(response["Location"])
    params = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    return f"{parts.scheme}://{parts.netloc}{parts.path}", params


def callback(client: Client, slug: str, params: dict[str, str], **extra: str) -> HttpResponse:
    """The provider sends the user back with a code for the authorization ``params``."""
    query = {"state": params["state"], "code": CODE, **extra}
    return client.get(f"/oauth/{slug}/callback/", query)  # type: ignore[return-value]


def connect(client: Client, slug: str, **extra: str) -> tuple[dict[str, str], HttpResponse]:
    """Authorize then come back: the authorization parameters and the callback's answer."""
    _endpoint, params = authorize(client, slug)
    return params, callback(client, slug, params, **extra)


def disconnect(client: Client, slug: str) -> HttpResponse:
    """POST the disconnect view; what it does once committed (revoking) is run."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(f"/oauth/{slug}/disconnect/")  # type: ignore[return-value]


def stored(user: Any, slug: str) -> OAuthToken:
    return OAuthToken.objects.get(user=user, provider=slug)


def expire(user: Any, slug: str) -> None:
    """The stored access token expired a second ago: its next use refreshes it."""
    OAuthToken.objects.filter(user=user, provider=slug).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )


def form(call: Any) -> dict[str, str]:
    """A recorded request's form-encoded body."""
    body = call.request.body
    text = body.decode() if isinstance(body, bytes) else str(body or "")
    return {k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()}


def json_body(call: Any) -> dict[str, Any]:
    """A recorded request's JSON body."""
    body = call.request.body
    value = json.loads(body.decode() if isinstance(body, bytes) else str(body))
    assert isinstance(value, dict)
    return value


def basic(slug: str) -> str:
    """The ``Authorization`` header of HTTP Basic client authentication for ``slug``."""
    pair = f"{client_id(slug)}:{client_secret(slug)}".encode()
    return "Basic " + base64.b64encode(pair).decode()
