"""Endpoint URLs: the one function that joins ``base_uri`` and an endpoint path, for
both the system checks and the requests. Nothing here imports Django."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from .exceptions import ImproperlyConfigured

__all__ = ["URL_PROBLEMS", "endpoint_url", "is_loopback", "url_problem"]


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine (``localhost``, ``127.0.0.0/8``, ``::1``)."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def endpoint_url(base_uri: str | None, path: str | None) -> str:
    """The URL of the endpoint at ``path``: absolute, or relative to ``base_uri``."""
    if path is None:
        raise ImproperlyConfigured("The endpoint has no path set.")
    if path.startswith(("https://", "http://")):
        return path
    base = base_uri or ""
    if base.endswith("/") and path.startswith("/"):
        base = base[:-1]
    return base + path


#: Why a URL cannot be a provider endpoint (see :func:`url_problem`).
URL_PROBLEMS = {
    "not_absolute": "is not an absolute http(s) URL",
    "not_https": "uses http:// on a host that is not loopback",
    "has_userinfo": "carries a user name or password",
}


def url_problem(url: object) -> str | None:
    """The key in :data:`URL_PROBLEMS` of what makes ``url`` unusable as an endpoint
    (absolute; https unless on loopback; no ``user:password@``), or ``None``."""
    if not isinstance(url, str):
        return "not_absolute"
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return "not_absolute"
    if parts.scheme not in ("http", "https") or not host:
        return "not_absolute"
    if parts.username is not None or parts.password is not None:
        return "has_userinfo"
    if parts.scheme == "http" and not is_loopback(host):
        return "not_https"
    return None
