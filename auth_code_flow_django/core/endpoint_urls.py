"""Endpoint URLs: the one place that turns ``base_uri`` and an endpoint path into the
URL a request goes to. The system checks call the same functions, so a URL that passes
the checks is the URL the requests use. Nothing here imports Django.

The rules: an endpoint is an absolute ``https://`` URL (``http://`` on loopback only),
or a path starting with a single ``/`` joined to ``base_uri`` (so it stays on
``base_uri``'s host); no user information (``@``) before a host, no backslash,
whitespace or control character, no fragment.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import SplitResult, urlsplit, urlunsplit

from .errors import EndpointURLError, EndpointURLProblem

__all__ = [
    "IPAddress",
    "absolute_url",
    "check_base_uri",
    "endpoint_url",
    "host_matches",
    "ip_literal",
    "is_host_pattern",
    "is_loopback",
    "normalised",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# C0 and C1 controls, any whitespace, and the backslash some parsers read as "/".
_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f-\x9f\s\\]")
# A host name as every parser reads it alike: ASCII labels (an international name in
# its xn-- form), or an IP address.
_LABEL = r"[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?"
_HOST_NAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*\.?")


def normalised(address: IPAddress) -> IPAddress:
    """``address``, or the IPv4 address an IPv4-mapped IPv6 address (``::ffff:a.b.c.d``)
    reaches."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def ip_literal(host: str) -> IPAddress | None:
    """The address ``host`` spells, however it is written; ``None`` for a name.

    Resolvers read an IPv4 address as ``inet_aton`` does, so ``127.1``,
    ``2130706433``, ``0x7f000001`` and ``0177.0.0.1`` are all ``127.0.0.1`` (which
    :mod:`ipaddress` alone does not accept); an IPv4-mapped IPv6 address is the IPv4
    address it reaches.
    """
    text = host.strip("[]")
    try:
        return normalised(ipaddress.ip_address(text))
    except ValueError:
        pass
    if not text or _FORBIDDEN.search(text):
        return None  # inet_aton stops at whitespace: "127.0.0.1 x" is not an address
    try:
        return ipaddress.IPv4Address(socket.inet_aton(text))
    except OSError:
        return None


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine (``localhost``, ``127.0.0.0/8``, ``::1``),
    however the address is spelt."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    address = ip_literal(host)
    return address is not None and address.is_loopback


def _is_ip_literal(parts: SplitResult) -> bool:
    host = parts.hostname or ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    # An IPv6 address only in brackets, and without a zone (%...): parsers differ on it.
    return address.version == 4 or ("%" not in host and f"[{host}]" in parts.netloc)


def _refuse(setting: str, problem: EndpointURLProblem, what: str) -> EndpointURLError:
    return EndpointURLError(f"{setting} {what}", setting=setting, problem=problem)


def _text(value: object, setting: str) -> str:
    if value is None or value == "":
        raise _refuse(setting, "missing", "is not set.")
    if not isinstance(value, str):
        raise _refuse(setting, "not_absolute", "is not a string.")
    if _FORBIDDEN.search(value):
        raise _refuse(
            setting, "unsafe", "contains whitespace, a backslash or a control character."
        )
    if "#" in value:
        raise _refuse(setting, "unsafe", "has a fragment (#).")
    return value


def _split_absolute(url: str, setting: str) -> SplitResult:
    try:
        parts = urlsplit(url)
        valid = parts.port != 0  # .port raises ValueError for a port that is not a number
    except ValueError:
        valid = False
    if not valid:
        raise _refuse(setting, "unsafe", "is not a valid URL.")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _refuse(setting, "not_absolute", "is not an absolute http(s) URL.")
    if "@" in parts.netloc:
        raise _refuse(setting, "unsafe", "has user information (@) before its host.")
    if not _HOST_NAME.fullmatch(parts.hostname) and not _is_ip_literal(parts):
        raise _refuse(
            setting,
            "unsafe",
            "has a host that is not a plain host name or IP address (write an "
            "international name in its xn-- form).",
        )
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise _refuse(setting, "insecure", "uses http:// on a host that is not loopback.")
    return parts


def absolute_url(url: object, setting: str = "the endpoint URL") -> str:
    """``url`` if it is a usable absolute endpoint URL, else :class:`EndpointURLError`."""
    text = _text(url, setting)
    _split_absolute(text, setting)
    return text


def check_base_uri(base_uri: object) -> SplitResult:
    """The parts of ``base_uri`` if relative endpoint paths may be joined to it."""
    parts = _split_absolute(_text(base_uri, "base_uri"), "base_uri")
    if parts.query:
        raise _refuse("base_uri", "unsafe", "has a query (?); endpoint paths are joined to it.")
    return parts


def is_host_pattern(value: object) -> bool:
    """Whether ``value`` is a host name (``api.zoom.us``) or a ``*.`` and a host name
    with at least two labels (``*.salesforce.com``)."""
    if not isinstance(value, str):
        return False
    value = value.lower()
    name = value[2:] if value.startswith("*.") else value
    return (
        bool(_HOST_NAME.fullmatch(name))
        and not name.endswith(".")
        and ("." in name or not value.startswith("*."))
    )


def host_matches(host: str, patterns: tuple[str, ...]) -> bool:
    """Whether ``host`` is one of ``patterns``: equal to a host name, or under the
    domain of a ``*.`` pattern at any depth (``*.salesforce.com`` matches
    ``acme.my.salesforce.com``, not ``salesforce.com`` or ``evilsalesforce.com``)."""
    host = host.lower().rstrip(".")
    for pattern in patterns:
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]):
                return True
        elif host == pattern:
            return True
    return False


def endpoint_url(base_uri: object, path: object, setting: str = "the endpoint path") -> str:
    """The URL of the endpoint at ``path``: an absolute URL, or a path starting with a
    single ``/`` on ``base_uri``'s host. Anything else raises :class:`EndpointURLError`
    (``setting`` names the setting ``path`` comes from)."""
    text = _text(path, setting)
    if not text.startswith("/"):
        if "://" in text:
            return absolute_url(text, setting)
        raise _refuse(
            setting,
            "unsafe",
            "must be an absolute https:// URL or a path starting with a single '/'.",
        )
    if text.startswith("//"):
        raise _refuse(setting, "unsafe", "starts with '//', which names another host.")
    if not base_uri:
        raise _refuse("base_uri", "missing", f"is not set, and {setting} is a relative path.")
    base = check_base_uri(base_uri)
    relative = urlsplit(text)
    # Built from base_uri's parts: the path can change the path and query, never the host.
    return urlunsplit(
        (base.scheme, base.netloc, base.path.rstrip("/") + relative.path, relative.query, "")
    )
