"""``Provider``: one configured provider, immutable, with what its values imply (the
flow manager it uses, whether it revokes, which issuers and tenants it accepts)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from functools import cached_property
from types import MappingProxyType
from typing import Any

from .. import discovery
from ..conf import conf
from ..core import oidc_id_tokens
from ..core.client_auth import public_jwk, public_jwks
from ..core.rfc8414_server_metadata import ServerMetadata
from ..core.rfc9449_dpop import DPoPKey, choose_algorithm
from ..exceptions import ImproperlyConfigured
from ..flow import ClientAuthMethod
from .flow_manager import ProviderFlowManager


@dataclasses.dataclass(frozen=True)
class Provider:
    """One configured provider. ``repr()`` never shows the client secret."""

    #: The key in ``OAUTH_PROVIDERS``: ``[a-z0-9_-]``, used in URLs.
    slug: str
    #: The client id the provider issued when the site registered.
    client_id: str
    #: The client secret; not needed when ``token_endpoint_auth_method`` is ``"none"``.
    client_secret: str | None = dataclasses.field(default=None, repr=False)
    #: The name shown on pages (default: the slug, titled).
    display_name: str = ""
    #: The provider's base URL, e.g. ``https://github.com``; relative paths join it.
    base_uri: str = ""
    #: The authorization endpoint: relative to ``base_uri``, or absolute; may carry a
    #: query.
    authorization_path: str = "/authorize"
    #: The token endpoint: relative to ``base_uri``, or absolute.
    access_token_path: str = "/access_token"
    #: The RFC 7009 revocation endpoint; when set, disconnecting revokes the tokens.
    revocation_path: str | None = None
    #: Space-separated scopes to request.
    scope: str = ""
    #: The absolute callback URL to send (default: built from the request).
    redirect_uri: str | None = None
    #: The authorization server's issuer identifier. With ``discovery``, its RFC 8414
    #: or OpenID Connect metadata fills every value not set explicitly.
    issuer: str | None = None
    #: Fetch the issuer's metadata (lazily, at first use; cached) to fill the
    #: endpoints and quirks not given explicitly.
    discovery: bool = True
    #: Whether the callback must carry ``iss`` (RFC 9207); ``None``: as the metadata
    #: says, or, without discovery, whenever ``issuer`` is set.
    require_iss: bool | None = None
    #: OpenID Connect: the JWK Set that signs ID tokens.
    jwks_uri: str | None = None
    #: OpenID Connect: other ``iss`` values the provider documents for its ID tokens
    #: (Google: ``accounts.google.com`` beside ``https://accounts.google.com``). An
    #: ``issuer`` naming ``{tenantid}`` (Microsoft Entra ID's multi-tenant endpoints)
    #: is filled with each ID token's own ``tid``.
    issuer_aliases: tuple[str, ...] = ()
    #: OpenID Connect, for an issuer serving many tenants (Microsoft Entra ID): the
    #: tenant ids (``tid``, GUIDs) whose accounts may connect. ``None``: the ``tenant``
    #: itself when it is a tenant id, else any tenant (``common``, ``organizations``).
    allowed_tenants: tuple[str, ...] | None = None
    #: OpenID Connect: the UserInfo endpoint.
    userinfo_endpoint: str | None = None
    #: ``"client_secret_post"``, ``"client_secret_basic"``, ``"private_key_jwt"`` or
    #: ``"none"`` (a public client).
    token_endpoint_auth_method: ClientAuthMethod = "client_secret_post"
    #: ``private_key_jwt``: the private key (a JWK dict, RSA or EC P-256, or a PEM
    #: string) that signs client assertions; its public key is served at
    #: ``<provider>/jwks.json``.
    client_private_key: Any = dataclasses.field(default=None, repr=False)
    #: Public keys published beside ``client_private_key``'s while keys are rolled.
    client_previous_public_keys: tuple[Any, ...] = dataclasses.field(default=(), repr=False)
    #: RFC 9126: push authorization requests; ``None``: when the metadata requires it.
    pushed_authorization_requests: bool | None = None
    #: RFC 9126: the pushed authorization request endpoint (discovered, or set).
    pushed_authorization_request_endpoint: str | None = None
    #: RFC 9449: bind the tokens to a key pair of each connection (DPoP).
    dpop: bool = False
    #: Send a PKCE S256 code challenge (RFC 7636).
    use_pkce: bool = True
    #: Extra query parameters for the authorization request, e.g.
    #: ``{"prompt": "consent"}``.
    extra_authorize_params: Mapping[str, str] = dataclasses.field(
        default_factory=lambda: MappingProxyType({})
    )
    #: ``False`` accepts token replies without ``token_type`` (Stack Exchange).
    token_type_required: bool = True
    #: The token reply field holding the lifetime in seconds (``expires`` for Stack
    #: Exchange).
    expires_in_field: str = "expires_in"
    #: URL prefixes ``authorized_session`` may send the token to (RFC 6750 5.3).
    api_base_urls: tuple[str, ...] = ()
    #: A token reply field naming this connection's own API base URL (Salesforce:
    #: ``instance_url``): ``authorized_session`` also sends the token under it. Checked
    #: (https, http on loopback only; no user information, query or fragment) when a
    #: reply carries it, and kept with the connection.
    api_base_url_field: str | None = None
    #: The hosts ``api_base_url_field`` may name: host names (``api.zoom.us``) or
    #: ``*.`` and a domain (``*.salesforce.com``: any host under it, at any depth). A
    #: reply naming another host is refused (502, nothing stored), and a stored one is
    #: no longer used. Empty: any https host the token endpoint names (warning W004).
    api_base_url_hosts: tuple[str, ...] = ()
    #: The ``User-Agent`` header of every request to the provider and its API (Reddit
    #: asks for ``<platform>:<app ID>:<version> (by /u/<username>)``).
    user_agent: str | None = None
    #: Other headers of every request to the provider and its API (Notion's
    #: ``Notion-Version``).
    request_headers: Mapping[str, str] = dataclasses.field(
        default_factory=lambda: MappingProxyType({})
    )
    #: Send the token, refresh and revocation requests as JSON, not form-encoded
    #: (``False``: Notion documents JSON bodies).
    post_form_data: bool = True
    #: ``token_type`` values, besides Bearer, of tokens used as Bearer tokens.
    bearer_token_types: tuple[str, ...] = ()
    #: A field every successful reply carries as ``true`` (Slack: ``ok``).
    success_field: str | None = None
    #: ``error`` codes that mean ``invalid_grant`` (Slack: ``invalid_refresh_token``).
    invalid_grant_errors: tuple[str, ...] = ()
    #: The authorization request parameter that carries ``scope`` (Slack's user
    #: tokens: ``user_scope``).
    scope_param: str = "scope"
    #: The token reply's object holding the token when the provider nests it (Slack's
    #: user tokens: ``authed_user``); a reply without it is read at its top level.
    token_reply_object: str | None = None
    #: ``token_type`` values (lowercase) of tokens shared beyond the connecting user
    #: (Slack's workspace ``bot`` token): removing a connection never revokes them
    #: unless ``revoke_shared_tokens``.
    shared_token_types: tuple[str, ...] = ()
    #: Revoke a shared token (see ``shared_token_types``) when its connection is
    #: removed: for Slack, this uninstalls the app from the workspace for everyone.
    revoke_shared_tokens: bool = False
    #: Where the connected account is read (see :mod:`.identity`): ``url``, ``params``,
    #: ``token_param``, ``id`` and ``name``.
    identity: Mapping[str, Any] = dataclasses.field(default_factory=lambda: MappingProxyType({}))
    #: Filled into a preset's ``{tenant}`` (Microsoft Entra ID).
    tenant: str | None = None
    #: Filled into a preset's ``{realm}`` (Keycloak).
    realm: str | None = None
    #: Where each value set for this provider came from ("settings", "preset NAME",
    #: "discovery"); values absent here are defaults.
    sources: Mapping[str, str] = dataclasses.field(
        default_factory=lambda: MappingProxyType({}), repr=False, compare=False
    )
    #: The server's metadata, once discovered (see :meth:`resolved`).
    metadata: ServerMetadata | None = dataclasses.field(default=None, repr=False, compare=False)

    @property
    def name(self) -> str:
        return self.display_name or self.slug.replace("_", " ").title()

    @property
    def uses_discovery(self) -> bool:
        return bool(self.issuer) and self.discovery

    def resolved(self) -> Provider:
        """This provider completed with its issuer's metadata, fetched on first use
        and cached (itself when it does not use discovery). Raises
        :class:`.core.rfc8414_server_metadata.DiscoveryError` when the metadata cannot be had."""
        return discovery.resolve(self)

    @property
    def supports_revocation(self) -> bool:
        """Whether tokens can be revoked at the provider; for a provider whose metadata
        is not fetched yet, whether they may be (known once :meth:`resolved`)."""
        return bool(self.revocation_path) or (self.uses_discovery and self.metadata is None)

    @property
    def requires_iss(self) -> bool:
        """Whether the callback must carry a matching ``iss`` (RFC 9207)."""
        if self.require_iss is not None:
            return self.require_iss
        if self.metadata is not None:
            return self.metadata.authorization_response_iss_parameter_supported
        return bool(self.issuer) and not self.discovery

    @property
    def requests_openid(self) -> bool:
        return "openid" in self.scope.split()

    @property
    def uses_par(self) -> bool:
        """Whether authorization requests are pushed (RFC 9126): as set, else when the
        server's metadata requires it."""
        if self.pushed_authorization_requests is not None:
            return self.pushed_authorization_requests
        return self.metadata is not None and self.metadata.require_pushed_authorization_requests

    def new_dpop_key(self) -> DPoPKey | None:
        """A new DPoP key for a connection (``None`` without ``dpop``), of an algorithm
        the server's metadata accepts (ES256 when it does not say)."""
        if not self.dpop:
            return None
        metadata = self.metadata
        algorithm = choose_algorithm(
            metadata.dpop_signing_alg_values_supported if metadata is not None else None
        )
        if algorithm is None:
            raise ImproperlyConfigured(f"{self.name} supports no DPoP algorithm of this app.")
        return DPoPKey.generate(algorithm)

    def client_jwks(self) -> dict[str, Any] | None:
        """The public JWK Set a server checks this client's assertions with: the signing
        key's, then the previous ones (``None`` without ``client_private_key``)."""
        if self.client_private_key is None:
            return None
        keys = [self.client_private_key, *self.client_previous_public_keys]
        return public_jwks([public_jwk(key) for key in keys])

    @property
    def id_token_issuer(self) -> str | None:
        """The issuer ID tokens are checked against: the one the metadata names, once
        discovered (Microsoft's ``common`` document names its ``{tenantid}``
        template), else ``issuer``."""
        return self.metadata.issuer if self.metadata is not None else self.issuer

    def is_issuer(self, value: str) -> bool:
        """Whether ``value`` (a callback's ``iss``, RFC 9207) names this provider's
        issuer: the same string, or, for an issuer naming ``{tenantid}``, that issuer
        with a tenant id put in (Microsoft Entra ID names the user's tenant)."""
        issuer = self.id_token_issuer or ""
        if oidc_id_tokens.TENANT_PLACEHOLDER in value:
            return False
        return value in {self.issuer, issuer} or oidc_id_tokens.is_tenant_issuer(value, issuer)

    @property
    def accepted_tenants(self) -> tuple[str, ...] | None:
        """The ``tid`` values an ID token may carry (``None``: any); see
        ``allowed_tenants``."""
        if self.allowed_tenants is not None:
            return self.allowed_tenants
        if self.tenant and oidc_id_tokens.TENANT_ID.fullmatch(self.tenant):
            return (self.tenant,)
        return None

    def revokes(self, token_type: str) -> bool:
        """Whether removing a connection whose token has ``token_type`` revokes it at
        the provider (a shared token only with ``revoke_shared_tokens``)."""
        return self.revoke_shared_tokens or token_type.lower() not in self.shared_token_types

    def connect_problem(self) -> str | None:
        """Why a flow cannot start with this (resolved) provider, or ``None``."""
        metadata = self.metadata
        if metadata is not None and self.use_pkce and metadata.supports_s256 is False:
            return (
                f"{self.name} does not support PKCE with S256 "
                "(code_challenge_methods_supported); connecting is disabled."
            )
        if (
            metadata is not None
            and "token_endpoint_auth_method" not in self.sources
            and discovery.choose_auth_method(
                metadata.token_endpoint_auth_methods_supported,
                bool(self.client_secret),
                self.client_private_key is not None,
            )
            is None
        ):
            return (
                f"{self.name} supports none of the client authentication methods "
                "private_key_jwt, client_secret_basic and client_secret_post "
                "(token_endpoint_auth_methods_supported)."
            )
        if self.uses_par and not self.pushed_authorization_request_endpoint:
            return (
                f"{self.name} has no pushed_authorization_request_endpoint to push "
                "authorization requests to (RFC 9126)."
            )
        if (
            self.dpop
            and metadata is not None
            and choose_algorithm(metadata.dpop_signing_alg_values_supported) is None
        ):
            return (
                f"{self.name} accepts no DPoP algorithm this app offers "
                "(dpop_signing_alg_values_supported)."
            )
        if self.requests_openid and not (self.issuer and self.jwks_uri):
            return (
                f"{self.name} asks for openid but has no issuer and jwks_uri to check "
                "ID tokens with."
            )
        return None

    @property
    def flow_manager(self) -> ProviderFlowManager:
        """The flow manager for this provider (shared; thread-safe), with the values
        discovery fills in."""
        return self.resolved()._flow_manager

    @cached_property
    def _flow_manager(self) -> ProviderFlowManager:
        attributes = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name not in _NOT_FLOW_SETTINGS
        }
        attributes["issuer"] = self.id_token_issuer
        attributes["allowed_tenants"] = self.accepted_tenants
        return ProviderFlowManager(
            **attributes,
            timeout=float(conf.HTTP_TIMEOUT),
            max_response_bytes=int(conf.MAX_RESPONSE_BYTES),
            address_policy=discovery.address_policy(self),
        )


#: Provider fields that are the Django layer's own, not flow manager attributes.
_NOT_FLOW_SETTINGS = frozenset(
    {
        "slug",
        "display_name",
        "api_base_urls",
        "discovery",
        "require_iss",
        "userinfo_endpoint",
        "sources",
        "metadata",
        "identity",
        "tenant",
        "realm",
        "client_previous_public_keys",
        "pushed_authorization_requests",
        "dpop",
        "shared_token_types",
        "revoke_shared_tokens",
    }
)
#: Provider fields that are not settings.
_INTERNAL_FIELDS = frozenset({"slug", "sources", "metadata"})


#: Keys an ``OAUTH_PROVIDERS`` entry may have.
PROVIDER_KEYS = frozenset(
    {"preset"} | {f.name for f in dataclasses.fields(Provider) if f.name not in _INTERNAL_FIELDS}
)
