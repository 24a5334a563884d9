"""Checks of a provider entry's URLs: its endpoints, issuer, ``api_base_urls`` and
identity URL, built with the functions the requests use."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from urllib.parse import urlsplit

from django.core.checks import CheckMessage, Error, Warning

from ..core.endpoint_urls import absolute_url, check_base_uri, endpoint_url, is_host_pattern
from ..exceptions import EndpointURLError, EndpointURLProblem
from .ids import check_id

#: The check id and hint for each reason an endpoint URL is refused.
_URL_PROBLEMS: Mapping[EndpointURLProblem, tuple[int, str]] = {
    "missing": (
        7,
        "Set base_uri to https://... and each endpoint to a path starting with '/', "
        "or give an absolute https:// URL.",
    ),
    "not_absolute": (
        7,
        "Set base_uri to https://... and each endpoint to a path starting with '/', "
        "or give an absolute https:// URL.",
    ),
    "insecure": (
        8,
        "Codes, secrets and tokens would cross the network in clear; use https:// "
        "(http is allowed on loopback hosts only: localhost, 127.0.0.1 and ::1).",
    ),
    "unsafe": (
        13,
        "An endpoint URL must not be able to send requests to another host: no user "
        "information (@), backslash, whitespace, control character or fragment (#), "
        "and a plain host name (xn-- for an international one) or IP address; a "
        "relative path starts with a single '/' and is joined to base_uri.",
    ),
}


def _usable_url(url: object, setting: str) -> bool:
    try:
        absolute_url(url, setting)
    except EndpointURLError:
        return False
    return True


def _resolved(base: object, url: object, setting: str) -> str | None:
    """``url`` (absolute, or relative to ``base``) as the requests build it, or ``None``."""
    try:
        return endpoint_url(base, url, setting)
    except EndpointURLError:
        return None


def _under_any(url: str, prefixes: Sequence[str]) -> bool:
    parts = urlsplit(url)
    for prefix in prefixes:
        allowed = urlsplit(prefix)
        path = allowed.path.rstrip("/")
        if (parts.scheme, parts.netloc) == (allowed.scheme, allowed.netloc) and (
            parts.path == path or parts.path.startswith(path + "/")
        ):
            return True
    return False


def check_api_base_urls(where: str, values: Mapping[str, object]) -> list[CheckMessage]:
    """E030 for ``api_base_urls`` (absolute, or relative to ``base_uri``), and E048 for
    an identity URL the token may not be sent to."""
    value = values.get("api_base_urls", ())
    base = values.get("base_uri")
    prefixes = (
        [_resolved(base, url, "api_base_urls") for url in value]
        if isinstance(value, (list, tuple))
        else [None]
    )
    usable = [prefix for prefix in prefixes if prefix is not None]
    if len(usable) == len(prefixes):
        identity = values.get("identity", {})
        url = identity.get("url") if isinstance(identity, Mapping) else None
        if not isinstance(url, str) or not url:
            return []  # no identity request, or E047
        resolved = _resolved(base, url, "identity url")
        if resolved is not None and _under_any(resolved, usable):
            return []
        return [
            Error(
                f"{where}: identity url is not under the provider's api_base_urls.",
                hint="The access token is sent only to https:// URLs under "
                "api_base_urls: add the identity URL's API prefix to them.",
                id=check_id(48),
            )
        ]
    return [
        Error(
            f"{where}: api_base_urls must be a list of https:// URL prefixes.",
            hint="authorized_session() sends the token only under these URLs, e.g. "
            '["https://api.github.com/"] (http is allowed on loopback hosts only).',
            id=check_id(30),
        )
    ]


def check_api_base_url_hosts(where: str, values: Mapping[str, object]) -> list[CheckMessage]:
    """E058 for ``api_base_url_hosts`` that are not host patterns, and W004 for an
    ``api_base_url_field`` whose hosts nothing limits."""
    hosts = values.get("api_base_url_hosts", ())
    if not isinstance(hosts, (list, tuple)) or not all(is_host_pattern(h) for h in hosts):
        return [
            Error(
                f"{where}: api_base_url_hosts must be a list of host names, each alone "
                "(api.zoom.us) or after '*.' for any host under that domain "
                "(*.salesforce.com).",
                hint="No scheme, port, path or other wildcard: these are the hosts the "
                "token reply's API base URL may name.",
                id=check_id(58),
            )
        ]
    field = values.get("api_base_url_field")
    if isinstance(field, str) and field and not hosts:
        return [
            Warning(
                f"{where}: api_base_url_field is set without api_base_url_hosts: the "
                "token is sent to any https host the token endpoint names.",
                hint='List the hosts the provider documents, e.g. "api_base_url_hosts": '
                '["*.salesforce.com"].',
                id="auth_code_flow_django.W004",
            )
        ]
    return []


def discovers(values: Mapping[str, object]) -> bool:
    """Whether the provider's metadata will fill the values its settings leave out."""
    return bool(values.get("issuer")) and values.get("discovery", True) is not False


def check_openid(where: str, values: Mapping[str, object]) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    issuer = values.get("issuer")
    if isinstance(issuer, str) and "?" in issuer:
        errors.append(
            Error(
                f"{where}: issuer must have no query.",
                hint="The issuer identifier is an https URL with at most a path "
                "(RFC 8414 2), e.g. https://idp.example/realms/main.",
                id=check_id(40),
            )
        )
    scope = values.get("scope", "")
    openid = isinstance(scope, str) and "openid" in scope.split()
    if openid and not (issuer and (values.get("jwks_uri") or discovers(values))):
        errors.append(
            Error(
                f"{where}: the scope asks for openid, but the ID token cannot be checked "
                "without the server's issuer and jwks_uri.",
                hint='Set "issuer" (its discovery document gives the jwks_uri), or both '
                '"issuer" and "jwks_uri" with "discovery": False.',
                id=check_id(41),
            )
        )
    return errors


def check_endpoints(where: str, values: Mapping[str, object]) -> list[CheckMessage]:
    """Build every endpoint URL with the functions the requests use; report each
    setting at fault once (an http:// ``base_uri`` on ``base_uri``, not on each path)."""
    problems: dict[str, EndpointURLError] = {}
    base = values.get("base_uri")
    attempts: list[Callable[[], object]] = []
    if base is not None and base != "":
        attempts.append(functools.partial(check_base_uri, base))
    paths = {
        "authorization_path": values.get("authorization_path", "/authorize"),
        "access_token_path": values.get("access_token_path", "/access_token"),
    }
    if discovers(values):
        # Discovery gives the endpoints the settings leave out (checked when fetched).
        paths = {setting: path for setting, path in paths.items() if setting in values}
    for setting in ("revocation_path", "pushed_authorization_request_endpoint"):
        if values.get(setting):
            paths[setting] = values[setting]
    for setting, path in paths.items():
        attempts.append(functools.partial(endpoint_url, base, path, setting))
    for setting in ("redirect_uri", "issuer", "jwks_uri", "userinfo_endpoint"):
        if values.get(setting):
            attempts.append(functools.partial(absolute_url, values[setting], setting))
    for attempt in attempts:
        try:
            attempt()
        except EndpointURLError as error:
            problems.setdefault(error.setting, error)
    errors: list[CheckMessage] = []
    for refusal in problems.values():
        number, hint = _URL_PROBLEMS[refusal.problem]
        errors.append(Error(f"{where}: {refusal.description}", hint=hint, id=check_id(number)))
    return errors
