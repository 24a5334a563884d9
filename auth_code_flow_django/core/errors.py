"""The exceptions of the authorization code flow.

Every class carries an RFC 6749 ``error`` code and a human ``description``. Messages
are written by this package or cleaned from what a provider said; they never contain a
token, a client secret or a PKCE verifier.

The seed package's names (``BaseAuthCodeFlowError``, ``AuthCodeFlowError`` with
``.response``, ``ImproperlyConfigured``, ``StateForgeryError``) keep their meaning.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, ClassVar, Literal

if TYPE_CHECKING:
    import requests

__all__ = [
    "AccessDeniedError",
    "AuthCodeFlowError",
    "AuthorizationError",
    "BaseAuthCodeFlowError",
    "EndpointURLError",
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
    "clean_provider_text",
]

# RFC 6749 section 5.2: error codes are NQSCHAR (printable ASCII but " and \).
_ERROR_CODE = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]{1,64}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
_MAX_DESCRIPTION = 300


def clean_provider_text(value: object, limit: int = _MAX_DESCRIPTION) -> str:
    """Make text received from a provider safe to show and log: one line, bounded."""
    if not isinstance(value, str):
        return ""
    text = _CONTROL.sub(" ", value).strip()
    if len(text) > limit:
        text = text[: limit - 1] + "\u2026"
    return text


def clean_error_code(value: object, default: str) -> str:
    """Return ``value`` if it is a well-formed RFC 6749 error code, else ``default``."""
    if isinstance(value, str) and _ERROR_CODE.fullmatch(value):
        return value
    return default


class BaseAuthCodeFlowError(Exception):
    """Root of every error this package raises."""

    error: ClassVar[str] = "server_error"
    default_description: ClassVar[str] = "The authorization flow failed."

    def __init__(self, description: str | None = None, *, error: str | None = None) -> None:
        self.description = description or self.default_description
        if error is not None:
            # An instance attribute shadows the class default for provider-given codes.
            self.error = error  # type: ignore[misc]
        super().__init__(self.description)

    def __str__(self) -> str:
        return self.description

    def __repr__(self) -> str:
        return f"{type(self).__name__}(error={self.error!r}, description={self.description!r})"


class ImproperlyConfigured(BaseAuthCodeFlowError):
    """The flow manager or provider is missing a required setting."""

    error = "server_error"
    default_description = "The OAuth client is not configured correctly."


#: Why an endpoint URL is refused: not set, not an absolute http(s) URL, plain http
#: off loopback, or able to reach another host than the one configured.
EndpointURLProblem = Literal["missing", "not_absolute", "insecure", "unsafe"]


class EndpointURLError(ImproperlyConfigured):
    """An endpoint URL (``base_uri``, a path, ``issuer`` ...) that must not be used.

    ``setting`` names the setting at fault and ``problem`` says why; the message never
    repeats the value (it could hold user information).
    """

    def __init__(self, description: str, *, setting: str, problem: EndpointURLProblem) -> None:
        super().__init__(description)
        self.setting = setting
        self.problem: EndpointURLProblem = problem


class StateError(BaseAuthCodeFlowError):
    """The ``state`` of a callback cannot be accepted."""

    error = "invalid_request"
    default_description = "The authorization request could not be verified."


class StateMissingError(StateError):
    """The callback came without a ``state``: a broken link or a lost request."""

    default_description = (
        "The provider's reply did not say which authorization request it answers. "
        "Please start again."
    )


class StateForgeryError(StateError):
    """The ``state`` does not match one this user started: possible tampering."""

    default_description = (
        "This reply does not match an authorization request started from your account. "
        "Nothing was connected."
    )


class StateExpiredError(StateError):
    """The ``state`` is genuine but too old."""

    default_description = "This authorization request has expired. Please start again."


class StateAlreadyUsedError(StateError):
    """The ``state`` is genuine but was already consumed (a replay or a double click)."""

    default_description = "This authorization request was already completed or cancelled."


class IssuerMismatchError(BaseAuthCodeFlowError):
    """The ``iss`` callback parameter is missing or names another server (RFC 9207)."""

    error = "invalid_request"
    default_description = "The reply did not come from the expected authorization server."


class AuthorizationError(BaseAuthCodeFlowError):
    """The authorization endpoint answered with ``?error=...`` (RFC 6749 4.1.2.1)."""

    error = "invalid_request"
    default_description = "The provider refused the authorization request."


class AccessDeniedError(AuthorizationError):
    """The user (or the provider) declined the authorization."""

    error = "access_denied"
    default_description = "The authorization was cancelled."


class AuthCodeFlowError(BaseAuthCodeFlowError):
    """The token endpoint failed: HTTP error, network error or an error reply.

    ``response`` is the ``requests.Response`` when one was received, else ``None``.
    """

    error = "server_error"
    default_description = "The provider's token endpoint failed."

    def __init__(
        self,
        description: str | None = None,
        *,
        error: str | None = None,
        response: requests.Response | None = None,
    ) -> None:
        super().__init__(description, error=error)
        self.response = response

    @property
    def status_code(self) -> int | None:
        return None if self.response is None else self.response.status_code


class InvalidGrantError(AuthCodeFlowError):
    """The code or refresh token was refused (expired, revoked, already used)."""

    error = "invalid_grant"
    default_description = "The provider refused the grant; the user must authorize again."


class InvalidTokenResponseError(AuthCodeFlowError):
    """The token endpoint answered 2xx with something that is not a usable token."""

    error = "invalid_token_response"
    default_description = "The provider's token response was not valid."


class RevocationError(AuthCodeFlowError):
    """The revocation endpoint (RFC 7009) failed."""

    default_description = "The provider's revocation endpoint failed."


class NotConnectedError(BaseAuthCodeFlowError):
    """The user has no token for this provider.

    ``provider`` (the provider's slug) and ``user_pk`` (the user's primary key) say which
    connection is missing, and the message names them when they are known. The user
    appears by primary key, as in the log lines, not by username: messages travel to
    error trackers, and a username is personal data.
    """

    error = "invalid_request"
    default_description = "This account is not connected to the provider."

    def __init__(
        self,
        description: str | None = None,
        *,
        provider: str | None = None,
        user_pk: object = None,
        error: str | None = None,
    ) -> None:
        self.provider = provider
        self.user_pk = user_pk
        if description is None and provider is not None:
            description = self.describe(provider, user_pk)
        super().__init__(description, error=error)

    @staticmethod
    def describe(provider: str, user_pk: object) -> str:
        who = "This account" if user_pk is None else f"User pk={user_pk!r}"
        return f"{who} is not connected to the provider {provider!r}."


class ReauthorizationRequiredError(BaseAuthCodeFlowError):
    """The stored grant no longer works; the user must connect again."""

    error = "invalid_grant"
    default_description = (
        "The provider no longer accepts this connection; the user must connect again."
    )


class UntrustedURLError(BaseAuthCodeFlowError):
    """A token would be sent to a URL the provider does not declare, or without https."""

    error = "invalid_request"
    default_description = "Refusing to send a token to this URL."
