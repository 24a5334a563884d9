"""Token revocation (RFC 7009), authenticated like a token request. Nothing here
imports Django.
"""

from __future__ import annotations

from .errors import AuthCodeFlowError, RevocationError
from .flow_base import FlowBase
from .rfc9449_dpop import DPoPKey

__all__ = ["Revocation"]


class Revocation(FlowBase):
    """Revoking a token at the provider."""

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
        self._raise_for_error(response, self._body_if_any(response), RevocationError, token)
