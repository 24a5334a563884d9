"""The framework-free core, one module per specification.

Nothing here imports Django, and nothing here imports the package above it: the Django
layer (providers, models, tokens, views) uses the core, never the other way round.

The flow manager, :class:`.flow_manager.AbstractBaseFlowManager` (importable from
:mod:`auth_code_flow_django.flow`, as the seed API promises), is made of:

- :mod:`.rfc6749_authorization` the authorization request and its ``state``;
- :mod:`.rfc7636_pkce` PKCE;
- :mod:`.rfc6749_token_requests` the code exchange and the refresh;
- :mod:`.rfc7009_revocation` token revocation;
- :mod:`.oidc_flow` the JWK Set and ID token of an OpenID Connect reply;
- :mod:`.flow_base` what they share: settings, endpoints, client authentication and
  the bounded HTTP client.

Under them:

- :mod:`.rfc6749_token_replies` decoding and validating token endpoint replies, and
  :mod:`.stored_values` what of a reply may be stored;
- :mod:`.oidc_id_tokens` ID token validation (OpenID Connect Core 3.1.3.7);
- :mod:`.rfc8414_server_metadata` authorization server metadata and OpenID Connect
  Discovery;
- :mod:`.client_auth` client authentication at the token endpoint (RFC 6749 2.3.1,
  RFC 7523 and OpenID Connect Core 9: ``private_key_jwt``);
- :mod:`.rfc9126_par` pushed authorization requests;
- :mod:`.rfc9449_dpop` DPoP proofs, keys and server nonces;
- :mod:`.rfc7638_thumbprints` JWK thumbprints;
- :mod:`.http_client` the one bounded HTTP client, and :mod:`.outbound_addresses` the
  addresses it may connect to;
- :mod:`.endpoint_urls` endpoint URLs, built and checked;
- :mod:`.errors` the exceptions (public in :mod:`auth_code_flow_django.exceptions`).
"""
