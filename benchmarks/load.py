"""Load benchmark: complete connect flows by concurrent users against real servers.

The example site runs under gunicorn (4 worker processes), or with ``--server asgi``
under uvicorn (4 worker processes; Django's ASGI handler runs each request on a thread
of its own), with Django's Redis cache on a real Redis; the demo authorization server
(django-oauth-toolkit) runs under its own gunicorn with its own database on the same
database server. Locust, headless, plays 32 people at once; each of them runs complete
flows one after the other (see ``benchmarks/locustfile.py``): log in at the site,
connect (the ``authorize`` POST, the demo server's login and consent pages, the
callback), call the demo server's API through ``authorized_session`` (the example's
home page), read the access token ``--token-calls`` times more (10: one
``get_access_token`` per request, ``benchmarks/load_urls.py``), disconnect. Flows
alternate between the providers ``demo`` (endpoints in settings) and ``demo-openid``
(found by discovery, ID tokens checked against the JWK Set).

Afterwards the rows are counted on both sides and the run fails (exit status 1) on any
error or any count that is off:

- the site: no ``OAuthToken`` left; ``(user, provider)`` unique in the schema, so a
  duplicate can never exist; one ``OAuthState`` per flow, each used once; one
  ``token_obtained`` and one ``token_revoked`` signal per flow, no refresh;
- the demo server: one refresh token per flow, every one revoked; no access token and
  no authorization code left;
- the shared cache: the demo server answered the discovery document and the JWK Set
  once each for all the site's workers (they are cached for an hour). A run with
  Django's default per-process cache (LocMem) shows the contrast: up to one fetch per
  worker;
- the site's and the server's logs hold no warning;
- the site's memory does not grow: Locust runs the first ``--warmup-flows`` (200)
  flows, the site's workers are sampled with no request in flight, then the other
  flows, and they are sampled again. Per worker, the live database connection objects
  (counted after a full garbage collection by ``/bench/memory/``) may not grow by more
  than a few: a leak of one per request, as with a cache that keeps each request
  thread's connection object, is hundreds. On full runs the workers' resident memory
  (``VmRSS``) at the end must also stay within ``--rss-growth`` (10%) of the sample
  after the warm-up.

On PostgreSQL it runs twice, with Django's connection pool (``"OPTIONS": {"pool":
...}``, which needs ``CONN_MAX_AGE = 0``) and without (a connection per request), and
compares them. One command, the servers are started and stopped by it::

    python benchmarks/load.py                          # PostgreSQL (pool off, on), MariaDB
    python benchmarks/load.py --database postgresql --flows 500 --users 16
    python benchmarks/load.py --slim                   # CI: 100 flows by 8 users, each DB
    python benchmarks/load.py --server asgi --database postgresql --pool on
    python benchmarks/load.py --slim --server asgi --database postgresql   # CI

``--slim`` runs 100 flows by 8 users on each database (pool on for PostgreSQL), with
Redis, no LocMem contrast, 20 warm-up flows and no bound on resident memory (too
short a run for one; the connection objects are counted all the same). Needs
``pip install -e ".[bench,mysql]"``, PostgreSQL and MariaDB as CI installs them
(``.ci/postgres.sh``, ``.ci/mariadb.sh``) and Debian's ``redis-server`` (installed
when missing). Passwords are hashed with Django's MD5 hasher (``--pbkdf2`` keeps
Django's default) so that the two logins of each flow do not measure PBKDF2.
``--json FILE`` writes every figure.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))

from benchmarks import services  # noqa: E402

PASSWORD = "bench-password"
PROVIDERS = ("demo", "demo-openid")
STEPS = (
    "login",
    "authorize",
    "provider pages",
    "authorize+provider",
    "callback",
    "api call",
    "token read",
    "disconnect",
    "flow",
)
#: One ``get_access_token`` by ``/bench/token/<provider>/`` (``BENCH_TOKEN_CALLS`` a flow).
TOKEN_READ = "token read"
#: The documents the site's workers fetch from the demo server for "demo-openid".
METADATA_PATHS = (
    "/.well-known/oauth-authorization-server/o",
    "/o/.well-known/openid-configuration",
)
JWKS_PATH = "/o/.well-known/jwks.json"
DISCOVERY_CACHE_TTL = 3600


# --- inside a Django process (``--task``) ---------------------------------------------


def task_setup(part: str, accounts: int, site: str) -> dict[str, Any]:
    """Migrate, create the bench accounts and (at the demo server) the OAuth client."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.db import connection

    if part == "provider":
        # Migrates, creates the demo users and the client redirecting to the site.
        call_command("demo", "--setup-only", "--site", site, verbosity=0)
    else:
        call_command("migrate", verbosity=0, interactive=False)
    user_model = get_user_model()
    hashed = make_password(PASSWORD)
    user_model.objects.bulk_create(
        [
            user_model(username=name, email=f"{name}@example.com", password=hashed)
            for name in (f"bench{i:04d}" for i in range(accounts))
        ]
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        version = cursor.fetchone()[0]
    return {
        "database_version": version,
        "conn_max_age": connection.settings_dict["CONN_MAX_AGE"],
        "pool": bool(connection.settings_dict["OPTIONS"].get("pool")),
        "pool_open": getattr(connection, "pool", None) is not None,
        "password_hasher": hashed.split("$", 1)[0],
    }


def task_count(part: str) -> dict[str, Any]:
    """The rows a run leaves behind, on one side."""
    from django.db import connection

    if part == "provider":
        from oauth2_provider.models import (
            get_access_token_model,
            get_grant_model,
            get_id_token_model,
            get_refresh_token_model,
        )

        refresh = get_refresh_token_model().objects
        return {
            "refresh_tokens": refresh.count(),
            "refresh_tokens_revoked": refresh.filter(revoked__isnull=False).count(),
            "access_tokens": get_access_token_model().objects.count(),
            "grants": get_grant_model().objects.count(),
            "id_tokens": get_id_token_model().objects.count(),
        }
    from django.db.models import Count

    from auth_code_flow_django.models import OAuthState, OAuthToken

    table = OAuthToken._meta.db_table
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    unique = sorted(
        "+".join(c["columns"])
        for c in constraints.values()
        if c["unique"] and not c["primary_key"]
    )
    duplicates = (
        OAuthToken.objects.values("user_id", "provider")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    return {
        "tokens": OAuthToken.objects.count(),
        "token_duplicates": duplicates,
        "token_unique_constraints": unique,
        "states": OAuthState.objects.count(),
        "states_used": OAuthState.objects.filter(used_at__isnull=False).count(),
    }


def run_task(argv: list[str]) -> None:
    import django

    django.setup()
    name, part = argv[0], argv[1]
    if name == "setup":
        result = task_setup(part, int(argv[2]), argv[3])
    elif name == "count":
        result = task_count(part)
    elif name == "pool-refuses-persistent":
        from django.core.exceptions import ImproperlyConfigured
        from django.db import connection

        try:
            connection.ensure_connection()
        except ImproperlyConfigured as exc:
            result = {"refused": True, "message": str(exc)}
        else:
            result = {"refused": False, "message": ""}
    else:
        raise SystemExit(f"unknown task {name}")
    print(json.dumps(result))


# --- the driver -------------------------------------------------------------------------


@dataclass
class Variant:
    name: str
    pool: bool = False
    redis: bool = True
    conn_max_age: int | None = None


@dataclass
class Outcome:
    database: str
    variant: str
    flows: int
    users: int
    server: str = "wsgi"
    seconds: float = 0.0
    flows_ok: int = 0
    #: CPU seconds the site's and the demo server's gunicorn processes used in the run.
    cpu: dict[str, float] = field(default_factory=dict)
    #: The 1-minute load average of the machine before and after the run.
    load: tuple[float, float] = (0.0, 0.0)
    steps: dict[str, dict[str, float]] = field(default_factory=dict)
    providers: dict[str, int] = field(default_factory=dict)
    counts: dict[str, Any] = field(default_factory=dict)
    fetches: dict[str, int] = field(default_factory=dict)
    setup: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    #: The site's workers after the warm-up flows and at the end (see ``MemorySample``).
    memory: list[MemorySample] = field(default_factory=list)
    token_reads: int = 0

    @property
    def flows_per_second(self) -> float:
        return self.flows_ok / self.seconds if self.seconds else 0.0


@dataclass
class MemorySample:
    """The site's workers at one point of a run, with no request in flight: resident
    memory (``VmRSS``) and live database connection objects, per process id."""

    label: str
    flows: int
    token_reads: int
    rss_kib: dict[int, int] = field(default_factory=dict)
    connection_objects: dict[int, int] = field(default_factory=dict)

    @property
    def total_rss_mib(self) -> float:
        return sum(self.rss_kib.values()) / 1024


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank percentile ``q`` (0-100) of ``values``."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def django_env(part: str, database: Mapping[str, object], **extra: str) -> dict[str, str]:
    env = {
        "PYTHONPATH": os.pathsep.join([str(ROOT / "example_project"), str(ROOT)]),
        "DJANGO_SETTINGS_MODULE": "benchmarks.site_settings",
        "BENCH_PART": part,
        "BENCH_DATABASE": json.dumps(database),
        "PYTHONUNBUFFERED": "1",
        **extra,
    }
    return env


def task(env: Mapping[str, str], *argv: str) -> subprocess.Popen[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("BENCH_")}
    return subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--task", *argv],
        cwd=ROOT,
        env={**full, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def task_result(process: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = process.communicate(timeout=600)
    if process.returncode != 0:
        raise RuntimeError(f"task {process.args!r} failed:\n{err[-3000:]}")
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def create_databases(kind: str, keywords: Mapping[str, str], names: list[str]) -> None:
    if kind == "postgresql":
        import psycopg

        with psycopg.connect(
            host=keywords["host"],
            port=keywords["port"],
            user=keywords["user"],
            dbname=keywords["dbname"],
            autocommit=True,
        ) as db:
            for name in names:
                db.execute(f'CREATE DATABASE "{name}"')
    elif kind == "mariadb":
        import MySQLdb

        db = MySQLdb.connect(
            host=keywords["host"],
            port=int(keywords["port"]),
            user=keywords["user"],
            password=keywords.get("password", ""),
        )
        try:
            cursor = db.cursor()
            for name in names:
                cursor.execute(
                    f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
                )
        finally:
            db.close()


def signing_key() -> str:
    """One RSA key for every worker of the demo server: each would make its own."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def summarize_steps(samples: Mapping[str, list[float]]) -> dict[str, dict[str, float]]:
    samples = dict(samples)
    if samples.get("authorize") and samples.get("provider pages"):
        samples["authorize+provider"] = [
            a + b for a, b in zip(samples["authorize"], samples["provider pages"], strict=True)
        ]
    steps = {}
    for step in STEPS:
        values = samples.get(step) or []
        if values:
            steps[step] = {
                "n": len(values),
                "p50": percentile(values, 50),
                "p95": percentile(values, 95),
                "p99": percentile(values, 99),
                "mean": sum(values) / len(values),
            }
    return steps


def _serves(command: list[bytes], port: int) -> bool:
    """Whether ``command`` is the gunicorn or uvicorn master listening on ``port``."""
    if b"gunicorn" in command:
        return f"127.0.0.1:{port}".encode() in command
    if b"uvicorn" in command and b"--port" in command:
        position = command.index(b"--port") + 1
        return position < len(command) and command[position] == str(port).encode()
    return False


def server_processes(url: str, *, workers_only: bool = False) -> list[int]:
    """The gunicorn or uvicorn master serving ``url`` and its workers (only the workers
    with ``workers_only``; not multiprocessing's resource tracker)."""
    port = urlsplit(url).port or 80
    parents: dict[int, int] = {}
    commands: dict[int, list[bytes]] = {}
    masters = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        pid = int(entry.name)
        parents[pid] = int(stat.rsplit(")", 1)[1].split()[1])
        commands[pid] = command
        if _serves(command, port):
            masters.append(pid)
    workers = [
        pid
        for pid, parent in parents.items()
        if parent in masters and not any(b"resource_tracker" in part for part in commands[pid])
    ]
    return sorted(workers) if workers_only else masters + workers


def resident_kib(pid: int) -> int:
    """``VmRSS`` of process ``pid`` in KiB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def connection_objects(url: str, workers: list[int], tries: int = 400) -> dict[int, int]:
    """Each worker's live database connection objects, from ``/bench/memory/``: asked on
    a new connection each time until every worker has answered (the kernel hands each
    connection to whichever worker accepts first)."""
    import http.client

    parts = urlsplit(url)
    found: dict[int, int] = {}
    for _ in range(tries):
        if set(workers) <= set(found):
            break
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=60)
        try:
            connection.request("GET", "/bench/memory/", headers={"Connection": "close"})
            answer = json.loads(connection.getresponse().read())
        finally:
            connection.close()
        found.setdefault(answer["pid"], answer["connection_objects"])
    return found


def sample_memory(url: str, label: str, flows: int, token_reads: int) -> MemorySample:
    workers = server_processes(url, workers_only=True)
    sample = MemorySample(label, flows, token_reads)
    sample.connection_objects = connection_objects(url, workers)
    # After the probe's requests: each worker has just collected its garbage.
    sample.rss_kib = {pid: resident_kib(pid) for pid in workers}
    return sample


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU time the processes ``pids`` have used so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / ticks


def read_probe(path: Path) -> tuple[Counter[str], Counter[str]]:
    signals: Counter[str] = Counter()
    hits: Counter[str] = Counter()
    if path.exists():
        for line in path.read_text().splitlines():
            kind, *rest = line.split()
            if kind == "signal":
                signals[rest[0]] += 1
            elif kind == "hit":
                hits[f"{rest[0]} {rest[1]}"] += 1
    return signals, hits


def log_problems(path: Path) -> list[str]:
    if not path.exists():
        return []
    return [line for line in path.read_text().splitlines() if line.strip()]


def one_run(
    kind: str,
    keywords: Mapping[str, str],
    variant: Variant,
    *,
    number: int,
    flows: int,
    users: int,
    workers: int,
    provider_workers: int,
    time_limit: int,
    fast_passwords: bool,
    output: Path,
    server: str = "wsgi",
    warmup: int = 0,
    token_calls: int = 0,
    rss_growth: float | None = None,
) -> Outcome:
    outcome = Outcome(kind, variant.name, flows, users, server=server)
    folder = output / f"{kind}-{number}-{server}-{variant.name.replace(' ', '-')}"
    folder.mkdir(parents=True)
    site_db, provider_db = f"acfd_load_site_{number}", f"acfd_load_provider_{number}"
    create_databases(kind, keywords, [site_db, provider_db])

    def entry(name: str) -> dict[str, object]:
        database = services.django_database(kind, {**keywords, "dbname": name}, pool=variant.pool)
        if kind == "sqlite":
            database["NAME"] = str(folder / f"{name}.sqlite3")
        return database

    probe = folder / "probe.log"
    common = {"BENCH_PROBE_LOG": str(probe), "DEMO_OIDC_RSA_PRIVATE_KEY": signing_key()}
    if fast_passwords:
        common["BENCH_FAST_PASSWORDS"] = "1"
    if variant.conn_max_age is not None:
        common["BENCH_CONN_MAX_AGE"] = str(variant.conn_max_age)
    with ExitStack() as stack:
        if variant.redis:
            common["BENCH_REDIS_URL"] = stack.enter_context(services.redis())
        provider_env = django_env("provider", entry(provider_db), **common)
        provider = stack.enter_context(
            services.gunicorn(
                "example.wsgi:application",
                provider_env,
                workers=provider_workers,
                log=folder / "provider.log",
            )
        )
        site_env = django_env("site", entry(site_db), DEMO_PROVIDER_URL=provider, **common)
        site = stack.enter_context(
            services.app_server(
                server, "example", site_env, workers=workers, log=folder / "site.log"
            )
        )
        setups = [
            task(site_env, "setup", "site", str(users), site),
            task(provider_env, "setup", "provider", str(users), site),
        ]
        outcome.setup = {"site": task_result(setups[0]), "provider": task_result(setups[1])}
        server_name = "uvicorn" if server == "asgi" else "gunicorn"
        print(
            f"  servers: site {site} ({server_name}, {workers} workers), demo server {provider} "
            f"({provider_workers} workers), cache {'Redis' if variant.redis else 'LocMem'}, "
            f"pool {'on' if variant.pool else 'off'}, "
            f"CONN_MAX_AGE {outcome.setup['site']['conn_max_age']}",
            flush=True,
        )
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("BENCH_")},
            "BENCH_PROVIDER_URL": provider,
            "BENCH_ACCOUNTS": str(users),
            "BENCH_PASSWORD": PASSWORD,
            "BENCH_PROVIDERS": ",".join(PROVIDERS),
            "BENCH_TOKEN_CALLS": str(token_calls),
        }
        # Warm-up flows first when the run is long enough: the site's memory is sampled
        # after them, with no request in flight, and again at the end.
        phases = [warmup, flows - warmup] if 0 < warmup < flows else [flows]
        processes = {"site": server_processes(site), "provider": server_processes(provider)}
        before = {name: cpu_seconds(pids) for name, pids in processes.items()}
        load_before = os.getloadavg()[0]
        data: dict[str, Any] = {}
        for index, phase_flows in enumerate(phases):
            phase = locust_phase(
                site, {**env, "BENCH_FLOWS": str(phase_flows)}, users, time_limit, folder, index
            )
            if phase is None:
                outcome.problems.append(f"Locust wrote no results in phase {index + 1}")
                return outcome
            data = merge_phases(data, phase)
            if len(phases) > 1:
                label = "after warm-up" if index == 0 else "at the end"
                reads = len(data["samples"].get(TOKEN_READ, []))
                finished = data["flows_finished"]
                outcome.memory.append(sample_memory(site, label, finished, reads))
        outcome.cpu = {name: cpu_seconds(pids) - before[name] for name, pids in processes.items()}
        outcome.load = (load_before, os.getloadavg()[0])
        outcome.seconds = data["seconds"]
        outcome.flows_ok = data["flows_ok"]
        outcome.providers = data["providers"]
        outcome.token_reads = len(data["samples"].get(TOKEN_READ, []))
        outcome.steps = summarize_steps(data["samples"])
        outcome.errors = [
            f"{e['user']} {e['provider']} at {e['step']}: {e['error']}" for e in data["errors"]
        ]
        if data["flows_finished"] < flows:
            outcome.problems.append(
                f"only {data['flows_finished']} of {flows} flows ran in {time_limit} s"
            )
        if data["exit_codes"] and not outcome.errors:
            outcome.problems.append(f"Locust exited with {data['exit_codes']}")
        counts = [task(site_env, "count", "site"), task(provider_env, "count", "provider")]
        outcome.counts = {"site": task_result(counts[0]), "provider": task_result(counts[1])}
    # The servers have stopped: their logs are complete.
    signals, hits = read_probe(probe)
    outcome.counts["signals"] = dict(signals)
    outcome.counts["well_known"] = dict(hits)
    outcome.fetches = {
        "metadata": sum(hits[f"{path} 200"] for path in METADATA_PATHS),
        "jwks": hits[f"{JWKS_PATH} 200"],
    }
    for name in ("site", "provider"):
        lines = log_problems(folder / f"{name}.log")
        if lines:
            outcome.problems.append(f"{name} log has {len(lines)} lines, first: {lines[0]}")
    check(outcome, variant, workers)
    check_memory(outcome, token_calls, rss_growth)
    return outcome


def locust_phase(
    site: str, env: Mapping[str, str], users: int, time_limit: int, folder: Path, index: int
) -> dict[str, Any] | None:
    """One headless Locust run of ``BENCH_FLOWS`` flows; what it wrote, or None."""
    results = folder / f"locust-{index + 1}.json"
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(ROOT / "benchmarks" / "locustfile.py"),
        "--headless",
        "--users",
        str(users),
        "--spawn-rate",
        str(users),
        "--host",
        site,
        "--run-time",
        f"{time_limit}s",
        "--stop-timeout",
        "30",
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    with open(folder / f"locust-{index + 1}.log", "wb") as log:
        locust = subprocess.run(
            command,
            cwd=ROOT,
            env={**env, "BENCH_RESULTS": str(results)},
            stdout=log,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if not results.exists():
        return None
    data: dict[str, Any] = json.loads(results.read_text())
    data["exit_codes"] = [locust.returncode] if locust.returncode else []
    return data


def merge_phases(data: dict[str, Any], phase: dict[str, Any]) -> dict[str, Any]:
    """Two Locust phases' results as one run's."""
    if not data:
        return phase
    providers = Counter(data["providers"]) + Counter(phase["providers"])
    samples = {
        name: data["samples"].get(name, []) + phase["samples"].get(name, [])
        for name in {*data["samples"], *phase["samples"]}
    }
    return {
        **{key: data[key] + phase[key] for key in ("flows_finished", "flows_ok", "seconds")},
        "providers": dict(providers),
        "samples": samples,
        "errors": data["errors"] + phase["errors"],
        "exit_codes": data["exit_codes"] + phase["exit_codes"],
    }


#: Live connection objects a worker may gain between the two samples: a thread that
#: happens to be alive (none should be). A leak of one per request is hundreds.
CONNECTION_SLACK = 4


def check_memory(outcome: Outcome, token_calls: int, rss_growth: float | None) -> None:
    """The site's memory must not grow with requests: per worker, live connection
    objects at the end at most ``CONNECTION_SLACK`` above the warm-up's; with
    ``rss_growth``, the workers' resident memory at the end at most that fraction
    above it."""
    if len(outcome.memory) != 2:
        return
    warm, end = outcome.memory
    if sorted(warm.rss_kib) != sorted(end.rss_kib):
        outcome.problems.append(
            f"the site's workers changed between the samples: {sorted(warm.rss_kib)} then "
            f"{sorted(end.rss_kib)}"
        )
        return
    for sample in (warm, end):
        unseen = set(sample.rss_kib) - set(sample.connection_objects)
        if unseen:
            outcome.problems.append(f"workers {sorted(unseen)} never answered {sample.label}")
    for pid, count in end.connection_objects.items():
        grown = count - warm.connection_objects.get(pid, count)
        if grown > CONNECTION_SLACK:
            outcome.problems.append(
                f"worker {pid} holds {count} live connection objects at the end, "
                f"{warm.connection_objects[pid]} after the warm-up: one leaks per request"
            )
    ratio = end.total_rss_mib / warm.total_rss_mib if warm.total_rss_mib else 0.0
    if rss_growth is not None and ratio > 1 + rss_growth:
        outcome.problems.append(
            f"the site's workers grew from {warm.total_rss_mib:.1f} MiB after the warm-up to "
            f"{end.total_rss_mib:.1f} MiB at the end ({(ratio - 1) * 100:+.1f}%, bound "
            f"{rss_growth * 100:+.0f}%)"
        )
    if token_calls and outcome.token_reads != outcome.flows_ok * token_calls:
        outcome.problems.append(
            f"{outcome.token_reads} token reads, expected {outcome.flows_ok * token_calls}"
        )


def check(outcome: Outcome, variant: Variant, workers: int) -> None:
    """Every count the run must end with; what is off goes to ``outcome.problems``."""
    flows, site, server = outcome.flows, outcome.counts["site"], outcome.counts["provider"]
    signals = outcome.counts["signals"]
    expected = [
        ("complete flows", outcome.flows_ok, flows),
        ("site OAuthToken rows left", site["tokens"], 0),
        ("site duplicate (user, provider) tokens", site["token_duplicates"], 0),
        ("site OAuthState rows (one per authorize)", site["states"], flows),
        ("site OAuthState rows used (one per callback)", site["states_used"], flows),
        ("token_obtained signals", signals.get("token_obtained", 0), flows),
        ("token_revoked signals", signals.get("token_revoked", 0), flows),
        ("token_refreshed signals", signals.get("token_refreshed", 0), 0),
        ("server refresh tokens issued", server["refresh_tokens"], flows),
        ("server refresh tokens revoked", server["refresh_tokens_revoked"], flows),
        ("server access tokens left", server["access_tokens"], 0),
        ("server authorization codes left", server["grants"], 0),
    ]
    for what, got, want in expected:
        if got != want:
            outcome.problems.append(f"{what}: {got}, expected {want}")
    if "user_id+provider" not in site["token_unique_constraints"]:
        outcome.problems.append(
            f"no unique (user, provider) constraint: {site['token_unique_constraints']}"
        )
    if outcome.errors:
        outcome.problems.append(f"{len(outcome.errors)} flows failed")
    openid = outcome.providers.get("demo-openid", 0)
    if openid:
        # Cached for an hour: a run shorter than that fetches each document once with a
        # shared cache, and at most once per worker with a per-process one.
        lifetimes = math.ceil(max(outcome.seconds, 1) / DISCOVERY_CACHE_TTL)
        for name in ("metadata", "jwks"):
            got = outcome.fetches[name]
            if variant.redis and got != lifetimes:
                outcome.problems.append(
                    f"{name} fetched {got} times with the shared cache, expected {lifetimes}"
                )
            if not variant.redis and not 1 <= got <= workers * lifetimes:
                outcome.problems.append(f"{name} fetched {got} times with LocMem")
    if variant.pool and not outcome.setup["site"]["pool_open"]:
        outcome.problems.append("the pool is configured but Django opened none")


def print_outcome(outcome: Outcome) -> None:
    print(
        f"  {outcome.flows_ok}/{outcome.flows} flows in {outcome.seconds:.1f} s: "
        f"{outcome.flows_per_second:.1f} flows/s  (by provider: {outcome.providers})"
    )
    print(f"  {'step':<20}{'n':>6}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'mean ms':>9}")
    for step, figures in outcome.steps.items():
        print(
            f"  {step:<20}{figures['n']:>6.0f}{figures['p50']:>9.1f}{figures['p95']:>9.1f}"
            f"{figures['p99']:>9.1f}{figures['mean']:>9.1f}"
        )
    if outcome.flows_ok and outcome.cpu:
        print(
            f"  CPU per flow: site {outcome.cpu['site'] / outcome.flows_ok * 1000:.0f} ms, "
            f"demo server {outcome.cpu['provider'] / outcome.flows_ok * 1000:.0f} ms; "
            f"load average {outcome.load[0]:.1f} before, {outcome.load[1]:.1f} after"
        )
    site, server = outcome.counts.get("site", {}), outcome.counts.get("provider", {})
    print(
        f"  site: {site.get('tokens')} tokens left, {site.get('token_duplicates')} duplicates "
        f"(unique: {site.get('token_unique_constraints')}), {site.get('states')} states, "
        f"{site.get('states_used')} used; signals {outcome.counts.get('signals')}"
    )
    print(
        f"  demo server: {server.get('refresh_tokens')} refresh tokens, "
        f"{server.get('refresh_tokens_revoked')} revoked, {server.get('access_tokens')} "
        f"access tokens and {server.get('grants')} codes left, {server.get('id_tokens')} "
        f"ID tokens"
    )
    print(
        f"  discovery fetched by the site's workers: metadata {outcome.fetches.get('metadata')}"
        f", JWK Set {outcome.fetches.get('jwks')}  (all .well-known hits: "
        f"{outcome.counts.get('well_known')})"
    )
    for sample in outcome.memory:
        print(f"  {memory_line(sample)}")
    if len(outcome.memory) == 2:
        warm, end = outcome.memory
        print(
            f"  memory at the end / after the warm-up: "
            f"{end.total_rss_mib / warm.total_rss_mib:.3f}x resident "
            f"({end.total_rss_mib - warm.total_rss_mib:+.1f} MiB over "
            f"{end.flows - warm.flows} flows and {end.token_reads - warm.token_reads} token reads)"
        )
    for error in outcome.errors[:10]:
        print(f"  ERROR {error}")
    for problem in outcome.problems:
        print(f"  PROBLEM {problem}")
    print("  " + ("OK" if not outcome.problems else "FAILED"), flush=True)


def memory_line(sample: MemorySample) -> str:
    pids = sorted(sample.rss_kib)
    rss = ", ".join(f"{sample.rss_kib[pid] / 1024:.1f}" for pid in pids)
    objects = ", ".join(str(sample.connection_objects.get(pid, "?")) for pid in pids)
    return (
        f"site workers {sample.label} ({sample.flows} flows, {sample.token_reads} token "
        f"reads): {sample.total_rss_mib:.1f} MiB resident ({rss}); live connection "
        f"objects {objects}"
    )


def machine(versions: Mapping[str, str]) -> dict[str, str]:
    import django
    import gunicorn
    import locust
    import oauth2_provider
    import uvicorn

    model = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpus": str(os.cpu_count()),
        "cpu": model,
        "os": platform.platform(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "django-oauth-toolkit": oauth2_provider.__version__,
        "gunicorn": gunicorn.__version__,
        "uvicorn": uvicorn.__version__,
        "locust": locust.__version__,
        **versions,
    }


def variants_for(kind: str, args: argparse.Namespace) -> list[Variant]:
    if kind == "postgresql":
        pools = [p.strip() for p in args.pool.split(",")]
        found = []
        for pool in pools:
            if pool == "off":
                found.append(Variant("pool off"))
            elif pool == "on":
                found.append(Variant("pool on", pool=True))
            elif pool == "persistent":
                found.append(Variant("persistent connections", conn_max_age=600))
            else:
                raise SystemExit(f"--pool takes off, on, persistent; not {pool}")
        return found
    return [Variant("default")]


@contextmanager
def output_folder(path: str | None) -> Iterator[Path]:
    if path:
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        yield folder
    else:
        yield Path(tempfile.mkdtemp(prefix="acfd-load-"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument(
        "--database", choices=["postgresql", "mariadb", "sqlite", "both"], default="both"
    )
    parser.add_argument("--flows", type=int, default=2000, help="complete flows per run")
    parser.add_argument("--users", type=int, default=32, help="concurrent Locust users")
    parser.add_argument(
        "--server",
        choices=services.SERVERS,
        default="wsgi",
        help="serve the site under gunicorn (wsgi, the default) or uvicorn (asgi)",
    )
    parser.add_argument("--workers", type=int, default=4, help="worker processes of the site")
    parser.add_argument(
        "--provider-workers", type=int, default=4, help="gunicorn workers of the demo server"
    )
    parser.add_argument(
        "--pool",
        default="off,on",
        help="PostgreSQL runs: off, on, persistent (CONN_MAX_AGE=600), comma-separated",
    )
    parser.add_argument(
        "--contrast-flows",
        type=int,
        default=128,
        help="flows of the run with the per-process LocMem cache (0: none)",
    )
    parser.add_argument(
        "--token-calls",
        type=int,
        default=10,
        help="get_access_token requests per flow, through /bench/token/<provider>/",
    )
    parser.add_argument(
        "--warmup-flows",
        type=int,
        default=200,
        help="flows before the first memory sample (the second is at the end)",
    )
    parser.add_argument(
        "--rss-growth",
        type=float,
        default=0.10,
        help="fail when the site's resident memory at the end exceeds the warm-up's by "
        "more than this fraction (not in --slim, whose run is too short for it)",
    )
    parser.add_argument("--time-limit", type=int, default=1800, help="seconds per run at most")
    parser.add_argument("--slim", action="store_true", help="the CI run (see above)")
    parser.add_argument("--pbkdf2", action="store_true", help="Django's default hasher")
    parser.add_argument("--output", help="folder for logs and results (default: a temp one)")
    parser.add_argument("--json", help="write every figure to this file")
    args = parser.parse_args()
    if args.task:
        run_task(args.task)
        return 0
    rss_growth: float | None = args.rss_growth
    if args.slim:
        args.flows, args.users, args.pool, args.contrast_flows = 100, 8, "on", 0
        args.warmup_flows, rss_growth = 20, None
        args.time_limit = min(args.time_limit, 300)
    kinds = ["postgresql", "mariadb"] if args.database == "both" else [args.database]
    outcomes: list[Outcome] = []
    versions: dict[str, str] = {}
    notes: list[str] = []
    started = time.monotonic()
    with output_folder(args.output) as output:
        print(f"Logs and results in {output}", flush=True)
        number = 0
        for kind in kinds:
            with services.database(kind) as keywords:
                runs = [(variant, args.flows) for variant in variants_for(kind, args)]
                if args.contrast_flows:
                    locmem = Variant("LocMem cache", pool=runs[0][0].pool, redis=False)
                    runs.append((locmem, args.contrast_flows))
                for variant, flows in runs:
                    number += 1
                    print(
                        f"\n{kind}, {args.server}, {variant.name}: {flows} flows by "
                        f"{args.users} users, {args.token_calls} token reads a flow",
                        flush=True,
                    )
                    began = time.monotonic()
                    outcome = one_run(
                        kind,
                        keywords,
                        variant,
                        number=number,
                        flows=flows,
                        users=args.users,
                        workers=args.workers,
                        provider_workers=args.provider_workers,
                        time_limit=args.time_limit,
                        fast_passwords=not args.pbkdf2,
                        output=output,
                        server=args.server,
                        warmup=args.warmup_flows,
                        token_calls=args.token_calls,
                        rss_growth=rss_growth,
                    )
                    print_outcome(outcome)
                    print(f"  (the whole run took {time.monotonic() - began:.0f} s)")
                    outcomes.append(outcome)
                    versions[kind] = str(
                        outcome.setup.get("site", {}).get("database_version", "?")
                    )
                if kind == "postgresql":
                    notes.append(pool_refuses_persistent(keywords, output))
        info = machine(versions)
        report(outcomes, info, notes, time.monotonic() - started)
        if args.json:
            Path(args.json).write_text(
                json.dumps(
                    {
                        "machine": info,
                        "notes": notes,
                        "runs": [asdict(outcome) for outcome in outcomes],
                    },
                    indent=2,
                    default=str,
                )
            )
    failed = [o for o in outcomes if o.problems]
    return 1 if failed or not outcomes else 0


def pool_refuses_persistent(keywords: Mapping[str, str], output: Path) -> str:
    """Django's pool takes CONN_MAX_AGE = 0 only: check that it says so."""
    database = services.django_database("postgresql", keywords, pool=True)
    env = django_env("site", database, BENCH_CONN_MAX_AGE="60")
    result = task_result(task(env, "pool-refuses-persistent", "site"))
    if result["refused"]:
        return f"PostgreSQL pool with CONN_MAX_AGE=60 refused by Django: {result['message']}"
    return "PostgreSQL pool with CONN_MAX_AGE=60 was NOT refused by Django"


def report(
    outcomes: list[Outcome], info: Mapping[str, str], notes: list[str], seconds: float
) -> None:
    print("\n=== Summary")
    for key, value in info.items():
        print(f"  {key}: {value}")
    for note in notes:
        print(f"  {note}")
    print(
        f"\n  {'run':<36}{'flows/s':>8}  p50/p95/p99 ms per step: "
        + ", ".join(s for s in STEPS if s != "authorize+provider")
    )
    for o in outcomes:
        cells = " | ".join(
            f"{o.steps[s]['p50']:.0f}/{o.steps[s]['p95']:.0f}/{o.steps[s]['p99']:.0f}"
            for s in STEPS
            if s in o.steps and s != "authorize+provider"
        )
        label = f"{o.database}, {o.server}, {o.variant} ({o.flows_ok}/{o.flows})"
        print(f"  {label:<36}{o.flows_per_second:>8.1f}  {cells}")
    print("\n  CPU ms per flow (site + demo server), and the load average around each run:")
    for o in outcomes:
        if o.flows_ok and o.cpu:
            site_ms = o.cpu["site"] / o.flows_ok * 1000
            server_ms = o.cpu["provider"] / o.flows_ok * 1000
            label = f"{o.database}, {o.variant}"
            print(
                f"    {label:<36} {site_ms:6.0f} + {server_ms:4.0f}"
                f"   load {o.load[0]:.1f} -> {o.load[1]:.1f}"
            )
    print("\n  discovery document / JWK Set fetched by the site's workers:")
    for o in outcomes:
        if o.fetches:
            cache = "LocMem (per process)" if o.variant == "LocMem cache" else "Redis (shared)"
            label = f"{o.database}, {o.variant}"
            print(
                f"    {label:<36} {cache:<22} metadata {o.fetches['metadata']}"
                f", JWK Set {o.fetches['jwks']}"
            )
    print("\n  the site's workers after the warm-up and at the end:")
    for o in outcomes:
        for sample in o.memory:
            print(f"    {o.database}, {o.server}, {o.variant}: {memory_line(sample)}")
    failed = [o for o in outcomes if o.problems]
    print(
        f"\n  {len(outcomes)} runs in {seconds:.0f} s: "
        + ("all counts right, no errors" if not failed else f"{len(failed)} FAILED")
    )


if __name__ == "__main__":
    sys.exit(main())
