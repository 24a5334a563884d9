from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import responses
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from auth_code_flow_django.models import OAuthState, OAuthToken

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


def test_revoke_action_revokes_and_deletes(
    admin_client_: Client, user: User, django_capture_on_commit_callbacks: Any
) -> None:
    token = make_token(user)
    with responses.RequestsMock() as mocked, django_capture_on_commit_callbacks(execute=True):
        revoke = mocked.post(REVOKE_URL, body="")
        response = admin_client_.post(
            "/admin/auth_code_flow_django/oauthtoken/",
            {"action": "revoke_and_delete", "_selected_action": [token.pk]},
            follow=True,
        )
    assert "Removed 1 connection." in response.content.decode()
    assert revoke.call_count == 2
    assert OAuthToken.objects.count() == 0


def test_state_list_and_delete_expired_action(admin_client_: Client, user: User) -> None:
    expired, _, _verifier = OAuthState.objects.start(user, "example", "https://app/cb")
    OAuthState.objects.filter(pk=expired.pk).update(expires_at=timezone.now())
    pending, _, _verifier = OAuthState.objects.start(user, "example", "https://app/cb")
    base = "/admin/auth_code_flow_django/oauthstate/"
    html = admin_client_.get(base).content.decode()
    assert "alice" in html
    assert pending.code_verifier_encrypted not in html
    for status, expected in (
        ("pending", {pending.pk}),
        ("expired", {expired.pk}),
        ("used", set()),
    ):
        response = admin_client_.get(f"{base}?status={status}")
        assert {s.pk for s in response.context["cl"].result_list} == expected
    detail = admin_client_.get(f"{base}{pending.pk}/change/").content.decode()
    assert pending.code_verifier not in detail
    response = admin_client_.post(
        base,
        {"action": "delete_expired", "_selected_action": [expired.pk, pending.pk]},
        follow=True,
    )
    assert "Deleted 1 state." in response.content.decode()
    assert list(OAuthState.objects.values_list("pk", flat=True)) == [pending.pk]
