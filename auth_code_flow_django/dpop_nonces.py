"""DPoP server nonces shared by every worker through Django's cache.

A server that asks for DPoP nonces (RFC 9449 8, 9) answers a proof without its latest
nonce with ``use_dpop_nonce`` and the nonce, and the request is sent again. Kept in one
process only, each worker of a site pays that extra round trip after every change of
nonce; kept in a cache the workers share (Redis, Memcached, the database cache), the
first worker's retry serves them all. Each process keeps its own copy too, used when
the cache has none or fails: a cache outage costs a retry, never a request.
"""

from __future__ import annotations

import hashlib
import logging

import requests
from django.core.cache import cache

from .core.rfc9449_dpop import NonceStore, origin_of

__all__ = ["SHARED_NONCES", "SharedNonceStore"]

logger = logging.getLogger("auth_code_flow_django.dpop_nonces")

#: How long a nonce stays in the cache: servers change theirs within minutes, and a
#: stale one costs one retry.
NONCE_TTL = 300


def _key(url: str) -> str:
    digest = hashlib.sha256(origin_of(url).encode("utf-8")).hexdigest()[:32]
    return f"auth_code_flow_django:dpop-nonce:{digest}"


class SharedNonceStore(NonceStore):
    """A :class:`~.core.rfc9449_dpop.NonceStore` whose nonces are also in Django's
    default cache, for every worker."""

    def get(self, url: str) -> str | None:
        try:
            shared = cache.get(_key(url))
        except Exception:  # any backend's failure: the process's own copy serves
            logger.warning("DPoP nonce cache read failed", exc_info=True)
            shared = None
        if isinstance(shared, str):
            return shared
        return super().get(url)

    def remember(self, url: str, response: requests.Response) -> str | None:
        nonce = super().remember(url, response)
        if nonce is not None:
            try:
                cache.set(_key(url), nonce, NONCE_TTL)
            except Exception:
                logger.warning("DPoP nonce cache write failed", exc_info=True)
        return nonce


#: The nonces of every server the site talks to, shared by its workers.
SHARED_NONCES = SharedNonceStore()
