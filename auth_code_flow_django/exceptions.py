"""The exceptions of the authorization code flow, where the seed API promises them.

They are defined in :mod:`.core.errors` (the framework-free core raises them too) and
importable from here, the public place. Every class carries an RFC 6749 ``error`` code
and a human ``description``; messages never contain a token, a client secret or a PKCE
verifier.
"""

from __future__ import annotations

from .core.errors import (
    AccessDeniedError,
    AuthCodeFlowError,
    AuthorizationError,
    BaseAuthCodeFlowError,
    EndpointURLError,
    EndpointURLProblem,
    ImproperlyConfigured,
    InvalidGrantError,
    InvalidTokenResponseError,
    IssuerMismatchError,
    NotConnectedError,
    ReauthorizationRequiredError,
    RevocationError,
    StateAlreadyUsedError,
    StateError,
    StateExpiredError,
    StateForgeryError,
    StateMissingError,
    UntrustedURLError,
    clean_error_code,
    clean_provider_text,
)

__all__ = [
    "AccessDeniedError",
    "AuthCodeFlowError",
    "AuthorizationError",
    "BaseAuthCodeFlowError",
    "EndpointURLError",
    "EndpointURLProblem",
    "ImproperlyConfigured",
    "InvalidGrantError",
    "InvalidTokenResponseError",
    "IssuerMismatchError",
    "NotConnectedError",
    "ReauthorizationRequiredError",
    "RevocationError",
    "StateAlreadyUsedError",
    "StateError",
    "StateExpiredError",
    "StateForgeryError",
    "StateMissingError",
    "UntrustedURLError",
    "clean_error_code",
    "clean_provider_text",
]
