"""The refresh stampede across processes, counted at the provider.

The example site runs under gunicorn, 4 worker processes x 8 threads (gthread), or with
``--server asgi`` under uvicorn, 4 worker processes (Django's ASGI handler runs each
request's view on a thread of its own), on a throwaway PostgreSQL, MariaDB or SQLite (a
file, WAL). One user is connected to the
``demo`` provider, whose token endpoint and API are a counting provider served here on
loopback. In each round the user's token is expired, then 32 callers, connected
beforehand and released at once by a barrier, each request ``/stampede/`` as the user:
the site's real request path (session cookie, ``authorized_session(user, "demo")``,
``GET /api/me/`` at the provider), spread over the workers.

Per round it asserts what the README promises: exactly one refresh request reaches the
provider, no refresh token is presented twice, every caller gets the access token the
provider issued in that round (and the API accepts it), no caller errs, and the row
then holds the new pair with no claim left. The provider takes ``--delay`` seconds to
answer a refresh, so the callers overlap. Any deviation exits non-zero.

    python benchmarks/stampede.py                  # PostgreSQL, MariaDB, SQLite; 20 rounds
    python benchmarks/stampede.py --database mariadb --rounds 100
    python benchmarks/stampede.py --slim           # 3 rounds per database, for CI
    python benchmarks/stampede.py --slim --server asgi   # the same under uvicorn

Variants: ``--trigger 401`` (the row still calls the token valid but the API refuses
it, so every caller refreshes with ``stale_access_token``), ``--atomic-requests``,
``--conn-max-age N``, ``--sqlite-defaults`` (SQLite in Django's default options: the
rollback journal, in which a transaction that has read keeps every other connection
from committing; with ``--atomic-requests`` concurrent callers then get "database is
locked", which is why the README asks for WAL), ``--callers``, ``--workers``,
``--threads``, ``--delay``, ``--keep-going``.

Needs ``pip install -e ".[bench,mysql,example]"``; PostgreSQL and MariaDB start through
``.ci/postgres.sh`` and ``.ci/mariadb.sh`` (Debian's packages, installed when missing).
Prints the machine, then per database: rounds, callers per round, refreshes counted,
refresh tokens reused, worker processes that served callers (all rounds; fewest in one
round), caller latency p50/p95/max from the release, and errors.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import platform
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "example_project")]

from benchmarks import services  # noqa: E402

PROVIDER = "demo"
USERNAME = "stampede"
#: The demo provider's client in the example settings (``example/settings.py``).
CLIENT = ("demo-client", "demo-client-secret-not-for-production")


# --- the counting provider ------------------------------------------------------------


class CountingProvider(ThreadingHTTPServer):
    """The demo provider's token endpoint and API on loopback, counting.

    ``POST /o/token/`` answers a ``refresh_token`` grant, after ``delay`` seconds, with a
    new access token and a rotated refresh token; a refresh token presented a second
    time (or never issued) is recorded in ``reused`` and refused (``invalid_grant``, as
    with RFC 9700 reuse protection). ``GET /api/me/`` accepts only the current access
    token. Every request is counted, revocations (``POST /o/revoke_token/``) too."""

    daemon_threads = True
    request_queue_size = 256  # all callers' API requests arrive at once

    def __init__(self, delay: float) -> None:
        super().__init__(("127.0.0.1", 0), _ProviderHandler)
        self.delay = delay
        self.lock = threading.Lock()
        self.access_token = self.refresh_token = ""
        self.issued_refresh_tokens: set[str] = set()
        self.presented: set[str] = set()
        self.refreshes = 0
        self.reused: list[str] = []
        self.api_calls = 0
        self.api_refused = 0
        self.revocations = 0
        self.faults: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def refuse_access_token(self) -> None:
        """Stop accepting the current access token (as a provider that revoked it early),
        the refresh token staying valid."""
        with self.lock:
            self.access_token = f"stampede-at-{secrets.token_hex(12)}"

    def issue(self) -> tuple[str, str]:
        """A new access token and refresh token, the current ones from now on."""
        with self.lock:
            return self._issue()

    def _issue(self) -> tuple[str, str]:
        self.access_token = f"stampede-at-{secrets.token_hex(12)}"
        self.refresh_token = f"stampede-rt-{secrets.token_hex(12)}"
        self.issued_refresh_tokens.add(self.refresh_token)
        return self.access_token, self.refresh_token

    def counters(self) -> dict[str, int]:
        with self.lock:
            return {
                "refreshes": self.refreshes,
                "reused": len(self.reused),
                "api_calls": self.api_calls,
                "api_refused": self.api_refused,
                "revocations": self.revocations,
                "faults": len(self.faults),
            }


class _ProviderHandler(services.JSONHandler):
    server: CountingProvider

    def _reply(self, status: int, body: dict[str, Any]) -> None:
        self.reply_json(body, status, {"Cache-Control": "no-store"})

    def do_POST(self) -> None:
        server = self.server
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        form = {name: values[0] for name, values in parse_qs(body).items()}
        expected = "Basic " + base64.b64encode(":".join(CLIENT).encode()).decode()
        if urlsplit(self.path).path == "/o/revoke_token/":
            # The library revokes a grant it could not store: none is expected here.
            with server.lock:
                server.revocations += 1
            self._reply(200, {})
            return
        if urlsplit(self.path).path != "/o/token/" or form.get("grant_type") != "refresh_token":
            with server.lock:
                server.faults.append(f"unexpected POST {self.path} {form.get('grant_type')}")
            self._reply(400, {"error": "unsupported_grant_type"})
            return
        if self.headers.get("Authorization") != expected:
            with server.lock:
                server.faults.append("refresh without the client's credentials")
            self._reply(401, {"error": "invalid_client"})
            return
        presented = form.get("refresh_token", "")
        with server.lock:
            server.refreshes += 1
            fresh = presented in server.issued_refresh_tokens and presented not in server.presented
            server.presented.add(presented)
            if not fresh:
                server.reused.append(presented)
        time.sleep(server.delay)
        if not fresh:
            self._reply(400, {"error": "invalid_grant", "error_description": "reused"})
            return
        with server.lock:
            access_token, refresh_token = server._issue()
            reply = {
                "access_token": access_token,
                "refresh_token": refresh_token,
                "token_type": "Bearer",
                "expires_in": 3600,
                "scope": "read",
            }
        self._reply(200, reply)

    def do_GET(self) -> None:
        server = self.server
        if urlsplit(self.path).path != "/api/me/":
            self._reply(404, {"error": "not_found"})
            return
        bearer = self.headers.get("Authorization", "").removeprefix("Bearer ")
        with server.lock:
            server.api_calls += 1
            current = bearer == server.access_token
            if not current:
                server.api_refused += 1
        if current:
            self._reply(200, {"username": USERNAME, "provider": PROVIDER})
        else:
            self._reply(401, {"error": "invalid_token"})


# --- the site, seen from the database -------------------------------------------------


def connect(provider: CountingProvider) -> None:
    """Store a new pair from the provider as the user's connection, through the library
    (encrypted, as after the connect flow), valid for an hour."""
    from django.contrib.auth import get_user_model
    from django.db import connections
    from django.utils import timezone

    from auth_code_flow_django.core.rfc6749_token_replies import TokenResponse
    from auth_code_flow_django.identity import Account
    from auth_code_flow_django.models import OAuthToken

    access_token, refresh_token = provider.issue()
    OAuthToken.objects.store(
        get_user_model().objects.get(username=USERNAME),
        PROVIDER,
        TokenResponse(
            access_token=access_token,
            refresh_token=refresh_token,
            expires_at=timezone.now() + timedelta(hours=1),
            scope="read",
        ),
        account=Account(id=USERNAME, name=USERNAME),
    )
    connections.close_all()


def prepare_site(provider: CountingProvider) -> str:
    """Migrate, create the user and connect it; return a session cookie for it."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connections
    from django.test import Client

    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_user(USERNAME, password=secrets.token_hex(16))
    connect(provider)
    client = Client()
    client.force_login(user)
    cookie = client.cookies["sessionid"].value
    connections.close_all()
    return cookie


def expire_token() -> None:
    from django.contrib.auth import get_user_model
    from django.db import connections
    from django.utils import timezone

    from auth_code_flow_django.models import OAuthToken

    user = get_user_model().objects.get(username=USERNAME)
    rows = OAuthToken.objects.filter(user=user, provider=PROVIDER)
    assert rows.update(expires_at=timezone.now() - timedelta(seconds=5)) == 1
    connections.close_all()


def stored_state() -> dict[str, Any]:
    from django.db import connections

    from auth_code_flow_django.models import OAuthToken

    row = OAuthToken.objects.get(user__username=USERNAME, provider=PROVIDER)
    state = {
        "access_token": row.access_token,
        "refresh_token": row.refresh_token,
        "claim": row.refresh_claim,
        "expired": row.is_expired,
        "needs_reauthorization": row.needs_reauthorization,
    }
    connections.close_all()
    return state


def database_version(kind: str) -> str:
    import sqlite3

    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode" if kind == "sqlite" else "SELECT version()")
        text = str(cursor.fetchone()[0])
    connection.close()
    if kind == "sqlite":
        return f"SQLite {sqlite3.sqlite_version} {text}"
    if kind == "postgresql":
        return " ".join(text.split()[:2])
    number = text.split("-")[0]
    return f"MariaDB {number}" if "mariadb" in text.lower() else f"MySQL {number}"


# --- the callers ----------------------------------------------------------------------


def stampede(base_url: str, cookie: str, callers: int) -> list[dict[str, Any]]:
    """``callers`` requests to ``/stampede/``, each on a connection opened beforehand,
    released together; each one's outcome and latency (from the release)."""
    parts = urlsplit(base_url)
    barrier = threading.Barrier(callers)
    results: list[dict[str, Any]] = [{} for _ in range(callers)]

    def call(index: int) -> None:
        outcome = results[index]
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=60)
        try:
            connection.connect()
            barrier.wait(timeout=60)
            started = time.perf_counter()
            connection.request("GET", "/stampede/", headers={"Cookie": f"sessionid={cookie}"})
            response = connection.getresponse()
            body = response.read()
            outcome["seconds"] = time.perf_counter() - started
            outcome["status"] = response.status
            try:
                outcome.update(json.loads(body))
            except ValueError:
                outcome["error"] = body[:200].decode(errors="replace")
        except Exception as exc:
            outcome["error"] = f"{type(exc).__name__}: {exc}"
            barrier.abort()
        finally:
            connection.close()

    threads = [threading.Thread(target=call, args=(index,)) for index in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


# --- one database ---------------------------------------------------------------------


@dataclass
class Tally:
    """What the rounds on one database add up to."""

    workers: int
    refreshes: int = 0
    errors: int = 0
    failed_rounds: int = 0
    latencies: list[float] = field(default_factory=list)
    pids: set[int] = field(default_factory=set)
    fewest_pids: int = 0
    problems: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.fewest_pids = self.workers


def one_round(
    number: int, base_url: str, cookie: str, provider: CountingProvider, args: Any, tally: Tally
) -> None:
    """Expire the token (or have the API refuse it), release the callers, check what the
    provider counted, what each caller got and what the row holds."""
    if args.trigger == "expiry":
        expire_token()
    else:
        provider.refuse_access_token()
    before = provider.counters()
    results = stampede(base_url, cookie, args.callers)
    after = provider.counters()
    counted = {name: after[name] - before[name] for name in after}
    issued = provider.access_token, provider.refresh_token
    pids = {result["pid"] for result in results if "pid" in result}
    failed = [r for r in results if r.get("status") != 200 or "error" in r]
    wrong = [r for r in results if r not in failed and r.get("token") != issued[0]]
    tally.refreshes += counted["refreshes"]
    tally.errors += len(failed) + len(wrong)
    tally.latencies += [r["seconds"] for r in results if "seconds" in r]
    tally.pids |= pids
    tally.fewest_pids = min(tally.fewest_pids, len(pids))

    problems = []
    if counted["refreshes"] != 1:
        problems.append(f"{counted['refreshes']} refresh requests, not 1")
    if counted["reused"]:
        problems.append(f"{counted['reused']} refresh tokens presented twice")
    if counted["api_refused"] and args.trigger == "expiry":
        problems.append(f"the API refused {counted['api_refused']} calls")
    if counted["revocations"]:
        problems.append(f"{counted['revocations']} revocation requests")
    if counted["faults"]:
        problems.append(f"provider faults: {provider.faults[-3:]}")
    problems += [f"a caller failed: {result}" for result in failed[:3]]
    if wrong:
        problems.append(f"{len(wrong)} callers got a token the provider did not just issue")
    if len(pids) < min(2, args.workers):
        problems.append(f"only {len(pids)} worker processes served the callers")
    state = stored_state()
    if (state["access_token"], state["refresh_token"]) != issued:
        problems.append("the row does not hold the pair just issued")
    if state["claim"] or state["expired"] or state["needs_reauthorization"]:
        problems.append(f"the row is left claimed, expired or to re-authorize: {state}")
    if problems:
        tally.failed_rounds += 1
        tally.problems += [f"round {number}: {problem}" for problem in problems]
        # Start the next round from a sound connection, as a user reconnecting would.
        connect(provider)


def run_database(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    """The whole benchmark on one database, in this process; its summary."""
    summary: dict[str, Any] = {"database": kind, "rounds": args.rounds, "callers": args.callers}
    tally = Tally(workers=args.workers)
    log = Path(tempfile.mkstemp(prefix=f"acfd-stampede-{args.server}-", suffix=".log")[1])
    provider = CountingProvider(args.delay)
    with services.database(kind) as keywords, services.serving(provider):
        env = {
            "BENCH_DATABASE": json.dumps(services.django_database(kind, keywords)),
            "DEMO_PROVIDER_URL": provider.url,
            "DJANGO_SETTINGS_MODULE": "benchmarks.stampede_settings",
            "PYTHONPATH": os.pathsep.join(["example_project", "."]),
            "STAMPEDE_ATOMIC_REQUESTS": "1" if args.atomic_requests else "0",
            "STAMPEDE_CONN_MAX_AGE": str(args.conn_max_age),
            "STAMPEDE_SQLITE_DEFAULTS": "1" if args.sqlite_defaults else "0",
        }
        os.environ.update(env)
        import django

        django.setup()
        summary["database_version"] = database_version(kind)
        cookie = prepare_site(provider)
        with services.app_server(
            args.server,
            "example",
            env,
            workers=args.workers,
            threads=args.threads,
            log=log,
        ) as base_url:
            # Warm up every worker (imports, first connections) with a valid token.
            for _ in range(3):
                for result in stampede(base_url, cookie, args.callers):
                    if result.get("status") != 200:
                        tally.problems.append(f"warm-up: {result}")
            if provider.counters()["refreshes"]:
                tally.problems.append("the warm-up refreshed a valid token")
            for number in range(1, args.rounds + 1):
                if tally.problems and not args.keep_going:
                    break
                try:
                    one_round(number, base_url, cookie, provider, args, tally)
                except Exception as exc:  # the benchmark's own reads and writes
                    tally.failed_rounds += 1
                    tally.problems.append(
                        f"round {number}: the benchmark failed: {type(exc).__name__}: {exc}"
                    )
                    break
        if tally.problems:
            tail = log.read_text(errors="replace").splitlines()[-40:]
            if tail:
                tally.problems.append("server log (last lines):\n    " + "\n    ".join(tail))
    log.unlink(missing_ok=True)
    latencies = tally.latencies
    summary.update(
        refreshes=tally.refreshes,
        reused=len(provider.reused),
        workers_seen=len(tally.pids),
        fewest_workers_in_a_round=tally.fewest_pids,
        p50_ms=statistics.median(latencies) * 1000 if latencies else None,
        p95_ms=percentile(latencies, 0.95) * 1000 if latencies else None,
        max_ms=max(latencies) * 1000 if latencies else None,
        errors=tally.errors,
        failed_rounds=tally.failed_rounds,
        problems=tally.problems,
    )
    return summary


# --- the command ----------------------------------------------------------------------


def machine(args: argparse.Namespace) -> str:
    import django
    import gunicorn
    import uvicorn

    if args.server == "asgi":
        server = (
            f"uvicorn {uvicorn.__version__} ({args.workers} workers, a thread per request "
            f"by Django's ASGI handler)"
        )
    else:
        server = (
            f"gunicorn {gunicorn.__version__} (gthread, {args.workers} workers x "
            f"{args.threads} threads)"
        )
    return (
        f"{platform.machine()} x{os.cpu_count()} CPUs, {platform.system()} "
        f"{platform.release()}; Python {platform.python_version()}, Django "
        f"{django.get_version()}, {server}; provider answers a refresh "
        f"in {args.delay * 1000:.0f} ms; ATOMIC_REQUESTS {args.atomic_requests}, "
        f"CONN_MAX_AGE {args.conn_max_age}; refresh due by {args.trigger}"
    )


def report(summaries: list[dict[str, Any]]) -> None:
    header = (
        f"{'database':<20} {'rounds':>6} {'failed':>6} {'callers':>7} {'refreshes':>9} "
        f"{'reused':>6} {'workers':>9} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7} {'errors':>6}"
    )
    print(header)
    for s in summaries:
        if s.get("p50_ms") is None:
            print(f"{s.get('database_version', s['database']):<20} did not run")
            continue
        workers = f"{s['workers_seen']} ({s['fewest_workers_in_a_round']}+)"
        print(
            f"{s.get('database_version', s['database'])[:20]:<20} {s['rounds']:>6} "
            f"{s['failed_rounds']:>6} {s['callers']:>7} {s['refreshes']:>9} {s['reused']:>6} "
            f"{workers:>9} "
            f"{s['p50_ms']:>7.0f} {s['p95_ms']:>7.0f} {s['max_ms']:>7.0f} {s['errors']:>6}"
        )
    print(
        "refreshes: refresh requests counted at the provider (one per round expected); "
        "workers: processes that served callers (fewest in one round)"
    )
    for s in summaries:
        for problem in s.get("problems", []):
            print(f"FAIL {s['database']}: {problem}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database",
        action="append",
        choices=services.DATABASES,
        help="repeat for several (default: all three in sequence)",
    )
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--slim", action="store_true", help="3 rounds per database (CI)")
    parser.add_argument("--callers", type=int, default=32, help="concurrent callers per round")
    parser.add_argument(
        "--server",
        choices=services.SERVERS,
        default="wsgi",
        help="gunicorn with threaded workers (wsgi, the default) or uvicorn (asgi)",
    )
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument(
        "--threads", type=int, default=8, help="threads per worker (gunicorn; wsgi only)"
    )
    parser.add_argument(
        "--delay", type=float, default=0.2, help="seconds the provider takes to refresh"
    )
    parser.add_argument(
        "--trigger",
        choices=("expiry", "401"),
        default="expiry",
        help="what makes the refresh due: the stored expiry passed (default), or the API "
        "answering 401 to a token the row still calls valid (each caller then refreshes "
        "with stale_access_token)",
    )
    parser.add_argument(
        "--atomic-requests", action="store_true", help="ATOMIC_REQUESTS on the site"
    )
    parser.add_argument(
        "--conn-max-age", type=int, default=0, help="the site's CONN_MAX_AGE (seconds)"
    )
    parser.add_argument(
        "--sqlite-defaults",
        action="store_true",
        help="SQLite in Django's default options (rollback journal, 5 s timeout), not WAL",
    )
    parser.add_argument(
        "--keep-going", action="store_true", help="run every round even after a failed one"
    )
    parser.add_argument("--summary", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.slim:
        args.rounds = 3
    databases = args.database or list(services.DATABASES)

    if args.summary:  # one database, in this process, for the command below
        summary = run_database(databases[0], args)
        Path(args.summary).write_text(json.dumps(summary))
        return 1 if summary["problems"] else 0

    print(machine(args), flush=True)
    # Each database in a process of its own: Django is set up once per process.
    summaries = []
    options = [
        f"--rounds={args.rounds}",
        f"--callers={args.callers}",
        f"--server={args.server}",
        f"--workers={args.workers}",
        f"--threads={args.threads}",
        f"--delay={args.delay}",
        f"--conn-max-age={args.conn_max_age}",
        f"--trigger={args.trigger}",
        *(["--keep-going"] if args.keep_going else []),
        *(["--atomic-requests"] if args.atomic_requests else []),
        *(["--sqlite-defaults"] if args.sqlite_defaults else []),
    ]
    for kind in databases:
        started = time.monotonic()
        with tempfile.NamedTemporaryFile(suffix=".json") as file:
            subprocess.run(
                [
                    sys.executable,
                    __file__,
                    f"--database={kind}",
                    f"--summary={file.name}",
                    *options,
                ],
                check=False,
            )
            text = Path(file.name).read_text()
        summary = (
            json.loads(text)
            if text
            else {"database": kind, "rounds": args.rounds, "problems": ["crashed (see above)"]}
        )
        summary["seconds"] = time.monotonic() - started
        print(f"{kind}: {summary['seconds']:.1f} s", flush=True)
        summaries.append(summary)
    report(summaries)
    return 1 if any(s["problems"] for s in summaries) else 0


if __name__ == "__main__":
    sys.exit(main())
