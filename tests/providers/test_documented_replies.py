"""Every preset against the replies its provider documents, one scenario at a time: a
refused code, a refused or missing refresh token, and disconnecting (revoking each
token, or sending nothing where the provider offers no revocation). The replies, with
the pages they follow, are in each preset's module as ``DOCUMENTED``."""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import responses
from django.test import Client

from auth_code_flow_django import tokens
from auth_code_flow_django.exceptions import ReauthorizationRequiredError
from auth_code_flow_django.flow import code_challenge_s256
from auth_code_flow_django.models import OAuthToken
from auth_code_flow_django.providers import PRESETS as APP_PRESETS

from ..conftest import make_token
from .documented import ClientAuth, DocumentedReplies, Revocation
from .steps import (
    CODE,
    authorize,
    basic,
    callback,
    client_id,
    client_secret,
    configure,
    connect,
    disconnect,
    expire,
    form,
    json_body,
    stored,
)

pytestmark = pytest.mark.django_db

#: The preset modules beside this one, each with its documented replies.
MODULES = sorted(
    path.stem for path in Path(__file__).parent.glob("test_*.py") if path != Path(__file__)
)
PRESETS: list[DocumentedReplies] = [
    import_module(f"{__package__}.{name}").DOCUMENTED for name in MODULES
]
#: The tokens ``make_token`` stores, in the order a disconnect revokes them.
REFRESH_TOKEN = "stored-refresh-token-0002"
ACCESS_TOKEN = "stored-access-token-0001"


def presets(having: Callable[[DocumentedReplies], object]) -> list[Any]:
    return [pytest.param(preset, id=preset.slug) for preset in PRESETS if having(preset)]


@pytest.fixture
def preset(
    request: pytest.FixtureRequest, settings: Any, mocked: responses.RequestsMock
) -> DocumentedReplies:
    """The parametrized preset, configured as the site's one provider, what it fetches
    before its token endpoint served."""
    documented: DocumentedReplies = request.param
    configure(settings, documented.slug, **documented.config)
    if documented.serve is not None:
        documented.serve(mocked)
    return documented


def authenticated(slug: str, how: ClientAuth, call: Any, body: dict[str, Any]) -> None:
    """The request authenticates the client as ``how`` says."""
    if how == "basic":
        assert call.request.headers["Authorization"] == basic(slug)
        assert "client_secret" not in body
    elif how == "secret_in_body":
        assert (body["client_id"], body["client_secret"]) == (client_id(slug), client_secret(slug))
    elif how == "client_id_in_body":
        assert body["client_id"] == client_id(slug)


def token_request(preset: DocumentedReplies, call: Any) -> dict[str, Any]:
    """A request to the token endpoint: its body, once its encoding, client
    authentication and headers are as the preset documents them."""
    body = json_body(call) if preset.token_body == "json" else form(call)
    authenticated(preset.slug, preset.client_auth, call, body)
    for name, value in preset.headers.items():
        assert call.request.headers[name] == value
    return body


def test_every_preset_has_its_documented_replies() -> None:

    assert sorted(preset.slug for preset in PRESETS) == sorted(APP_PRESETS)


@pytest.mark.parametrize("preset", presets(lambda p: p.refused_code), indirect=True)
def test_a_refused_code_is_a_502_and_stores_nothing(
    preset: DocumentedReplies, alice: Client, mocked: responses.RequestsMock
) -> None:
    assert preset.refused_code is not None
    token_call = preset.refused_code.serve(mocked, responses.POST, preset.token_url)
    _params, response = connect(alice, preset.slug)
    assert response.status_code == 502
    assert preset.refused_code_shows in response.content.decode()
    assert len(token_call.calls) == 1
    assert not OAuthToken.objects.exists()


@pytest.mark.parametrize("preset", presets(lambda p: p.refused_refresh), indirect=True)
def test_a_refused_refresh_needs_reauthorization_and_is_not_retried(
    preset: DocumentedReplies, user: Any, mocked: responses.RequestsMock
) -> None:
    assert preset.refused_refresh is not None
    make_token(user, preset.slug)
    expire(user, preset.slug)
    call = preset.refused_refresh.serve(mocked, responses.POST, preset.token_url)
    with pytest.raises(ReauthorizationRequiredError):
        tokens.get_access_token(user, preset.slug)
    assert token_request(preset, call.calls[0])["refresh_token"] == REFRESH_TOKEN
    assert stored(user, preset.slug).needs_reauthorization
    with pytest.raises(ReauthorizationRequiredError):
        tokens.get_access_token(user, preset.slug)
    assert len(call.calls) == 1


@pytest.mark.parametrize("preset", presets(lambda p: not p.refresh_tokens), indirect=True)
def test_without_refresh_tokens_an_expired_token_needs_reauthorization(
    preset: DocumentedReplies, user: Any, mocked: responses.RequestsMock
) -> None:
    make_token(user, preset.slug, refresh_token=None)
    expire(user, preset.slug)
    before = len(mocked.calls)
    with pytest.raises(ReauthorizationRequiredError):
        tokens.get_access_token(user, preset.slug)
    assert stored(user, preset.slug).needs_reauthorization
    assert len(mocked.calls) == before


@pytest.mark.parametrize(
    "preset", presets(lambda p: isinstance(p.revocation, Revocation)), indirect=True
)
def test_disconnect_revokes_each_token(
    preset: DocumentedReplies,
    alice: Client,
    user: Any,
    mocked: responses.RequestsMock,
) -> None:
    revocation = preset.revocation
    assert isinstance(revocation, Revocation)
    make_token(user, preset.slug)
    revoke = revocation.reply.serve(mocked, responses.POST, revocation.url)
    assert disconnect(alice, preset.slug).status_code == 302
    assert not OAuthToken.objects.filter(user=user).exists()
    sent = [form(c) if revocation.body == "form" else json_body(c) for c in revoke.calls]
    assert [s["token"] for s in sent] == [REFRESH_TOKEN, ACCESS_TOKEN]
    if revocation.hints:
        assert [s["token_type_hint"] for s in sent] == ["refresh_token", "access_token"]
    for call, body in zip(revoke.calls, sent, strict=True):
        # The token goes in the body, never in the URL.
        assert urlsplit(call.request.url).query == ""
        for name, value in revocation.headers.items():
            assert call.request.headers[name] == value
        authenticated(preset.slug, revocation.client_auth, call, body)


@pytest.mark.parametrize("preset", presets(lambda p: p.revocation is False), indirect=True)
def test_disconnect_without_revocation_sends_nothing(
    preset: DocumentedReplies,
    alice: Client,
    user: Any,
    mocked: responses.RequestsMock,
) -> None:
    make_token(user, preset.slug)
    before = len(mocked.calls)
    assert disconnect(alice, preset.slug).status_code == 302
    assert len(mocked.calls) == before
    assert not OAuthToken.objects.filter(user=user).exists()


@pytest.mark.parametrize("preset", presets(lambda p: p.authorize_url), indirect=True)
def test_connect_stores_the_documented_token_and_account(
    preset: DocumentedReplies,
    alice: Client,
    user: Any,
    mocked: responses.RequestsMock,
) -> None:
    endpoint, params = authorize(alice, preset.slug)
    assert endpoint == preset.authorize_url
    for name, value in preset.authorize_params.items():
        assert params.get(name) == value, name
    token_call = mocked.post(preset.token_url, json=preset.token_reply)
    identity = preset.identity and mocked.get(preset.identity[0], json=preset.identity[1])
    before = len(mocked.calls)
    assert callback(alice, preset.slug, params).status_code == 302
    body = token_request(preset, token_call.calls[0])
    assert (body["grant_type"], body["code"]) == ("authorization_code", CODE)
    if "code_challenge" in params:
        assert code_challenge_s256(body["code_verifier"]) == params["code_challenge"]
    if identity:
        (call,) = identity.calls
        bearer = "Bearer " + preset.token_reply["access_token"]
        assert call.request.headers["Authorization"] == bearer
        for name, value in preset.headers.items():
            assert call.request.headers[name] == value
    else:
        assert len(mocked.calls) == before + 1  # the token request alone
    token = stored(user, preset.slug)
    assert token.access_token == preset.token_reply["access_token"]
    assert token.refresh_token == preset.token_reply.get("refresh_token")
    assert (token.account_id, token.account_name) == preset.account
    for name, value in preset.stored_fields.items():
        actual = getattr(token, name)
        assert (dict(actual) if name == "extra" else actual) == value, name


@pytest.mark.parametrize(
    ("preset", "reply"),
    [
        pytest.param(preset, reply, id=f"{preset.slug}-{number}")
        for preset in PRESETS
        for number, reply in enumerate(preset.refreshes)
    ],
    indirect=["preset"],
)
def test_refresh_stores_the_documented_reply(
    preset: DocumentedReplies,
    reply: dict[str, Any],
    user: Any,
    mocked: responses.RequestsMock,
) -> None:
    make_token(user, preset.slug)
    expire(user, preset.slug)
    call = mocked.post(preset.token_url, json=reply)
    assert tokens.get_access_token(user, preset.slug) == reply["access_token"]
    body = token_request(preset, call.calls[0])
    assert (body["grant_type"], body["refresh_token"]) == ("refresh_token", REFRESH_TOKEN)
    if preset.client_auth == "basic":
        assert set(body) == {"grant_type", "refresh_token"}
    token = stored(user, preset.slug)
    assert token.access_token == reply["access_token"]
    assert token.refresh_token == reply.get("refresh_token", REFRESH_TOKEN)
