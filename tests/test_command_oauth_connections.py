from __future__ import annotations

import csv
import json
import tracemalloc
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone

from auth_code_flow_django.identity import Account
from auth_code_flow_django.management.commands.oauth_connections import COLUMNS
from auth_code_flow_django.models import OAuthToken

from .conftest import make_token

User = get_user_model()

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("oauth_connections", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def tokens(user: User, other_user: User) -> None:
    make_token(user, access_token="ALICE-ACCESS-TOKEN-123456")
    make_token(other_user, expires_at=timezone.now() - timedelta(hours=1))
    make_token(user, provider="stackexchange", scope="no_expiry")


def test_table(tokens: None) -> None:
    output = run()
    lines = output.splitlines()
    assert lines[0].split() == list(COLUMNS)
    assert COLUMNS == (
        "user",
        "provider",
        "account_id",
        "account_name",
        "status",
        "scope",
        "expires_at",
        "updated_at",
    )
    assert len(lines) == 2 + 3 + 1
    assert lines[-1] == "(3 connections)"
    assert "ALICE-ACCESS" not in output


def test_json_and_filters(tokens: None) -> None:
    rows = json.loads(run("--format", "json"))
    assert {(r["user"], r["provider"], r["status"]) for r in rows} == {
        ("alice", "example", "active"),
        ("mallory", "example", "expired"),
        ("alice", "stackexchange", "active"),
    }
    assert [r["user"] for r in json.loads(run("--format", "json", "--expired"))] == ["mallory"]
    assert {r["provider"] for r in json.loads(run("--format", "json", "--user", "alice"))} == {
        "example",
        "stackexchange",
    }
    active = json.loads(run("--format", "json", "--active", "--provider", "example"))
    assert [r["user"] for r in active] == ["alice"]
    assert json.loads(run("--format", "json", "--provider", "stackexchange"))[0]["scope"] == (
        "no_expiry"
    )


def test_every_format_prints_the_account(user: User) -> None:
    make_token(user, account=Account("583231", "octocat"))
    (row,) = json.loads(run("--format", "json"))
    assert (row["account_id"], row["account_name"]) == ("583231", "octocat")
    (csv_row,) = csv.DictReader(StringIO(run("--format", "csv")))
    assert (csv_row["account_id"], csv_row["account_name"]) == ("583231", "octocat")
    assert "583231" in run().splitlines()[2]
    assert "octocat" in run().splitlines()[2]


def test_empty_json_is_valid() -> None:
    assert json.loads(run("--format", "json")) == []
    assert run().splitlines()[-1] == "(0 connections)"


def test_csv(tokens: None) -> None:
    rows = list(csv.DictReader(StringIO(run("--format", "csv"))))
    assert len(rows) == 3
    assert set(rows[0]) == set(COLUMNS)
    assert "ALICE-ACCESS" not in run("--format", "csv")


def test_needs_reauthorization_status(tokens: None) -> None:
    OAuthToken.objects.filter(user__username="alice", provider="example").update(
        needs_reauthorization=True
    )
    rows = json.loads(run("--format", "json", "--user", "alice", "--provider", "example"))
    assert rows[0]["status"] == "needs_reauthorization"
    assert json.loads(run("--format", "json", "--active", "--provider", "example")) == []


@pytest.mark.parametrize("output", ["table", "json", "csv"])
def test_helpful_errors_print_nothing_first(output: str) -> None:
    out = StringIO()
    with pytest.raises(CommandError, match=r"Unknown provider 'nope'\. Known providers: example"):
        call_command("oauth_connections", "--provider", "nope", "--format", output, stdout=out)
    with pytest.raises(CommandError, match="No user 'ghost'") as info:
        call_command("oauth_connections", "--user", "ghost", "--format", output, stdout=out)
    assert info.value.returncode == 2
    assert out.getvalue() == ""


@override_settings(USE_TZ=True)
def test_table_times_are_to_the_second_with_the_time_zone(user: User) -> None:
    make_token(user, expires_at=datetime(2026, 11, 28, 4, 5, 6, 789012, tzinfo=dt_timezone.utc))
    row = run().splitlines()[2]
    assert "2026-11-28 04:05:06 UTC" in row
    assert "789" not in row
    with override_settings(TIME_ZONE="Europe/Paris"):
        assert "2026-11-28 05:05:06 CET" in run().splitlines()[2]


def test_json_and_csv_times_are_iso_8601(user: User) -> None:
    expires = datetime(2026, 11, 28, 4, 5, 6, 789012, tzinfo=dt_timezone.utc)
    make_token(user, expires_at=expires)
    row = json.loads(run("--format", "json"))[0]
    assert datetime.fromisoformat(row["expires_at"]) == expires
    assert row["expires_at"].endswith("+00:00")
    assert datetime.fromisoformat(row["updated_at"]).tzinfo is not None
    assert (
        next(csv.DictReader(StringIO(run("--format", "csv"))))["expires_at"] == (row["expires_at"])
    )


@override_settings(USE_TZ=False, TIME_ZONE="Europe/Paris")
def test_times_without_time_zone_support(user: User) -> None:
    # Stored naive, in Paris time, as the app stores it without time zone support.
    make_token(user, expires_at=datetime(2026, 7, 1, 10, 0, 0, 5, tzinfo=dt_timezone.utc))
    assert "2026-07-01 12:00:00 CEST" in run().splitlines()[2]
    assert json.loads(run("--format", "json"))[0]["expires_at"] == (
        "2026-07-01T12:00:00.000005+02:00"
    )


def test_long_values_are_truncated_in_the_table(user: User) -> None:
    make_token(user, scope="x" * 100)
    line = run().splitlines()[2]
    assert "x" * 23 + "\u2026" in line


def add_connections(start: int, count: int) -> None:
    users = User.objects.bulk_create(User(username=f"u{i}") for i in range(start, start + count))
    OAuthToken.objects.bulk_create(
        OAuthToken(user=u, provider="example", access_token_encrypted="x") for u in users
    )


def peak_memory_of_listing() -> int:
    class Sink:
        lines = 0

        def write(self, text: str) -> None:
            self.lines += text.count("\n")

        def flush(self) -> None:
            pass

    sink = Sink()
    tracemalloc.start()
    call_command("oauth_connections", "--format", "csv", stdout=sink)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert sink.lines == OAuthToken.objects.count() + 1
    return peak


def test_memory_stays_flat_as_rows_grow(db: object) -> None:
    add_connections(0, 1000)
    small = peak_memory_of_listing()
    add_connections(1000, 5000)
    large = peak_memory_of_listing()
    # Six times the rows: the peak is one fetch chunk either way.
    assert large < small * 1.5, (small, large)
