"""A provider configured by its issuer (the ``okta`` and ``auth0`` presets): its
discovery document and signing keys served as the provider documents them, and a
connection made through the views with a signed ID token."""

from __future__ import annotations

from typing import Any

import responses
from django.test import Client

from auth_code_flow_django.core.rfc8414_server_metadata import metadata_urls

from .. import oidc
from .steps import authorize, callback, client_id


def serve_discovery(
    mocked: responses.RequestsMock, document: dict[str, Any], key: oidc.SigningKey
) -> None:
    """The OpenID Connect document at its well-known URL (the RFC 8414 one answers 404)
    and the JWK Set it names."""
    rfc8414, openid = metadata_urls(document["issuer"])
    mocked.get(rfc8414, status=404)
    mocked.get(openid, json=document)
    mocked.get(document["jwks_uri"], json=oidc.jwks(key))


def connect_with_id_token(
    alice: Client,
    mocked: responses.RequestsMock,
    slug: str,
    document: dict[str, Any],
    key: oidc.SigningKey,
    reply: dict[str, Any],
    **claims: Any,
) -> tuple[str, dict[str, str], Any]:
    """Authorize, then come back with a code whose token reply carries an ID token with
    ``claims``: the authorization endpoint, its parameters and the token call."""
    endpoint, params = authorize(alice, slug)
    signed = key.sign(
        oidc.claims(params["nonce"], iss=document["issuer"], aud=client_id(slug), **claims)
    )
    call = mocked.post(document["token_endpoint"], json={**reply, "id_token": signed})
    response = callback(alice, slug, params)
    assert response.status_code == 302, response.content
    return endpoint, params, call
