"""List connections, one row each, streamed; never prints a token."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import CommandParser
from django.utils import timezone

from ...models import OAuthToken, OAuthTokenQuerySet
from ...providers import get_providers
from ..base import AppCommand, find_user, human_time, iso_time, unknown_provider

COLUMNS = (
    "user",
    "provider",
    "account_id",
    "account_name",
    "status",
    "scope",
    "expires_at",
    "updated_at",
)
WIDTHS = (24, 16, 24, 24, 22, 24, 25, 25)


class Command(AppCommand):
    help = (
        "List OAuth connections, one row per user and provider. Never prints a token.\n\n"
        "Rows are streamed, so the listing runs in constant memory. The table shows times\n"
        "to the second in the current time zone; json and csv give ISO 8601 with offset."
    )

    usage_errors = ("an unknown provider", "an unknown user")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--provider", help="only this provider (slug)")
        parser.add_argument("--user", help="only this user (username)")
        status = parser.add_mutually_exclusive_group()
        status.add_argument(
            "--active", action="store_true", help="only connections whose token is still valid"
        )
        status.add_argument(
            "--expired", action="store_true", help="only connections whose token has expired"
        )
        parser.add_argument(
            "--format",
            choices=("table", "json", "csv"),
            default="table",
            help="table for people, json (one array) or csv for scripts (default: %(default)s)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # Resolved before anything is printed, so a bad option prints no header.
        queryset = self.queryset(options)
        if options["format"] == "table":
            self.write_table(self.rows(queryset, human_time))
        elif options["format"] == "json":
            self.write_json_rows(self.rows(queryset, iso_time))
        else:
            self.write_csv(self.rows(queryset, iso_time))

    def queryset(self, options: dict[str, Any]) -> OAuthTokenQuerySet:
        queryset = OAuthToken.objects.all()
        provider = options.get("provider")
        if provider:
            if provider not in get_providers() and not queryset.filter(provider=provider).exists():
                raise unknown_provider(provider)
            queryset = queryset.filter(provider=provider)
        username = options.get("user")
        if username:
            queryset = queryset.filter(user_id=find_user(username).pk)
        if options.get("active"):
            queryset = queryset.active()
        elif options.get("expired"):
            queryset = queryset.expired()
        return queryset

    def rows(
        self, queryset: OAuthTokenQuerySet, when: Callable[[datetime | None], str]
    ) -> Iterator[dict[str, str]]:
        now = timezone.now()
        username_field = f"user__{get_user_model().USERNAME_FIELD}"
        values = queryset.values_list(
            "pk",
            username_field,
            "provider",
            "account_id",
            "account_name",
            "needs_reauthorization",
            "scope",
            "expires_at",
            "updated_at",
        )
        for (
            _pk,
            user,
            provider_slug,
            account_id,
            account_name,
            reauth,
            scope,
            expires_at,
            updated_at,
        ) in keyset_chunks(values):
            if reauth:
                status = OAuthToken.STATUS_REAUTHORIZE
            elif expires_at is not None and expires_at <= now:
                status = OAuthToken.STATUS_EXPIRED
            else:
                status = OAuthToken.STATUS_ACTIVE
            yield {
                "user": str(user),
                "provider": provider_slug,
                "account_id": account_id,
                "account_name": account_name,
                "status": status,
                "scope": scope,
                "expires_at": when(expires_at),
                "updated_at": when(updated_at),
            }

    def write_table(self, rows: Iterator[dict[str, str]]) -> None:
        def line(values: tuple[str, ...]) -> str:
            cells = [
                (v if len(v) <= w else v[: w - 1] + "\u2026").ljust(w)
                for v, w in zip(values, WIDTHS, strict=True)
            ]
            return "  ".join(cells).rstrip()

        self.stdout.write(line(COLUMNS))
        self.stdout.write(line(tuple("-" * w for w in WIDTHS)))
        count = 0
        for row in rows:
            self.stdout.write(line(tuple(row[c] for c in COLUMNS)))
            count += 1
        self.stdout.write(f"({count} connection{'s' if count != 1 else ''})")

    def write_json_rows(self, rows: Iterator[dict[str, str]]) -> None:
        self.stdout.write("[", ending="")
        for index, row in enumerate(rows):
            self.stdout.write(("," if index else "") + "\n  " + json.dumps(row), ending="")
        self.stdout.write("\n]")

    def write_csv(self, rows: Iterator[dict[str, str]]) -> None:
        writer = csv.DictWriter(self.stdout, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow(row)


def keyset_chunks(values: Any, size: int = 500) -> Iterator[tuple[Any, ...]]:
    """The rows in primary-key order, ``size`` at a time, each chunk its own query
    (``WHERE pk > last``): memory stays flat on every backend, including MySQL's
    drivers, which read a whole result set even for ``.iterator()``. Rows start with
    the primary key."""
    last = None
    while True:
        chunk = values.order_by("pk")
        if last is not None:
            chunk = chunk.filter(pk__gt=last)
        rows = list(chunk[:size])
        yield from rows
        if len(rows) < size:
            return
        last = rows[-1][0]
