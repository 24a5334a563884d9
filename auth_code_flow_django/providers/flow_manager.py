"""The flow manager behind a provider: the core's, with one HTTP session per thread
and the JWK Set kept in Django's cache."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import requests

from .. import discovery
from ..dpop_nonces import SHARED_NONCES
from ..flow import AbstractBaseFlowManager, new_session


class ProviderFlowManager(AbstractBaseFlowManager):
    """The flow manager behind a :class:`Provider`.

    The Django layer keeps state in ``OAuthState`` and passes the redirect URI and PKCE
    verifier of each flow explicitly, so ``redirect_uri`` is optional here and the
    seed's state hooks are not used.
    """

    #: DPoP nonces shared by the site's workers through Django's cache.
    dpop_nonces = SHARED_NONCES

    required_attributes = tuple(
        name for name in AbstractBaseFlowManager.required_attributes if name != "redirect_uri"
    )

    def __init__(self, **attributes: Any) -> None:
        super().__init__(**attributes)
        self._local = threading.local()

    def get_session(self) -> requests.Session:
        # requests.Session is not documented as thread-safe: one per thread.
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = new_session(self.address_policy)
        return session

    def get_jwks(self, refresh: bool = False) -> Mapping[str, Any]:
        """The JWK Set, kept in Django's cache; fetched again when ``refresh``."""
        return discovery.cached_jwks(self.jwks_uri, self.fetch_jwks, refresh=refresh)

    def store_user_state(self, user: Any, state: str) -> None:
        raise NotImplementedError("OAuthState.objects.start() keeps the state.")

    def check_user_state(self, user: Any, state: str) -> bool:
        raise NotImplementedError("OAuthState.objects.validate() checks the state.")
