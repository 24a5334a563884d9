"""The framework-agnostic OAuth 2.0 authorization code flow manager, where the seed API
promises it.

This module imports nothing from Django. It keeps the public API of the
``auth-code-flow`` 0.1.0 package (``from auth_code_flow_django.flow import
AbstractBaseFlowManager``) and re-exports what the flow manager's users need. The
manager itself is made of the specification modules of :mod:`.core`:
:mod:`.core.rfc6749_authorization` (the authorization request, state),
:mod:`.core.rfc7636_pkce`, :mod:`.core.rfc6749_token_requests` (code exchange and
refresh), :mod:`.core.rfc7009_revocation`, :mod:`.core.oidc_flow` (ID tokens), over
:mod:`.core.flow_base` (settings, client authentication, the bounded HTTP client).
"""

from __future__ import annotations

from .core.client_auth import CLIENT_AUTH_METHODS, ClientAuthMethod
from .core.flow_manager import AbstractBaseFlowManager
from .core.http_client import new_session
from .core.rfc6749_authorization import make_state, states_match
from .core.rfc6749_token_replies import (
    MAX_EXPIRES_IN,
    TokenResponse,
    decode_body,
    parse_expires_in,
)
from .core.rfc7636_pkce import code_challenge_s256, make_code_verifier
from .core.stored_values import MAX_STORED_LENGTH

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
