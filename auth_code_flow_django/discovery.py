"""Discovery for the Django layer: server metadata and JWK Sets in Django's cache.

A provider configured by ``issuer`` is completed here, lazily, the first time a flow,
a refresh or a revocation needs it (never at import or by ``manage.py check``): its
metadata is fetched (:mod:`.core.rfc8414_server_metadata`), kept in the cache for
``AUTH_CODE_FLOW_DISCOVERY_CACHE_TTL`` seconds, and fills every value the settings
do not give. JWK Sets are cached the same way and fetched again once when an
``id_token`` names a key they lack.

A document missing from the cache is fetched by one caller at a time: the first adds a
lock entry to the cache (``cache.add``, atomic in Django's shared backends) and the
others wait for its result, so with a cache shared by every worker (Redis,
Memcached, the database) a cold cache costs the server one request, not one per
worker.

A failed fetch is remembered too, for ``AUTH_CODE_FLOW_DISCOVERY_RETRY_AFTER``
seconds: the error's code and description (what the error page shows; no response,
no header), so that while a provider is down or serves a bad document every caller
gets that error at once instead of sending its own request, and the waiters of the
failed fetch get it as soon as it is known. Then one caller tries again; a success
replaces the failure. Nothing stale or of another issuer is ever used instead.

Waiting and fetching together last about ``AUTH_CODE_FLOW_HTTP_TIMEOUT`` (a tenth
more, at most a second, for a waiter): a caller that takes the lock after waiting (the
holder stopped without an outcome) fetches within the time left, and one still waiting
at the end gives up with an error rather than start a fetch of its own (the holder
died: its lock entry expires about a second later, and the next caller fetches).
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import math
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from django.core.cache import cache

from .conf import conf
from .core.endpoint_urls import endpoint_url, ip_literal, is_loopback
from .core.http_client import new_session
from .core.outbound_addresses import AddressPolicy, IPNetwork, origin, private_network
from .core.rfc8414_server_metadata import (
    DiscoveryError,
    ServerMetadata,
    fetch_metadata,
    metadata_from,
)
from .exceptions import AuthCodeFlowError, EndpointURLError, ImproperlyConfigured

if TYPE_CHECKING:
    from .flow import ClientAuthMethod
    from .providers import Provider

__all__ = [
    "address_policy",
    "allowed_private_networks",
    "cached",
    "cached_jwks",
    "choose_auth_method",
    "discover",
    "resolve",
    "with_metadata",
]

logger = logging.getLogger("auth_code_flow_django.discovery")

#: Provider fields discovery may fill, and the metadata field each comes from.
DISCOVERED_FIELDS = {
    "authorization_path": "authorization_endpoint",
    "access_token_path": "token_endpoint",
    "revocation_path": "revocation_endpoint",
    "userinfo_endpoint": "userinfo_endpoint",
    "jwks_uri": "jwks_uri",
    "pushed_authorization_request_endpoint": "pushed_authorization_request_endpoint",
}
#: Client authentication methods this app implements, preferred first.
SECRET_AUTH_METHODS: tuple[ClientAuthMethod, ...] = ("client_secret_basic", "client_secret_post")

_resolved: dict[str, tuple[Provider, ServerMetadata, Provider]] = {}
_lock = threading.Lock()
_local = threading.local()


def _key(kind: str, url: str) -> str:
    return f"auth_code_flow_django:{kind}:" + hashlib.sha256(url.encode()).hexdigest()


def _session() -> Any:
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = new_session()
    return session


def _fetch_options(timeout: float) -> dict[str, Any]:
    return {
        "timeout": timeout,
        "connect_timeout": min(5.0, timeout),
        "max_bytes": int(conf.MAX_RESPONSE_BYTES),
    }


T = TypeVar("T")

#: Seconds between two looks at the cache while another caller fetches.
WAIT_INTERVAL = 0.02


def _failure_key(key: str) -> str:
    return f"{key}:failed"


def _remember_failure(key: str, error: AuthCodeFlowError) -> None:
    seconds = int(conf.DISCOVERY_RETRY_AFTER)
    if seconds <= 0:
        return
    # What the error page shows, nothing more: the messages of these errors name URLs
    # and statuses, never a secret (no request here carries one), and the response
    # (its headers, its body) is not kept.
    cache.set(_failure_key(key), {"error": error.error, "description": error.description}, seconds)
    logger.warning("%s (not tried again for %s s)", error.description, seconds)


def _raise_remembered(key: str, failure: type[AuthCodeFlowError]) -> None:
    """Raise the failure remembered for ``key``, if there is one."""
    entry = cache.get(_failure_key(key))
    if not isinstance(entry, dict) or not isinstance(entry.get("description"), str):
        return
    code = entry.get("error")
    raise failure(entry["description"], error=code if isinstance(code, str) else None)


def _attempt(key: str, fetch: Callable[[float], T], timeout: float) -> T:
    """``fetch(timeout)``: a failure of the provider is remembered, a success forgets
    the last one."""
    try:
        result = fetch(timeout)
    except AuthCodeFlowError as exc:
        _remember_failure(key, exc)
        raise
    cache.delete(_failure_key(key))
    return result


def _too_late(failure: type[AuthCodeFlowError], what: str, seconds: float) -> AuthCodeFlowError:
    return failure(
        f"{what} was being fetched by another worker, which did not finish within "
        f"{seconds:g} seconds."
    )


def _fetch_once(
    key: str,
    read: Callable[[], T | None],
    fetch: Callable[[float], T],
    *,
    failure: type[AuthCodeFlowError],
    what: str,
) -> T:
    """``read()`` (the cache entry ``key``) when there is one, else the remembered
    failure, else ``fetch(seconds)``, which caches its result: one caller at a time
    fetches, across every process sharing the cache.

    The others wait for its result or its failure. Waiting and fetching together last
    about ``AUTH_CODE_FLOW_HTTP_TIMEOUT``: a fetch after a wait gets the time left, and
    a caller still waiting then raises ``failure`` (the fetcher died: its lock entry
    expires about a second later)."""
    known = read()
    if known is not None:
        return known
    _raise_remembered(key, failure)
    budget = float(conf.HTTP_TIMEOUT)
    deadline = time.monotonic() + budget
    # The fetcher started before us, so its outcome is normally known by our deadline;
    # a moment more for one that started with us, whose failure comes just after it.
    patience = deadline + min(1.0, budget / 10)
    lock, owner = f"{key}:fetching", secrets.token_hex(8)
    while not cache.add(lock, owner, math.ceil(budget) + 1):
        time.sleep(max(0.0, min(WAIT_INTERVAL, patience - time.monotonic())))
        known = read()
        if known is not None:
            return known
        _raise_remembered(key, failure)
        if time.monotonic() >= patience:
            raise _too_late(failure, what, budget)
    try:
        # The previous holder may have finished between our look and our lock.
        known = read()
        if known is not None:
            return known
        _raise_remembered(key, failure)
        left = deadline - time.monotonic()
        if left <= 0:
            raise _too_late(failure, what, budget)
        return _attempt(key, fetch, left)
    finally:
        if cache.get(lock) == owner:
            cache.delete(lock)


def discover(issuer: str, *, use_cache: bool = True) -> ServerMetadata:
    """The checked metadata of ``issuer``, from the cache or fetched (and cached).

    A failure is remembered for ``AUTH_CODE_FLOW_DISCOVERY_RETRY_AFTER`` seconds and
    raised again meanwhile. ``use_cache=False`` fetches now and neither reads nor
    writes the cache."""

    def fetch(timeout: float) -> ServerMetadata:
        metadata = fetch_metadata(_session(), issuer, **_fetch_options(timeout))
        logger.info("discovered the metadata of %s at %s", issuer, metadata.source_url)
        if use_cache:
            cache.set(
                _key("metadata", issuer),
                {"document": metadata.as_document(), "url": metadata.source_url},
                conf.DISCOVERY_CACHE_TTL,
            )
        return metadata

    if not use_cache:
        return fetch(float(conf.HTTP_TIMEOUT))
    return _fetch_once(
        _key("metadata", issuer),
        lambda: cached(issuer),
        fetch,
        failure=DiscoveryError,
        what=f"The metadata of {issuer}",
    )


def cached(issuer: str) -> ServerMetadata | None:
    """The metadata of ``issuer`` if the cache has it; never fetches."""
    entry = cache.get(_key("metadata", issuer))
    if not isinstance(entry, dict):
        return None
    try:
        return metadata_from(entry.get("document", {}), issuer, entry.get("url", ""))
    except DiscoveryError:
        return None


def choose_auth_method(
    supported: tuple[str, ...] | None, has_secret: bool, has_key: bool = False
) -> ClientAuthMethod | None:
    """The client authentication method to use with a server that advertises
    ``supported`` (``None``: RFC 8414's default, ``client_secret_basic``):
    ``private_key_jwt`` when the client has a key and the server lists it."""
    if has_key and supported is not None and "private_key_jwt" in supported:
        return "private_key_jwt"
    if not has_secret:
        return "none" if supported is None or "none" in supported else None
    if supported is None:
        return "client_secret_basic"
    for method in SECRET_AUTH_METHODS:
        if method in supported:
            return method
    return None


def with_metadata(provider: Provider, metadata: ServerMetadata) -> Provider:
    """``provider`` with every value its settings do not give taken from ``metadata``."""
    explicit = provider.sources
    changes: dict[str, Any] = {"metadata": metadata}
    sources = dict(explicit)
    for name, field in DISCOVERED_FIELDS.items():
        value = getattr(metadata, field)
        if name not in explicit and value:
            changes[name] = value
            sources[name] = "discovery"
    if "token_endpoint_auth_method" not in explicit:
        method = choose_auth_method(
            metadata.token_endpoint_auth_methods_supported,
            bool(provider.client_secret),
            provider.client_private_key is not None,
        )
        if method is not None:
            changes["token_endpoint_auth_method"] = method
            sources["token_endpoint_auth_method"] = "discovery"
    changes["sources"] = sources
    return dataclasses.replace(provider, **changes)


#: Provider fields that name where its requests go.
_ENDPOINT_FIELDS = ("base_uri", *DISCOVERED_FIELDS)
PRIVATE_HINT = (
    "If that server is on your own network, allow its network with "
    "AUTH_CODE_FLOW_ALLOWED_PRIVATE_NETWORKS."
)


def allowed_private_networks() -> tuple[IPNetwork, ...]:
    """``AUTH_CODE_FLOW_ALLOWED_PRIVATE_NETWORKS``, parsed; a value that is not a private
    network (reported by the system checks) allows nothing."""
    networks = []
    for value in conf.ALLOWED_PRIVATE_NETWORKS:
        try:
            networks.append(private_network(value))
        except ValueError:
            continue
    return tuple(networks)


def _configured_origins(provider: Provider) -> frozenset[str]:
    """The origins of the endpoints the settings (or a preset) give ``provider``."""
    urls = []
    for name in _ENDPOINT_FIELDS:
        value = getattr(provider, name)
        if not value or provider.sources.get(name, "discovery") == "discovery":
            continue
        try:
            urls.append(value if name == "base_uri" else endpoint_url(provider.base_uri, value))
        except EndpointURLError:
            continue
    if provider.identity.get("url"):
        urls.append(provider.identity["url"])
    return frozenset(origin(url) for url in urls)


def address_policy(provider: Provider) -> AddressPolicy | None:
    """Where the requests of ``provider`` to the endpoints its issuer's metadata names
    may connect (see :class:`.core.outbound_addresses.AddressPolicy`); ``None`` (anywhere) without
    metadata, or for an issuer on this machine (a test or development server).

    Not loopback, link-local or another address no remote server's endpoint needs;
    private addresses only when the issuer's own host is a private address, or inside
    ``AUTH_CODE_FLOW_ALLOWED_PRIVATE_NETWORKS``. The endpoints the settings or a preset
    give stay reachable wherever they are.
    """
    metadata = provider.metadata
    if metadata is None:
        return None
    host = urlsplit(metadata.issuer).hostname or ""
    if is_loopback(host):
        return None
    issuer_address = ip_literal(host)
    return AddressPolicy(
        # A name is not trusted to be private by what it resolves to: the issuer's own
        # DNS could say so. Only an issuer configured by its private address is.
        allow_private=issuer_address is not None and not issuer_address.is_global,
        allowed_networks=allowed_private_networks(),
        exempt_origins=_configured_origins(provider),
        private_hint=PRIVATE_HINT,
    )


def resolve(provider: Provider, *, use_cache: bool = True) -> Provider:
    """``provider`` completed with its issuer's metadata; the same object for the same
    metadata, so its flow manager (and its connections) are reused."""
    if not provider.uses_discovery or provider.metadata is not None:
        return provider
    assert provider.issuer is not None
    metadata = discover(provider.issuer, use_cache=use_cache)
    known = _resolved.get(provider.slug)
    if known is not None and known[0] is provider and known[1] == metadata:
        return known[2]
    resolved = with_metadata(provider, metadata)
    if use_cache:
        with _lock:
            _resolved[provider.slug] = (provider, metadata, resolved)
    return resolved


def cached_jwks(
    jwks_uri: str | None, fetch: Callable[[float], Mapping[str, Any]], *, refresh: bool = False
) -> Mapping[str, Any]:
    """The JWK Set at ``jwks_uri`` from the cache, or from ``fetch(seconds)`` (then
    cached); ``refresh`` skips the cached set, not a remembered failure."""
    if not jwks_uri:
        raise ImproperlyConfigured("The provider has no jwks_uri to check ID tokens with.")
    key = _key("jwks", jwks_uri)

    def fetch_and_cache(timeout: float) -> dict[str, Any]:
        jwks = dict(fetch(timeout))
        cache.set(key, jwks, conf.DISCOVERY_CACHE_TTL)
        return jwks

    if refresh:
        _raise_remembered(key, AuthCodeFlowError)
        return _attempt(key, fetch_and_cache, float(conf.HTTP_TIMEOUT))

    def read() -> dict[str, Any] | None:
        entry = cache.get(key)
        return entry if isinstance(entry, dict) else None

    return _fetch_once(
        key, read, fetch_and_cache, failure=AuthCodeFlowError, what=f"The JWK Set at {jwks_uri}"
    )


def forget() -> None:
    """Drop the in-process completed providers (settings changed)."""
    with _lock:
        _resolved.clear()
