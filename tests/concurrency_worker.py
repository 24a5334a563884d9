"""One caller of ``get_access_token``, or one run of a management command, in a process
of its own (tests/test_concurrency.py, tests/test_command_concurrency.py).

Started as ``python -m tests.concurrency_worker JOB`` with the test run's environment,
plus ``AUTH_CODE_FLOW_TEST_DATABASE_NAMES`` naming the test database. JOB is JSON:
``{"user": pk, "provider": name, "settings": {NAME: value}, "rolled_back": bool}``, or
``{"command": [name, arg, ...], "settings": {NAME: value}}``. The worker sets Django up,
connects, prints ``ready``, waits for a line on stdin, calls, and prints one JSON line:
``{"token": ...}`` or ``{"error": ...}``; for a command ``{"exit": status, "stdout":
..., "stderr": ...}``.
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
        if "command" in job:
            result = run_command(job["command"])
        else:
            try:
                token = call(job["user"], job["provider"], rolled_back=job["rolled_back"])
                result = {"token": token}
            except Exception as exc:
                result = {"error": f"{type(exc).__name__}: {exc}"}
    print(json.dumps(result), flush=True)


def run_command(argv: list[str]) -> dict[str, Any]:
    """Run a management command as ``manage.py`` would; its exit status and output."""
    from io import StringIO

    from django.core.management import CommandError, call_command

    out, err = StringIO(), StringIO()
    status = 0
    try:
        call_command(*argv, stdout=out, stderr=err)
    except CommandError as exc:
        status = exc.returncode
        err.write(str(exc))
    except Exception as exc:
        status = 1
        err.write(f"{type(exc).__name__}: {exc}")
    return {"exit": status, "stdout": out.getvalue(), "stderr": err.getvalue()}


if __name__ == "__main__":
    main()
