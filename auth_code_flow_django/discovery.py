"""Discovery for the Django layer: server metadata and JWK Sets in Django's cache.

A provider configured by ``issuer`` is completed here, lazily, the first time a flow,
a refresh or a revocation needs it (never at import or by ``manage.py check``): its
metadata is fetched (:mod:`.server_metadata`), kept in the cache for
``AUTH_CODE_FLOW_DISCOVERY_CACHE_TTL`` seconds, and fills every value the settings
do not give. JWK Sets are cached the same way and fetched again once when an
``id_token`` names a key they lack.

A document missing from the cache is fetched by one caller at a time: the first adds a
lock entry to the cache (``cache.add``, atomic in Django's shared backends) and the
others wait for its result, so with a cache shared by every worker (Redis,
Memcached, the database) a cold cache costs the server one request, not one per
worker. A waiter fetches by itself after ``AUTH_CODE_FLOW_HTTP_TIMEOUT`` seconds.
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

from django.core.cache import cache

from .conf import conf
from .exceptions import ImproperlyConfigured
from .provider_http import new_session
from .server_metadata import DiscoveryError, ServerMetadata, fetch_metadata, metadata_from

if TYPE_CHECKING:
    from .flow import ClientAuthMethod
    from .providers import Provider

__all__ = ["cached", "cached_jwks", "choose_auth_method", "discover", "resolve", "with_metadata"]

logger = logging.getLogger("auth_code_flow_django.discovery")

#: Provider fields discovery may fill, and the metadata field each comes from.
DISCOVERED_FIELDS = {
    "authorization_path": "authorization_endpoint",
    "access_token_path": "token_endpoint",
    "revocation_path": "revocation_endpoint",
    "userinfo_endpoint": "userinfo_endpoint",
    "jwks_uri": "jwks_uri",
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


def _fetch_options() -> dict[str, Any]:
    return {
        "timeout": float(conf.HTTP_TIMEOUT),
        "connect_timeout": min(5.0, float(conf.HTTP_TIMEOUT)),
        "max_bytes": int(conf.MAX_RESPONSE_BYTES),
    }


T = TypeVar("T")

#: Seconds between two looks at the cache while another caller fetches.
WAIT_INTERVAL = 0.02


def _fetch_once(key: str, read: Callable[[], T | None], fetch: Callable[[], T]) -> T:
    """``read()`` (the cache entry ``key``) when there is one, else ``fetch()``, which
    caches it: one caller at a time fetches, across every process sharing the cache.
    The others wait for its entry, and fetch by themselves after the HTTP timeout (the
    fetcher failed or died: its lock entry expires then too)."""
    known = read()
    if known is not None:
        return known
    lock, owner = f"{key}:fetching", secrets.token_hex(8)
    wait = float(conf.HTTP_TIMEOUT)
    deadline = time.monotonic() + wait
    held = cache.add(lock, owner, math.ceil(wait) + 1)
    while not held:
        time.sleep(WAIT_INTERVAL)
        known = read()
        if known is not None:
            return known
        if time.monotonic() >= deadline:
            break
        held = cache.add(lock, owner, math.ceil(wait) + 1)
    try:
        # The previous holder may have cached it between our look and our lock.
        known = read() if held else None
        return known if known is not None else fetch()
    finally:
        if held and cache.get(lock) == owner:
            cache.delete(lock)


def discover(issuer: str, *, use_cache: bool = True) -> ServerMetadata:
    """The checked metadata of ``issuer``, from the cache or fetched (and cached)."""

    def fetch() -> ServerMetadata:
        metadata = fetch_metadata(_session(), issuer, **_fetch_options())
        logger.info("discovered the metadata of %s at %s", issuer, metadata.source_url)
        if use_cache:
            cache.set(
                _key("metadata", issuer),
                {"document": metadata.as_document(), "url": metadata.source_url},
                conf.DISCOVERY_CACHE_TTL,
            )
        return metadata

    if not use_cache:
        return fetch()
    return _fetch_once(_key("metadata", issuer), lambda: cached(issuer), fetch)


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
    supported: tuple[str, ...] | None, has_secret: bool
) -> ClientAuthMethod | None:
    """The client authentication method to use with a server that advertises
    ``supported`` (``None``: RFC 8414's default, ``client_secret_basic``)."""
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
            metadata.token_endpoint_auth_methods_supported, bool(provider.client_secret)
        )
        if method is not None:
            changes["token_endpoint_auth_method"] = method
            sources["token_endpoint_auth_method"] = "discovery"
    changes["sources"] = sources
    return dataclasses.replace(provider, **changes)


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
    jwks_uri: str | None, fetch: Callable[[], Mapping[str, Any]], *, refresh: bool = False
) -> Mapping[str, Any]:
    """The JWK Set at ``jwks_uri`` from the cache, or from ``fetch()`` (then cached);
    ``refresh`` skips the cache."""
    if not jwks_uri:
        raise ImproperlyConfigured("The provider has no jwks_uri to check ID tokens with.")
    key = _key("jwks", jwks_uri)

    def fetch_and_cache() -> dict[str, Any]:
        jwks = dict(fetch())
        cache.set(key, jwks, conf.DISCOVERY_CACHE_TTL)
        return jwks

    if refresh:
        return fetch_and_cache()

    def read() -> dict[str, Any] | None:
        entry = cache.get(key)
        return entry if isinstance(entry, dict) else None

    return _fetch_once(key, read, fetch_and_cache)


def forget() -> None:
    """Drop the in-process completed providers (settings changed)."""
    with _lock:
        _resolved.clear()
