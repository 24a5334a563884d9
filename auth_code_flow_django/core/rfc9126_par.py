"""Pushed authorization requests (RFC 9126).

The client POSTs the authorization request's parameters to the server, authenticated
like a token request, and sends the browser to the authorization endpoint with only
``client_id`` and the ``request_uri`` the server answered: the parameters never travel
through the browser, where they could be read or changed.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .errors import AuthCodeFlowError

__all__ = ["PushedAuthorizationError", "PushedRequest", "authorization_url", "pushed_request"]

MAX_REQUEST_URI_LENGTH = 2048
_CONTROL_OR_SPACE = re.compile(r"[\x00-\x20\x7f-\x9f]")


class PushedAuthorizationError(AuthCodeFlowError):
    """The pushed authorization request failed or was refused."""

    default_description = "The provider refused the pushed authorization request."


@dataclasses.dataclass(frozen=True)
class PushedRequest:
    """What the server answered (RFC 9126 2.2)."""

    request_uri: str
    expires_in: int


def pushed_request(body: Mapping[str, Any] | None) -> PushedRequest:
    """The ``request_uri`` and ``expires_in`` of a successful reply's decoded ``body``;
    anything else raises :class:`PushedAuthorizationError`."""
    if body is None:
        raise PushedAuthorizationError("The provider's pushed authorization reply is not JSON.")
    request_uri = body.get("request_uri")
    expires_in = body.get("expires_in")
    if (
        not isinstance(request_uri, str)
        or not request_uri
        or len(request_uri) > MAX_REQUEST_URI_LENGTH
        or _CONTROL_OR_SPACE.search(request_uri)
    ):
        raise PushedAuthorizationError(
            "The provider's pushed authorization reply has no usable request_uri."
        )
    if isinstance(expires_in, bool) or not isinstance(expires_in, int) or expires_in <= 0:
        raise PushedAuthorizationError(
            "The provider's pushed authorization reply has no usable expires_in."
        )
    return PushedRequest(request_uri=request_uri, expires_in=expires_in)


def authorization_url(authorization_endpoint: str, client_id: str, request_uri: str) -> str:
    """Where to send the browser: the authorization endpoint (keeping its own query)
    with only ``client_id`` and ``request_uri`` (RFC 9126 4)."""
    scheme, netloc, path, query, _fragment = urlsplit(authorization_endpoint)
    params = {"client_id": client_id, "request_uri": request_uri}
    kept = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k not in params]
    return urlunsplit((scheme, netloc, path, urlencode([*kept, *params.items()]), ""))
