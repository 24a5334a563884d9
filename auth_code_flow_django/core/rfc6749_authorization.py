"""The authorization request of the authorization code grant (RFC 6749 4.1.1), with
its ``state`` (10.12), PKCE (RFC 7636), OpenID Connect's ``nonce``, DPoP's
``dpop_jkt`` (RFC 9449 10) and, when pushed, RFC 9126. Nothing here imports Django.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .errors import AuthCodeFlowError
from .flow_base import FlowBase
from .rfc7636_pkce import code_challenge_s256
from .rfc9126_par import PushedAuthorizationError, authorization_url, pushed_request
from .rfc9449_dpop import DPoPKey

__all__ = ["AuthorizationRequests", "make_state", "states_match"]

STATE_BYTES = 32  # 256 bits of entropy


def make_state() -> str:
    """A fresh, unguessable ``state`` (256 bits from :mod:`secrets`)."""
    return secrets.token_urlsafe(STATE_BYTES)


def states_match(expected: object, received: object) -> bool:
    """Compare two states in constant time; anything but two strings never matches."""
    if not isinstance(expected, str) or not isinstance(received, str) or not expected:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), received.encode("utf-8"))


class AuthorizationRequests(FlowBase):
    """Where to send the user: the authorization URL, or a pushed request's."""

    def make_state(self) -> str:
        return make_state()

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
        body = self._body_if_any(response)
        self._raise_for_error(response, body, PushedAuthorizationError)
        pushed = pushed_request(body)
        return authorization_url(
            self._endpoint("authorization_path"), str(self.client_id), pushed.request_uri
        )
