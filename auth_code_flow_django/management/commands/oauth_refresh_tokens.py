"""Refresh tokens that expire soon, e.g. from cron, so users never wait on a refresh."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db.models import Q
from django.utils import timezone

from ... import tokens
from ...crypto import TokenDecryptionError
from ...exceptions import BaseAuthCodeFlowError, NotConnectedError, ReauthorizationRequiredError
from ...models import OAuthToken, OAuthTokenQuerySet
from ...providers import get_providers
from ..base import EXIT_FAILED, AppCommand, ProgressBar, unknown_provider, usage_error

UNDECRYPTABLE = "cannot be decrypted with the configured keys"

#: Rows read per query.
CHUNK = 500


def describe(token: OAuthToken) -> dict[str, str]:
    return {"provider": token.provider, "user": token.user.get_username()}


def name(token: OAuthToken) -> str:
    return f"{token.provider} token of {token.user.get_username()}"


class Command(AppCommand):
    help = (
        "Refresh stored tokens that expire within --within seconds.\n\n"
        "Run it from cron a little more often than --within, so users never wait on a\n"
        "refresh. A provider that refuses a refresh token marks that connection as\n"
        "needing re-authorization (not a failure); a provider error, an invalid ID token\n"
        "in the reply, or a row that cannot be decrypted with the configured keys is a\n"
        "failure, reported on stderr, and the other rows are still refreshed. An ID token\n"
        "naming another account than the connection's is a failure that also marks the\n"
        "connection as needing re-authorization.\n\n"
        "Copies may run at once (two cron hosts, an overlapping run): each row is\n"
        "refreshed by one of them; a row another copy or a user's request is refreshing\n"
        "is left to it and counted as refreshed elsewhere, with no waiting. Rows are read\n"
        f"{CHUNK} at a time, so memory stays flat however many are due."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--provider", help="only this provider (slug; default: all)")
        parser.add_argument(
            "--within",
            type=int,
            default=300,
            metavar="SECONDS",
            help="refresh tokens that expire within this many seconds (default: %(default)s)",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="say what would happen to each token; refresh nothing",
        )
        self.add_format_argument(parser, ("text", "json"))

    def handle(self, *args: Any, **options: Any) -> None:
        within: int = options["within"]
        if within < 0:
            raise usage_error("--within must be >= 0.")
        queryset = self.due(within, options.get("provider"))
        if options["dry_run"]:
            self.dry_run(queryset, options["format"])
            return
        counts: Counter[str] = Counter()
        failures: list[dict[str, str]] = []
        enabled = options["format"] == "text"
        with ProgressBar(self.stdout, queryset.count(), enabled=enabled) as bar:
            for token in chunks(queryset):
                outcome, error = self.refresh_one(token, within)
                counts[outcome] += 1
                if error:
                    failures.append({**describe(token), "error": error})
                    bar.note(self.stderr, f"{name(token)}: {error}")
                bar.advance()
        if options["format"] == "json":
            self.write_json(
                {
                    "refreshed": counts["refreshed"],
                    "failed": counts["failed"],
                    "needs_reauthorization": counts["reauthorize"],
                    "already_fresh": counts["fresh"],
                    "disconnected": counts["disconnected"],
                    "refreshed_elsewhere": counts["elsewhere"],
                    "failures": failures,
                }
            )
        else:
            self.stdout.write(
                f"refreshed: {counts['refreshed']}, failed: {counts['failed']}, "
                f"needs re-authorization: {counts['reauthorize']}, "
                f"already fresh: {counts['fresh']}"
                + (f", disconnected meanwhile: {n}" if (n := counts["disconnected"]) else "")
                + (f", refreshed elsewhere: {n}" if (n := counts["elsewhere"]) else "")
            )
        if counts["failed"]:
            raise CommandError(f"{counts['failed']} refresh(es) failed.", returncode=EXIT_FAILED)

    def due(self, within: int, provider: str | None) -> OAuthTokenQuerySet:
        queryset = OAuthToken.objects.filter(
            expires_at__lte=timezone.now() + timedelta(seconds=within),
            needs_reauthorization=False,
        )
        if provider:
            if provider not in get_providers():
                raise unknown_provider(provider)
            queryset = queryset.filter(provider=provider)
        else:
            queryset = queryset.filter(provider__in=list(get_providers()))
        return queryset.select_related("user").order_by("expires_at", "pk")

    def refresh_one(self, token: OAuthToken, within: int) -> tuple[str, str]:
        """Refresh ``token``; return the outcome and, for a failure, why."""
        before = token.access_token_encrypted
        try:
            refreshed = tokens.refresh_read(token, within=within)
        except tokens.ClaimedElsewhere:
            return "elsewhere", ""
        except TokenDecryptionError:  # before its base class, ReauthorizationRequiredError
            return "failed", UNDECRYPTABLE
        except ReauthorizationRequiredError:
            return "reauthorize", ""
        except NotConnectedError:
            return "disconnected", ""
        except BaseAuthCodeFlowError as exc:
            return "failed", str(exc.description)
        return ("refreshed" if refreshed.access_token_encrypted != before else "fresh"), ""

    def dry_run(self, queryset: OAuthTokenQuerySet, output: str) -> None:
        plan: dict[str, list[dict[str, str]]] = {
            "would_refresh": [],
            "would_need_reauthorization": [],
            "cannot_be_decrypted": [],
        }
        for token in chunks(queryset):
            if not token.refresh_token_encrypted:
                # What the real run does: no refresh token, nothing to refresh with.
                plan["would_need_reauthorization"].append(describe(token))
                line = f"would mark {name(token)} as needing re-authorization (no refresh token)"
            elif not self.decryptable(token):
                plan["cannot_be_decrypted"].append(describe(token))
                line = f"would fail: {name(token)} {UNDECRYPTABLE}"
            else:
                plan["would_refresh"].append(describe(token))
                line = f"would refresh {name(token)}"
            if output == "text":
                self.stdout.write(line)
        if output == "json":
            self.write_json({"dry_run": True, **plan})
            return
        self.stdout.write(
            f"{len(plan['would_refresh'])} token(s) would be refreshed, "
            f"{len(plan['would_need_reauthorization'])} would need re-authorization, "
            f"{len(plan['cannot_be_decrypted'])} cannot be decrypted."
        )

    @staticmethod
    def decryptable(token: OAuthToken) -> bool:
        try:
            token.refresh_token  # noqa: B018
        except TokenDecryptionError:
            return False
        return True


def chunks(queryset: OAuthTokenQuerySet, size: int = CHUNK) -> Iterator[OAuthToken]:
    """The rows of ``queryset`` (ordered by expiry, then primary key), ``size`` at a
    time, each chunk its own query that starts after the last row of the one before.

    No cursor stays open while the rows are refreshed: memory stays flat on every
    backend (MySQL's drivers read a whole result set even for ``.iterator()``), and on
    SQLite no read holds the database while others write."""
    chunk = queryset
    while True:
        rows = list(chunk[:size])
        if rows:
            # Taken before the rows are handed out: a refresh changes their expiry.
            expires_at, pk = rows[-1].expires_at, rows[-1].pk
            chunk = queryset.filter(
                Q(expires_at__gt=expires_at) | Q(expires_at=expires_at, pk__gt=pk)
            )
        yield from rows
        if len(rows) < size:
            return
