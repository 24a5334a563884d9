"""With every logger at DEBUG, run whole flows (success and failures) and check that no
token, client secret, PKCE verifier or Authorization header value reaches a record."""

from __future__ import annotations

import base64
import logging
from typing import Any
from urllib.parse import parse_qs

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from auth_code_flow_django import tokens
from auth_code_flow_django.models import OAuthToken

from .conftest import REVOKE_URL, TOKEN_URL, start

User = get_user_model()

pytestmark = pytest.mark.django_db

SECRET = "example-client-secret-value"
API = "https://api.provider.example/me"


def test_no_secret_in_any_log_record(
    alice: Client,
    user: User,
    mocked: Any,
    caplog: pytest.LogCaptureFixture,
    django_capture_on_commit_callbacks: Any,
) -> None:
    caplog.set_level(logging.DEBUG)
    mocked.post(
        TOKEN_URL,
        json={
            "access_token": "FIRST-ACCESS-TOKEN",
            "token_type": "Bearer",
            "expires_in": 1,
            "refresh_token": "FIRST-REFRESH-TOKEN",
        },
    )
    mocked.post(
        TOKEN_URL,
        json={
            "access_token": "SECOND-ACCESS-TOKEN",
            "token_type": "Bearer",
            "expires_in": 3600,
            "refresh_token": "SECOND-REFRESH-TOKEN",
        },
    )
    mocked.post(
        TOKEN_URL,
        status=401,
        json={"error": "invalid_client", "error_description": f"bad {SECRET}"},
    )
    mocked.post(
        TOKEN_URL,
        status=400,
        json={"error": "invalid_grant", "error_description": "SECOND-REFRESH-TOKEN revoked"},
    )
    api = mocked.get(API, json={})
    mocked.post(REVOKE_URL, status=503)

    params = start(alice)
    assert (
        alice.get(
            "/oauth/example/callback/", {"state": params["state"], "code": "THE-CODE"}
        ).status_code
        == 302
    )
    exchange_body = {k: v[0] for k, v in parse_qs(str(mocked.calls[0].request.body)).items()}
    verifier = exchange_body["code_verifier"]
    # Within the refresh leeway: the session refreshes, then calls the API.
    tokens.authorized_session(user, "example").get(API)
    assert api.calls[0].request.headers["Authorization"] == "Bearer SECOND-ACCESS-TOKEN"
    # A failed connection attempt (invalid_client).
    failed = start(alice)
    assert (
        alice.get(
            "/oauth/example/callback/", {"state": failed["state"], "code": "SECOND-CODE"}
        ).status_code
        == 502
    )
    # The refresh token is refused.
    OAuthToken.objects.update(expires_at=None)
    with pytest.raises(Exception):  # noqa: B017, PT011 - any refusal; the logs matter here
        tokens.refresh(user, "example", stale_access_token="SECOND-ACCESS-TOKEN")
    # Disconnect with the revocation endpoint down.
    with django_capture_on_commit_callbacks(execute=True):
        alice.post("/oauth/example/disconnect/")

    basic = base64.b64encode(f"example-client-id:{SECRET}".encode()).decode()
    secrets = [
        "FIRST-ACCESS-TOKEN",
        "FIRST-REFRESH-TOKEN",
        "SECOND-ACCESS-TOKEN",
        "SECOND-REFRESH-TOKEN",
        SECRET,
        verifier,
        params["state"],
        "THE-CODE",
        "SECOND-CODE",
        basic,
        "Bearer FIRST",
        "Bearer SECOND",
    ]
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    texts = [formatter.format(record) for record in caplog.records]
    assert len(texts) >= 5, texts
    assert any("connected example" in t for t in texts)
    assert any("revoking" in t for t in texts)
    for text in texts:
        for secret in secrets:
            assert secret not in text, (secret, text)


def test_no_nonce_id_token_or_claim_in_any_log_record(
    alice: Client, settings: Any, mocked: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from django.core.cache import cache

    from .conftest import token_json
    from .oidc import (
        JWKS_URL,
        OPENID_URL,
        RFC8414_URL,
        SigningKey,
        claims,
        document,
        jwks,
        provider_settings,
    )
    from .oidc import TOKEN_URL as IDP_TOKEN_URL

    cache.clear()
    caplog.set_level(logging.DEBUG)
    settings.OAUTH_PROVIDERS = {"idp": provider_settings()}
    key = SigningKey("key-1")
    mocked.get(RFC8414_URL, status=404)
    mocked.get(OPENID_URL, json=document(token_endpoint_auth_methods_supported=None))
    mocked.get(JWKS_URL, json=jwks(key))
    seen: list[str] = []
    for good in (True, False):
        params = start(alice, "idp")
        body = claims(params["nonce"] if good else "NONCE-OF-ANOTHER-FLOW", sub="SUBJECT-42")
        id_token = key.sign(body)
        seen += [params["nonce"], id_token]
        mocked.upsert("POST", IDP_TOKEN_URL, json=token_json(id_token=id_token))
        response = alice.get("/oauth/idp/callback/", {"state": params["state"], "code": "c"})
        assert response.status_code == (302 if good else 502)
    text = "\n".join(r.getMessage() + repr(r.args) for r in caplog.records)
    for value in [*seen, "NONCE-OF-ANOTHER-FLOW", "SUBJECT-42", "idp-client-secret-value"]:
        assert value not in text
    cache.clear()


def test_no_client_key_dpop_key_assertion_or_proof_in_any_record_repr_or_page(
    alice: Client,
    user: User,
    settings: Any,
    mocked: Any,
    caplog: pytest.LogCaptureFixture,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """PAR, DPoP and private_key_jwt together, successes and failures, with every logger
    at DEBUG: no private key, assertion, proof or token reaches a record, an exception,
    a repr or a page, and the pending authorization's DPoP key is not in its URL."""
    import json

    from django.core.cache import cache

    from auth_code_flow_django.dpop_nonces import SHARED_NONCES
    from auth_code_flow_django.exceptions import BaseAuthCodeFlowError
    from auth_code_flow_django.models import OAuthState
    from auth_code_flow_django.providers import get_provider

    from . import hardened

    SHARED_NONCES._nonces.clear()
    cache.clear()
    caplog.set_level(logging.DEBUG)
    settings.OAUTH_PROVIDERS = hardened.providers()
    pushed = {"request_uri": "urn:ietf:params:oauth:request_uri:r1", "expires_in": 60}
    mocked.post(hardened.PAR, status=201, json=pushed)
    response = alice.post("/oauth/hardened/authorize/")
    location = response["Location"]
    state = OAuthState.objects.get()
    dpop_private = json.loads(state.dpop_key.to_json())["jwk"]["d"]  # type: ignore[union-attr]
    mocked.post(
        hardened.TOKEN,
        status=400,
        json={"error": "use_dpop_nonce"},
        headers={"DPoP-Nonce": "n-1"},
    )
    mocked.post(hardened.TOKEN, json=hardened.dpop_token_json(expires_in=1))
    body = hardened.form(mocked.calls[0])
    assert (
        alice.get(
            "/oauth/hardened/callback/", {"state": body["state"], "code": "THE-CODE"}
        ).status_code
        == 302
    )
    mocked.post(hardened.TOKEN, json=hardened.dpop_token_json(access_token="dpop-access-2"))
    mocked.get(hardened.API, status=401, headers={"WWW-Authenticate": 'DPoP error="x"'})
    mocked.get(hardened.API, json={})
    session = tokens.authorized_session(user, "hardened")
    session.get(hardened.API)
    # A refused push and a refused exchange render pages.
    mocked.post(hardened.PAR, status=400, json={"error": "invalid_client"})
    refused = alice.post("/oauth/hardened/authorize/")
    assert refused.status_code == 502
    mocked.post(hardened.REVOKE, status=503)
    with django_capture_on_commit_callbacks(execute=True):
        alice.post("/oauth/hardened/disconnect/")
    sent = [
        value
        for call in mocked.calls
        for value in (
            call.request.headers.get("DPoP"),
            hardened.form(call).get("client_assertion"),
            call.request.headers.get("Authorization"),
        )
        if value
    ]
    assert len(sent) >= 8
    secrets = [
        *sent,
        hardened.CLIENT_JWK["d"],
        dpop_private,
        "dpop-access-token-0001",
        "dpop-refresh-token-0002",
        "dpop-access-2",
    ]
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    texts = [formatter.format(record) + repr(record.args) for record in caplog.records]
    texts += [
        location,
        refused.content.decode(),
        repr(get_provider("hardened")),
        repr(get_provider("hardened").flow_manager),
        repr(state.dpop_key),
        repr(session),
    ]
    try:
        get_provider("hardened").flow_manager.push_authorization_request(
            "s", code_verifier="v" * 43, redirect_uri="https://site.example/cb"
        )
    except BaseAuthCodeFlowError as error:
        texts += [str(error), repr(error), error.description]
    for text in texts:
        for secret in secrets:
            assert secret not in text, (secret, text)
