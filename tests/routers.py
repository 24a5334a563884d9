"""The database router of the ``router`` test configuration.

The app's models live on the ``oauth`` alias, everything else on ``default``. Both
aliases connect to the same database: ``OAuthToken.user`` and ``OAuthState.user`` are
foreign keys to the user table, and Django has no foreign keys across databases. What
a site gains is a connection of its own for the tokens (its own credentials, its own
transactions: a rollback on ``default`` does not touch them). ``migrate`` runs once,
on ``default``, and creates every table.
"""

from __future__ import annotations

from typing import Any

APP_LABEL = "auth_code_flow_django"
ALIAS = "oauth"


class OAuthRouter:
    def db_for_read(self, model: type[Any], **hints: Any) -> str | None:
        return ALIAS if model._meta.app_label == APP_LABEL else None

    def db_for_write(self, model: type[Any], **hints: Any) -> str | None:
        return ALIAS if model._meta.app_label == APP_LABEL else None

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        # The two aliases are one database: a token may point at its user.
        return {obj1._state.db, obj2._state.db} <= {"default", ALIAS} or None

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == "default"
