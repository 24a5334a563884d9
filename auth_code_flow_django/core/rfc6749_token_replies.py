"""Token endpoint replies: decoding, error replies and validation (RFC 6749 5.1, 5.2).

Every value kept from a reply is checked here, once, so nothing a database would refuse
(a NUL, a lone surrogate) is ever stored. Nothing here imports Django.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl

import requests

from .endpoint_urls import check_base_uri, host_matches
from .errors import (
    AuthCodeFlowError,
    EndpointURLError,
    InvalidGrantError,
    InvalidTokenResponseError,
    clean_error_code,
    clean_provider_text,
)
from .stored_values import check_storable, kept_fields

__all__ = [
    "MAX_EXPIRES_IN",
    "MAX_JSON_DEPTH",
    "TokenResponse",
    "decode_body",
    "granted_scope",
    "json_too_deep",
    "nested_token_reply",
    "parse_expires_in",
    "raise_for_error",
    "token_response_from",
]

logger = logging.getLogger("auth_code_flow_django.core.rfc6749_token_replies")

# Ten years: a longer lifetime is nonsense and would overflow some date arithmetic.
MAX_EXPIRES_IN = 10 * 365 * 24 * 3600
_DIGITS = re.compile(r"[0-9]{1,12}")
#: Deepest JSON nesting accepted: a token reply is flat, and deeper input makes the
#: parser (and anything that walks the result) run out of stack.
MAX_JSON_DEPTH = 32
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_JSON_BRACKET = re.compile(r"[\[\]{}]")
_KNOWN_FIELDS = frozenset({"access_token", "refresh_token", "token_type", "scope"})
#: The fields of one token in a reply (RFC 6749 5.1).
_TOKEN_FIELDS = _KNOWN_FIELDS | {"expires_in"}


@dataclass(frozen=True)
class TokenResponse:
    """A validated token endpoint reply (RFC 6749 5.1).

    ``scope`` is the granted scope: the one the provider returned, or the requested one
    when the reply omits it (RFC 6749 5.1). ``extras`` holds the other fields (the raw
    ``id_token`` among them).
    ``repr()`` never shows a token.
    """

    access_token: str = field(repr=False)
    token_type: str = "Bearer"
    expires_in: int | None = None
    expires_at: datetime | None = None
    refresh_token: str | None = field(default=None, repr=False)
    scope: str | None = None
    extras: Mapping[str, Any] = field(default_factory=dict, repr=False)
    #: The other fields kept with the connection (see
    #: :func:`~auth_code_flow_django.core.stored_values.kept_fields`): no
    #: credential among them.
    fields: Mapping[str, Any] = field(default_factory=dict, repr=False)
    #: The validated claims of the OpenID Connect ``id_token`` (when ``openid`` was
    #: requested); ``repr()`` shows their names only.
    id_token_claims: Mapping[str, Any] | None = field(default=None, repr=False)

    @property
    def has_refresh_token(self) -> bool:
        return bool(self.refresh_token)

    def __repr__(self) -> str:
        return (
            f"TokenResponse(token_type={self.token_type!r}, expires_in={self.expires_in!r}, "
            f"expires_at={self.expires_at!r}, scope={self.scope!r}, "
            f"has_refresh_token={self.has_refresh_token!r}"
            + (
                ""
                if self.id_token_claims is None
                else f", id_token_claims={sorted(map(str, self.id_token_claims))!r}"
            )
            + ")"
        )


def parse_expires_in(value: object) -> int | None:
    """A usable lifetime in seconds, or ``None`` for absent or nonsense values."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        value = int(value)
    elif isinstance(value, str):
        if not _DIGITS.fullmatch(value.strip()):
            return None
        value = int(value.strip())
    if not isinstance(value, int) or value <= 0 or value > MAX_EXPIRES_IN:
        return None
    return value


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise InvalidTokenResponseError("The provider's reply repeats a field.")
        result[key] = value
    return result


def json_too_deep(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether the JSON ``text`` nests arrays and objects more than ``limit`` deep."""
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    for bracket in _JSON_BRACKET.findall(_JSON_STRING.sub('""', text)):
        depth += 1 if bracket in "[{" else -1
        if depth > limit:
            return True
    return False


def decode_body(response: requests.Response) -> dict[str, Any] | None:
    """The reply as a mapping (JSON object or form-encoded), or ``None`` if it is neither.

    A JSON value that is not an object or nests more than :data:`MAX_JSON_DEPTH`
    deep, or any repeated field, is an :class:`InvalidTokenResponseError`.
    """
    try:
        text = response.content.decode("utf-8")
    except UnicodeDecodeError:
        return None
    stripped = text.strip()
    content_type = response.headers.get("Content-Type", "").lower()
    if "json" in content_type or stripped.startswith(("{", "[")):
        if json_too_deep(stripped):
            raise InvalidTokenResponseError(
                "The provider's reply is nested too deeply.", response=response
            )
        try:
            value = json.loads(stripped, object_pairs_hook=_reject_duplicate_keys)
        except ValueError:
            return None
        if not isinstance(value, dict):
            raise InvalidTokenResponseError(
                "The provider's reply is JSON but not an object.", response=response
            )
        return value
    if "html" in content_type or stripped.startswith("<") or "=" not in stripped:
        return None
    try:
        pairs = parse_qsl(stripped, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        return None
    return _reject_duplicate_keys(pairs)


def raise_for_error(
    response: requests.Response,
    body: Mapping[str, Any] | None,
    error_class: type[AuthCodeFlowError],
    redact: Callable[[str], str],
    success_field: str | None = None,
    invalid_grant_errors: Collection[str] = (),
) -> None:
    """Raise ``error_class`` for a non-2xx reply or one that carries ``error`` (RFC 6749
    5.2); ``invalid_grant`` raises :class:`InvalidGrantError`. ``redact`` removes secrets
    from the provider's ``error_description``.

    With ``success_field`` (Slack's ``ok``), a 2xx reply must also carry that field set
    to ``true``: such providers answer every error with a 200. Codes in
    ``invalid_grant_errors`` mean ``invalid_grant`` (a provider's own name for it).
    """
    grant_gone = {"invalid_grant", *invalid_grant_errors}
    ok = 200 <= response.status_code < 300
    if ok and body is not None and success_field and body.get(success_field) is not True:
        code = clean_error_code(body.get("error"), "server_error")
        cls = InvalidGrantError if code in grant_gone else error_class
        raise cls(
            f"The provider answered {code} ({success_field} is not true).",
            error=code,
            response=response,
        )
    if ok and (body is None or "error" not in body):
        return
    if body is not None and "error" in body:
        code = clean_error_code(body.get("error"), "server_error")
        detail = redact(clean_provider_text(body.get("error_description")))
        message = f"The provider answered {code}" + (f": {detail}" if detail else ".")
        cls = InvalidGrantError if code in grant_gone else error_class
        raise cls(message, error=code, response=response)
    if 300 <= response.status_code < 400:
        raise error_class(
            f"The provider answered with a redirect (HTTP {response.status_code}), "
            "which is not followed.",
            response=response,
        )
    raise error_class(f"The provider answered HTTP {response.status_code}.", response=response)


def nested_token_reply(body: Mapping[str, Any], field: str | None) -> dict[str, Any]:
    """``body`` read for the token its ``field`` object holds, when it holds one (an
    ``access_token``): that object's token fields (RFC 6749 5.1) replace the top
    level's, and the object stays among the extras without them (its ``id`` still
    names the account). Slack puts a user token under ``authed_user`` and a bot token,
    if any, at the top level. A reply without such an object (a refresh reply, which
    Slack sends at the top level) is read as it is.
    """
    nested = body.get(field) if field else None
    if not isinstance(nested, Mapping) or "access_token" not in nested:
        return dict(body)
    assert field is not None
    outer = {k: v for k, v in body.items() if k not in _TOKEN_FIELDS and k != field}
    rest = {k: v for k, v in nested.items() if k not in _TOKEN_FIELDS}
    tokens = {k: v for k, v in nested.items() if k in _TOKEN_FIELDS}
    return {**outer, field: rest, **tokens}


def token_response_from(
    body: Mapping[str, Any],
    *,
    configured_scope: str | None = None,
    token_type_required: bool = True,
    expires_in_field: str = "expires_in",
    bearer_token_types: Collection[str] = ("bearer",),
    previous_refresh_token: str | None = None,
    previous_scope: str | None = None,
    now: datetime | None = None,
    response: requests.Response | None = None,
    api_base_url_field: str | None = None,
    api_base_url_hosts: tuple[str, ...] = (),
) -> TokenResponse:
    """Validate a decoded token reply into a :class:`TokenResponse`.

    ``api_base_url_field`` names a field holding the API's base URL for this grant
    (Salesforce's ``instance_url``): when the reply has it, it must be an https URL
    (http on loopback) that endpoint paths may be joined to, on a host one of
    ``api_base_url_hosts`` matches when there are any.

    ``previous_scope`` is the scope a reply without ``scope`` keeps (RFC 6749 6: a
    refresh does not change the scope); by default it is ``configured_scope``.
    ``bearer_token_types`` are the ``token_type`` values (lowercase) of tokens used as
    Bearer tokens (Slack says ``bot`` and ``user``); the result's ``token_type`` is
    ``Bearer`` for a Bearer token and the provider's own word, lowercased, for these.
    """
    access_token = body.get("access_token")
    if not isinstance(access_token, str) or not access_token.strip():
        raise InvalidTokenResponseError(
            "The provider's reply has no access token.", response=response
        )
    check_storable("access token", access_token, response)
    token_type = body.get("token_type")
    if token_type is None and not token_type_required:
        token_type = "Bearer"
    if not isinstance(token_type, str) or token_type.lower() not in {
        "bearer",
        *(t.lower() for t in bearer_token_types),
    }:
        shown = clean_provider_text(token_type, 40) or "none"
        raise InvalidTokenResponseError(
            f"The provider issued an unsupported token type ({shown}); only Bearer "
            "tokens are supported.",
            response=response,
        )
    token_type = "Bearer" if token_type.lower() == "bearer" else token_type.lower()
    expires_in = parse_expires_in(body.get(expires_in_field))
    now = now or datetime.now(timezone.utc)
    expires_at = None if expires_in is None else now + timedelta(seconds=expires_in)
    refresh_token = body.get("refresh_token")
    if refresh_token is None or refresh_token == "":
        refresh_token = previous_refresh_token
    elif not isinstance(refresh_token, str):
        raise InvalidTokenResponseError(
            "The provider's refresh token is not a string.", response=response
        )
    else:
        check_storable("refresh token", refresh_token, response)
    requested = previous_scope if previous_scope is not None else configured_scope
    scope = granted_scope(body.get("scope"), requested, response)
    extras = {k: v for k, v in body.items() if k not in _KNOWN_FIELDS and k != expires_in_field}
    if api_base_url_field and body.get(api_base_url_field) is not None:
        check_api_base_url(
            api_base_url_field, body[api_base_url_field], response, api_base_url_hosts
        )
    return TokenResponse(
        access_token=access_token,
        token_type=token_type,
        expires_in=expires_in,
        expires_at=expires_at,
        refresh_token=refresh_token,
        scope=scope,
        extras=extras,
        fields=kept_fields(extras),
    )


def check_api_base_url(
    name: str,
    value: object,
    response: requests.Response | None,
    hosts: tuple[str, ...] = (),
) -> None:
    """Refuse an API base URL a reply gives (``name``: its field) that bearer tokens
    must not be sent to: not https (http on loopback only), with user information, a
    query or a fragment, a host that is not a plain name or address, or, with
    ``hosts`` (patterns: see :func:`.endpoint_urls.host_matches`), a host none of them
    matches."""
    shown = clean_provider_text(name, 40)
    try:
        parts = check_base_uri(value)
    except EndpointURLError:
        raise InvalidTokenResponseError(
            f"The provider's {shown} is not a usable https URL.", response=response
        ) from None
    if hosts and not host_matches(parts.hostname or "", hosts):
        raise InvalidTokenResponseError(
            f"The provider's {shown} names a host outside api_base_url_hosts "
            f"({', '.join(hosts)}).",
            response=response,
        )


def granted_scope(
    value: object, requested: str | None, response: requests.Response | None
) -> str | None:
    """The scope a reply grants: its ``scope`` (a string or a list of strings), or
    ``requested`` when it has none."""
    if value is None:
        return requested
    if isinstance(value, list) and all(isinstance(s, str) for s in value):
        value = " ".join(value)
    if not isinstance(value, str):
        raise InvalidTokenResponseError(
            "The provider's granted scope is not a string.", response=response
        )
    check_storable("granted scope", value, response)
    if requested is not None and set(value.replace(",", " ").split()) != set(
        requested.replace(",", " ").split()
    ):
        logger.info("granted scope %r differs from requested %r", value, requested)
    return value
