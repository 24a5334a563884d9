"""Delete expired pending authorizations (run it daily from cron)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from ...models import OAuthState


class Command(BaseCommand):
    help = "Delete expired OAuth states and print how many were deleted."

    def handle(self, *args: Any, **options: Any) -> None:
        count, _details = OAuthState.objects.expired().delete()
        self.stdout.write(f"Deleted {count} expired state{'s' if count != 1 else ''}.")
