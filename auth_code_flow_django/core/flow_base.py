"""What every request of the flow manager shares: its settings, endpoints, client
authentication and the one bounded HTTP client.

``FlowBase`` holds the class attributes of the seed API (and those added since),
checks them at instantiation, builds every endpoint URL with :mod:`.endpoint_urls`,
authenticates the client (:mod:`.client_auth`), and sends every request through
:mod:`.http_client`, with a DPoP proof when asked (:mod:`.rfc9449_dpop`). The
specification modules above it (:mod:`.rfc6749_authorization`,
:mod:`.rfc6749_token_requests`, :mod:`.rfc7009_revocation`, :mod:`.oidc_flow`) add the
requests themselves. Nothing here imports Django.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

import requests

from . import http_client
from .client_auth import CLIENT_AUTH_METHODS, ClientAuthMethod, ClientKey, authenticate
from .endpoint_urls import endpoint_url
from .errors import AuthCodeFlowError, ImproperlyConfigured, InvalidTokenResponseError
from .oidc_id_tokens import ID_TOKEN_ALGORITHMS, LEEWAY_SECONDS
from .outbound_addresses import AddressPolicy
from .rfc6749_token_replies import decode_body, raise_for_error
from .rfc7636_pkce import derived_code_verifier
from .rfc9449_dpop import NONCES, DPoPKey, NonceStore, send_with_proof

__all__ = ["FlowBase"]

logger = logging.getLogger("auth_code_flow_django.flow")


class FlowBase(ABC):
    """The settings and transport of :class:`~.flow_manager.AbstractBaseFlowManager`.

    Attributes are class attributes, set by subclassing or as keyword arguments when
    instantiating; missing required ones raise :class:`.ImproperlyConfigured`.
    """

    access_token_path: str | None = "/access_token"
    authorization_path: str | None = "/authorize"
    base_uri: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    grant_type: str | None = "authorization_code"
    redirect_uri: str | None = None
    response_type: str | None = "code"
    scope: str | None = None

    #: RFC 7009 revocation endpoint, relative to ``base_uri`` or absolute.
    revocation_path: str | None = None
    #: How the client authenticates to the token endpoint (RFC 6749 2.3.1; RFC 7523
    #: for ``private_key_jwt``).
    token_endpoint_auth_method: ClientAuthMethod = "client_secret_post"
    #: ``private_key_jwt``: the client's private key (a JWK dict or a PEM string).
    client_private_key: Any = None
    #: RFC 9126: the pushed authorization request endpoint (relative or absolute).
    pushed_authorization_request_endpoint: str | None = None
    #: Send PKCE S256 (RFC 7636). Without an explicit verifier, one is derived from the
    #: state with an HMAC keyed by ``pkce_secret`` (default: ``client_secret``).
    use_pkce: bool = True
    pkce_secret: str | None = None
    #: Form-encode the token request (RFC 6749 4.1.3); ``False`` sends JSON.
    post_form_data: bool = True
    #: Extra query parameters for the authorization request (e.g. ``prompt``).
    extra_authorize_params: Mapping[str, str] = {}
    #: Whether a reply without ``token_type`` is an error (Stack Exchange omits it).
    token_type_required: bool = True
    #: The reply field that holds the lifetime (Stack Exchange says ``expires``).
    expires_in_field: str = "expires_in"
    #: ``token_type`` values, besides ``Bearer``, of tokens used as Bearer tokens.
    bearer_token_types: tuple[str, ...] = ()
    #: A field every successful reply carries as ``true`` (Slack's ``ok``): the
    #: provider answers errors with a 200.
    success_field: str | None = None
    #: ``error`` codes a provider uses for ``invalid_grant`` (Slack:
    #: ``invalid_refresh_token``): the grant is gone, the user must connect again.
    invalid_grant_errors: tuple[str, ...] = ()
    #: The authorization request parameter that carries ``scope`` (Slack's user
    #: tokens: ``user_scope``).
    scope_param: str = "scope"
    #: The object of the token reply that holds the token fields when the provider
    #: nests them (Slack's user tokens: ``authed_user``); a reply without it is read at
    #: its top level.
    token_reply_object: str | None = None
    #: The token reply field holding this grant's API base URL (Salesforce's
    #: ``instance_url``); checked as an https URL when a reply carries it.
    api_base_url_field: str | None = None
    #: The hosts that field may name (``api.zoom.us``, or ``*.salesforce.com`` for any
    #: host under that domain); empty: any.
    api_base_url_hosts: tuple[str, ...] = ()
    #: The ``User-Agent`` header of every request to the provider (Reddit refuses
    #: generic ones); ``None``: requests' own.
    user_agent: str | None = None
    #: Other headers every request to the provider carries (Notion's
    #: ``Notion-Version``).
    request_headers: Mapping[str, str] = {}
    #: Seconds to wait to connect, and in total for the whole reply.
    connect_timeout: float = 5.0
    timeout: float = 10.0
    #: Largest token endpoint reply read, in bytes.
    max_response_bytes: int = 64 * 1024
    #: OpenID Connect: the server's issuer identifier and JWK Set, to validate the
    #: ``id_token`` when the scope has ``openid``.
    issuer: str | None = None
    jwks_uri: str | None = None
    #: Other ``iss`` values a provider documents for its ID tokens (Google's
    #: ``accounts.google.com``); an ``issuer`` naming ``{tenantid}`` is filled from the
    #: token's ``tid`` (see :func:`.oidc_id_tokens.check_issuer`).
    issuer_aliases: tuple[str, ...] = ()
    #: The ``tid`` values an ID token may carry; ``None``: any.
    allowed_tenants: tuple[str, ...] | None = None
    id_token_algorithms: tuple[str, ...] = ID_TOKEN_ALGORITHMS
    id_token_leeway: float = LEEWAY_SECONDS
    #: Where the DPoP nonces servers give are kept for the next proofs (default: this
    #: process's memory).
    dpop_nonces: NonceStore = NONCES
    #: Where the requests of :meth:`get_session` may connect (``None``: anywhere).
    address_policy: AddressPolicy | None = None

    required_attributes: ClassVar[tuple[str, ...]] = (
        "authorization_path",
        "base_uri",
        "client_id",
        "client_secret",
        "grant_type",
        "redirect_uri",
        "response_type",
        "scope",
    )

    def __init__(self, **attributes: Any) -> None:
        for name, value in attributes.items():
            if (
                name.startswith("_")
                or not hasattr(type(self), name)
                or callable(getattr(type(self), name))
            ):
                raise TypeError(f"{type(self).__name__} has no setting {name!r}")
            setattr(self, name, value)
        missing = [name for name in self._required() if getattr(self, name) is None]
        if missing:
            raise ImproperlyConfigured(
                f"{type(self).__name__} is missing required attributes: {', '.join(missing)}"
            )
        if self.token_endpoint_auth_method not in CLIENT_AUTH_METHODS:
            raise ImproperlyConfigured(
                f"token_endpoint_auth_method must be one of {', '.join(CLIENT_AUTH_METHODS)}"
            )
        self._client_key = None
        if self.client_private_key is not None:
            self._client_key = ClientKey(self.client_private_key)
        elif self.token_endpoint_auth_method == "private_key_jwt":
            raise ImproperlyConfigured("private_key_jwt needs client_private_key.")
        if self.token_endpoint_auth_method == "none" and not self.use_pkce:
            # RFC 9700 2.1.1: without a secret, only PKCE binds the code to this client.
            raise ImproperlyConfigured("A public client (no client secret) must use PKCE.")
        self._session: requests.Session | None = None
        self._environments: dict[str, dict[str, Any]] = {}

    def _required(self) -> tuple[str, ...]:
        if self.token_endpoint_auth_method in ("none", "private_key_jwt"):
            return tuple(name for name in self.required_attributes if name != "client_secret")
        return self.required_attributes

    def __repr__(self) -> str:
        return f"<{type(self).__name__} base_uri={self.base_uri!r} client_id={self.client_id!r}>"

    # --- state, as in the seed ------------------------------------------------------

    @abstractmethod
    def store_user_state(self, user: Any, state: str) -> None:
        """Remember ``state`` for ``user`` until the callback."""

    @abstractmethod
    def check_user_state(self, user: Any, state: str) -> bool:
        """Whether ``state`` is the one stored for ``user`` (use :func:`states_match`)."""

    # --- PKCE -----------------------------------------------------------------------

    def get_code_verifier(self, state: str) -> str:
        """The PKCE verifier for ``state`` when the caller keeps none of its own.

        An HMAC of the state, so the seed's quick-start gets PKCE with no extra call,
        and someone who sees the state (it travels in URLs) cannot compute it.
        """
        key = self.pkce_secret or self.client_secret
        if not key:
            raise ImproperlyConfigured(
                "PKCE needs pkce_secret (or client_secret) to derive a verifier; "
                "or pass code_verifier explicitly."
            )
        return derived_code_verifier(key, state)

    def _verifier(self, state: str, code_verifier: str | None) -> str | None:
        if not self.use_pkce:
            return None
        return code_verifier or self.get_code_verifier(state)

    # --- endpoints ------------------------------------------------------------------

    def _endpoint(self, setting: str) -> str:
        """The URL of the endpoint in attribute ``setting``, built and checked by the same
        function as the system checks; a bad one raises before anything is sent."""
        return endpoint_url(self.base_uri, getattr(self, setting), setting)

    def _redirect_uri(self, redirect_uri: str | None) -> str:
        uri = redirect_uri or self.redirect_uri
        if not uri:
            raise ImproperlyConfigured(f"{type(self).__name__} has no redirect_uri.")
        return uri

    @property
    def requests_openid(self) -> bool:
        """Whether the scope asks for OpenID Connect (an ``id_token``)."""
        return "openid" in (self.scope or "").split()

    def get_access_token_endpoint(self) -> str:
        return self._endpoint("access_token_path")

    def get_revocation_endpoint(self) -> str:
        return self._endpoint("revocation_path")

    # --- client authentication ------------------------------------------------------

    def _client_auth(self) -> tuple[dict[str, str], dict[str, str]]:
        # RFC 7523 3 and OpenID Connect Core 9: the audience is the issuer (or, without
        # one, the token endpoint).
        return authenticate(
            self.token_endpoint_auth_method,
            str(self.client_id),
            client_secret=self.client_secret,
            key=self._client_key,
            audience=self.issuer or self.get_access_token_endpoint(),
        )

    def _client_auth_params(self) -> dict[str, str]:
        """Body parameters that authenticate the client (all methods but
        ``client_secret_basic``); a ``private_key_jwt`` assertion is new at each call."""
        if self.token_endpoint_auth_method == "client_secret_basic":
            return {}
        return self._client_auth()[0]

    def _client_auth_headers(self) -> dict[str, str]:
        """Headers that authenticate the client (``client_secret_basic``)."""
        if self.token_endpoint_auth_method != "client_secret_basic":
            return {}
        return self._client_auth()[1]

    # --- HTTP -----------------------------------------------------------------------

    def get_session(self) -> requests.Session:
        """The HTTP session: no retries (a code is single-use), pooled connections."""
        if self._session is None:
            self._session = http_client.new_session(self.address_policy)
        return self._session

    def _environment(self, url: str) -> dict[str, Any]:
        """Proxies and CA bundle from the environment, read once per endpoint."""
        cached = self._environments.get(url)
        if cached is None:
            cached = self._environments[url] = http_client.environment_for(url)
        return cached

    def _post(
        self,
        url: str,
        data: dict[str, str],
        headers: dict[str, str],
        *,
        as_json: bool = False,
        dpop_key: DPoPKey | None = None,
    ) -> requests.Response:
        """POST ``data``; with ``dpop_key``, with a DPoP proof, and once more with the
        server's nonce when it asks for one (a client assertion is made anew then: the
        server may refuse a ``jti`` it has seen)."""

        def attempt(extra_headers: dict[str, str], retry: bool) -> requests.Response:
            body = data
            if retry and "client_assertion" in data:
                body = {**data, **self._client_auth_params()}
            logger.debug("POST %s (grant_type=%s)", url, data.get("grant_type", "-"))
            return http_client.send(
                self.get_session(),
                "POST",
                url,
                data=None if as_json else body,
                json=body if as_json else None,
                headers={**self.provider_headers(), **headers, **extra_headers},
                timeout=self.timeout,
                connect_timeout=self.connect_timeout,
                max_bytes=self.max_response_bytes,
                environment=self._environment(url),
            )

        if dpop_key is None:
            return attempt({}, False)
        return send_with_proof(dpop_key, self.dpop_nonces, "POST", url, attempt)

    def provider_headers(self) -> dict[str, str]:
        """The headers every request to the provider carries: ``Accept`` JSON, the
        configured ``request_headers`` and ``User-Agent``."""
        headers = {"Accept": "application/json", **self.request_headers}
        if self.user_agent:
            headers["User-Agent"] = self.user_agent
        return headers

    def _redact(self, text: str, *secret_values: str | None) -> str:
        for value in (self.client_secret, self.pkce_secret, *secret_values):
            if value and len(value) >= 4:
                text = text.replace(value, "[redacted]")
        return text

    def _raise_for_error(
        self,
        response: requests.Response,
        body: dict[str, Any] | None,
        error_class: type[AuthCodeFlowError],
        *secret_values: str | None,
    ) -> None:
        raise_for_error(
            response,
            body,
            error_class,
            lambda text: self._redact(text, *secret_values),
            self.success_field,
            self.invalid_grant_errors,
        )

    def _body_if_any(self, response: requests.Response) -> dict[str, Any] | None:
        """The decoded reply of an endpoint whose success may have no body (a push's
        error, a revocation): ``None`` when it cannot be decoded."""
        try:
            return decode_body(response)
        except InvalidTokenResponseError:
            return None

    def _decode(self, response: requests.Response) -> dict[str, Any] | None:
        try:
            return decode_body(response)
        except InvalidTokenResponseError as exc:
            exc.response = response
            raise
