"""Re-encrypt stored secrets under the current first key, after a key rotation.

Rotate ``SECRET_KEY`` (keeping the old one in ``SECRET_KEY_FALLBACKS``) or put a new
key first in ``AUTH_CODE_FLOW_ENCRYPTION_KEYS``, run this, then drop the old key.
Idempotent: values already under the current key are left alone.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db import models, router, transaction

from ... import crypto
from ...models import OAuthState, OAuthToken
from ..base import EXIT_FAILED, AppCommand, ProgressBar, usage_error

FIELDS: tuple[tuple[type[models.Model], tuple[str, ...]], ...] = (
    (OAuthToken, ("access_token_encrypted", "refresh_token_encrypted", "dpop_key_encrypted")),
    (OAuthState, ("code_verifier_encrypted", "nonce_encrypted", "dpop_key_encrypted")),
)
UNDECRYPTABLE = "cannot be decrypted with the configured keys"
#: Passes over the rows that changed while they were being re-encrypted.
ATTEMPTS = 3


class Command(AppCommand):
    help = (
        "Re-encrypt every stored token and PKCE verifier under the current first key.\n\n"
        "After a key rotation (a new SECRET_KEY with the old one in SECRET_KEY_FALLBACKS,\n"
        "or a new key first in AUTH_CODE_FLOW_ENCRYPTION_KEYS), run this, then drop the\n"
        "old key. Idempotent: values already under the current key are left alone. A row\n"
        "is rewritten only if it did not change meanwhile, so it can run while the site\n"
        "serves. A value no configured key decrypts is reported on stderr and counted."
    )

    exit_failed = (
        "some values could not be decrypted (each one is reported on stderr), or rows "
        "kept changing while they were re-encrypted: run it again"
    )
    usage_errors = ("a zero or negative --batch-size",)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch-size",
            type=int,
            default=500,
            metavar="ROWS",
            help="rows read and rewritten per transaction (default: %(default)s)",
        )
        self.add_format_argument(parser, ("text", "json"))

    def handle(self, *args: Any, **options: Any) -> None:
        batch_size: int = options["batch_size"]
        if batch_size < 1:
            raise usage_error("--batch-size must be >= 1.")
        work = [
            (model, fields, list(self.rows(model).order_by("pk").values_list("pk", flat=True)))
            for model, fields in FIELDS
        ]
        self.counts: Counter[str] = Counter()
        self.failures: list[dict[str, str]] = []
        total = sum(len(pks) for _model, _fields, pks in work)
        enabled = options["format"] == "text"
        with ProgressBar(self.stdout, total, enabled=enabled) as self.bar:
            for model, fields, pks in work:
                for start in range(0, len(pks), batch_size):
                    batch = pks[start : start + batch_size]
                    size = len(batch)
                    for _attempt in range(ATTEMPTS):
                        batch = self.rotate_batch(model, fields, batch)
                        if not batch:
                            break
                    self.counts["changed"] += len(batch)
                    self.bar.advance(size)
        rotated, current = self.counts["rotated"], self.counts["current"]
        failed, changed = self.counts["failed"], self.counts["changed"]
        if options["format"] == "json":
            self.write_json(
                {
                    "re_encrypted": rotated,
                    "already_current": current,
                    "undecryptable": failed,
                    "changed_meanwhile": changed,
                    "failures": self.failures,
                }
            )
        else:
            self.stdout.write(
                f"Re-encrypted {rotated} value(s); {current} already under the current key; "
                f"{failed} cannot be decrypted with any configured key."
                + (f" {changed} row(s) kept changing: run again." if changed else "")
            )
        problems = [
            *([f"{failed} value(s) could not be decrypted"] if failed else []),
            *([f"{changed} row(s) kept changing"] if changed else []),
        ]
        if problems:
            raise CommandError("; ".join(problems) + ".", returncode=EXIT_FAILED)

    @staticmethod
    def rows(model: type[models.Model]) -> models.QuerySet[Any]:
        return model._default_manager.using(router.db_for_write(model))

    def rotate_batch(
        self, model: type[models.Model], fields: tuple[str, ...], pks: list[Any]
    ) -> list[Any]:
        """Re-encrypt the rows ``pks``; return those that changed meanwhile (counted
        when a later pass settles them)."""
        rows = self.rows(model)
        if model is OAuthToken:
            rows = rows.select_related("user")
        plans = [self.plan(obj, fields) for obj in rows.filter(pk__in=pks)]
        changed = []
        with transaction.atomic(using=rows.db):
            for obj, new, counts, failures in plans:
                # Only if the row still holds what was read: a refresh that committed
                # meanwhile wrote newer tokens, which must not be replaced by older ones.
                unchanged = {field: getattr(obj, field) for field in new}
                if new and not rows.filter(pk=obj.pk, **unchanged).update(**new):
                    changed.append(obj.pk)
                    continue
                self.counts.update(counts)
                for failure in failures:
                    self.failures.append(failure)
                    self.bar.note(
                        self.stderr, f"{failure['row']}: {failure['field']} {UNDECRYPTABLE}"
                    )
        return changed

    @staticmethod
    def plan(
        obj: models.Model, fields: tuple[str, ...]
    ) -> tuple[models.Model, dict[str, str], Counter[str], list[dict[str, str]]]:
        """The new values of ``obj``'s ``fields``, and what was found."""
        new: dict[str, str] = {}
        counts: Counter[str] = Counter()
        failures = []
        for field in fields:
            value = getattr(obj, field)
            if not value:
                continue
            if crypto.is_current(value):
                counts["current"] += 1
                continue
            try:
                new[field] = crypto.rotate(value)
            except crypto.TokenDecryptionError:
                counts["failed"] += 1
                label = field.removesuffix("_encrypted").replace("_", " ")
                failures.append({"row": str(obj), "field": label, "error": UNDECRYPTABLE})
                continue
            counts["rotated"] += 1
        return obj, new, counts, failures
