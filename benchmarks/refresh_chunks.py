"""Time the chunk reads of ``oauth_refresh_tokens`` alone, and show one chunk's plan.

Starts a throwaway database (``benchmarks/services.py``), migrates it and bulk-creates
``--tokens`` due tokens as ``benchmarks/background_refresh.py`` does (``--expiry same``:
one expiry time for all, the worst case for keyset chunks; ``spread``: over an hour).
Then it walks the due rows as the command reads them (``due_in_order``) in this
process, with no provider: after each chunk, one ``UPDATE`` moves that chunk's rows an
hour ahead, what their refreshes do to the expiry index, so the next chunk reads the
table as a real run leaves it. Only the time spent getting each chunk (the query and
its rows) is counted.

Prints the total and the slowest chunk read, checks that every due row came exactly
once and in (expiry, key) order, and prints the plan of the chunk query at
``--depth`` (a fraction of the run): ``EXPLAIN (ANALYZE, BUFFERS)`` on PostgreSQL,
``ANALYZE FORMAT=JSON`` on MariaDB, ``EXPLAIN QUERY PLAN`` on SQLite.

    python benchmarks/refresh_chunks.py [--database postgresql|mariadb|sqlite]
        [--tokens 100000] [--expiry same|spread] [--depth 0.9] [--repeat 1]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.background_refresh import (  # noqa: E402
    EXPIRIES,
    create_due_tokens,
    create_users,
    database_version,
)
from benchmarks.services import DATABASES, database, django_database  # noqa: E402


@contextmanager
def capture_selects(found: list[tuple[str, Sequence[Any]]]) -> Iterator[None]:
    """Record every ``SELECT`` this process sends, with its parameters."""
    from django.db import connection

    def wrapper(
        execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        if sql.lstrip().upper().startswith("SELECT"):
            found.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield


def walk(kind: str, depth: float) -> tuple[list[float], list[int], str]:
    """One pass over the due rows: each chunk read's seconds, the keys in the order
    they came, and the plan of the chunk query at ``depth``."""
    from django.utils import timezone

    from auth_code_flow_django.management.commands import oauth_refresh_tokens as command
    from auth_code_flow_django.models import OAuthToken

    deadline = timezone.now() + timedelta(seconds=300)
    size = command.CHUNK
    explain_at = int(command.due(deadline, ["bench"]).count() * depth) // size
    seconds: list[float] = []
    seen: list[int] = []
    selects: list[tuple[str, Sequence[Any]]] = []
    plan = ""
    pending: list[int] = []
    rows = command.due_in_order(deadline, ["bench"])
    with capture_selects(selects):
        while True:
            before = len(selects)
            started = time.perf_counter()
            token = next(rows, None)
            took = time.perf_counter() - started
            if not pending:  # the first row of a chunk, or none: a chunk was just read
                seconds.append(took)
                if len(seconds) - 1 == explain_at and token is not None:
                    # The chunk's queries (one or two), then their plans.
                    plan = "\n".join(explain(kind, *select) for select in selects[before:])
            if token is None:
                break
            seen.append(token.pk)
            pending.append(token.pk)
            if len(pending) == size:
                # The chunk is handed out: its rows are refreshed before the next read.
                OAuthToken.objects.filter(pk__in=pending).update(
                    expires_at=timezone.now() + timedelta(hours=1)
                )
                pending = []
    return seconds, seen, plan


def explain(kind: str, sql: str, params: Sequence[Any]) -> str:
    from django.db import connection

    prefix = {
        "postgresql": "EXPLAIN (ANALYZE, BUFFERS) ",
        "mariadb": "ANALYZE FORMAT=JSON ",
        "sqlite": "EXPLAIN QUERY PLAN ",
    }[kind]
    with connection.cursor() as cursor:
        cursor.execute(prefix + sql, params)
        rows = cursor.fetchall()
    if kind == "mariadb":
        return json.dumps(json.loads(rows[0][0]), indent=1)
    if kind == "sqlite":
        return "\n".join(str(row[-1]) for row in rows)
    return "\n".join(row[0] for row in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=DATABASES, default="postgresql")
    parser.add_argument("--tokens", type=int, default=100_000, help="due tokens")
    parser.add_argument("--expiry", choices=EXPIRIES, default="same")
    parser.add_argument(
        "--depth", type=float, default=0.9, help="where in the run to explain a chunk query"
    )
    parser.add_argument("--repeat", type=int, default=1, help="passes (fresh rows each)")
    args = parser.parse_args()
    with database(args.database) as keywords:
        os.environ["DJANGO_SETTINGS_MODULE"] = "benchmarks.background_settings"
        os.environ["BENCH_DATABASE"] = json.dumps(django_database(args.database, keywords))
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        from auth_code_flow_django.models import OAuthToken

        call_command("migrate", verbosity=0)
        user_pks = create_users(args.tokens)
        print(
            f"chunk reads: {database_version(args.database)}, {args.tokens} due tokens, "
            f"{args.expiry} expiry"
        )
        totals = []
        problems = []
        for index in range(args.repeat):
            create_due_tokens(user_pks, args.expiry)
            # Statistics as a site has them (autovacuum keeps them current).
            with connection.cursor() as cursor:
                if args.database == "postgresql":
                    cursor.execute("VACUUM ANALYZE")
                elif args.database == "mariadb":
                    cursor.execute(f"ANALYZE TABLE {OAuthToken._meta.db_table}, auth_user")
                    cursor.fetchall()
                else:
                    cursor.execute("ANALYZE")
            expected = list(
                OAuthToken.objects.order_by("expires_at", "pk").values_list("pk", flat=True)
            )
            seconds, seen, plan = walk(args.database, args.depth)
            if seen != expected:
                problems.append(
                    f"pass {index}: {len(seen)} rows read ({len(set(seen))} distinct) "
                    f"for {len(expected)} due, or not in (expiry, key) order"
                )
            totals.append(sum(seconds))
            print(
                f"pass {index}: {len(seconds)} chunk reads, {sum(seconds):.3f} s in all, "
                f"median {statistics.median(seconds) * 1000:.2f} ms, "
                f"slowest {max(seconds) * 1000:.2f} ms"
            )
            if index == 0:
                print(f"plan of the chunk query at {args.depth:.0%} of the run:\n{plan}")
        print(f"chunk reads, median of {len(totals)} passes: {statistics.median(totals):.3f} s")
        connection.close()
    if problems:
        print("\n".join(["FAILED:", *problems]), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
