"""The flow manager: the seed API's :class:`AbstractBaseFlowManager`, made of the
specification modules under it. Nothing here imports Django.
"""

from __future__ import annotations

from .rfc6749_authorization import AuthorizationRequests
from .rfc6749_token_requests import TokenRequests
from .rfc7009_revocation import Revocation

__all__ = ["AbstractBaseFlowManager"]


class AbstractBaseFlowManager(AuthorizationRequests, TokenRequests, Revocation):
    """Obtain access tokens with the OAuth 2.0 authorization code flow.

    Subclass it, set the class attributes and implement :meth:`store_user_state` and
    :meth:`check_user_state`, exactly as with ``auth-code-flow`` 0.1.0. Attributes may
    also be given as keyword arguments when instantiating.

    It fixes the seed's weaknesses: unpredictable state, PKCE by default, a
    form-encoded token request, no retries of a single-use code, no redirects, a
    bounded reply, and a parsed, validated :class:`TokenResponse`.
    """
