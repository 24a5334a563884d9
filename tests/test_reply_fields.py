"""The token reply's other fields kept with the connection (``OAuthToken.extra``): no
credential among them anywhere (database, repr, logs, admin), updated by a refresh, and
a connection's own API base (``api_base_url_field``) for ``authorized_session``."""

from __future__ import annotations

import logging
import math
from typing import Any

import pytest
import responses
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client

from auth_code_flow_django import tokens
from auth_code_flow_django.core.rfc6749_token_replies import token_response_from
from auth_code_flow_django.core.stored_values import (
    MAX_STORED_LENGTH,
    is_secret_field,
    kept_fields,
)
from auth_code_flow_django.exceptions import InvalidTokenResponseError, UntrustedURLError
from auth_code_flow_django.models import OAuthToken

from .conftest import TOKEN_URL, start, token_json
from .providers.steps import expire

User = get_user_model()

pytestmark = pytest.mark.django_db

SECRETS = (
    "id-token-secret-value-0001",
    "signing-secret-value-0002",
    "nested-user-token-value-0003",
    "webhook-url-secret-value-0004",
    "api-key-secret-value-0005",
    "a-code-secret-value-0006",
)

#: A reply with identifiers the site needs and credentials it must not keep.
REPLY_EXTRAS = {
    "instance_url": "https://acme.my.salesforce.com",
    "team": {"id": "T9TK3CUKW", "name": "Slack Softworks"},
    "workspace_id": "j565j4d7x3",
    "id_token": SECRETS[0],
    "signing_secret": SECRETS[1],
    "authed_user": {"id": "U1234", "access_token": SECRETS[2], "token_type": "user"},
    "incoming_webhook": {"channel": "#general", "url": "https://hooks.example/" + SECRETS[3]},
    "api_key": SECRETS[4],
    "code": SECRETS[5],
}

EXPECTED_KEPT = {
    "instance_url": "https://acme.my.salesforce.com",
    "team": {"id": "T9TK3CUKW", "name": "Slack Softworks"},
    "workspace_id": "j565j4d7x3",
    "authed_user": {"id": "U1234"},
}


def use_instance_url(settings: Any, **more: Any) -> None:
    settings.OAUTH_PROVIDERS = {
        "example": {
            **settings.OAUTH_PROVIDERS["example"],
            "api_base_url_field": "instance_url",
            **more,
        }
    }


def connect(alice: Client, mocked: responses.RequestsMock, **reply: Any) -> Any:
    mocked.post(TOKEN_URL, json=token_json(**reply))
    params = start(alice)
    return alice.get("/oauth/example/callback/", {"state": params["state"], "code": "c"})


# --- what is kept ---------------------------------------------------------------------


def test_kept_fields_leave_out_every_credential_at_any_depth() -> None:
    assert kept_fields(REPLY_EXTRAS) == EXPECTED_KEPT


@pytest.mark.parametrize(
    "name",
    ["id_token", "access_token", "signing_secret", "code", "Password", "api_key", "webhook"],
)
def test_credential_names(name: str) -> None:
    assert is_secret_field(name)


@pytest.mark.parametrize("name", ["instance_url", "team", "workspace_id", "account_id", "uid"])
def test_identifier_names(name: str) -> None:
    assert not is_secret_field(name)


def test_kept_fields_leave_out_what_no_database_stores() -> None:
    kept = kept_fields(
        {
            "nul": "a\x00b",
            "surrogate": "\ud800",
            "nan": math.nan,
            "huge": 2**70,
            "nested": {"bad": "x\x1by", "good": [1, "ok", "\x00", 2.5, None, True]},
            "odd": object(),
            "fine": "workspace",
        }
    )
    assert kept == {"nested": {"good": [1, "ok", 2.5, None, True]}, "fine": "workspace"}


def test_kept_fields_stop_at_the_size_cap_and_log_what_they_leave_out(
    caplog: pytest.LogCaptureFixture,
) -> None:
    big = "x" * (MAX_STORED_LENGTH - 100)
    with caplog.at_level(logging.WARNING):
        kept = kept_fields({"first": big, "second": big, "third": "small"})
    assert list(kept) == ["first", "third"]
    assert "second" in caplog.text


# --- the API base field is checked when a reply carries it -----------------------------


@pytest.mark.parametrize(
    "value",
    [
        "http://acme.my.salesforce.com",
        "https://user@acme.my.salesforce.com",
        "https://acme.my.salesforce.com?x=1",
        "https://acme.my.salesforce.com/#f",
        "acme.my.salesforce.com",
        "https://acme\\.evil.example",
        42,
    ],
)
def test_an_unusable_api_base_in_a_reply_is_refused(value: object) -> None:
    body = {"access_token": "a", "token_type": "Bearer", "instance_url": value}
    with pytest.raises(InvalidTokenResponseError, match="instance_url is not a usable"):
        token_response_from(body, api_base_url_field="instance_url")


def test_a_usable_api_base_is_kept() -> None:
    body = {"access_token": "a", "token_type": "Bearer", "instance_url": "https://na1.example"}
    result = token_response_from(body, api_base_url_field="instance_url")
    assert result.fields == {"instance_url": "https://na1.example"}
    # Without the key the field is one like any other.
    assert token_response_from({**body, "instance_url": "http://x"}).fields


# --- stored with the connection, never a credential -----------------------------------


def test_connecting_keeps_the_extra_fields_and_no_credential_anywhere(
    alice: Client,
    user: User,
    mocked: responses.RequestsMock,
    caplog: pytest.LogCaptureFixture,
    admin_client: Client,
) -> None:
    caplog.set_level(logging.DEBUG)
    assert connect(alice, mocked, **REPLY_EXTRAS).status_code == 302
    token = OAuthToken.objects.get(user=user)
    assert dict(token.extra) == EXPECTED_KEPT
    with pytest.raises(TypeError):
        token.extra["team"] = "changed"  # type: ignore[index]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {OAuthToken._meta.db_table}")
        row = " ".join(map(str, cursor.fetchall()))
    assert "acme.my.salesforce.com" in row
    html = admin_client.get(
        f"/admin/auth_code_flow_django/oauthtoken/{token.pk}/change/"
    ).content.decode()
    assert "Slack Softworks" in html
    assert "acme.my.salesforce.com" in html
    logs = "\n".join(r.getMessage() + repr(r.args) for r in caplog.records)
    for secret in SECRETS:
        for place in (row, repr(token), str(token), html, logs):
            assert secret not in place


def test_the_admin_masks_a_credential_in_a_row_written_some_other_way(
    user: User, admin_client: Client, alice: Client, mocked: responses.RequestsMock
) -> None:
    connect(alice, mocked)
    secret = "written-by-hand-secret-value-9999"
    OAuthToken.objects.update(extra_fields={"team": {"bot_token": secret}, "list": [1]})
    token = OAuthToken.objects.get()
    html = admin_client.get(
        f"/admin/auth_code_flow_django/oauthtoken/{token.pk}/change/"
    ).content.decode()
    assert secret not in html
    assert "9999" in html  # masked as tokens are: the last four characters


def test_a_reply_with_an_unusable_api_base_stores_nothing(
    alice: Client, settings: Any, mocked: responses.RequestsMock
) -> None:
    use_instance_url(settings)
    response = connect(alice, mocked, instance_url="http://attacker.example")
    assert response.status_code == 502
    assert not OAuthToken.objects.exists()


def test_a_refresh_updates_the_fields_it_carries_and_keeps_the_others(
    alice: Client, user: User, mocked: responses.RequestsMock
) -> None:
    connect(alice, mocked, team={"id": "T1", "name": "Old"}, workspace_id="W1")
    expire(user, "example")
    mocked.replace(
        responses.POST,
        TOKEN_URL,
        json=token_json(access_token="refreshed-access-0002", team={"id": "T1", "name": "New"}),
    )
    token = tokens.refresh(user, "example")
    assert dict(token.extra) == {"team": {"id": "T1", "name": "New"}, "workspace_id": "W1"}
    assert dict(OAuthToken.objects.get().extra) == dict(token.extra)


def test_reconnecting_replaces_the_fields(
    alice: Client, user: User, mocked: responses.RequestsMock
) -> None:
    connect(alice, mocked, workspace_id="W1", workspace_name="First")
    mocked.replace(responses.POST, TOKEN_URL, json=token_json(workspace_id="W2"))
    params = start(alice)
    alice.get("/oauth/example/callback/", {"state": params["state"], "code": "c2"})
    assert dict(OAuthToken.objects.get().extra) == {"workspace_id": "W2"}


# --- a connection's own API base --------------------------------------------------------


def test_authorized_session_sends_to_the_connection_s_own_host_and_no_other(
    alice: Client, user: User, settings: Any, mocked: responses.RequestsMock
) -> None:
    use_instance_url(settings)
    connect(alice, mocked, instance_url="https://na1.salesforce.example")
    api = mocked.get("https://na1.salesforce.example/services/data/v61.0/", json={})
    session = tokens.authorized_session(user, "example")
    assert session.get("https://na1.salesforce.example/services/data/v61.0/").status_code == 200
    assert api.calls[0].request.headers["Authorization"] == "Bearer access-token-value-1234"
    assert session.api_base_urls == (
        "https://api.provider.example/",
        "https://na1.salesforce.example",
    )
    # The provider's own api_base_urls still apply.
    mocked.get("https://api.provider.example/me", json={})
    assert session.get("https://api.provider.example/me").status_code == 200
    for url in (
        "https://na2.salesforce.example/services/data/",
        "http://na1.salesforce.example/services/data/",
        "https://na1.salesforce.example.evil.example/",
        "https://na1.salesforce.example:8443/",
    ):
        with pytest.raises(UntrustedURLError):
            session.get(url)


def test_another_user_s_instance_is_not_this_user_s(
    client_for: Any, user: User, other_user: User, settings: Any, mocked: responses.RequestsMock
) -> None:
    use_instance_url(settings)
    connect(client_for(user), mocked, instance_url="https://na1.salesforce.example")
    mocked.replace(
        responses.POST, TOKEN_URL, json=token_json(instance_url="https://eu5.salesforce.example")
    )
    connect(client_for(other_user), mocked)
    with pytest.raises(UntrustedURLError):
        tokens.authorized_session(other_user, "example").get("https://na1.salesforce.example/x")


def test_without_the_field_the_connection_s_value_is_no_base(
    alice: Client, user: User, mocked: responses.RequestsMock
) -> None:
    connect(alice, mocked, instance_url="https://na1.salesforce.example")
    with pytest.raises(UntrustedURLError):
        tokens.authorized_session(user, "example").get("https://na1.salesforce.example/x")


def test_an_unusable_stored_base_is_ignored(
    alice: Client, user: User, settings: Any, mocked: responses.RequestsMock
) -> None:
    use_instance_url(settings)
    connect(alice, mocked, instance_url="https://na1.salesforce.example")
    OAuthToken.objects.update(extra_fields={"instance_url": "http://na1.salesforce.example"})
    with pytest.raises(UntrustedURLError):
        tokens.authorized_session(user, "example").get("http://na1.salesforce.example/x")


def test_after_a_refresh_the_new_instance_is_the_base(
    alice: Client, user: User, settings: Any, mocked: responses.RequestsMock
) -> None:
    use_instance_url(settings)
    connect(alice, mocked, instance_url="https://na1.salesforce.example")
    mocked.get("https://na1.salesforce.example/x", status=401)
    mocked.replace(
        responses.POST,
        TOKEN_URL,
        json=token_json(
            access_token="new-access-0003", instance_url="https://na9.salesforce.example"
        ),
    )
    session = tokens.authorized_session(user, "example")
    # The old instance answers 401; the refresh moves the connection, so the retry of
    # a URL on the old host is refused.
    with pytest.raises(UntrustedURLError):
        session.get("https://na1.salesforce.example/x")
    mocked.get("https://na9.salesforce.example/x", json={})
    assert session.get("https://na9.salesforce.example/x").status_code == 200


# --- headers of provider requests --------------------------------------------------------


def test_user_agent_and_request_headers_go_with_every_provider_request(
    alice: Client, user: User, settings: Any, mocked: responses.RequestsMock
) -> None:
    settings.OAUTH_PROVIDERS = {
        "example": {
            **settings.OAUTH_PROVIDERS["example"],
            "user_agent": "web:example-site:1.0 (by /u/example)",
            "request_headers": {"Example-Version": "2024-01-01"},
            "identity": {"url": "https://api.provider.example/me", "id": "id"},
        }
    }
    token_call = mocked.post(TOKEN_URL, json=token_json())
    me = mocked.get("https://api.provider.example/me", json={"id": 7})
    params = start(alice)
    alice.get("/oauth/example/callback/", {"state": params["state"], "code": "c"})
    expire(user, "example")
    api = mocked.get("https://api.provider.example/things", json={})
    tokens.authorized_session(user, "example").get("https://api.provider.example/things")
    sent = [call.request for call in (*token_call.calls, *me.calls, *api.calls)]
    assert len(sent) == 4  # the code, the identity, the refresh, the API call
    for request in sent:
        assert request.headers["User-Agent"] == "web:example-site:1.0 (by /u/example)"
        assert request.headers["Example-Version"] == "2024-01-01"


# --- the hosts a connection's own API base may name ------------------------------------


@pytest.mark.parametrize(
    "instance_url",
    [
        "https://attacker.example",
        "https://salesforce.example",  # the domain itself: *. asks for a host under it
        "https://evilsalesforce.example",
        "https://na1.salesforce.example.attacker.example",
    ],
)
def test_a_reply_naming_a_host_outside_api_base_url_hosts_stores_nothing(
    alice: Client, settings: Any, mocked: responses.RequestsMock, instance_url: str
) -> None:
    use_instance_url(settings, api_base_url_hosts=["*.salesforce.example"])
    response = connect(alice, mocked, instance_url=instance_url)
    assert response.status_code == 502
    assert b"outside api_base_url_hosts" in response.content
    assert not OAuthToken.objects.exists()


@pytest.mark.parametrize(
    "instance_url", ["https://na1.salesforce.example", "https://acme.my.SALESFORCE.example"]
)
def test_a_host_under_an_api_base_url_hosts_domain_is_used(
    alice: Client, user: User, settings: Any, mocked: responses.RequestsMock, instance_url: str
) -> None:
    use_instance_url(settings, api_base_url_hosts=["*.salesforce.example"])
    assert connect(alice, mocked, instance_url=instance_url).status_code == 302
    api = mocked.get(f"{instance_url.lower()}/services/data/", json={})
    tokens.authorized_session(user, "example").get(f"{instance_url}/services/data/")
    assert len(api.calls) == 1


def test_a_stored_host_the_settings_no_longer_allow_gets_no_token(
    alice: Client, user: User, settings: Any, mocked: responses.RequestsMock
) -> None:
    use_instance_url(settings)
    connect(alice, mocked, instance_url="https://na1.salesforce.example")
    use_instance_url(settings, api_base_url_hosts=["api.provider.example"])
    session = tokens.authorized_session(user, "example")
    assert session.api_base_urls == ("https://api.provider.example/",)
    with pytest.raises(UntrustedURLError):
        session.get("https://na1.salesforce.example/services/data/")
