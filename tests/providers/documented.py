"""A preset's documented replies as data: what the provider answers to a refused code,
a refused refresh and a revocation, each kept in the preset's module beside the page it
follows. ``test_documented_replies`` drives every preset's data through the same
scenarios."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import responses

#: How the client authenticates: HTTP Basic, client_id and client_secret in the body,
#: client_id alone in the body, or not checked.
ClientAuth = Literal["basic", "secret_in_body", "client_id_in_body", "any"]


@dataclass(frozen=True)
class Reply:
    """One reply as a provider's page shows it: its status and JSON body (none: empty)."""

    status: int = 200
    json: dict[str, Any] | None = None

    def serve(self, mocked: responses.RequestsMock, method: str, url: str) -> Any:
        if self.json is None:
            return mocked.add(method, url, status=self.status, body="")
        return mocked.add(method, url, status=self.status, json=self.json)


@dataclass(frozen=True)
class Revocation:
    """How a preset revokes on disconnect: the endpoint, its reply, and what each
    request carries besides the token (sent refresh token first, then access token)."""

    url: str
    reply: Reply
    #: How the token travels: a form (RFC 7009) or a JSON body.
    body: Literal["form", "json"] = "form"
    #: Each request names its token's type in token_type_hint.
    hints: bool = False
    client_auth: ClientAuth = "any"
    #: Headers every revocation request carries.
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DocumentedReplies:
    """What one preset's documentation says its token and revocation endpoints answer.

    ``None`` means the preset's module tests that case its own way."""

    slug: str
    token_url: str
    #: How token requests carry their body and the client's credentials, and headers
    #: every request to the provider carries.
    token_body: Literal["form", "json"] = "form"
    client_auth: ClientAuth = "any"
    headers: dict[str, str] = field(default_factory=dict)
    #: Connecting: the authorization endpoint and what its query holds (None: not at
    #: all); the token endpoint's reply to the code; the GET that names the account and
    #: its reply (None: the token reply names it); the account (id, name) stored and
    #: other stored fields. No authorize_url: the module tests connecting its own way.
    authorize_url: str | None = None
    authorize_params: dict[str, str | None] = field(default_factory=dict)
    token_reply: dict[str, Any] = field(default_factory=dict)
    identity: tuple[str, dict[str, Any]] | None = None
    account: tuple[str, str] = ("", "")
    stored_fields: dict[str, Any] = field(default_factory=dict)
    #: Refresh replies as documented; one without a refresh token keeps the stored one.
    refreshes: tuple[dict[str, Any], ...] = ()
    #: Settings besides the preset and the credentials.
    config: dict[str, Any] = field(default_factory=dict)
    #: Serves what the preset fetches before its token endpoint (discovery, keys).
    serve: Callable[[responses.RequestsMock], object] | None = None
    #: The token endpoint's answer to a code it refuses, and a word the 502 page shows.
    refused_code: Reply | None = None
    refused_code_shows: str = ""
    #: The token endpoint's answer to a refresh token it refuses.
    refused_refresh: Reply | None = None
    #: False: the preset issues no refresh token; an expired token means connecting again.
    refresh_tokens: bool = True
    #: False: the preset offers no revocation, and disconnecting sends nothing.
    revocation: Revocation | Literal[False] | None = None

    def __str__(self) -> str:
        return self.slug
