from __future__ import annotations

import warnings
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from typing import Any
from urllib.parse import parse_qs

import pytest
import responses
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from auth_code_flow_django.identity import Account
from auth_code_flow_django.models import OAuthState, OAuthToken
from auth_code_flow_django.signals import token_revoked

from .conftest import REVOKE_URL, make_token

User = get_user_model()

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_(db: object) -> Client:
    admin = User.objects.create_superuser("root", "root@example.com", "pw")
    client = Client()
    client.force_login(admin)
    return client


def test_token_list_shows_columns_and_masks_tokens(admin_client_: Client, user: User) -> None:
    make_token(user, access_token="ACCESS-SECRET-0123456789-ABCD", scope="read write")
    response = admin_client_.get("/admin/auth_code_flow_django/oauthtoken/")
    html = response.content.decode()
    assert response.status_code == 200
    for text in ("alice", "example", "read write", "active"):
        assert text in html
    assert "ACCESS-SECRET" not in html


def test_token_detail_is_masked_and_read_only(admin_client_: Client, user: User) -> None:
    token = make_token(user, access_token="ACCESS-SECRET-0123456789-ABCD")
    url = f"/admin/auth_code_flow_django/oauthtoken/{token.pk}/change/"
    response = admin_client_.get(url)
    html = response.content.decode()
    assert response.status_code == 200
    assert "••••••••ABCD" in html
    assert "ACCESS-SECRET" not in html
    assert token.access_token_encrypted not in html
    assert 'name="access_token' not in html
    assert "<textarea" not in html
    before = OAuthToken.objects.get().access_token_encrypted
    assert admin_client_.post(url, {"scope": "admin"}).status_code == 403
    assert OAuthToken.objects.get().access_token_encrypted == before
    assert admin_client_.get("/admin/auth_code_flow_django/oauthtoken/add/").status_code == 403


def test_token_search_and_filters(admin_client_: Client, user: User, other_user: User) -> None:
    make_token(user)
    make_token(other_user, expires_at=timezone.now() - timedelta(seconds=5))
    base = "/admin/auth_code_flow_django/oauthtoken/"

    def users(query: str) -> set[str]:
        response = admin_client_.get(base + query)
        assert response.status_code == 200
        return {t.user.username for t in response.context["cl"].result_list}

    assert users("?q=mallory@example.com") == {"mallory"}
    assert users("?q=alice") == {"alice"}
    assert users("?status=expired") == {"mallory"}
    assert users("?status=active") == {"alice"}
    assert users("?status=needs_reauthorization") == set()
    assert users("?provider=example") == {"alice", "mallory"}
    OAuthToken.objects.filter(user=user).update(needs_reauthorization=True)
    assert users("?status=needs_reauthorization") == {"alice"}
    assert "needs re-authorization" in admin_client_.get(base).content.decode()


def test_token_list_shows_and_searches_the_account(
    admin_client_: Client, user: User, other_user: User
) -> None:
    make_token(user, account=Account("583231", "octocat"))
    make_token(other_user, account=Account("1", "hubot"))
    base = "/admin/auth_code_flow_django/oauthtoken/"
    response = admin_client_.get(base + "?q=octo")
    assert [t.user.username for t in response.context["cl"].result_list] == ["alice"]
    assert "octocat" in response.content.decode()
    response = admin_client_.get(base + "?q=583231")
    assert [t.user.username for t in response.context["cl"].result_list] == ["alice"]
    OAuthToken.objects.filter(user=other_user).update(account_name="")
    assert '<td class="field-account_display">1</td>' in admin_client_.get(base).content.decode()


def test_delete_selected_revokes_at_the_provider_after_a_warning(
    admin_client_: Client,
    user: User,
    other_user: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    tokens = [
        make_token(user),
        make_token(
            other_user,
            access_token="mallory-access-token-0003",
            refresh_token="mallory-refresh-token-0004",
        ),
    ]
    base = "/admin/auth_code_flow_django/oauthtoken/"
    selected = {"action": "delete_selected", "_selected_action": [t.pk for t in tokens]}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        changelist = admin_client_.get(base)
    # Django 6.1 deprecates overriding get_actions() without action_location.
    assert [str(w.message) for w in caught if "action" in str(w.message)] == []
    choices = dict(changelist.context["action_form"].fields["action"].choices)
    assert choices["delete_selected"] == "Revoke at the provider and delete selected OAuth tokens"
    with responses.RequestsMock() as mocked:
        confirmation = admin_client_.post(base, selected)
        assert "will also be revoked at the provider" in confirmation.content.decode()
        assert OAuthToken.objects.count() == 2
        revoke = mocked.post(REVOKE_URL, body="")
        with django_capture_on_commit_callbacks(execute=True):
            response = admin_client_.post(base, {**selected, "post": "yes"}, follow=True)
    assert response.status_code == 200
    assert "Successfully deleted 2 OAuth tokens." in response.content.decode()
    sent = sorted(parse_qs(str(call.request.body))["token"][0] for call in revoke.calls)
    assert sent == [
        "mallory-access-token-0003",
        "mallory-refresh-token-0004",
        "stored-access-token-0001",
        "stored-refresh-token-0002",
    ]
    assert OAuthToken.objects.count() == 0


def test_delete_button_revokes_at_the_provider(
    admin_client_: Client,
    user: User,
    other_user: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    token = make_token(user)
    kept = make_token(other_user)
    url = f"/admin/auth_code_flow_django/oauthtoken/{token.pk}/delete/"
    received: list[str] = []

    def on_revoked(sender: Any, **kwargs: Any) -> None:
        received.append(kwargs["user"].username)

    token_revoked.connect(on_revoked, dispatch_uid="test-admin-delete")
    try:
        with responses.RequestsMock() as mocked:
            confirmation = admin_client_.get(url)
            assert "will also be revoked at the provider" in confirmation.content.decode()
            assert "example token of alice" in confirmation.content.decode()
            revoke = mocked.post(REVOKE_URL, body="")
            with django_capture_on_commit_callbacks(execute=True):
                response = admin_client_.post(url, {"post": "yes"})
    finally:
        token_revoked.disconnect(dispatch_uid="test-admin-delete")
    assert response.status_code == 302
    hints = [parse_qs(str(call.request.body))["token_type_hint"][0] for call in revoke.calls]
    assert hints == ["refresh_token", "access_token"]
    assert list(OAuthToken.objects.values_list("pk", flat=True)) == [kept.pk]
    assert received == ["alice"]


def test_token_page_title_names_the_user(admin_client_: Client, user: User) -> None:
    token = make_token(user)
    html = admin_client_.get(f"/admin/auth_code_flow_django/oauthtoken/{token.pk}/change/")
    assert "example token of alice" in html.content.decode()
    assert f"user {user.pk}" not in html.content.decode()


def test_token_list_query_count_does_not_grow_with_rows(admin_client_: Client, user: User) -> None:
    base = "/admin/auth_code_flow_django/oauthtoken/"

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert admin_client_.get(base).status_code == 200
        return len(captured)

    make_token(user)
    one = queries()
    for index in range(5):
        make_token(User.objects.create_user(f"user{index}"))
    assert queries() == one


def test_reauthorization_field_says_what_it_means(admin_client_: Client, user: User) -> None:
    token = make_token(user)
    url = f"/admin/auth_code_flow_django/oauthtoken/{token.pk}/change/"

    def field() -> str:
        html = admin_client_.get(url).content.decode()
        block = html[html.index("field-reauthorization_display") :]
        return block[block.index('<div class="readonly">') : block.index("</div>") + 6]

    assert field() == '<div class="readonly">No</div>'
    OAuthToken.objects.update(needs_reauthorization=True)
    assert "Yes: the provider refused the refresh token" in field()


@override_settings(TIME_ZONE="Europe/Paris")
def test_times_show_their_time_zone(admin_client_: Client, user: User) -> None:
    token = make_token(user, expires_at=datetime(2026, 11, 28, 4, 5, tzinfo=dt_timezone.utc))
    html = admin_client_.get("/admin/auth_code_flow_django/oauthtoken/").content.decode()
    assert "2026-11-28 05:05 CET" in html
    detail = admin_client_.get(f"/admin/auth_code_flow_django/oauthtoken/{token.pk}/change/")
    assert "2026-11-28 05:05 CET" in detail.content.decode()


@override_settings(USE_TZ=False, TIME_ZONE="America/New_York")
def test_times_show_their_time_zone_without_time_zone_support(
    admin_client_: Client, user: User
) -> None:
    # Stored naive, in New York time, as the app stores it without time zone support.
    make_token(user, expires_at=datetime(2026, 7, 1, 13, 30, tzinfo=dt_timezone.utc))
    html = admin_client_.get("/admin/auth_code_flow_django/oauthtoken/").content.decode()
    assert "2026-07-01 09:30 EDT" in html


def test_state_list_status_and_delete_expired_and_used_action(
    admin_client_: Client, user: User
) -> None:
    expired, _, _verifier = OAuthState.objects.start(user, "example", "https://app/cb")
    OAuthState.objects.filter(pk=expired.pk).update(expires_at=timezone.now())
    pending, _, _verifier = OAuthState.objects.start(user, "example", "https://app/cb")
    used, _, _verifier = OAuthState.objects.start(user, "example", "https://app/cb")
    OAuthState.objects.consume(used)
    used_and_expired, _, _verifier = OAuthState.objects.start(user, "example", "https://app/cb")
    OAuthState.objects.consume(used_and_expired)
    OAuthState.objects.filter(pk=used_and_expired.pk).update(expires_at=timezone.now())
    base = "/admin/auth_code_flow_django/oauthstate/"
    response = admin_client_.get(base)
    html = response.content.decode()
    assert "alice" in html
    assert pending.code_verifier_encrypted not in html
    shown = {
        row.pk: response.context["cl"].model_admin.status_display(row)
        for row in response.context["cl"].result_list
    }
    assert shown == {
        expired.pk: "expired",
        pending.pk: "pending",
        used.pk: "used",
        used_and_expired.pk: "used",
    }
    for status in ("pending", "expired", "used"):
        response = admin_client_.get(f"{base}?status={status}")
        listed = {s.pk for s in response.context["cl"].result_list}
        assert listed == {pk for pk, shown_status in shown.items() if shown_status == status}
        assert f'<td class="field-status_display">{status}</td>' in response.content.decode()
    detail = admin_client_.get(f"{base}{pending.pk}/change/").content.decode()
    assert pending.code_verifier not in detail
    choices = dict(admin_client_.get(base).context["action_form"].fields["action"].choices)
    assert choices["delete_expired_and_used"] == "Delete expired and used authorizations"
    response = admin_client_.post(
        base,
        {
            "action": "delete_expired_and_used",
            "_selected_action": [expired.pk, pending.pk, used.pk, used_and_expired.pk],
        },
        follow=True,
    )
    assert "Deleted 3 states." in response.content.decode()
    assert list(OAuthState.objects.values_list("pk", flat=True)) == [pending.pk]


def test_view_only_staff_cannot_delete_or_revoke(user: User) -> None:
    from django.contrib.auth.models import Permission

    token = make_token(user)
    staff = User.objects.create_user("viewer", password="pw", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_oauthtoken"))
    client = Client()
    client.force_login(staff)
    base = "/admin/auth_code_flow_django/oauthtoken/"
    response = client.get(base)
    assert response.status_code == 200
    assert response.context["action_form"] is None  # no action at all: no delete
    assert client.post(f"{base}{token.pk}/delete/", {"post": "yes"}).status_code == 403
    assert OAuthToken.objects.count() == 1


def test_token_search_matches_the_provider_slug_and_its_start(
    admin_client_: Client, user: User, other_user: User, settings: Any
) -> None:
    make_token(user, provider="github")
    make_token(other_user, provider="gitlab")
    make_token(other_user, provider="example")
    base = "/admin/auth_code_flow_django/oauthtoken/"

    def found(query: str) -> list[tuple[str, str]]:
        response = admin_client_.get(base, {"q": query})
        assert response.status_code == 200
        return sorted((t.user.username, t.provider) for t in response.context["cl"].result_list)

    assert found("github") == [("alice", "github")]
    assert found("git") == [("alice", "github"), ("mallory", "gitlab")]
    assert found("hub") == []  # the start of a slug, not any part of it
    assert found("mallory gitlab") == [("mallory", "gitlab")]


def test_token_search_matches_an_account_id_exactly(
    admin_client_: Client, user: User, other_user: User
) -> None:
    make_token(user, account=Account("583231", "octocat"))
    make_token(other_user, account=Account("5832310", "hubot"))
    response = admin_client_.get("/admin/auth_code_flow_django/oauthtoken/", {"q": "583231"})
    assert [t.user.username for t in response.context["cl"].result_list] == ["alice"]


def test_searches_say_what_they_match(admin_client_: Client, user: User) -> None:
    tokens = admin_client_.get("/admin/auth_code_flow_django/oauthtoken/").content.decode()
    assert (
        "Search by username or email, by provider (its slug, or its start), or by the "
        "account at the provider (its exact id, or part of its name)." in tokens
    )
    states = admin_client_.get("/admin/auth_code_flow_django/oauthstate/").content.decode()
    assert "Search by username or email, or by provider (its slug, or its start)." in states


def test_state_search_matches_the_provider_slug(
    admin_client_: Client, user: User, other_user: User
) -> None:
    OAuthState.objects.start(user, "github", "https://app/cb")
    OAuthState.objects.start(other_user, "example", "https://app/cb")
    response = admin_client_.get("/admin/auth_code_flow_django/oauthstate/", {"q": "git"})
    assert [s.user.username for s in response.context["cl"].result_list] == ["alice"]
