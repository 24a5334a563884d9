"""Re-encrypt stored secrets under the current first key, after a key rotation.

Rotate ``SECRET_KEY`` (keeping the old one in ``SECRET_KEY_FALLBACKS``) or put a new
key first in ``AUTH_CODE_FLOW_ENCRYPTION_KEYS``, run this, then drop the old key.
Idempotent: values already under the current key are left alone.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db import models, transaction

from ... import crypto
from ...models import OAuthState, OAuthToken
from ..base import EXIT_FAILED, AppCommand, ProgressBar, usage_error

FIELDS: tuple[tuple[type[models.Model], tuple[str, ...]], ...] = (
    (OAuthToken, ("access_token_encrypted", "refresh_token_encrypted")),
    (OAuthState, ("code_verifier_encrypted",)),
)


class Command(AppCommand):
    help = (
        "Re-encrypt every stored token and PKCE verifier under the current first key.\n\n"
        "After a key rotation (a new SECRET_KEY with the old one in SECRET_KEY_FALLBACKS,\n"
        "or a new key first in AUTH_CODE_FLOW_ENCRYPTION_KEYS), run this, then drop the\n"
        "old key. Idempotent: values already under the current key are left alone. Rows\n"
        "are locked and rewritten in batches, so it can run while the site serves."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch-size",
            type=int,
            default=500,
            metavar="ROWS",
            help="rows locked and rewritten per transaction (default: %(default)s)",
        )
        self.add_format_argument(parser, ("text", "json"))

    def handle(self, *args: Any, **options: Any) -> None:
        batch_size: int = options["batch_size"]
        if batch_size < 1:
            raise usage_error("--batch-size must be >= 1.")
        work = [
            (
                model,
                fields,
                list(model._default_manager.order_by("pk").values_list("pk", flat=True)),
            )
            for model, fields in FIELDS
        ]
        rotated = current = failed = 0
        total = sum(len(pks) for _model, _fields, pks in work)
        with ProgressBar(self.stdout, total, enabled=options["format"] == "text") as bar:
            for model, fields, pks in work:
                for start in range(0, len(pks), batch_size):
                    batch = pks[start : start + batch_size]
                    r, c, f = self.rotate_batch(model, fields, batch)
                    rotated, current, failed = rotated + r, current + c, failed + f
                    bar.advance(len(batch))
        if options["format"] == "json":
            self.write_json(
                {"re_encrypted": rotated, "already_current": current, "undecryptable": failed}
            )
        else:
            self.stdout.write(
                f"Re-encrypted {rotated} value(s); {current} already under the current key; "
                f"{failed} cannot be decrypted with any configured key."
            )
        if failed:
            raise CommandError(
                f"{failed} value(s) could not be decrypted.", returncode=EXIT_FAILED
            )

    def rotate_batch(
        self, model: type[models.Model], fields: tuple[str, ...], pks: list[Any]
    ) -> tuple[int, int, int]:
        rotated = current = failed = 0
        with transaction.atomic():
            changed = []
            # Locked, so a concurrent refresh cannot be overwritten with older values.
            for obj in model._default_manager.select_for_update().filter(pk__in=pks):
                dirty = False
                for field in fields:
                    value = getattr(obj, field)
                    if not value:
                        continue
                    if crypto.is_current(value):
                        current += 1
                        continue
                    try:
                        setattr(obj, field, crypto.rotate(value))
                    except crypto.TokenDecryptionError:
                        failed += 1
                        continue
                    rotated += 1
                    dirty = True
                if dirty:
                    changed.append(obj)
            model._default_manager.bulk_update(changed, fields)
        return rotated, current, failed
