"""The framework-agnostic OAuth 2.0 authorization code flow manager.

This module imports nothing from Django. It keeps the public API of the
``auth-code-flow`` 0.1.0 package (``AbstractBaseFlowManager`` and its methods), and
fixes its weaknesses: unpredictable state, PKCE by default, a form-encoded token
request, no retries of a single-use code, no redirects, a bounded reply, and a parsed,
validated :class:`TokenResponse`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import math
import os
import re
import secrets
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar, Literal, get_args
from urllib.parse import parse_qsl, quote_plus, urlencode, urlsplit, urlunsplit

import requests

from .exceptions import (
    AuthCodeFlowError,
    AuthorizationError,
    ImproperlyConfigured,
    InvalidGrantError,
    InvalidTokenResponseError,
    RevocationError,
    StateForgeryError,
    clean_error_code,
    clean_provider_text,
)

__all__ = [
    "AbstractBaseFlowManager",
    "ClientAuthMethod",
    "TokenResponse",
    "code_challenge_s256",
    "make_code_verifier",
    "make_state",
    "states_match",
]

logger = logging.getLogger("auth_code_flow_django.flow")

ClientAuthMethod = Literal["client_secret_post", "client_secret_basic", "none"]
CLIENT_AUTH_METHODS: tuple[str, ...] = get_args(ClientAuthMethod)

STATE_BYTES = 32  # 256 bits of entropy
VERIFIER_BYTES = 48  # 64 characters, inside RFC 7636's 43..128
# Ten years: a longer lifetime is nonsense and would overflow some date arithmetic.
MAX_EXPIRES_IN = 10 * 365 * 24 * 3600
_DIGITS = re.compile(r"[0-9]{1,12}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# What no stored provider value may hold: C0/C1 controls (PostgreSQL refuses NUL in
# text; CR/LF would forge log lines) and lone surrogates (no database can encode them).
_UNSTORABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
MAX_STORED_LENGTH = 8192
_KNOWN_FIELDS = frozenset({"access_token", "refresh_token", "token_type", "scope"})


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


def new_session() -> requests.Session:
    """A session that takes nothing from the environment by itself.

    ``trust_env`` would attach ``~/.netrc`` credentials to a token request that has no
    ``Authorization`` header of its own (``client_secret_post``), sending them to the
    provider; proxies and a CA bundle from the environment are applied per request
    instead (see ``AbstractBaseFlowManager._environment``).
    """
    session = requests.Session()
    session.trust_env = False
    return session


def states_match(expected: object, received: object) -> bool:
    """Compare two states in constant time; anything but two strings never matches."""
    if not isinstance(expected, str) or not isinstance(received, str) or not expected:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), received.encode("utf-8"))


@dataclass(frozen=True)
class TokenResponse:
    """A validated token endpoint reply (RFC 6749 5.1).

    ``scope`` is the granted scope: the one the provider returned, or the requested one
    when the reply omits it (RFC 6749 5.1). ``extras`` holds the other fields.
    ``repr()`` never shows a token.
    """

    access_token: str = field(repr=False)
    token_type: str = "Bearer"
    expires_in: int | None = None
    expires_at: datetime | None = None
    refresh_token: str | None = field(default=None, repr=False)
    scope: str | None = None
    extras: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def has_refresh_token(self) -> bool:
        return bool(self.refresh_token)

    def __repr__(self) -> str:
        return (
            f"TokenResponse(token_type={self.token_type!r}, expires_in={self.expires_in!r}, "
            f"expires_at={self.expires_at!r}, scope={self.scope!r}, "
            f"has_refresh_token={self.has_refresh_token!r})"
        )


def parse_expires_in(value: object) -> int | None:
    """A usable lifetime in seconds, or ``None`` for absent or nonsense values."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        value = int(value)
    elif isinstance(value, str):
        if not _DIGITS.fullmatch(value.strip()):
            return None
        value = int(value.strip())
    if not isinstance(value, int) or value <= 0 or value > MAX_EXPIRES_IN:
        return None
    return value


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise InvalidTokenResponseError("The provider's reply repeats a field.")
        result[key] = value
    return result


def decode_body(response: requests.Response) -> dict[str, Any] | None:
    """The reply as a mapping (JSON object or form-encoded), or ``None`` if it is neither.

    A JSON value that is not an object, or any repeated field, is an
    :class:`InvalidTokenResponseError`.
    """
    try:
        text = response.content.decode("utf-8")
    except UnicodeDecodeError:
        return None
    stripped = text.strip()
    content_type = response.headers.get("Content-Type", "").lower()
    if "json" in content_type or stripped.startswith(("{", "[")):
        try:
            value = json.loads(stripped, object_pairs_hook=_reject_duplicate_keys)
        except ValueError:
            return None
        if not isinstance(value, dict):
            raise InvalidTokenResponseError(
                "The provider's reply is JSON but not an object.", response=response
            )
        return value
    if "html" in content_type or stripped.startswith("<") or "=" not in stripped:
        return None
    try:
        pairs = parse_qsl(stripped, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        return None
    return _reject_duplicate_keys(pairs)


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
    #: How the client authenticates to the token endpoint (RFC 6749 2.3.1).
    token_endpoint_auth_method: ClientAuthMethod = "client_secret_post"
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
    #: Seconds to wait to connect, and in total for the whole reply.
    connect_timeout: float = 5.0
    timeout: float = 10.0
    #: Largest token endpoint reply read, in bytes.
    max_response_bytes: int = 64 * 1024

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
        self._session: requests.Session | None = None
        self._environments: dict[str, dict[str, Any]] = {}

    def _required(self) -> tuple[str, ...]:
        if self.token_endpoint_auth_method == "none":
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

    def _endpoint(self, path: str | None) -> str:
        if path is None:
            raise ImproperlyConfigured(f"{type(self).__name__} has no endpoint path set.")
        if path.startswith(("https://", "http://")):
            return path
        base = self.base_uri or ""
        if base.endswith("/") and path.startswith("/"):
            base = base[:-1]
        return base + path

    def _redirect_uri(self, redirect_uri: str | None) -> str:
        uri = redirect_uri or self.redirect_uri
        if not uri:
            raise ImproperlyConfigured(f"{type(self).__name__} has no redirect_uri.")
        return uri

    def get_authorization_endpoint_params(
        self,
        state: str,
        *,
        code_verifier: str | None = None,
        redirect_uri: str | None = None,
        extra_params: Mapping[str, str] | None = None,
    ) -> dict[str, str]:
        params: dict[str, str] = {
            "client_id": str(self.client_id),
            "redirect_uri": self._redirect_uri(redirect_uri),
            "response_type": str(self.response_type),
        }
        if self.scope:
            params["scope"] = self.scope
        params["state"] = state
        verifier = self._verifier(state, code_verifier)
        if verifier is not None:
            params["code_challenge"] = code_challenge_s256(verifier)
            params["code_challenge_method"] = "S256"
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
    ) -> str:
        """The URL to send the user to; keeps any query ``authorization_path`` has."""
        params = self.get_authorization_endpoint_params(
            state,
            code_verifier=code_verifier,
            redirect_uri=redirect_uri,
            extra_params=extra_params,
        )
        scheme, netloc, path, query, _fragment = urlsplit(self._endpoint(self.authorization_path))
        kept = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k not in params]
        # RFC 6749 3.1: the endpoint URI must not include a fragment.
        return urlunsplit((scheme, netloc, path, urlencode([*kept, *params.items()]), ""))

    def get_access_token_endpoint(self) -> str:
        return self._endpoint(self.access_token_path)

    def get_revocation_endpoint(self) -> str:
        return self._endpoint(self.revocation_path)

    def _client_auth_params(self) -> dict[str, str]:
        """Body parameters that authenticate the client (``client_secret_post``, ``none``)."""
        if self.token_endpoint_auth_method == "client_secret_basic":
            return {}
        params = {"client_id": str(self.client_id)}
        if self.token_endpoint_auth_method == "client_secret_post":
            params["client_secret"] = str(self.client_secret)
        return params

    def _client_auth_headers(self) -> dict[str, str]:
        """Headers that authenticate the client (``client_secret_basic``)."""
        if self.token_endpoint_auth_method != "client_secret_basic":
            return {}
        # RFC 6749 2.3.1: each part is form-encoded before the Basic encoding.
        pair = f"{quote_plus(str(self.client_id))}:{quote_plus(str(self.client_secret))}"
        return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}

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
            self._session = new_session()
        return self._session

    def _environment(self, url: str) -> dict[str, Any]:
        """Proxies and CA bundle from the environment, read once per endpoint."""
        cached = self._environments.get(url)
        if cached is None:
            cached = self._environments[url] = {
                "proxies": requests.utils.get_environ_proxies(url),
                "verify": os.environ.get("REQUESTS_CA_BUNDLE")
                or os.environ.get("CURL_CA_BUNDLE")
                or True,
            }
        return cached

    def _read_body(self, response: requests.Response, deadline: float) -> None:
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_response_bytes:
            response.close()
            raise AuthCodeFlowError("The provider's reply is too large.", response=response)
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_content(chunk_size=8192):
                size += len(chunk)
                if size > self.max_response_bytes:
                    raise AuthCodeFlowError(
                        "The provider's reply is too large.", response=response
                    )
                if time.monotonic() > deadline:
                    raise AuthCodeFlowError(
                        "The provider did not answer in time.", response=response
                    )
                chunks.append(chunk)
        except requests.RequestException as exc:
            raise AuthCodeFlowError("The provider's reply was cut off.") from exc
        finally:
            response.close()
        response._content = b"".join(chunks)

    def _post(
        self,
        url: str,
        data: dict[str, str],
        headers: dict[str, str],
        *,
        as_json: bool = False,
    ) -> requests.Response:
        headers = {"Accept": "application/json", **headers}
        deadline = time.monotonic() + self.timeout
        logger.debug("POST %s (grant_type=%s)", url, data.get("grant_type", "-"))
        try:
            response = self.get_session().post(
                url,
                data=None if as_json else data,
                json=data if as_json else None,
                headers=headers,
                timeout=(min(self.connect_timeout, self.timeout), self.timeout),
                allow_redirects=False,
                stream=True,
                **self._environment(url),
            )
        except requests.Timeout as exc:
            raise AuthCodeFlowError("The provider did not answer in time.") from exc
        except requests.RequestException as exc:
            raise AuthCodeFlowError("The provider could not be reached.") from exc
        self._read_body(response, deadline)
        return response

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
        ok = 200 <= response.status_code < 300
        if ok and (body is None or "error" not in body):
            return
        if body is not None and "error" in body:
            code = clean_error_code(body.get("error"), "server_error")
            detail = self._redact(
                clean_provider_text(body.get("error_description")), *secret_values
            )
            message = f"The provider answered {code}" + (f": {detail}" if detail else ".")
            cls = InvalidGrantError if code == "invalid_grant" else error_class
            raise cls(message, error=code, response=response)
        if 300 <= response.status_code < 400:
            raise error_class(
                f"The provider answered with a redirect (HTTP {response.status_code}), "
                "which is not followed.",
                response=response,
            )
        raise error_class(f"The provider answered HTTP {response.status_code}.", response=response)

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
        response = self._post(self.get_access_token_endpoint(), params, headers, as_json=as_json)
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
    ) -> TokenResponse:
        """Exchange ``code`` for a validated :class:`TokenResponse`."""
        response = self.fetch_access_token(
            user,
            code,
            state,
            post_form_data=post_form_data,
            check_state=check_state,
            code_verifier=code_verifier,
            redirect_uri=redirect_uri,
        )
        return self.parse_token_response(response)

    def refresh(
        self, refresh_token: str, *, scope: str | None = None, granted_scope: str | None = None
    ) -> TokenResponse:
        """Use the ``refresh_token`` grant (RFC 6749 6).

        A reply with a new refresh token rotates it; a reply without one keeps
        ``refresh_token``. A reply without ``scope`` keeps ``scope`` when one was asked
        for, else ``granted_scope`` (the scope the grant had): a refresh does not change
        the scope unless asked to.
        """
        if not refresh_token:
            raise InvalidGrantError("There is no refresh token to use.")
        params = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        if scope:
            params["scope"] = scope
        params.update(self._client_auth_params())
        response = self._post(
            self.get_access_token_endpoint(), params, self._client_auth_headers()
        )
        self._raise_for_error(response, self._decode(response), AuthCodeFlowError, refresh_token)
        return self.parse_token_response(
            response,
            previous_refresh_token=refresh_token,
            previous_scope=scope or granted_scope,
        )

    def revoke(self, token: str, *, token_type_hint: str | None = None) -> None:
        """Revoke ``token`` at the revocation endpoint (RFC 7009 2.1)."""
        params = {"token": token}
        if token_type_hint:
            params["token_type_hint"] = token_type_hint
        params.update(self._client_auth_params())
        try:
            response = self._post(
                self.get_revocation_endpoint(), params, self._client_auth_headers()
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
    ) -> TokenResponse:
        """Validate a 2xx token reply (RFC 6749 5.1) into a :class:`TokenResponse`."""
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
        )

    def token_response_from(
        self,
        body: Mapping[str, Any],
        *,
        previous_refresh_token: str | None = None,
        previous_scope: str | None = None,
        now: datetime | None = None,
        response: requests.Response | None = None,
    ) -> TokenResponse:
        """Validate a decoded token reply. Every value kept from it is checked here, once,
        so nothing a database would refuse (a NUL, a lone surrogate) is ever stored.

        ``previous_scope`` is the scope a reply without ``scope`` keeps (RFC 6749 6: a
        refresh does not change the scope); by default it is the configured one.
        """
        access_token = body.get("access_token")
        if not isinstance(access_token, str) or not access_token.strip():
            raise InvalidTokenResponseError(
                "The provider's reply has no access token.", response=response
            )
        self._check_storable("access token", access_token, response)
        token_type = body.get("token_type")
        if token_type is None and not self.token_type_required:
            token_type = "Bearer"
        if not isinstance(token_type, str) or token_type.lower() != "bearer":
            shown = clean_provider_text(token_type, 40) or "none"
            raise InvalidTokenResponseError(
                f"The provider issued an unsupported token type ({shown}); only Bearer "
                "tokens are supported.",
                response=response,
            )
        expires_in = parse_expires_in(body.get(self.expires_in_field))
        now = now or datetime.now(timezone.utc)
        expires_at = None if expires_in is None else now + timedelta(seconds=expires_in)
        refresh_token = body.get("refresh_token")
        if refresh_token is None or refresh_token == "":
            refresh_token = previous_refresh_token
        elif not isinstance(refresh_token, str):
            raise InvalidTokenResponseError(
                "The provider's refresh token is not a string.", response=response
            )
        else:
            self._check_storable("refresh token", refresh_token, response)
        scope = self._granted_scope(body.get("scope"), previous_scope, response)
        extras = {
            k: v for k, v in body.items() if k not in _KNOWN_FIELDS and k != self.expires_in_field
        }
        return TokenResponse(
            access_token=access_token,
            token_type="Bearer",
            expires_in=expires_in,
            expires_at=expires_at,
            refresh_token=refresh_token,
            scope=scope,
            extras=extras,
        )

    def _granted_scope(
        self, value: object, previous: str | None, response: requests.Response | None
    ) -> str | None:
        if value is None:
            return previous if previous is not None else self.scope
        if isinstance(value, list) and all(isinstance(s, str) for s in value):
            value = " ".join(value)
        if not isinstance(value, str):
            raise InvalidTokenResponseError(
                "The provider's granted scope is not a string.", response=response
            )
        self._check_storable("granted scope", value, response)
        requested = previous if previous is not None else self.scope
        if requested is not None and set(value.replace(",", " ").split()) != set(
            requested.replace(",", " ").split()
        ):
            logger.info("granted scope %r differs from requested %r", value, requested)
        return value

    @staticmethod
    def _check_storable(name: str, value: str, response: requests.Response | None) -> None:
        if len(value) > MAX_STORED_LENGTH or _UNSTORABLE.search(value):
            raise InvalidTokenResponseError(
                f"The provider's {name} has control characters or is too long.",
                response=response,
            )
