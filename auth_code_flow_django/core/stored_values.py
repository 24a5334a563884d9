"""What is kept of a provider's reply: values a database can store, and the reply
fields kept beside a connection (never a credential). Nothing here imports Django.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Mapping
from typing import Any

import requests

from .errors import InvalidTokenResponseError

__all__ = ["MAX_STORED_LENGTH", "check_storable", "is_secret_field", "is_storable", "kept_fields"]

logger = logging.getLogger("auth_code_flow_django.core.stored_values")

# What no stored provider value may hold: C0/C1 controls (PostgreSQL refuses NUL in
# text; CR/LF would forge log lines) and lone surrogates (no database can encode them).
_UNSTORABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
MAX_STORED_LENGTH = 8192
#: Reply field names that name a credential (``id_token``, ``signing_secret``, a
#: ``code``, an ``api_key``, Slack's ``incoming_webhook`` whose URL lets anyone post):
#: never kept beside the connection, at any depth.
_SECRET_FIELD = re.compile(r"token|secret|code|password|key|webhook", re.IGNORECASE)


def is_storable(value: str, max_length: int = MAX_STORED_LENGTH) -> bool:
    """Whether a database may store ``value``: no control characters, no lone
    surrogates, at most ``max_length`` characters."""
    return len(value) <= max_length and not _UNSTORABLE.search(value)


def check_storable(name: str, value: str, response: requests.Response | None) -> None:
    """Refuse a value no database may store: control characters, lone surrogates, or
    more than :data:`MAX_STORED_LENGTH` characters."""
    if not is_storable(value):
        raise InvalidTokenResponseError(
            f"The provider's {name} has control characters or is too long.",
            response=response,
        )


def is_secret_field(name: str) -> bool:
    """Whether a reply field's name says it holds a credential (its name contains
    token, secret, code, password, key or webhook)."""
    return bool(_SECRET_FIELD.search(name))


def _kept_value(value: object) -> tuple[bool, object]:
    """Whether ``value`` may be kept, and what is kept of it: credentials are left out
    of mappings, unstorable strings and numbers are not kept."""
    if value is None or isinstance(value, bool):
        return True, value
    if isinstance(value, int):
        return abs(value) < 2**63, value
    if isinstance(value, float):
        return math.isfinite(value), value
    if isinstance(value, str):
        return is_storable(value), value
    if isinstance(value, Mapping):
        kept: dict[str, object] = {}
        for key, item in value.items():
            ok, kept_item = _kept_value(item)
            if ok and isinstance(key, str) and is_storable(key, 255) and not is_secret_field(key):
                kept[key] = kept_item
        return True, kept
    if isinstance(value, list):
        items = [_kept_value(item) for item in value]
        return True, [item for ok, item in items if ok]
    return False, None


def kept_fields(extras: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a token reply, beyond the token itself, to keep with the
    connection (Salesforce's ``instance_url``, Slack's ``team``, Notion's
    ``workspace_id``...).

    A field whose name says it holds a credential (see :func:`is_secret_field`) is left
    out, at any depth: ``id_token`` is validated when the grant arrives and not needed
    after, and the tokens themselves are stored encrypted on their own. So are values a
    database could not store. Fields are kept in order while their JSON stays within
    ``MAX_STORED_LENGTH`` (8192) characters; the rest are left out (logged by name).
    """
    _ok, kept = _kept_value(extras)
    assert isinstance(kept, dict)
    result: dict[str, Any] = {}
    size = 2
    left_out = []
    for key, value in kept.items():
        entry = len(json.dumps({key: value})) - 1
        if size + entry > MAX_STORED_LENGTH:
            left_out.append(key)
            continue
        result[key] = value
        size += entry
    if left_out:
        logger.warning("token reply fields too long to keep: %s", ", ".join(left_out))
    return result
