"""The one bounded HTTP client that every request to a provider goes through.

A request here has a total deadline, a cap on the size of the reply, follows no
redirect and takes no credentials from the environment (``~/.netrc``); proxies and a
CA bundle from the environment still apply. Nothing here imports Django.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

import requests

from .exceptions import AuthCodeFlowError

__all__ = ["environment_for", "new_session", "read_body", "send"]

logger = logging.getLogger("auth_code_flow_django.provider_http")

CHUNK_BYTES = 8192


def new_session() -> requests.Session:
    """A session that takes nothing from the environment by itself.

    ``trust_env`` would attach ``~/.netrc`` credentials to a token request that has no
    ``Authorization`` header of its own (``client_secret_post``), sending them to the
    provider; proxies and a CA bundle from the environment are applied per request
    instead (see :func:`environment_for`).
    """
    session = requests.Session()
    session.trust_env = False
    return session


def environment_for(url: str) -> dict[str, Any]:
    """The proxies and CA bundle the environment gives for ``url``."""
    return {
        "proxies": requests.utils.get_environ_proxies(url),
        "verify": os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True,
    }


def read_body(response: requests.Response, deadline: float, max_bytes: int) -> None:
    """Read the whole reply into ``response.content``, within ``deadline`` and ``max_bytes``."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        response.close()
        raise AuthCodeFlowError("The provider's reply is too large.", response=response)
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_content(chunk_size=CHUNK_BYTES):
            size += len(chunk)
            if size > max_bytes:
                raise AuthCodeFlowError("The provider's reply is too large.", response=response)
            if time.monotonic() > deadline:
                raise AuthCodeFlowError("The provider did not answer in time.", response=response)
            chunks.append(chunk)
    except requests.RequestException as exc:
        raise AuthCodeFlowError("The provider's reply was cut off.") from exc
    finally:
        response.close()
    response._content = b"".join(chunks)


def send(
    session: requests.Session,
    method: str,
    url: str,
    *,
    timeout: float,
    connect_timeout: float,
    max_bytes: int,
    data: dict[str, str] | None = None,
    json: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    environment: dict[str, Any] | None = None,
) -> requests.Response:
    """Send one request and read its whole reply, or raise :class:`AuthCodeFlowError`.

    Never retries and never follows a redirect (the caller sees the 3xx).
    """
    deadline = time.monotonic() + timeout
    try:
        response = session.request(
            method,
            url,
            data=data,
            json=json,
            headers=headers,
            timeout=(min(connect_timeout, timeout), timeout),
            allow_redirects=False,
            stream=True,
            **(environment if environment is not None else environment_for(url)),
        )
    except requests.Timeout as exc:
        raise AuthCodeFlowError("The provider did not answer in time.") from exc
    except requests.RequestException as exc:
        raise AuthCodeFlowError("The provider could not be reached.") from exc
    read_body(response, deadline, max_bytes)
    return response
