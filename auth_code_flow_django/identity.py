"""Who is connected: the provider account a token belongs to.

An account is read, with the same field paths, from the first source that names one:
the validated ``id_token`` claims, then the token reply itself (when the provider
declares no identity URL) or the reply of the identity request the provider declares
(``identity["url"]``, sent through the one bounded client). Nothing here imports
Django.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests

from .core import http_client
from .core.rfc6749_token_replies import decode_body
from .core.rfc9449_dpop import DPoPKey, send_with_proof
from .core.stored_values import is_storable
from .exceptions import AuthCodeFlowError, InvalidTokenResponseError

if TYPE_CHECKING:
    from .flow import AbstractBaseFlowManager

__all__ = [
    "DEFAULT_ID_FIELDS",
    "DEFAULT_NAME_FIELDS",
    "IDENTITY_KEYS",
    "MAX_ACCOUNT_ID_LENGTH",
    "MAX_ACCOUNT_NAME_LENGTH",
    "Account",
    "account_from",
    "fetch_identity_document",
    "field_paths",
    "read_field",
]

logger = logging.getLogger("auth_code_flow_django.identity")

#: Keys an ``identity`` mapping may have.
IDENTITY_KEYS = frozenset({"url", "id", "name", "params", "token_param"})
#: OpenID Connect's stable subject, and the claims that name a person.
DEFAULT_ID_FIELDS = ("sub",)
DEFAULT_NAME_FIELDS = ("preferred_username", "email", "name")
MAX_ACCOUNT_ID_LENGTH = 255
MAX_ACCOUNT_NAME_LENGTH = 255


@dataclass(frozen=True)
class Account:
    """A provider account: a stable ``id`` and a display ``name`` (may be empty)."""

    id: str
    name: str = ""


def field_paths(value: object, default: Sequence[str]) -> tuple[str, ...]:
    """The field paths an ``identity`` ``id`` or ``name`` value gives: one path or a
    list of them, first match wins."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return tuple(default)


def read_field(document: object, path: str) -> object:
    """The value at a dotted ``path`` (``items.0.user_id``), or ``None``."""
    for part in path.split("."):
        if isinstance(document, Mapping):
            document = document.get(part)
        elif isinstance(document, list) and part.isdigit() and int(part) < len(document):
            document = document[int(part)]
        else:
            return None
    return document


def _text(value: object) -> str:
    if isinstance(value, bool):
        return ""
    if isinstance(value, int):
        return str(value)
    return value.strip() if isinstance(value, str) else ""


def account_from(
    document: Mapping[str, Any], id_fields: Sequence[str], name_fields: Sequence[str]
) -> Account | None:
    """The account ``document`` names, or ``None``.

    The id is the first of ``id_fields`` holding a non-empty string or integer; an id a
    database could not store (control characters, too long) names no account. The name
    is the first storable one of ``name_fields``, shortened if too long.
    """
    account_id = ""
    for path in id_fields:
        account_id = _text(read_field(document, path))
        if account_id:
            break
    if not account_id:
        return None
    if not is_storable(account_id, MAX_ACCOUNT_ID_LENGTH):
        logger.warning("the provider's account id has control characters or is too long")
        return None
    for path in name_fields:
        name = _text(read_field(document, path))
        if len(name) > MAX_ACCOUNT_NAME_LENGTH:
            name = name[: MAX_ACCOUNT_NAME_LENGTH - 1] + "\u2026"
        if name and is_storable(name, MAX_ACCOUNT_NAME_LENGTH):
            return Account(account_id, name)
    return Account(account_id)


def _with_query(url: str, params: Mapping[str, str]) -> str:
    scheme, netloc, path, query, _fragment = urlsplit(url)
    kept = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k not in params]
    return urlunsplit((scheme, netloc, path, urlencode([*kept, *params.items()]), ""))


def fetch_identity_document(
    manager: AbstractBaseFlowManager,
    access_token: str,
    url: str,
    *,
    params: Mapping[str, str] | None = None,
    token_param: str | None = None,
    dpop_key: DPoPKey | None = None,
) -> Mapping[str, Any]:
    """GET the identity document at ``url`` with ``access_token``, through the manager's
    bounded client (its deadline, size cap, no redirects).

    The token goes in the ``Authorization`` header, or, with ``token_param``, in that
    query parameter (for an API that takes it nowhere else; RFC 6750 2.3). Raises
    :class:`AuthCodeFlowError` for a failed request or a reply that is not a JSON
    object (``success_field`` applies, as for the token endpoint). A token bound to
    ``dpop_key`` goes as ``Authorization: DPoP`` with a proof (RFC 9449 7), and once more
    with the server's nonce when it asks for one.
    """
    query = dict(params or {})
    headers = manager.provider_headers()
    if dpop_key is not None:
        headers["Authorization"] = f"DPoP {access_token}"
    elif token_param:
        query[token_param] = access_token
    else:
        headers["Authorization"] = f"Bearer {access_token}"
    target = _with_query(url, query) if query else url

    def send(proof: dict[str, str], retry: bool) -> requests.Response:
        return http_client.send(
            manager.get_session(),
            "GET",
            target,
            headers={**headers, **proof},
            timeout=manager.timeout,
            connect_timeout=manager.connect_timeout,
            max_bytes=manager.max_response_bytes,
            environment=manager._environment(url),
        )

    if dpop_key is None:
        response = send({}, False)
    else:
        response = send_with_proof(
            dpop_key, manager.dpop_nonces, "GET", target, send, access_token=access_token
        )
    try:
        body = decode_body(response)
    except InvalidTokenResponseError as exc:
        raise AuthCodeFlowError("The provider's identity reply is not usable.") from exc
    manager._raise_for_error(response, body, AuthCodeFlowError, access_token)
    if body is None:
        raise AuthCodeFlowError("The provider's identity reply is not JSON.", response=response)
    return body


class _RedactQueryTokens(logging.Filter):
    """urllib3 logs each request's URL at DEBUG: hide a token sent in the query."""

    _TOKEN = re.compile(r"((?:access_)?token=)[^&\s\"]+")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                self._TOKEN.sub(r"\1[redacted]", a) if isinstance(a, str) else a
                for a in record.args
            )
        return True


def _install_log_filter() -> None:
    urllib3_logger = logging.getLogger("urllib3.connectionpool")
    if not any(isinstance(f, _RedactQueryTokens) for f in urllib3_logger.filters):
        urllib3_logger.addFilter(_RedactQueryTokens())


_install_log_filter()
