"""Refresh tokens that expire soon, e.g. from cron, so users never wait on a refresh."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from ... import tokens
from ...exceptions import AuthCodeFlowError, ReauthorizationRequiredError
from ...models import OAuthToken
from ...providers import get_providers

BAR_WIDTH = 30


class Command(BaseCommand):
    help = "Refresh stored tokens that expire within --within seconds. Exit code 1 if any failed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--provider", help="only this provider (slug)")
        parser.add_argument(
            "--within", type=int, default=300, help="seconds before expiry (default 300)"
        )
        parser.add_argument("--dry-run", action="store_true", help="list, refresh nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        within: int = options["within"]
        if within < 0:
            raise CommandError("--within must be >= 0.")
        queryset = (
            OAuthToken.objects.filter(
                expires_at__lte=timezone.now() + timedelta(seconds=within),
                needs_reauthorization=False,
            )
            .select_related("user")
            .order_by("expires_at")
        )
        provider = options.get("provider")
        if provider:
            if provider not in get_providers():
                known = ", ".join(sorted(get_providers())) or "none"
                raise CommandError(f"Unknown provider {provider!r}. Known providers: {known}.")
            queryset = queryset.filter(provider=provider)
        else:
            queryset = queryset.filter(provider__in=list(get_providers()))
        total = queryset.count()
        if options["dry_run"]:
            for token in queryset.iterator():
                self.stdout.write(f"would refresh {token.provider} token of {token.user}")
            self.stdout.write(f"{total} token(s) would be refreshed.")
            return
        counts: Counter[str] = Counter()
        for done, token in enumerate(queryset.iterator(), start=1):
            counts[self.refresh_one(token, within)] += 1
            self.progress(done, total)
        self.stdout.write(
            f"refreshed: {counts['refreshed']}, failed: {counts['failed']}, "
            f"needs re-authorization: {counts['reauthorize']}, "
            f"already fresh: {counts['fresh']}"
        )
        if counts["failed"]:
            raise CommandError(f"{counts['failed']} refresh(es) failed.", returncode=1)

    def refresh_one(self, token: OAuthToken, within: int) -> str:
        before = token.access_token_encrypted
        try:
            refreshed = tokens.refresh(token.user, token.provider, within=within)
        except ReauthorizationRequiredError:
            return "reauthorize"
        except AuthCodeFlowError as exc:
            self.stderr.write(f"{token.provider} token of {token.user}: {exc.description}")
            return "failed"
        return "refreshed" if refreshed.access_token_encrypted != before else "fresh"

    def progress(self, done: int, total: int) -> None:
        if not self.stdout.isatty():
            return
        filled = BAR_WIDTH * done // max(total, 1)
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        self.stdout.write(f"\r[{bar}] {done}/{total}", ending="\n" if done == total else "")
        self.stdout.flush()
