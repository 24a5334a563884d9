"""List connections, one row each, streamed; never prints a token."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from ...models import OAuthToken
from ...providers import get_providers

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


class Command(BaseCommand):
    help = "List OAuth connections (one row per user and provider). Never prints a token."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--provider", help="only this provider (slug)")
        parser.add_argument("--user", help="only this user (username)")
        status = parser.add_mutually_exclusive_group()
        status.add_argument("--active", action="store_true", help="only tokens still valid")
        status.add_argument("--expired", action="store_true", help="only expired tokens")
        parser.add_argument("--format", choices=("table", "json", "csv"), default="table")

    def handle(self, *args: Any, **options: Any) -> None:
        rows = self.rows(options)
        writer = {"table": self.write_table, "json": self.write_json, "csv": self.write_csv}
        writer[options["format"]](rows)

    def rows(self, options: dict[str, Any]) -> Iterator[dict[str, str]]:
        queryset = OAuthToken.objects.all()
        provider = options.get("provider")
        if provider:
            if provider not in get_providers() and not queryset.filter(provider=provider).exists():
                known = ", ".join(sorted(get_providers())) or "none"
                raise CommandError(f"Unknown provider {provider!r}. Known providers: {known}.")
            queryset = queryset.filter(provider=provider)
        username = options.get("user")
        if username:
            user_model = get_user_model()
            user = user_model._default_manager.filter(
                **{user_model.USERNAME_FIELD: username}
            ).first()
            if user is None:
                raise CommandError(f"No user {username!r}.")
            queryset = queryset.filter(user_id=user.pk)
        now = timezone.now()
        if options.get("active"):
            queryset = queryset.active(now)
        elif options.get("expired"):
            queryset = queryset.expired(now)
        username_field = f"user__{get_user_model().USERNAME_FIELD}"
        values = queryset.order_by("pk").values_list(
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
            user,
            provider_slug,
            account_id,
            account_name,
            reauth,
            scope,
            expires_at,
            updated_at,
        ) in values.iterator(chunk_size=500):
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
                "expires_at": expires_at.isoformat() if expires_at else "",
                "updated_at": updated_at.isoformat(),
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

    def write_json(self, rows: Iterator[dict[str, str]]) -> None:
        self.stdout.write("[", ending="")
        for index, row in enumerate(rows):
            self.stdout.write(("," if index else "") + "\n  " + json.dumps(row), ending="")
        self.stdout.write("\n]")

    def write_csv(self, rows: Iterator[dict[str, str]]) -> None:
        writer = csv.DictWriter(self.stdout, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
