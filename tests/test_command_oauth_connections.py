from __future__ import annotations

import csv
import json
import tracemalloc
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.utils import timezone

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
    assert lines[0].split() == ["user", "provider", "status", "scope", "expires_at", "updated_at"]
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


def test_empty_json_is_valid() -> None:
    assert json.loads(run("--format", "json")) == []
    assert run().splitlines()[-1] == "(0 connections)"


def test_csv(tokens: None) -> None:
    rows = list(csv.DictReader(StringIO(run("--format", "csv"))))
    assert len(rows) == 3
    assert set(rows[0]) == {"user", "provider", "status", "scope", "expires_at", "updated_at"}
    assert "ALICE-ACCESS" not in run("--format", "csv")


def test_needs_reauthorization_status(tokens: None) -> None:
    OAuthToken.objects.filter(user__username="alice", provider="example").update(
        needs_reauthorization=True
    )
    rows = json.loads(run("--format", "json", "--user", "alice", "--provider", "example"))
    assert rows[0]["status"] == "needs_reauthorization"
    assert json.loads(run("--format", "json", "--active", "--provider", "example")) == []


def test_helpful_errors() -> None:
    with pytest.raises(CommandError, match=r"Unknown provider 'nope'\. Known providers: example"):
        run("--provider", "nope")
    with pytest.raises(CommandError, match="No user 'ghost'"):
        run("--user", "ghost")


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
