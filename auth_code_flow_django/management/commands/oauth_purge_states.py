"""Delete expired pending authorizations (run it daily from cron)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from ...models import OAuthState
from ..base import AppCommand


class Command(AppCommand):
    help = (
        "Delete expired OAuth states (pending authorizations) and say how many.\n\n"
        "A state expires AUTH_CODE_FLOW_STATE_TTL seconds after the user started to\n"
        "connect, used or not; run this daily, e.g. from cron."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        self.add_format_argument(parser, ("text", "json"))

    def handle(self, *args: Any, **options: Any) -> None:
        count, _details = OAuthState.objects.expired().delete()
        if options["format"] == "json":
            self.write_json({"deleted": count})
        else:
            self.stdout.write(f"Deleted {count} expired state{'s' if count != 1 else ''}.")
