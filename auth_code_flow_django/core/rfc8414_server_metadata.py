"""Authorization server metadata: RFC 8414 and OpenID Connect Discovery 1.0.

Where the document of an issuer lives, fetching it through the one bounded HTTP
client, and checking it: the ``issuer`` it names is the configured one exactly, and
every endpoint obeys the rule of :func:`.endpoint_urls.absolute_url`. Nothing here imports
Django; the Django layer caches what this returns (:mod:`.discovery`).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

from . import http_client
from .endpoint_urls import absolute_url, ip_literal, is_loopback
from .errors import (
    AuthCodeFlowError,
    EndpointURLError,
    InvalidTokenResponseError,
    clean_provider_text,
)
from .oidc_id_tokens import TENANT_PLACEHOLDER
from .outbound_addresses import forbidden_kind
from .rfc6749_token_replies import decode_body

__all__ = [
    "DiscoveryError",
    "NotJSONError",
    "ServerMetadata",
    "fetch_json",
    "fetch_metadata",
    "metadata_from",
    "metadata_urls",
    "names_issuer",
]

logger = logging.getLogger("auth_code_flow_django.core.rfc8414_server_metadata")

#: Endpoints a document may name, in the order they are shown.
ENDPOINT_FIELDS = (
    "authorization_endpoint",
    "token_endpoint",
    "revocation_endpoint",
    "userinfo_endpoint",
    "jwks_uri",
    "pushed_authorization_request_endpoint",
)
LIST_FIELDS = (
    "code_challenge_methods_supported",
    "token_endpoint_auth_methods_supported",
    "id_token_signing_alg_values_supported",
    "response_types_supported",
    "scopes_supported",
    "dpop_signing_alg_values_supported",
)


class DiscoveryError(AuthCodeFlowError):
    """The server's metadata could not be fetched or is not acceptable."""

    default_description = "The provider's configuration could not be discovered."


class NotJSONError(AuthCodeFlowError):
    """A URL answered, but not 200 with a JSON object."""


@dataclasses.dataclass(frozen=True)
class ServerMetadata:
    """The checked values of a metadata document; lists absent from it are ``None``."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    source_url: str = ""
    revocation_endpoint: str | None = None
    userinfo_endpoint: str | None = None
    jwks_uri: str | None = None
    code_challenge_methods_supported: tuple[str, ...] | None = None
    token_endpoint_auth_methods_supported: tuple[str, ...] | None = None
    id_token_signing_alg_values_supported: tuple[str, ...] | None = None
    response_types_supported: tuple[str, ...] | None = None
    scopes_supported: tuple[str, ...] | None = None
    authorization_response_iss_parameter_supported: bool = False
    pushed_authorization_request_endpoint: str | None = None
    #: RFC 9126 5: the server accepts authorization requests only when pushed.
    require_pushed_authorization_requests: bool = False
    #: RFC 9449 5.1: the algorithms the server accepts for DPoP proofs.
    dpop_signing_alg_values_supported: tuple[str, ...] | None = None

    def endpoints(self) -> dict[str, str]:
        """The endpoints the document names, by field."""
        values = {name: getattr(self, name) for name in ENDPOINT_FIELDS}
        return {name: url for name, url in values.items() if url}

    def hosts_other_than_issuer(self) -> dict[str, str]:
        """Endpoints on another host than the issuer's (legitimate for some servers,
        e.g. Google's token endpoint, but worth showing), by field."""
        issuer_host = urlsplit(self.issuer).hostname
        return {
            name: host
            for name, url in self.endpoints().items()
            if (host := urlsplit(url).hostname) != issuer_host and host is not None
        }

    @property
    def supports_s256(self) -> bool | None:
        """Whether PKCE S256 is advertised; ``None`` when the document does not say."""
        methods = self.code_challenge_methods_supported
        return None if methods is None else "S256" in methods

    def as_document(self) -> dict[str, Any]:
        """A JSON-compatible form that :func:`metadata_from` reads back."""
        document: dict[str, Any] = {}
        for name, value in dataclasses.asdict(self).items():
            if name == "source_url" or value is None:
                continue
            document[name] = list(value) if isinstance(value, tuple) else value
        return document


def metadata_urls(issuer: str) -> list[str]:
    """Where the metadata of ``issuer`` may be, in the order tried: RFC 8414 3.1
    (``/.well-known/oauth-authorization-server`` inserted before the issuer's path),
    then OpenID Connect Discovery 4 (``/.well-known/openid-configuration`` appended)."""
    scheme, netloc, path, _query, _fragment = urlsplit(issuer)
    path = path.rstrip("/")
    rfc8414 = urlunsplit(
        (scheme, netloc, "/.well-known/oauth-authorization-server" + path, "", "")
    )
    openid = urlunsplit((scheme, netloc, path + "/.well-known/openid-configuration", "", ""))
    return [rfc8414, openid]


def names_issuer(named: object, issuer: str) -> bool:
    """Whether a document's ``issuer`` is the configured ``issuer``: the same string
    (RFC 8414 3.3), or its template for many tenants, where the configured issuer's
    tenant path segment reads ``{tenantid}`` (Microsoft Entra ID's ``common`` and
    ``organizations`` documents, whose ID tokens each name their own tenant)."""
    if named == issuer:
        return True
    if not isinstance(named, str) or named.count(TENANT_PLACEHOLDER) != 1:
        return False
    before, after = named.split(TENANT_PLACEHOLDER)
    if not (issuer.startswith(before) and issuer.endswith(after)):
        return False
    segment = issuer[len(before) : len(issuer) - len(after)]
    return bool(before.endswith("/") and segment) and not set(segment) & set("/?#{}")


def _problem(source: str, text: str) -> DiscoveryError:
    return DiscoveryError(f"The metadata at {source} {text}")


def _string_list(document: Mapping[str, Any], name: str, source: str) -> tuple[str, ...] | None:
    value = document.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _problem(source, f"has a {name} that is not a list of strings.")
    return tuple(value)


def _local_target(host: str) -> str | None:
    """What ``host`` is when it spells (in any form) an address no remote server's
    endpoint may have; private addresses are left to the connection's policy."""
    if is_loopback(host):
        return "this machine (loopback)"
    address = ip_literal(host)
    return None if address is None else forbidden_kind(address)


def metadata_from(document: Mapping[str, Any], issuer: str, source: str = "") -> ServerMetadata:
    """Check a decoded metadata document against the configured ``issuer``.

    Raises :class:`DiscoveryError` naming what is wrong: another issuer (RFC 8414 3.3,
    compared exactly), a missing endpoint, an endpoint that is not https outside
    loopback, carries credentials, or (while the issuer is not on loopback) names a
    loopback, link-local, unspecified, multicast or reserved address however spelt, a
    malformed list.
    """
    where = source or "the discovery URL"
    named = document.get("issuer")
    if not names_issuer(named, issuer):
        shown = clean_provider_text(named, 200) if isinstance(named, str) else "no issuer"
        raise _problem(
            where, f"names the issuer {shown!r}, not the configured {issuer!r}; refused."
        )
    values: dict[str, Any] = {"issuer": named, "source_url": source}
    issuer_is_local = is_loopback(urlsplit(issuer).hostname or "")
    for name in ENDPOINT_FIELDS:
        url = document.get(name)
        if url is None:
            continue
        try:
            values[name] = absolute_url(url, name)
        except EndpointURLError as exc:
            raise _problem(where, f"is refused: {exc.description}") from None
        # A remote server must not point this app's requests (with the client secret)
        # at services on this machine or beside it. This reads the URL, for a clear
        # error now; the connection applies the same rule to the resolved address.
        if not issuer_is_local:
            problem = _local_target(urlsplit(url).hostname or "")
            if problem:
                raise _problem(where, f"is refused: {name} points at {problem}.")
    for name in ("authorization_endpoint", "token_endpoint"):
        if name not in values:
            raise _problem(where, f"has no {name}.")
    for name in LIST_FIELDS:
        values[name] = _string_list(document, name, where)
    responses = values["response_types_supported"]
    if responses is not None and "code" not in responses:
        raise _problem(where, "does not offer the authorization code flow (response type code).")
    values["authorization_response_iss_parameter_supported"] = (
        document.get("authorization_response_iss_parameter_supported") is True
    )
    values["require_pushed_authorization_requests"] = (
        document.get("require_pushed_authorization_requests") is True
    )
    return ServerMetadata(**values)


def fetch_json(
    session: requests.Session,
    url: str,
    *,
    timeout: float,
    connect_timeout: float,
    max_bytes: int,
) -> dict[str, Any]:
    """GET ``url`` through the bounded client and return its JSON object.

    Raises :class:`AuthCodeFlowError` for a network failure or a reply that is too
    large or too slow, and :class:`NotJSONError` for a redirect, a non-200 status or a
    body that is not a JSON object.
    """
    response = http_client.send(
        session,
        "GET",
        url,
        headers={"Accept": "application/json"},
        timeout=timeout,
        connect_timeout=connect_timeout,
        max_bytes=max_bytes,
    )
    if response.status_code != 200:
        raise NotJSONError(f"{url} answered HTTP {response.status_code}.", response=response)
    try:
        body = decode_body(response)
    except InvalidTokenResponseError:
        body = None
    if body is None or not response.content.lstrip().startswith(b"{"):
        raise NotJSONError(f"{url} did not answer a JSON object.", response=response)
    return body


def fetch_metadata(
    session: requests.Session,
    issuer: str,
    *,
    timeout: float,
    connect_timeout: float,
    max_bytes: int,
) -> ServerMetadata:
    """Fetch and check the metadata of ``issuer`` from the first URL of
    :func:`metadata_urls` that answers a JSON object, within ``timeout`` seconds in
    all (the URLs tried share it).

    The next URL is tried when one answers an HTTP error, something other than JSON,
    or the document of another issuer (a server that ignores the path of RFC 8414's
    form): such a document is never used. A network failure, a timeout, an oversized
    reply, or a document of this issuer that fails a check is reported at once.
    """
    failures: list[str] = []
    mismatch: DiscoveryError | None = None
    deadline = time.monotonic() + timeout
    for url in metadata_urls(issuer):
        left = deadline - time.monotonic()
        if left <= 0:
            raise DiscoveryError(
                f"The metadata of {issuer} could not be fetched in time: {' '.join(failures)}"
            )
        try:
            document = fetch_json(
                session,
                url,
                timeout=left,
                connect_timeout=connect_timeout,
                max_bytes=max_bytes,
            )
        except NotJSONError as exc:
            failures.append(exc.description)
            continue
        except AuthCodeFlowError as exc:
            raise DiscoveryError(
                f"The metadata of {issuer} could not be fetched from {url}: {exc.description}",
                response=exc.response,
            ) from exc
        if not names_issuer(document.get("issuer"), issuer):
            mismatch = mismatch or _mismatch(document, issuer, url)
            failures.append(mismatch.description)
            continue
        metadata = metadata_from(document, issuer, url)
        other_hosts = metadata.hosts_other_than_issuer()
        if other_hosts:
            logger.info(
                "%s: endpoints on other hosts than the issuer's: %s",
                issuer,
                ", ".join(f"{name}={host}" for name, host in sorted(other_hosts.items())),
            )
        return metadata
    if mismatch is not None:
        raise mismatch
    raise DiscoveryError(f"No metadata found for the issuer {issuer}: {' '.join(failures)}")


def _mismatch(document: Mapping[str, Any], issuer: str, url: str) -> DiscoveryError:
    try:
        metadata_from(document, issuer, url)
    except DiscoveryError as exc:
        return exc
    raise AssertionError("a document of another issuer passed the checks")  # pragma: no cover
