"""The token requests of the authorization code grant: the code exchange (RFC 6749
4.1.3) with its PKCE verifier, the refresh (6), and the validation of their replies
(5.1, 5.2; RFC 9449 5 for DPoP-bound tokens). Nothing here imports Django.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import requests

from .errors import (
    AuthCodeFlowError,
    AuthorizationError,
    InvalidGrantError,
    InvalidTokenResponseError,
    StateForgeryError,
    clean_provider_text,
)
from .oidc_flow import IDTokenValidation
from .rfc6749_token_replies import TokenResponse, nested_token_reply, token_response_from
from .rfc9449_dpop import DPoPKey

__all__ = ["TokenRequests"]

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class TokenRequests(IDTokenValidation):
    """The code exchange and the refresh, each returning a validated
    :class:`~.rfc6749_token_replies.TokenResponse`."""

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
        return self._with_id_token(result, result.extras.get("id_token"), nonce, response)

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
        :func:`.oidc_id_tokens.check_refreshed_claims` for the comparison with the original
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
        return self._with_id_token(result, id_token, None, response)

    def _with_id_token(
        self,
        result: TokenResponse,
        id_token: object,
        nonce: str | None,
        response: requests.Response,
    ) -> TokenResponse:
        """``result`` with the claims of its validated ``id_token``; a refused one
        raises with the token endpoint's ``response``."""
        try:
            claims = self.validate_id_token(id_token, nonce=nonce)
        except AuthCodeFlowError as exc:
            exc.response = exc.response or response
            raise
        return dataclasses.replace(result, id_token_claims=claims)

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
        """Validate a decoded token reply (see :func:`.rfc6749_token_replies.token_response_from`).

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
            api_base_url_hosts=self.api_base_url_hosts,
        )
        return dataclasses.replace(result, token_type="DPoP") if dpop else result
