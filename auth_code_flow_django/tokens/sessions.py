"""Calling the provider's API as a user: :func:`authorized_session` and
:class:`OAuthSession`, which send the token only where :func:`.api_urls.check_api_url`
allows, as a Bearer token or with a DPoP proof, refreshing it when due or refused."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import requests
from django.views.decorators.debug import sensitive_variables

from ..core.rfc9449_dpop import DPoPAuth, DPoPKey, nonce_challenge
from ..dpop_nonces import SHARED_NONCES
from ..models import OAuthToken
from ..providers import get_provider
from .api_urls import check_api_url, connection_api_base
from .refreshing import _current_token, refresh
from .rows import _credentials, _get_token

if TYPE_CHECKING:
    from .rows import User


class BearerAuth(requests.auth.AuthBase):
    """``Authorization: Bearer ...`` as a requests auth object: given explicitly, it keeps
    requests from using ``~/.netrc`` credentials instead, and requests does not carry it
    to another host on a redirect."""

    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request

    def __repr__(self) -> str:
        return "BearerAuth(...)"


class OAuthSession(requests.Session):
    """A ``requests.Session`` that sends ``user``'s token for ``provider``, only to the
    provider's ``api_base_urls`` (and the connection's own API base, for a provider
    with ``api_base_url_field``): as a Bearer token, or, for a DPoP-bound token, as
    ``Authorization: DPoP`` with a fresh proof for each request (RFC 9449 7).

    Before each request the token is refreshed if needed; a 401 answer causes one
    refresh and one retry (a DPoP server's ``use_dpop_nonce`` first causes one retry
    with its nonce). The provider's ``request_headers`` and ``user_agent`` are the
    session's (a request's own headers win).
    """

    def __init__(
        self,
        user: User,
        provider: str,
        *,
        access_token: str | None = None,
        token: OAuthToken | None = None,
    ) -> None:
        super().__init__()
        self.oauth_user = user
        self.oauth_provider = provider
        # Read (and refreshed if due) when the session was made: the first request
        # needs no second read.
        self._next_token = token
        self._next_access_token = access_token
        config = get_provider(provider)
        self.headers.update(config.request_headers)
        if config.user_agent:
            self.headers["User-Agent"] = config.user_agent

    def __repr__(self) -> str:
        return f"<OAuthSession provider={self.oauth_provider!r} user={self.oauth_user.pk}>"

    def _token(self) -> OAuthToken:
        token, self._next_token = self._next_token, None
        return token or _current_token(self.oauth_user, self.oauth_provider)

    def bearer_token(self) -> str:
        """The access token the next request sends (valid, refreshed if it was due)."""
        access_token, self._next_access_token = self._next_access_token, None
        return access_token or self._token().access_token

    @property
    def api_base_urls(self) -> tuple[str, ...]:
        """Where this session sends the token: the provider's ``api_base_urls`` and the
        connection's own API base, if it has one."""
        config = get_provider(self.oauth_provider)
        own = connection_api_base(config, _get_token(self.oauth_user, self.oauth_provider))
        return (*config.api_base_urls, *((own,) if own else ()))

    def _next_credentials(self) -> tuple[str, DPoPKey | None]:
        access_token, self._next_access_token = self._next_access_token, None
        if access_token:
            return access_token, None
        return _credentials(self._token())

    def _send(
        self,
        method: str | bytes,
        url: str,
        access_token: str,
        dpop_key: DPoPKey | None,
        kwargs: dict[str, Any],
    ) -> requests.Response:
        if dpop_key is None:
            return super().request(method, url, auth=BearerAuth(access_token), **kwargs)
        verb = method.decode() if isinstance(method, bytes) else method
        auth = DPoPAuth(access_token, dpop_key, SHARED_NONCES.get(url))
        response = super().request(verb, url, auth=auth, **kwargs)
        nonce = SHARED_NONCES.remember(url, response)
        if nonce is not None and nonce != auth.nonce and nonce_challenge(response):
            response.close()
            auth = DPoPAuth(access_token, dpop_key, nonce)
            response = super().request(verb, url, auth=auth, **kwargs)
            SHARED_NONCES.remember(url, response)
        return response

    @sensitive_variables()
    def request(self, method: str | bytes, url: str | bytes, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs.pop("auth", None)
        text_url = url.decode() if isinstance(url, bytes) else url
        config = get_provider(self.oauth_provider)
        if not config.api_base_url_field:
            check_api_url(config, text_url)
            access_token, dpop_key = self._next_credentials()
        else:
            # The allowed hosts depend on the connection: read it first.
            token = self._token()
            check_api_url(config, text_url, connection_base=connection_api_base(config, token))
            access_token, dpop_key = _credentials(token)
        response = self._send(method, text_url, access_token, dpop_key, kwargs)
        # A nonce asked for again after one retry is the server's problem, not the
        # token's: no refresh for it.
        if response.status_code != 401 or (dpop_key is not None and nonce_challenge(response)):
            return response
        response.close()
        token = refresh(self.oauth_user, self.oauth_provider, stale_access_token=access_token)
        if config.api_base_url_field:
            check_api_url(config, text_url, connection_base=connection_api_base(config, token))
        return self._send(method, text_url, *_credentials(token), kwargs)


@sensitive_variables()
def authorized_session(user: User, provider: str) -> OAuthSession:
    """A session that calls ``provider``'s API as ``user``. Raises what
    :func:`get_access_token` raises when there is no usable connection."""
    return OAuthSession(user, provider, token=_current_token(user, provider))
