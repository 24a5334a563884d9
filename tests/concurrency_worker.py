"""One caller of ``get_access_token`` in a process of its own (tests/test_concurrency.py).

Started as ``python -m tests.concurrency_worker JOB`` with the test run's environment,
plus ``AUTH_CODE_FLOW_TEST_DATABASE_NAMES`` naming the test database. JOB is JSON:
``{"user": pk, "provider": name, "settings": {NAME: value}, "rolled_back": bool}``.
The worker sets Django up, connects, prints ``ready``, waits for a line on stdin, calls,
and prints one JSON line: ``{"token": ...}`` or ``{"error": ...}``.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any


class Rollback(Exception):
    """A failure later in the request, after the token was used: the caller's
    transaction is rolled back."""


def call(user_pk: Any, provider: str, *, rolled_back: bool = False) -> str:
    """What a view does: load the user, get the token. With ``rolled_back`` the view
    runs in a transaction (``ATOMIC_REQUESTS``) that a later failure rolls back."""
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from auth_code_flow_django.tokens import get_access_token

    user_model = get_user_model()
    if not rolled_back:
        return get_access_token(user_model.objects.get(pk=user_pk), provider)
    try:
        with transaction.atomic():
            token = get_access_token(user_model.objects.get(pk=user_pk), provider)
            raise Rollback()
    except Rollback:
        return token


def main() -> None:
    job = json.loads(sys.argv[1])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from django.db import connections
    from django.test.utils import override_settings

    for alias in connections:
        connections[alias].ensure_connection()
    with override_settings(**job["settings"]):
        print("ready", flush=True)
        sys.stdin.readline()
        try:
            result = {"token": call(job["user"], job["provider"], rolled_back=job["rolled_back"])}
        except Exception as exc:
            result = {"error": f"{type(exc).__name__}: {exc}"}
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
