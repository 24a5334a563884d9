from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO
from typing import Any
from urllib.parse import parse_qs

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
    before = OAuthToken.objects.get().access_token_encrypted
    out, _ = run("oauth_refresh_tokens", "--dry-run")
    assert "would refresh example token of alice" in out
    assert "1 token(s) would be refreshed, 0 would need re-authorization" in out
    assert len(mocked.calls) == 0
    assert OAuthToken.objects.get().access_token_encrypted == before


def test_refresh_tokens_dry_run_says_what_the_real_run_does_without_a_refresh_token(
    user: User, other_user: User, mocked: Any
) -> None:
    mocked.post(TOKEN_URL, json={"access_token": "fresh", "token_type": "Bearer"})
    soon(user, 10, refresh_token=None)
    soon(other_user, 10)
    out, _ = run("oauth_refresh_tokens", "--dry-run")
    assert "would mark example token of alice as needing re-authorization" in out
    assert "would refresh example token of alice" not in out
    assert "would refresh example token of mallory" in out
    assert "1 token(s) would be refreshed, 1 would need re-authorization" in out
    plan = json.loads(run("oauth_refresh_tokens", "--dry-run", "--format", "json")[0])
    assert plan["would_refresh"] == [{"provider": "example", "user": "mallory"}]
    assert plan["would_need_reauthorization"] == [{"provider": "example", "user": "alice"}]
    assert len(mocked.calls) == 0
    out, _ = run("oauth_refresh_tokens")
    assert "refreshed: 1, failed: 0, needs re-authorization: 1" in out
    assert OAuthToken.objects.get(user=user).needs_reauthorization


def test_refresh_tokens_dry_run_flags_rows_it_cannot_decrypt(user: User, mocked: Any) -> None:
    with override_settings(SECRET_KEY=NEW):
        soon(user, 10)
    out, _ = run("oauth_refresh_tokens", "--dry-run")
    assert "would fail: example token of alice cannot be decrypted" in out
    plan = json.loads(run("oauth_refresh_tokens", "--dry-run", "--format", "json")[0])
    assert plan["cannot_be_decrypted"] == [{"provider": "example", "user": "alice"}]
    assert plan["would_refresh"] == []


def test_refresh_tokens_reports_an_undecryptable_row_and_goes_on(
    user: User, other_user: User, mocked: Any
) -> None:
    call = mocked.post(
        TOKEN_URL, json={"access_token": "fresh", "token_type": "Bearer", "expires_in": 3600}
    )
    with override_settings(SECRET_KEY=NEW):
        soon(user, 10)  # first in the batch: it expires sooner
    soon(other_user, 20)
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as info:
        call_command("oauth_refresh_tokens", stdout=out, stderr=err)
    assert info.value.returncode == 1
    assert "example token of alice: cannot be decrypted with the configured keys" in (
        err.getvalue()
    )
    assert "refreshed: 1, failed: 1" in out.getvalue()
    assert call.call_count == 1
    assert OAuthToken.objects.get(user=other_user).access_token == "fresh"
    assert not OAuthToken.objects.get(user=user).needs_reauthorization


def test_refresh_tokens_json_summary(user: User, other_user: User, mocked: Any) -> None:
    mocked.post(TOKEN_URL, status=503, body="down")
    with override_settings(SECRET_KEY=NEW):
        soon(user, 10)
    soon(other_user, 20)
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("oauth_refresh_tokens", "--format", "json", stdout=out, stderr=StringIO())
    summary = json.loads(out.getvalue())
    assert summary["refreshed"] == 0
    assert summary["failed"] == 2
    assert summary["failures"][0] == {
        "provider": "example",
        "user": "alice",
        "error": "cannot be decrypted with the configured keys",
    }
    assert summary["failures"][1]["user"] == "mallory"
    assert "stored-" not in out.getvalue()


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
    # Each refresh gives a token that is due again, so every run below has work to do.
    reply = {"access_token": "fresh", "token_type": "Bearer", "expires_in": 60, "expires": 60}
    mocked.post(TOKEN_URL, json=reply)
    mocked.post("https://stackoverflow.com/oauth/access_token/json", json=reply)
    soon(user, 10)
    soon(user, 20, provider="stackexchange")

    class Terminal(StringIO):
        def isatty(self) -> bool:
            return True

    out, _ = run("oauth_refresh_tokens", "--within", "3600", stdout=Terminal())
    assert "\r[" + "#" * 15 + "." * 15 + "] 1/2" in out
    assert "\r[" + "#" * 30 + "] 2/2\n" in out
    plain, _ = run("oauth_refresh_tokens", "--within", "3600")
    assert "\r[" not in plain
    as_json, _ = run(
        "oauth_refresh_tokens", "--within", "3600", "--format", "json", stdout=Terminal()
    )
    assert json.loads(as_json)["refreshed"] == 2


def test_refresh_tokens_bad_arguments() -> None:
    with pytest.raises(CommandError, match="Unknown provider") as info:
        run("oauth_refresh_tokens", "--provider", "nope")
    assert info.value.returncode == 2
    with pytest.raises(CommandError, match="--within") as info:
        run("oauth_refresh_tokens", "--within", "-1")
    assert info.value.returncode == 2


# --- oauth_purge_states --------------------------------------------------------------


def test_purge_states_deletes_only_expired(user: User) -> None:
    old, _, _verifier = OAuthState.objects.start(user, "example", "https://app/cb")
    OAuthState.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    fresh, _, _verifier = OAuthState.objects.start(user, "example", "https://app/cb")
    out, _ = run("oauth_purge_states")
    assert out.strip() == "Deleted 1 expired state."
    assert list(OAuthState.objects.values_list("pk", flat=True)) == [fresh.pk]
    assert run("oauth_purge_states")[0].strip() == "Deleted 0 expired states."


def test_purge_states_json(user: User) -> None:
    for _ in range(2):
        OAuthState.objects.start(user, "example", "https://app/cb")
    OAuthState.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert json.loads(run("oauth_purge_states", "--format", "json")[0]) == {"deleted": 2}
    assert OAuthState.objects.count() == 0


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
    with pytest.raises(CommandError, match="batch-size") as info:
        run("oauth_rotate_keys", "--batch-size", "0")
    assert info.value.returncode == 2


def test_rotate_keys_json_summary(user: User, other_user: User) -> None:
    with override_settings(SECRET_KEY=OLD):
        make_token(user)
    make_token(other_user, refresh_token=None)
    with override_settings(SECRET_KEY=NEW, SECRET_KEY_FALLBACKS=[OLD]):
        out = StringIO()
        with pytest.raises(CommandError):
            call_command("oauth_rotate_keys", "--format", "json", stdout=out, stderr=StringIO())
    assert json.loads(out.getvalue()) == {
        "re_encrypted": 2,
        "already_current": 0,
        "undecryptable": 1,
        "changed_meanwhile": 0,
        "failures": [
            {
                "row": "example token of mallory",
                "field": "access token",
                "error": "cannot be decrypted with the configured keys",
            }
        ],
    }


def test_rotate_keys_reports_each_undecryptable_value(user: User) -> None:
    make_token(user)
    err = StringIO()
    with override_settings(SECRET_KEY=NEW), pytest.raises(CommandError, match="2 value"):
        call_command("oauth_rotate_keys", stdout=StringIO(), stderr=err)
    assert err.getvalue().splitlines() == [
        "example token of alice: access token cannot be decrypted with the configured keys",
        "example token of alice: refresh token cannot be decrypted with the configured keys",
    ]


def test_rotate_keys_never_overwrites_a_refresh_that_commits_meanwhile(
    user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    from auth_code_flow_django.management.commands import oauth_rotate_keys

    with override_settings(SECRET_KEY=OLD):
        make_token(user)
    original = oauth_rotate_keys.Command.plan
    calls = []

    def plan_then_refresh(obj: Any, fields: tuple[str, ...]) -> Any:
        result = original(obj, fields)
        if not calls:  # a refresh commits between the read and the write
            OAuthToken.objects.filter(pk=obj.pk).update(
                access_token_encrypted=crypto.encrypt("refreshed-meanwhile")
            )
        calls.append(obj.pk)
        return result

    monkeypatch.setattr(oauth_rotate_keys.Command, "plan", staticmethod(plan_then_refresh))
    with override_settings(SECRET_KEY=NEW, SECRET_KEY_FALLBACKS=[OLD]):
        out, _ = run("oauth_rotate_keys")
        token = OAuthToken.objects.get()
        assert token.access_token == "refreshed-meanwhile"
        assert token.refresh_token == "stored-refresh-token-0002"
        assert crypto.is_current(token.refresh_token_encrypted)
    assert len(calls) == 2
    assert out.strip().startswith("Re-encrypted 1 value(s); 1 already")


def test_rotate_keys_shows_a_progress_bar_on_a_terminal(user: User, other_user: User) -> None:
    make_token(user)
    make_token(other_user)
    OAuthState.objects.start(user, "example", "https://app/cb")

    class Terminal(StringIO):
        def isatty(self) -> bool:
            return True

    out, _ = run("oauth_rotate_keys", "--batch-size", "1", stdout=Terminal())
    assert "] 1/3" in out
    assert "\r[" + "#" * 30 + "] 3/3\n" in out
    assert "\r[" not in run("oauth_rotate_keys")[0]


def test_rotate_keys_gives_up_on_a_row_that_keeps_changing(
    user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    from auth_code_flow_django.management.commands import oauth_rotate_keys

    with override_settings(SECRET_KEY=OLD):
        make_token(user)
    original = oauth_rotate_keys.Command.plan

    def plan_then_change(obj: Any, fields: tuple[str, ...]) -> Any:
        result = original(obj, fields)
        # Under the old key again, so that every pass has it to re-encrypt.
        with override_settings(SECRET_KEY=OLD):
            OAuthToken.objects.filter(pk=obj.pk).update(
                access_token_encrypted=crypto.encrypt("refreshed-again")
            )
        return result

    monkeypatch.setattr(oauth_rotate_keys.Command, "plan", staticmethod(plan_then_change))
    out = StringIO()
    with (
        override_settings(SECRET_KEY=NEW, SECRET_KEY_FALLBACKS=[OLD]),
        pytest.raises(CommandError, match=r"^1 row\(s\) kept changing\.$") as info,
    ):
        call_command("oauth_rotate_keys", "--format", "json", stdout=out, stderr=StringIO())
    assert info.value.returncode == 1
    summary = json.loads(out.getvalue())
    assert summary["changed_meanwhile"] == 1
    assert summary["re_encrypted"] == 0


def test_refresh_tokens_counts_a_connection_removed_meanwhile(
    user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    from auth_code_flow_django.management.commands.oauth_refresh_tokens import Command

    soon(user, 10)
    refresh_one = Command.refresh_one

    def removed_after_the_read(self: Command, token: OAuthToken, within: int) -> Any:
        OAuthToken.objects.filter(pk=token.pk).delete()
        return refresh_one(self, token, within)

    monkeypatch.setattr(Command, "refresh_one", removed_after_the_read)
    out, err = run("oauth_refresh_tokens")
    assert "failed: 0" in out
    assert out.strip().endswith(", disconnected meanwhile: 1")
    assert err == ""


def refresh_after_the_read(monkeypatch: pytest.MonkeyPatch, meanwhile: Any) -> None:
    """Run ``meanwhile(token)`` between the command's read of a row and its refresh, as
    another copy of the command or a user's request would."""
    from auth_code_flow_django.management.commands.oauth_refresh_tokens import Command

    refresh_one = Command.refresh_one

    def changed_after_the_read(self: Command, token: OAuthToken, within: int) -> Any:
        meanwhile(token)
        return refresh_one(self, token, within)

    monkeypatch.setattr(Command, "refresh_one", changed_after_the_read)


def test_refresh_tokens_leaves_a_row_refreshed_since_it_was_read(
    user: User, mocked: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from auth_code_flow_django import tokens

    call = mocked.post(
        TOKEN_URL, json={"access_token": "fresh", "token_type": "Bearer", "expires_in": 1}
    )
    soon(user, 10)
    # Refreshed elsewhere, and due again at once (expires_in 1): the row the command
    # read is outdated all the same, so its refresh token is not sent again.
    refresh_after_the_read(monkeypatch, lambda token: tokens.refresh(user, "example"))
    out, err = run("oauth_refresh_tokens")
    assert call.call_count == 1
    assert out.strip() == (
        "refreshed: 0, failed: 0, needs re-authorization: 0, already fresh: 0, "
        "refreshed elsewhere: 1"
    )
    assert err == ""
    assert OAuthToken.objects.get().access_token == "fresh"


def test_refresh_tokens_skips_a_row_another_caller_holds_without_waiting(
    user: User, mocked: Any
) -> None:
    call = mocked.post(TOKEN_URL, json={"access_token": "fresh", "token_type": "Bearer"})
    soon(user, 10)
    held_until = timezone.now() + timedelta(minutes=1)
    OAuthToken.objects.update(refresh_claim="another-caller", refresh_claimed_until=held_until)
    summary = json.loads(run("oauth_refresh_tokens", "--format", "json")[0])
    assert summary["refreshed"] == 0
    assert summary["refreshed_elsewhere"] == 1
    assert call.call_count == 0
    assert OAuthToken.objects.get().refresh_claim == "another-caller"
    # A claim whose holder died (expired) is taken over.
    OAuthToken.objects.update(refresh_claimed_until=timezone.now() - timedelta(seconds=1))
    summary = json.loads(run("oauth_refresh_tokens", "--format", "json")[0])
    assert summary["refreshed"] == 1
    assert call.call_count == 1


def test_refresh_tokens_leaves_a_row_marked_for_reauthorization_since_it_was_read(
    user: User, mocked: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    call = mocked.post(TOKEN_URL, json={"access_token": "fresh", "token_type": "Bearer"})
    soon(user, 10)

    def refused_elsewhere(token: OAuthToken) -> None:
        OAuthToken.objects.filter(pk=token.pk).update(needs_reauthorization=True)

    refresh_after_the_read(monkeypatch, refused_elsewhere)
    summary = json.loads(run("oauth_refresh_tokens", "--format", "json")[0])
    assert summary["refreshed_elsewhere"] == 1
    assert call.call_count == 0


def due_in_order_with_equal_expiries() -> list[OAuthToken]:
    """Due rows of two providers, most of them sharing one expiry time (with keys out of
    order between the providers), some earlier or later; and rows that are not due.
    Returns the due rows as the command must read them: by expiry, then key."""
    same = timezone.now() - timedelta(seconds=30)
    users = [User.objects.create_user(f"user{i:02d}") for i in range(14)]
    for index, each in enumerate(users):
        offset = {0: -10, 1: 5, 2: -10}.get(index, 0)
        make_token(each, expires_at=same + timedelta(seconds=offset), refresh_token=f"rt-{index}")
        if index % 4 == 0:  # the other provider, one expiry with the rest
            make_token(each, "stackexchange", expires_at=same)
    make_token(User.objects.create_user("later"), expires_at=same + timedelta(hours=2))
    refused = make_token(User.objects.create_user("refused"), expires_at=same)
    OAuthToken.objects.filter(pk=refused.pk).update(needs_reauthorization=True)
    due = OAuthToken.objects.exclude(user__username__in=["later", "refused"])
    return list(due.order_by("expires_at", "pk"))


@pytest.mark.parametrize("size", [1, 3, 5])
def test_refresh_tokens_dry_run_reads_every_due_row_once_in_order_across_chunks(
    mocked: Any, monkeypatch: pytest.MonkeyPatch, size: int
) -> None:
    from auth_code_flow_django.management.commands import oauth_refresh_tokens

    # A dry run changes no expiry: each chunk must start exactly after the last row
    # read, inside a run of equal expiry times and across the providers' streams.
    monkeypatch.setattr(oauth_refresh_tokens, "CHUNK", size)
    expected = due_in_order_with_equal_expiries()
    out, _ = run("oauth_refresh_tokens", "--dry-run")
    lines = [line for line in out.splitlines() if line.startswith("would refresh")]
    assert lines == [f"would refresh {token}" for token in expected]
    assert len(mocked.calls) == 0


def test_refresh_tokens_refreshes_every_due_row_once_in_order_across_chunks(
    mocked: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from auth_code_flow_django.management.commands import oauth_refresh_tokens

    monkeypatch.setattr(oauth_refresh_tokens, "CHUNK", 2)
    received: list[str] = []

    def token_endpoint(request: Any) -> tuple[int, dict[str, str], str]:
        received.append(parse_qs(request.body)["refresh_token"][0])
        reply = {"access_token": "fresh", "token_type": "Bearer", "expires_in": 3600}
        return 200, {"Content-Type": "application/json"}, json.dumps(reply)

    mocked.add_callback("POST", TOKEN_URL, callback=token_endpoint)
    expected = [t for t in due_in_order_with_equal_expiries() if t.provider == "example"]
    OAuthToken.objects.filter(provider="stackexchange").delete()
    summary = json.loads(run("oauth_refresh_tokens", "--format", "json")[0])
    assert received == [token.refresh_token for token in expected]
    assert summary["refreshed"] == len(expected) == 14
    assert summary["failed"] == summary["refreshed_elsewhere"] == 0


def test_refresh_tokens_reads_in_chunks_past_equal_expiry_times(
    user: User, other_user: User, mocked: Any
) -> None:
    from auth_code_flow_django.management.commands.oauth_refresh_tokens import chunks

    mocked.post(
        TOKEN_URL, json={"access_token": "fresh", "token_type": "Bearer", "expires_in": 3600}
    )
    same = timezone.now() - timedelta(seconds=30)
    users = [user, other_user] + [User.objects.create_user(f"user{i}") for i in range(5)]
    for index, each in enumerate(users):
        # Three rows share each expiry time: the chunks cut through equal times.
        make_token(each, expires_at=same + timedelta(seconds=index // 3))
    queryset = OAuthToken.objects.order_by("expires_at", "pk")
    expected = list(queryset.values_list("pk", flat=True))
    seen = []
    for token in chunks(queryset, size=2):
        seen.append(token.pk)
        token.expires_at = timezone.now() + timedelta(hours=1)  # what a refresh does
    assert seen == expected
    out, _ = run("oauth_refresh_tokens")
    assert out.startswith("refreshed: 7, failed: 0")
