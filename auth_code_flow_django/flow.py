"""The framework-agnostic OAuth 2.0 authorization code flow manager.

This module imports nothing from Django. It keeps the public API of the
``auth-code-flow`` 0.1.0 package (``AbstractBaseFlowManager`` and its methods), and
fixes its weaknesses: unpredictable state, PKCE by default, a form-encoded token
request, no retries of a single-use code, no redirects, a bounded reply, and a parsed,
validated :class:`TokenResponse`.

It composes the core's other modules, none of which imports Django either:
:mod:`.endpoints` builds every endpoint URL (for the system checks too),
:mod:`.provider_http` is the one bounded HTTP client every request to a provider goes
through, and :mod:`.token_replies` decodes and validates what the provider answers.
Every name this module exported before the split is still importable from it.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import logging
import re
import secrets
from abc import ABC, abstractmethod
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests

from . import provider_http, server_metadata
from .core.client_auth import CLIENT_AUTH_METHODS, ClientAuthMethod, ClientKey, authenticate
from .core.rfc9126_par import PushedAuthorizationError, authorization_url, pushed_request
from .core.rfc9449_dpop import NONCES, DPoPKey, send_with_proof
from .endpoints import endpoint_url
from .exceptions import (
    AuthCodeFlowError,
    AuthorizationError,
    ImproperlyConfigured,
    InvalidGrantError,
    InvalidTokenResponseError,
    RevocationError,
    StateForgeryError,
    clean_provider_text,
)
from .id_tokens import ID_TOKEN_ALGORITHMS, LEEWAY_SECONDS, validate_id_token
from .provider_http import new_session
from .token_replies import (
    MAX_EXPIRES_IN,
    MAX_STORED_LENGTH,
    TokenResponse,
    decode_body,
    nested_token_reply,
    parse_expires_in,
    raise_for_error,
    token_response_from,
)

__all__ = [
    "CLIENT_AUTH_METHODS",
    "MAX_EXPIRES_IN",
    "MAX_STORED_LENGTH",
    "AbstractBaseFlowManager",
    "ClientAuthMethod",
    "TokenResponse",
    "code_challenge_s256",
    "decode_body",
    "make_code_verifier",
    "make_state",
    "new_session",
    "parse_expires_in",
    "states_match",
]

logger = logging.getLogger("auth_code_flow_django.flow")

STATE_BYTES = 32  # 256 bits of entropy
VERIFIER_BYTES = 48  # 64 characters, inside RFC 7636's 43..128
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def make_state() -> str:
    """A fresh, unguessable ``state`` (256 bits from :mod:`secrets`)."""
    return secrets.token_urlsafe(STATE_BYTES)


def make_code_verifier() -> str:
    """A fresh PKCE code verifier (RFC 7636 4.1)."""
    return secrets.token_urlsafe(VERIFIER_BYTES)


def code_challenge_s256(code_verifier: str) -> str:
    """The S256 code challenge of ``code_verifier`` (RFC 7636 4.2)."""
    digest = hashlib.sha256(code_verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def states_match(expected: object, received: object) -> bool:
    """Compare two states in constant time; anything but two strings never matches."""
    if not isinstance(expected, str) or not isinstance(received, str) or not expected:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), received.encode("utf-8"))


class AbstractBaseFlowManager(ABC):
    """Obtain access tokens with the OAuth 2.0 authorization code flow.

    Subclass it, set the class attributes and implement :meth:`store_user_state` and
    :meth:`check_user_state`, exactly as with ``auth-code-flow`` 0.1.0. Attributes may
    also be given as keyword arguments when instantiating.
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
    #: token's ``tid`` (see :func:`.id_tokens.check_issuer`).
    issuer_aliases: tuple[str, ...] = ()
    #: The ``tid`` values an ID token may carry; ``None``: any.
    allowed_tenants: tuple[str, ...] | None = None
    id_token_algorithms: tuple[str, ...] = ID_TOKEN_ALGORITHMS
    id_token_leeway: float = LEEWAY_SECONDS
    #: Where the requests of :meth:`get_session` may connect (``None``: anywhere).
    address_policy: provider_http.AddressPolicy | None = None

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

    def make_state(self) -> str:
        return make_state()

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
        digest = hmac.new(
            key.encode("utf-8"),
            b"auth-code-flow-django pkce verifier\x00" + state.encode("utf-8"),
            hashlib.sha256,
        ).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

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

    def get_authorization_endpoint_params(
        self,
        state: str,
        *,
        code_verifier: str | None = None,
        redirect_uri: str | None = None,
        extra_params: Mapping[str, str] | None = None,
        nonce: str | None = None,
        dpop_jkt: str | None = None,
    ) -> dict[str, str]:
        params: dict[str, str] = {
            "client_id": str(self.client_id),
            "redirect_uri": self._redirect_uri(redirect_uri),
            "response_type": str(self.response_type),
        }
        if self.scope:
            params[self.scope_param or "scope"] = self.scope
        params["state"] = state
        verifier = self._verifier(state, code_verifier)
        if verifier is not None:
            params["code_challenge"] = code_challenge_s256(verifier)
            params["code_challenge_method"] = "S256"
        if nonce is not None:
            params["nonce"] = nonce
        if dpop_jkt is not None:
            params["dpop_jkt"] = dpop_jkt
        for key, value in {**self.extra_authorize_params, **(extra_params or {})}.items():
            params.setdefault(key, value)
        return params

    def get_authorization_endpoint(
        self,
        state: str,
        *,
        code_verifier: str | None = None,
        redirect_uri: str | None = None,
        extra_params: Mapping[str, str] | None = None,
        nonce: str | None = None,
        dpop_jkt: str | None = None,
    ) -> str:
        """The URL to send the user to; keeps any query ``authorization_path`` has."""
        params = self.get_authorization_endpoint_params(
            state,
            code_verifier=code_verifier,
            redirect_uri=redirect_uri,
            extra_params=extra_params,
            nonce=nonce,
            dpop_jkt=dpop_jkt,
        )
        scheme, netloc, path, query, _fragment = urlsplit(self._endpoint("authorization_path"))
        kept = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k not in params]
        return urlunsplit((scheme, netloc, path, urlencode([*kept, *params.items()]), ""))

    def push_authorization_request(
        self,
        state: str,
        *,
        code_verifier: str | None = None,
        redirect_uri: str | None = None,
        extra_params: Mapping[str, str] | None = None,
        nonce: str | None = None,
        dpop_key: DPoPKey | None = None,
    ) -> str:
        """Push the authorization request (RFC 9126), authenticated like a token
        request, and return the URL to send the user to, which carries only
        ``client_id`` and the ``request_uri``. Raises :class:`PushedAuthorizationError`."""
        params = self.get_authorization_endpoint_params(
            state,
            code_verifier=code_verifier,
            redirect_uri=redirect_uri,
            extra_params=extra_params,
            nonce=nonce,
            dpop_jkt=dpop_key.thumbprint if dpop_key is not None else None,
        )
        params.update(self._client_auth_params())
        endpoint = self._endpoint("pushed_authorization_request_endpoint")
        try:
            response = self._post(endpoint, params, self._client_auth_headers(), dpop_key=dpop_key)
        except AuthCodeFlowError as exc:
            raise PushedAuthorizationError(exc.description, response=exc.response) from exc
        try:
            body = decode_body(response)
        except InvalidTokenResponseError:
            body = None
        self._raise_for_error(response, body, PushedAuthorizationError)
        pushed = pushed_request(body)
        return authorization_url(
            self._endpoint("authorization_path"), str(self.client_id), pushed.request_uri
        )

    def get_access_token_endpoint(self) -> str:
        return self._endpoint("access_token_path")

    def get_revocation_endpoint(self) -> str:
        return self._endpoint("revocation_path")

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

    def get_access_token_endpoint_params(
        self,
        code: str,
        state: str,
        *,
        code_verifier: str | None = None,
        redirect_uri: str | None = None,
    ) -> dict[str, str]:
        """The token request body. ``state`` is only used to derive the PKCE verifier;
        it is not sent (RFC 6749 4.1.3 has no such parameter)."""
        params = {
            "grant_type": str(self.grant_type),
            "code": code,
            "redirect_uri": self._redirect_uri(redirect_uri),
        }
        verifier = self._verifier(state, code_verifier)
        if verifier is not None:
            params["code_verifier"] = verifier
        params.update(self._client_auth_params())
        return params

    # --- HTTP -----------------------------------------------------------------------

    def get_session(self) -> requests.Session:
        """The HTTP session: no retries (a code is single-use), pooled connections."""
        if self._session is None:
            self._session = new_session(self.address_policy)
        return self._session

    def _environment(self, url: str) -> dict[str, Any]:
        """Proxies and CA bundle from the environment, read once per endpoint."""
        cached = self._environments.get(url)
        if cached is None:
            cached = self._environments[url] = provider_http.environment_for(url)
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
            return provider_http.send(
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
        return send_with_proof(dpop_key, NONCES, "POST", url, attempt)

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

    # --- the code exchange, as in the seed ------------------------------------------

    def fetch_access_token(
        self,
        user: Any,
        code: str,
        state: str,
        post_form_data: bool | None = None,
        check_state: bool = True,
        *,
        code_verifier: str | None = None,
        redirect_uri: str | None = None,
        dpop_key: DPoPKey | None = None,
    ) -> requests.Response:
        """Exchange ``code`` and return the raw ``requests.Response``.

        Raises :class:`StateForgeryError` when the state check fails and
        :class:`AuthCodeFlowError` (``.response`` set when there is one) when the token
        endpoint fails, including a 2xx reply that carries ``error``.
        """
        if check_state and not self.check_user_state(user=user, state=state):
            raise StateForgeryError()
        if not isinstance(code, str) or not code or _CONTROL.search(code):
            raise AuthorizationError("The provider's reply carried no usable authorization code.")
        params = self.get_access_token_endpoint_params(
            code, state, code_verifier=code_verifier, redirect_uri=redirect_uri
        )
        headers = self._client_auth_headers()
        as_json = not (self.post_form_data if post_form_data is None else post_form_data)
        response = self._post(
            self.get_access_token_endpoint(), params, headers, as_json=as_json, dpop_key=dpop_key
        )
        self._raise_for_error(
            response, self._decode(response), AuthCodeFlowError, code, params.get("code_verifier")
        )
        return response

    def _decode(self, response: requests.Response) -> dict[str, Any] | None:
        try:
            return decode_body(response)
        except InvalidTokenResponseError as exc:
            exc.response = response
            raise

    def exchange_code(
        self,
        user: Any,
        code: str,
        state: str,
        *,
        check_state: bool = True,
        code_verifier: str | None = None,
        redirect_uri: str | None = None,
        post_form_data: bool | None = None,
        nonce: str | None = None,
        dpop_key: DPoPKey | None = None,
    ) -> TokenResponse:
        """Exchange ``code`` for a validated :class:`TokenResponse`.

        When the scope has ``openid``, the reply's ``id_token`` is validated (with
        ``nonce``, the one sent in the authorization request, when given) and its
        claims are the result's ``id_token_claims``.
        """
        response = self.fetch_access_token(
            user,
            code,
            state,
            post_form_data=post_form_data,
            check_state=check_state,
            code_verifier=code_verifier,
            redirect_uri=redirect_uri,
            dpop_key=dpop_key,
        )
        result = self.parse_token_response(response, dpop=dpop_key is not None)
        if not self.requests_openid:
            return result
        try:
            claims = self.validate_id_token(result.extras.get("id_token"), nonce=nonce)
        except AuthCodeFlowError as exc:
            exc.response = exc.response or response
            raise
        return dataclasses.replace(result, id_token_claims=claims)

    # --- OpenID Connect -------------------------------------------------------------

    def get_jwks(self, refresh: bool = False) -> Mapping[str, Any]:
        """The server's JWK Set from ``jwks_uri``, through the bounded HTTP client.

        Fetched on every call here; ``refresh`` asks a caching subclass to fetch it
        again rather than use what it keeps.
        """
        return self.fetch_jwks()

    def fetch_jwks(self, timeout: float | None = None) -> Mapping[str, Any]:
        """Fetch the server's JWK Set now, within ``timeout`` seconds (default: the
        manager's ``timeout``)."""
        if not self.jwks_uri:
            raise ImproperlyConfigured(
                f"{type(self).__name__} asks for openid but has no jwks_uri to check "
                "the ID token with."
            )
        logger.debug("GET %s (JWKS)", self.jwks_uri)
        return server_metadata.fetch_json(
            self.get_session(),
            self.jwks_uri,
            timeout=self.timeout if timeout is None else timeout,
            connect_timeout=self.connect_timeout,
            max_bytes=self.max_response_bytes,
        )

    def validate_id_token(self, id_token: object, *, nonce: str | None) -> dict[str, Any]:
        """The claims of ``id_token`` (see :func:`.id_tokens.validate_id_token`)."""
        if not self.issuer:
            raise ImproperlyConfigured(
                f"{type(self).__name__} asks for openid but has no issuer to check the "
                "ID token against."
            )
        return validate_id_token(
            id_token,
            jwks=self.get_jwks,
            issuer=self.issuer,
            client_id=str(self.client_id),
            nonce=nonce,
            algorithms=self.id_token_algorithms,
            leeway=self.id_token_leeway,
            issuer_aliases=self.issuer_aliases,
            allowed_tenants=self.allowed_tenants,
        )

    def refresh(
        self,
        refresh_token: str,
        *,
        scope: str | None = None,
        granted_scope: str | None = None,
        dpop_key: DPoPKey | None = None,
    ) -> TokenResponse:
        """Use the ``refresh_token`` grant (RFC 6749 6).

        A reply with a new refresh token rotates it; a reply without one keeps
        ``refresh_token``. A reply without ``scope`` keeps ``scope`` when one was asked
        for, else ``granted_scope`` (the scope the grant had): a refresh does not change
        the scope unless asked to.

        When the scope has ``openid`` and the reply carries an ``id_token``, it is
        validated as at the code exchange but for the nonce (a refresh sends none; see
        :func:`.id_tokens.check_refreshed_claims` for the comparison with the original
        ID token) and its claims are the result's ``id_token_claims``. A reply without
        one is used as it is.
        """
        if not refresh_token:
            raise InvalidGrantError("There is no refresh token to use.")
        params = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        if scope:
            params["scope"] = scope
        params.update(self._client_auth_params())
        response = self._post(
            self.get_access_token_endpoint(),
            params,
            self._client_auth_headers(),
            dpop_key=dpop_key,
            as_json=not self.post_form_data,
        )
        self._raise_for_error(response, self._decode(response), AuthCodeFlowError, refresh_token)
        result = self.parse_token_response(
            response,
            previous_refresh_token=refresh_token,
            previous_scope=scope or granted_scope,
            dpop=dpop_key is not None,
        )
        id_token = result.extras.get("id_token")
        if not self.requests_openid or id_token is None:
            return result
        try:
            claims = self.validate_id_token(id_token, nonce=None)
        except AuthCodeFlowError as exc:
            exc.response = exc.response or response
            raise
        return dataclasses.replace(result, id_token_claims=claims)

    def revoke(
        self,
        token: str,
        *,
        token_type_hint: str | None = None,
        dpop_key: DPoPKey | None = None,
    ) -> None:
        """Revoke ``token`` at the revocation endpoint (RFC 7009 2.1)."""
        params = {"token": token}
        if token_type_hint:
            params["token_type_hint"] = token_type_hint
        params.update(self._client_auth_params())
        try:
            response = self._post(
                self.get_revocation_endpoint(),
                params,
                self._client_auth_headers(),
                dpop_key=dpop_key,
                as_json=not self.post_form_data,
            )
        except AuthCodeFlowError as exc:
            raise RevocationError(exc.description, response=exc.response) from exc
        try:
            body = decode_body(response)
        except InvalidTokenResponseError:
            body = None
        self._raise_for_error(response, body, RevocationError, token)

    # --- parsing --------------------------------------------------------------------

    def parse_token_response(
        self,
        response: requests.Response,
        *,
        previous_refresh_token: str | None = None,
        previous_scope: str | None = None,
        now: datetime | None = None,
        dpop: bool = False,
    ) -> TokenResponse:
        """Validate a 2xx token reply (RFC 6749 5.1) into a :class:`TokenResponse`;
        with ``dpop``, its token must be DPoP-bound (RFC 9449 5)."""
        body = self._decode(response)
        self._raise_for_error(response, body, AuthCodeFlowError)
        if body is None:
            raise InvalidTokenResponseError(
                "The provider's reply is neither JSON nor form-encoded.", response=response
            )
        return self.token_response_from(
            body,
            previous_refresh_token=previous_refresh_token,
            previous_scope=previous_scope,
            now=now,
            response=response,
            dpop=dpop,
        )

    def token_response_from(
        self,
        body: Mapping[str, Any],
        *,
        previous_refresh_token: str | None = None,
        previous_scope: str | None = None,
        now: datetime | None = None,
        response: requests.Response | None = None,
        dpop: bool = False,
    ) -> TokenResponse:
        """Validate a decoded token reply (see :func:`token_replies.token_response_from`).

        ``previous_scope`` is the scope a reply without ``scope`` keeps (RFC 6749 6: a
        refresh does not change the scope); by default it is the configured one.
        """
        body = nested_token_reply(body, self.token_reply_object)
        bearer_token_types = self.bearer_token_types
        if dpop:
            # A Bearer token where a DPoP-bound one was asked for could be replayed by
            # whoever sees it: refused (RFC 9449 5).
            token_type = body.get("token_type")
            if not isinstance(token_type, str) or token_type.lower() != "dpop":
                shown = clean_provider_text(token_type, 40) if token_type else "none"
                raise InvalidTokenResponseError(
                    f"The provider issued a {shown} token where a DPoP-bound token was asked for.",
                    response=response,
                )
            bearer_token_types = (*bearer_token_types, "DPoP")
        result = token_response_from(
            body,
            configured_scope=self.scope,
            token_type_required=self.token_type_required,
            expires_in_field=self.expires_in_field,
            bearer_token_types=bearer_token_types,
            previous_refresh_token=previous_refresh_token,
            previous_scope=previous_scope,
            now=now,
            response=response,
            api_base_url_field=self.api_base_url_field,
        )
        return dataclasses.replace(result, token_type="DPoP") if dpop else result
