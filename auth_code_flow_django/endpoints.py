"""Endpoint URLs: the one function that joins ``base_uri`` and an endpoint path, for
both the system checks and the requests. Nothing here imports Django."""

from __future__ import annotations

import ipaddress

from .exceptions import ImproperlyConfigured

__all__ = ["endpoint_url", "is_loopback"]


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
