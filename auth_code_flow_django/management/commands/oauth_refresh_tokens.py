"""Refresh tokens that expire soon, e.g. from cron, so users never wait on a refresh."""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.core.management.base import CommandError, CommandParser
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

    exit_failed = "some refreshes failed (each one is reported on stderr)"
    usage_errors = ("an unknown provider", "a negative --within")

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
        providers = self.providers(options.get("provider"))
        deadline = timezone.now() + timedelta(seconds=within)
        if options["dry_run"]:
            self.dry_run(deadline, providers, options["format"])
            return
        counts: Counter[str] = Counter()
        failures: list[dict[str, str]] = []
        enabled = options["format"] == "text"
        total = due(deadline, providers).count()
        with ProgressBar(self.stdout, total, enabled=enabled) as bar:
            for token in due_in_order(deadline, providers):
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

    def providers(self, provider: str | None) -> list[str]:
        """``provider`` (checked), or every configured provider."""
        if provider:
            if provider not in get_providers():
                raise unknown_provider(provider)
            return [provider]
        return list(get_providers())

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

    def dry_run(self, deadline: datetime, providers: Sequence[str], output: str) -> None:
        plan: dict[str, list[dict[str, str]]] = {
            "would_refresh": [],
            "would_need_reauthorization": [],
            "cannot_be_decrypted": [],
        }
        for token in due_in_order(deadline, providers):
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


def due(deadline: datetime, providers: Sequence[str]) -> OAuthTokenQuerySet:
    """The rows of ``providers`` to refresh: expiring by ``deadline``, soonest first
    (then by primary key)."""
    queryset = OAuthToken.objects.filter(expires_at__lte=deadline, needs_reauthorization=False)
    if len(providers) == 1:
        queryset = queryset.filter(provider=providers[0])
    else:
        queryset = queryset.filter(provider__in=providers)
    return queryset.select_related("user").order_by("expires_at", "pk")


def position(token: OAuthToken) -> tuple[datetime, int]:
    assert token.expires_at is not None  # due rows have an expiry
    return token.expires_at, token.pk


def due_in_order(deadline: datetime, providers: Sequence[str]) -> Iterator[OAuthToken]:
    """The rows of :func:`due`, in its order: read in :func:`chunks` provider by provider
    and merged, so that every query is one range of the (provider, expires_at, id)
    index. (With several providers in one query, the database must read every due row
    of all of them to sort out the next chunk.) One chunk per provider in memory."""
    streams = [chunks(due(deadline, [provider])) for provider in providers]
    # The position is taken as a row enters the merge, before it is handed out.
    return heapq.merge(*streams, key=position)


def chunks(queryset: OAuthTokenQuerySet, size: int | None = None) -> Iterator[OAuthToken]:
    """The rows of ``queryset`` (ordered by expiry, then primary key), ``size`` (default
    :data:`CHUNK`) at a time, each chunk read after the last row of the one before.

    A chunk is read as the rest of the last row's expiry time (``expires_at = X AND id
    > Y``), then, if that is not a whole chunk, the later times (``expires_at > X``):
    on one provider each is one range of the (provider, expires_at, id) index on every
    database, so a read costs the rows it returns however many rows share an expiry
    time. (``expires_at > X OR (expires_at = X AND id > Y)`` is no range on PostgreSQL
    or SQLite: they read every remaining row of time X again for each chunk.)

    No cursor stays open while the rows are refreshed: memory stays flat on every
    backend (MySQL's drivers read a whole result set even for ``.iterator()``), and on
    SQLite no read holds the database while others write."""
    size = size or CHUNK
    rows = list(queryset[:size])
    more = len(rows) == size
    while rows:
        # Taken before the rows are handed out: a refresh changes their expiry.
        expires_at, pk = rows[-1].expires_at, rows[-1].pk
        yield from rows
        if not more:
            return
        rows = list(queryset.filter(expires_at=expires_at, pk__gt=pk)[:size])
        more = len(rows) == size
        if not more:
            later = list(queryset.filter(expires_at__gt=expires_at)[: size - len(rows)])
            more = len(later) == size - len(rows)
            # A row moved from one read's range to the other's between them (a refresh
            # elsewhere) comes once.
            read = {row.pk for row in rows}
            rows += [row for row in later if row.pk not in read]
