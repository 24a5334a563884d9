"""Benchmark background refresh at volume: ``oauth_refresh_tokens`` over many due tokens.

Starts a throwaway database (``benchmarks/services.py``), migrates it, and bulk-creates
due tokens (encrypted as the library stores them). A token endpoint on loopback (a
threaded HTTP server) answers every refresh grant with a new pair and counts: a
refresh token it receives twice is a failure. The real command then runs as a site
runs it, ``python -m django oauth_refresh_tokens`` in a process of its own
(``benchmarks/background_settings.py``):

1. one copy over ``--small`` due tokens, then one over ``--tokens``: tokens/s and the
   command's peak resident memory at each size; memory must stay flat (the larger
   run's peak within ``--memory-margin`` of the smaller's);
2. ``--copies`` copies (0: none) started at once over ``--tokens`` due tokens on the same
   database: every due token refreshed exactly once between them (the endpoint
   received each refresh token once, and as many requests as due tokens), every copy
   exits 0, and every row holds its new pair afterwards.

Peak memory is the command process's ``VmHWM`` (Linux ``/proc``), sampled every 20 ms.

``--expiry same`` (the default) gives every due token one expiry time, the worst case
for the command's keyset chunks (every chunk boundary falls inside one expiry value);
``--expiry spread`` spreads them over the hour before, in an order unrelated to the
primary key, as a site's tokens are.

Prints the figures and the machine, and exits non-zero on any deviation.

    python benchmarks/background_refresh.py [--database postgresql|mariadb|sqlite]
        [--tokens 100000] [--small 10000] [--copies 2] [--memory-margin 0.2]
        [--expiry same|spread]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import timedelta
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.services import (  # noqa: E402
    DATABASES,
    JSONHandler,
    database,
    django_database,
)

PROVIDER = "bench"
BATCH = 5000


class TokenEndpoint(ThreadingHTTPServer):
    """Answers ``grant_type=refresh_token`` with ``at:<old>`` and ``<old>+`` and counts
    every refresh token it receives."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.seen: Counter[str] = Counter()
        self.bad_requests = 0

    @property
    def base_uri(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def reset(self) -> None:
        with self.lock:
            self.seen = Counter()
            self.bad_requests = 0


class _Handler(JSONHandler):
    server: TokenEndpoint
    protocol_version = "HTTP/1.1"  # keep-alive: the command reuses its connection
    # The status line, headers and body leave in one write, flushed after each request:
    # written apart, Nagle's algorithm and the client's delayed ACK add 40 ms a reply.
    wbufsize = 64 * 1024

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        form = parse_qs(body.decode())
        refresh_token = form.get("refresh_token", [""])[0]
        good = form.get("grant_type") == ["refresh_token"] and bool(refresh_token)
        with self.server.lock:
            if good:
                self.server.seen[refresh_token] += 1
            else:
                self.server.bad_requests += 1
        if good:
            status = 200
            reply = {
                "access_token": f"at:{refresh_token}",
                "refresh_token": f"{refresh_token}+",
                "token_type": "Bearer",
                "expires_in": 3600,
                "scope": "read",
            }
        else:
            status, reply = 400, {"error": "invalid_request"}
        self.reply_json(reply, status)


def original(pk: int) -> str:
    return f"rt-{pk}"


def create_users(count: int) -> list[int]:
    from django.contrib.auth.models import User

    have = User.objects.count()
    for start in range(have, count, BATCH):
        User.objects.bulk_create(
            [User(username=f"user{i:07d}") for i in range(start, min(start + BATCH, count))]
        )
    return list(User.objects.order_by("pk").values_list("pk", flat=True)[:count])


EXPIRIES = ("same", "spread")


def create_due_tokens(user_pks: list[int], expiry: str = "same") -> None:
    """One due ``bench`` token per user, nothing else in the table: all expired a minute
    ago (``same``), or at random times in the hour before that (``spread``, in an order
    unrelated to the primary key; the same times on every run)."""
    from django.utils import timezone

    from auth_code_flow_django import crypto
    from auth_code_flow_django.models import OAuthToken

    OAuthToken.objects.all().delete()
    latest = timezone.now() - timedelta(seconds=60)
    spread = random.Random(0)

    def expired() -> Any:
        if expiry == "same":
            return latest
        return latest - timedelta(microseconds=spread.randrange(3600 * 10**6))

    for start in range(0, len(user_pks), BATCH):
        OAuthToken.objects.bulk_create(
            [
                OAuthToken(
                    user_id=pk,
                    provider=PROVIDER,
                    access_token_encrypted=crypto.encrypt(f"old-at-{pk}"),
                    refresh_token_encrypted=crypto.encrypt(original(pk)),
                    scope="read",
                    expires_at=expired(),
                )
                for pk in user_pks[start : start + BATCH]
            ]
        )


def check_rows(user_pks: list[int]) -> list[str]:
    """Every row holds the pair the endpoint answered for its refresh token, unclaimed."""
    from django.utils import timezone

    from auth_code_flow_django import crypto
    from auth_code_flow_django.models import OAuthToken

    problems: Counter[str] = Counter()
    now = timezone.now()
    found = 0
    last = 0
    while True:
        rows = list(
            OAuthToken.objects.filter(pk__gt=last)
            .order_by("pk")
            .values_list(
                "pk",
                "user_id",
                "access_token_encrypted",
                "refresh_token_encrypted",
                "expires_at",
                "refresh_claim",
                "needs_reauthorization",
            )[:BATCH]
        )
        if not rows:
            break
        last = rows[-1][0]
        for _pk, user_id, access, refresh, expires_at, claim, reauth in rows:
            found += 1
            old = original(user_id)
            if crypto.decrypt(refresh) != f"{old}+":
                problems["refresh token not the new one"] += 1
            if crypto.decrypt(access) != f"at:{old}":
                problems["access token not the new one"] += 1
            if expires_at is None or expires_at <= now:
                problems["still expired"] += 1
            if claim:
                problems["claim left on the row"] += 1
            if reauth:
                problems["marked for re-authorization"] += 1
    if found != len(user_pks):
        problems[f"{found} rows instead of {len(user_pks)}"] += 1
    return [f"{what}: {n}" for what, n in problems.items()]


def check_endpoint(endpoint: TokenEndpoint, user_pks: list[int]) -> list[str]:
    problems = []
    requests = sum(endpoint.seen.values())
    twice = [token for token, n in endpoint.seen.items() if n > 1]
    expected = {original(pk) for pk in user_pks}
    if requests != len(user_pks):
        problems.append(f"{requests} refresh requests for {len(user_pks)} due tokens")
    if twice:
        problems.append(f"{len(twice)} refresh tokens received more than once, e.g. {twice[0]}")
    if set(endpoint.seen) != expected:
        missing = len(expected - set(endpoint.seen))
        unknown = len(set(endpoint.seen) - expected)
        problems.append(f"{missing} due tokens never refreshed, {unknown} unknown tokens")
    if endpoint.bad_requests:
        problems.append(f"{endpoint.bad_requests} requests that were not refresh grants")
    return problems


class Run:
    """One ``oauth_refresh_tokens`` process: its exit status, output, peak RSS."""

    def __init__(self, env: dict[str, str], scratch: Path, name: str) -> None:
        self.out = (scratch / f"{name}.out").open("w+")
        self.err = (scratch / f"{name}.err").open("w+")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "django", "oauth_refresh_tokens", "--format", "json"],
            cwd=ROOT,
            env=env,
            stdout=self.out,
            stderr=self.err,
        )
        self.started = time.perf_counter()
        self.seconds = 0.0
        self.returncode: int | None = None
        self.peak_kib = 0
        self.watcher = threading.Thread(target=self.watch_memory, daemon=True)
        self.watcher.start()

    def watch_memory(self) -> None:
        """The process's peak resident set (``VmHWM``), read every 20 ms until it exits.

        Not ``ru_maxrss``: Linux carries the peak of the process that forked a child
        into the child's at ``exec``, so it would show this benchmark's own peak."""
        status = Path(f"/proc/{self.process.pid}/status")
        while self.process.returncode is None:
            try:
                text = status.read_text()
            except OSError:
                return
            for line in text.splitlines():
                if line.startswith("VmHWM:"):
                    self.peak_kib = max(self.peak_kib, int(line.split()[1]))
            time.sleep(0.02)

    def wait(self, timeout: float) -> None:
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.returncode = self.process.returncode
        self.seconds = time.perf_counter() - self.started
        self.watcher.join()

    def summary(self) -> dict[str, Any]:
        self.out.seek(0)
        try:
            document: dict[str, Any] = json.loads(self.out.read())
        except ValueError:
            return {}
        return document

    def errors(self) -> str:
        self.err.seek(0)
        return self.err.read().strip()


def run_copies(
    copies: int, env: dict[str, str], scratch: Path, name: str, timeout: float
) -> list[Run]:
    from django.db import connections

    connections.close_all()  # nothing of ours holds the database meanwhile
    runs = [Run(env, scratch, f"{name}-{index}") for index in range(copies)]
    for run in runs:
        run.wait(timeout)
    return runs


def check_runs(runs: list[Run], due: int) -> list[str]:
    problems = []
    refreshed = 0
    for index, run in enumerate(runs):
        summary = run.summary()
        if run.returncode != 0:
            problems.append(f"copy {index} exited {run.returncode}: {run.errors()[-2000:]}")
        if summary.get("failed"):
            problems.append(f"copy {index}: {summary['failed']} failed")
        refreshed += int(summary.get("refreshed", 0))
    if refreshed != due:
        problems.append(f"the copies report {refreshed} refreshed for {due} due tokens")
    return problems


def database_version(kind: str) -> str:
    from django.db import connection

    if kind == "sqlite":
        import sqlite3

        return f"SQLite {sqlite3.sqlite_version}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        text = str(cursor.fetchone()[0])
    if kind == "postgresql":
        return " ".join(text.split()[:2])
    return f"MariaDB {text}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=DATABASES, default="postgresql")
    parser.add_argument("--tokens", type=int, default=100_000, help="the large run's due tokens")
    parser.add_argument("--small", type=int, default=10_000, help="the small run's due tokens")
    parser.add_argument(
        "--copies", type=int, default=2, help="copies started at once (0: skip that run)"
    )
    parser.add_argument(
        "--concurrent-tokens", type=int, help="due tokens for the copies (default: --tokens)"
    )
    parser.add_argument(
        "--memory-margin",
        type=float,
        default=0.2,
        help="how much more the large run may peak at (default: %(default)s, 20%%)",
    )
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per run")
    parser.add_argument(
        "--expiry",
        choices=EXPIRIES,
        default="same",
        help="one expiry time for every due token, or spread over an hour (default: %(default)s)",
    )
    args = parser.parse_args()
    sizes = sorted({min(args.small, args.tokens), args.tokens})
    concurrent = args.concurrent_tokens or args.tokens

    endpoint = TokenEndpoint()
    threading.Thread(target=endpoint.serve_forever, daemon=True).start()
    problems: list[str] = []
    with (
        database(args.database) as keywords,
        tempfile.TemporaryDirectory(prefix="acfd-bg-") as scratch_name,
    ):
        scratch = Path(scratch_name)
        settings = django_database(args.database, keywords)
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "benchmarks.background_settings",
            "BENCH_DATABASE": json.dumps(settings),
            "BENCH_TOKEN_BASE": endpoint.base_uri,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        }
        os.environ.update(env)
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        user_pks = create_users(max(*sizes, concurrent if args.copies else 0))
        print(
            f"background refresh: {platform.machine()} x{os.cpu_count()} CPUs, "
            f"Python {platform.python_version()}, Django {django.get_version()}, "
            f"{database_version(args.database)}; due tokens: {args.expiry} expiry"
        )

        peaks: dict[int, int] = {}
        for size in sizes:
            create_due_tokens(user_pks[:size], args.expiry)
            endpoint.reset()
            [run] = run_copies(1, env, scratch, f"one-{size}", args.timeout)
            found = [
                *check_runs([run], size),
                *check_endpoint(endpoint, user_pks[:size]),
                *check_rows(user_pks[:size]),
            ]
            peaks[size] = run.peak_kib
            print(
                f"one copy, {size:>7} due: {run.seconds:7.1f} s, "
                f"{size / run.seconds:7.0f} tokens/s, peak RSS {run.peak_kib / 1024:6.1f} MiB"
                + (f"  FAILED: {'; '.join(found)}" if found else "")
            )
            problems += [f"one copy, {size} due: {p}" for p in found]
        if len(sizes) > 1:
            small, large = peaks[sizes[0]], peaks[sizes[-1]]
            growth = large / small - 1
            flat = growth <= args.memory_margin
            print(
                f"memory: {sizes[-1]} due peaks {growth:+.1%} over {sizes[0]} due "
                f"({'flat' if flat else 'NOT flat'}, margin {args.memory_margin:.0%})"
            )
            if not flat:
                problems.append(f"peak RSS grew {growth:.1%} from {sizes[0]} to {sizes[-1]}")

        if args.copies:
            create_due_tokens(user_pks[:concurrent], args.expiry)
            endpoint.reset()
            started = time.perf_counter()
            runs = run_copies(args.copies, env, scratch, "copies", args.timeout)
            seconds = time.perf_counter() - started
            found = [
                *check_runs(runs, concurrent),
                *check_endpoint(endpoint, user_pks[:concurrent]),
                *check_rows(user_pks[:concurrent]),
            ]
            shares = ", ".join(
                f"{run.summary().get('refreshed', '?')} (exit {run.returncode}, "
                f"{run.peak_kib / 1024:.1f} MiB)"
                for run in runs
            )
            requests = sum(endpoint.seen.values())
            print(
                f"{args.copies} copies at once, {concurrent:>7} due: {seconds:7.1f} s, "
                f"{concurrent / seconds:7.0f} tokens/s; refreshed {shares}; endpoint: "
                f"{requests} requests, {len(endpoint.seen)} distinct refresh tokens, "
                f"{sum(1 for n in endpoint.seen.values() if n > 1)} seen twice"
                + (f"  FAILED: {'; '.join(found)}" if found else "")
            )
            problems += [f"{args.copies} copies: {p}" for p in found]
        from django.db import connections

        connections.close_all()
    endpoint.shutdown()
    if problems:
        print("\n".join(["FAILED:", *problems]), file=sys.stderr)
        sys.exit(1)
    print("OK: every due token refreshed exactly once, 0 errors")


if __name__ == "__main__":
    main()
