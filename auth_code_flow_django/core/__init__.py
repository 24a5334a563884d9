"""The framework-free core, one module per specification.

Nothing here imports Django: the flow manager (:mod:`..flow`) composes these modules,
and the Django layer uses them through it.

- :mod:`.rfc7638` JWK thumbprints;
- :mod:`.client_auth` client authentication at the token endpoint (RFC 6749 2.3.1,
  RFC 7523 and OpenID Connect Core 9: ``private_key_jwt``);
- :mod:`.rfc9126_par` pushed authorization requests;
- :mod:`.rfc9449_dpop` DPoP proofs, keys and server nonces.
"""
