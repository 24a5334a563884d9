from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from auth_code_flow_django import crypto
from auth_code_flow_django.models import OAuthState, OAuthToken

from .conftest import TOKEN_URL, make_token

User = get_user_model()

pytestmark = pytest.mark.django_db


def run(name: str, *args: str, stdout: Any = None) -> tuple[str, str]:
    out, err = stdout or StringIO(), StringIO()
    call_command(name, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def soon(user: User, seconds: int, **kwargs: Any) -> OAuthToken:
    return make_token(user, expires_at=timezone.now() + timedelta(seconds=seconds), **kwargs)


# --- oauth_refresh_tokens ------------------------------------------------------------


def test_refresh_tokens_refreshes_those_expiring_soon(
    user: User, other_user: User, mocked: Any
) -> None:
    call = mocked.post(
        TOKEN_URL, json={"access_token": "fresh", "token_type": "Bearer", "expires_in": 3600}
    )
    soon(user, 100)
    soon(other_user, 10_000)
    out, _ = run("oauth_refresh_tokens", "--within", "300")
    assert "refreshed: 1, failed: 0, needs re-authorization: 0" in out
    assert call.call_count == 1
    assert OAuthToken.objects.get(user=user).access_token == "fresh"
    assert OAuthToken.objects.get(user=other_user).access_token == "stored-access-token-0001"


def test_refresh_tokens_dry_run_changes_nothing(user: User, mocked: Any) -> None:
    soon(user, 10)
    out, _ = run("oauth_refresh_tokens", "--dry-run")
    assert "would refresh example token of alice" in out
    assert "1 token(s) would be refreshed." in out
    assert len(mocked.calls) == 0


def test_refresh_tokens_failure_exits_1_with_a_summary(
    user: User, other_user: User, mocked: Any
) -> None:
    mocked.post(TOKEN_URL, status=503, body="down")
    soon(user, 10)
    out = StringIO()
    with pytest.raises(CommandError) as info:
        call_command("oauth_refresh_tokens", stdout=out, stderr=StringIO())
    assert info.value.returncode == 1
    assert "refreshed: 0, failed: 1" in out.getvalue()


def test_refresh_tokens_counts_reauthorization(user: User, mocked: Any) -> None:
    mocked.post(TOKEN_URL, status=400, json={"error": "invalid_grant"})
    soon(user, 10)
    out, _ = run("oauth_refresh_tokens", "--provider", "example")
    assert "needs re-authorization: 1" in out
    assert OAuthToken.objects.get().needs_reauthorization


def test_refresh_tokens_shows_a_progress_bar_on_a_terminal(user: User, mocked: Any) -> None:
    mocked.post(TOKEN_URL, json={"access_token": "fresh", "token_type": "Bearer"})
    soon(user, 10)
    soon(user, 20, provider="stackexchange")
    mocked.post("https://stackoverflow.com/oauth/access_token/json", json={"access_token": "se"})

    class Terminal(StringIO):
        def isatty(self) -> bool:
            return True

    out, _ = run("oauth_refresh_tokens", stdout=Terminal())
    assert "\r[" + "#" * 15 + "." * 15 + "] 1/2" in out
    assert "\r[" + "#" * 30 + "] 2/2\n" in out
    plain, _ = run("oauth_refresh_tokens")
    assert "\r[" not in plain


def test_refresh_tokens_bad_arguments() -> None:
    with pytest.raises(CommandError, match="Unknown provider"):
        run("oauth_refresh_tokens", "--provider", "nope")
    with pytest.raises(CommandError, match="--within"):
        run("oauth_refresh_tokens", "--within", "-1")


# --- oauth_purge_states --------------------------------------------------------------


def test_purge_states_deletes_only_expired(user: User) -> None:
    old, _, _verifier = OAuthState.objects.start(user, "example", "https://app/cb")
    OAuthState.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    fresh, _, _verifier = OAuthState.objects.start(user, "example", "https://app/cb")
    out, _ = run("oauth_purge_states")
    assert out.strip() == "Deleted 1 expired state."
    assert list(OAuthState.objects.values_list("pk", flat=True)) == [fresh.pk]
    assert run("oauth_purge_states")[0].strip() == "Deleted 0 expired states."


# --- oauth_rotate_keys ---------------------------------------------------------------

OLD = "old-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
NEW = "new-secret-key-9876543210-zyxwvutsrqponmlkjihgfedcba"


def raw_ciphertexts() -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT access_token_encrypted, refresh_token_encrypted"
            " FROM auth_code_flow_django_oauthtoken"
        )
        return repr(cursor.fetchall())


def test_rotate_keys_end_to_end(user: User, other_user: User) -> None:
    with override_settings(SECRET_KEY=OLD):
        for index in range(5):
            make_token(User.objects.create_user(f"user{index}"), access_token=f"access-{index}")
        make_token(user, refresh_token=None)
        OAuthState.objects.start(user, "example", "https://app/cb")
        verifier = OAuthState.objects.get().code_verifier
    with override_settings(SECRET_KEY=NEW, SECRET_KEY_FALLBACKS=[OLD]):
        assert OAuthToken.objects.get(user__username="user3").access_token == "access-3"
        out, _ = run("oauth_rotate_keys", "--batch-size", "2")
        assert out.strip().startswith("Re-encrypted 12 value(s); 0 already")
        again, _ = run("oauth_rotate_keys")
        assert again.strip().startswith("Re-encrypted 0 value(s); 12 already")
    with override_settings(SECRET_KEY=NEW, SECRET_KEY_FALLBACKS=[]):
        assert [t.access_token for t in OAuthToken.objects.order_by("user__username")][:2] == [
            "stored-access-token-0001",
            "access-0",
        ]
        assert OAuthToken.objects.get(user=user).refresh_token is None
        assert OAuthState.objects.get().code_verifier == verifier


def test_rotate_keys_to_an_explicit_key(user: User) -> None:
    make_token(user)
    key = Fernet.generate_key().decode()
    with override_settings(
        AUTH_CODE_FLOW_ENCRYPTION_KEYS=[
            key,
            crypto.derive_key("tests-secret-key-not-for-production-0123456789abcdef").decode(),
        ]
    ):
        run("oauth_rotate_keys")
    with override_settings(AUTH_CODE_FLOW_ENCRYPTION_KEYS=[key]):
        assert OAuthToken.objects.get().access_token == "stored-access-token-0001"
    assert "stored-access" not in raw_ciphertexts()


def test_rotate_keys_reports_undecryptable_values(user: User) -> None:
    make_token(user)
    with override_settings(SECRET_KEY=NEW), pytest.raises(CommandError) as info:
        run("oauth_rotate_keys")
    assert info.value.returncode == 1
    with pytest.raises(CommandError, match="batch-size"):
        run("oauth_rotate_keys", "--batch-size", "0")
