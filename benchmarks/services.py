"""Throwaway servers for the multi-process benchmarks, on loopback, stopped on exit.

PostgreSQL and MariaDB start through the same scripts CI uses (``.ci/postgres.sh``,
``.ci/mariadb.sh``), so a benchmark measures the database the suite is tested on.
Redis and gunicorn start here. Each is a context manager; leaving it stops the server
and removes its files, whatever happened inside.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from tests.loopback import QuietHandler
from tests.loopback import serving as serving

ROOT = Path(__file__).resolve().parent.parent
DATABASES = ("postgresql", "mariadb", "sqlite")
# The test suite's loopback helpers, shared: a handler answering JSON and quiet, and a
# server in a background thread for the length of a ``with`` block.
JSONHandler = QuietHandler


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(
    port: int, *, timeout: float = 60.0, process: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f} s")


def _keywords(dsn: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in dsn.split())


def _script(name: str, body: str, env: Mapping[str, str] | None = None) -> list[str]:
    result = subprocess.run(
        ["bash", "-c", f"set -euo pipefail; source .ci/{name}.sh; {body}"],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout.splitlines()


@contextmanager
def postgres() -> Iterator[dict[str, str]]:
    """A PostgreSQL 15 cluster; yields libpq keywords (host, port, user, dbname)."""
    dsn, directory = _script(
        "postgres", 'start_postgres >/dev/null; echo "$PG_DSN"; echo "$PG_DIR"'
    )
    try:
        yield _keywords(dsn)
    finally:
        _script("postgres", "stop_postgres", {"PG_DIR": directory})


@contextmanager
def mariadb() -> Iterator[dict[str, str]]:
    """A MariaDB server; yields the same keywords as :func:`postgres`."""
    dsn, directory = _script(
        "mariadb", 'start_mariadb >/dev/null; echo "$MARIADB_DSN"; echo "$MARIADB_DIR"'
    )
    try:
        yield _keywords(dsn)
    finally:
        _script("mariadb", "stop_mariadb", {"MARIADB_DIR": directory})


@contextmanager
def sqlite() -> Iterator[dict[str, str]]:
    """A SQLite file in memory-backed storage where there is one; yields its path."""
    base = "/dev/shm" if os.path.isdir("/dev/shm") else None
    directory = tempfile.mkdtemp(prefix="acfd-bench-", dir=base)
    try:
        yield {"path": os.path.join(directory, "db.sqlite3")}
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@contextmanager
def database(kind: str) -> Iterator[dict[str, str]]:
    starters = {"postgresql": postgres, "mariadb": mariadb, "sqlite": sqlite}
    with starters[kind]() as keywords:
        yield keywords


def django_database(
    kind: str, keywords: Mapping[str, str], *, pool: bool = False
) -> dict[str, object]:
    """A ``DATABASES`` entry for what :func:`database` yielded, as a site would write it."""
    if kind == "sqlite":
        # WAL: readers never wait for the writer, the journal mode a site under
        # several processes runs SQLite in (the README's SQLite note).
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": keywords["path"],
            "OPTIONS": {"init_command": "PRAGMA journal_mode=WAL;", "timeout": 20},
        }
    common = {
        "NAME": keywords["dbname"],
        "USER": keywords["user"],
        "PASSWORD": keywords.get("password", ""),
        "HOST": keywords["host"],
        "PORT": keywords["port"],
    }
    if kind == "postgresql":
        options: dict[str, object] = {"pool": {"min_size": 2, "max_size": 8}} if pool else {}
        return {"ENGINE": "django.db.backends.postgresql", **common, "OPTIONS": options}
    return {
        "ENGINE": "django.db.backends.mysql",
        **common,
        "OPTIONS": {"charset": "utf8mb4", "isolation_level": "read committed"},
    }


DATABASE_CHOICES = ["memory", "sqlite", "postgresql", "mariadb"]


@contextmanager
def bench_database(kind: str) -> Iterator[str]:
    """``benchmarks/settings.py`` on ``kind`` for the block (``BENCH_DATABASE``):
    SQLite in memory, or a throwaway server. Yields a description for the report."""
    if kind == "memory":
        yield "SQLite in memory"
        return
    with database(kind) as keywords:
        os.environ["BENCH_DATABASE"] = json.dumps(django_database(kind, keywords))
        try:
            yield f"{kind} on loopback"
        finally:
            del os.environ["BENCH_DATABASE"]


def _install(package: str, command: str) -> str:
    found = shutil.which(command) or (
        f"/usr/bin/{command}" if os.path.exists(f"/usr/bin/{command}") else None
    )
    if found:
        return found
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", package],
        check=True,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        stdout=subprocess.DEVNULL,
    )
    found = shutil.which(command)
    if not found:
        raise RuntimeError(f"{package} installed but {command} is not on PATH")
    return found


@contextmanager
def redis() -> Iterator[str]:
    """A Redis server (Debian's ``redis-server``, installed when missing) with no
    persistence; yields its URL."""
    binary = _install("redis-server", "redis-server")
    port = free_port()
    directory = tempfile.mkdtemp(prefix="acfd-redis-")
    process = subprocess.Popen(
        [
            binary,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--dir",
            directory,
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, process=process)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(directory, ignore_errors=True)


@contextmanager
def _serving(
    command: list[str], port: int, env: Mapping[str, str], cwd: Path, log: Path | None
) -> Iterator[str]:
    output = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(
        command, cwd=cwd, env={**os.environ, **env}, stdout=output, stderr=output
    )
    try:
        wait_for_port(port, process=process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if log:
            output.close()  # type: ignore[union-attr]


@contextmanager
def gunicorn(
    wsgi: str,
    env: Mapping[str, str],
    *,
    workers: int = 4,
    threads: int = 1,
    cwd: Path = ROOT,
    log: Path | None = None,
) -> Iterator[str]:
    """``gunicorn`` serving ``wsgi`` (``module:callable``) with ``workers`` processes;
    yields its base URL. ``env`` goes to the workers (``DJANGO_SETTINGS_MODULE``...)."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        wsgi,
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--worker-class",
        "gthread" if threads > 1 else "sync",
        "--timeout",
        "60",
        "--graceful-timeout",
        "5",
        "--log-level",
        "warning",
    ]
    with _serving(command, port, env, cwd, log) as url:
        yield url


@contextmanager
def uvicorn(
    asgi: str,
    env: Mapping[str, str],
    *,
    workers: int = 4,
    cwd: Path = ROOT,
    log: Path | None = None,
) -> Iterator[str]:
    """``uvicorn`` serving ``asgi`` (``module:callable``) with ``workers`` processes (its
    own supervisor); yields its base URL. Django's ASGI handler runs each request's
    synchronous view on a new thread, so a worker serves requests concurrently."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        asgi,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        # Django has no lifespan protocol; without this uvicorn says so in the log.
        "--lifespan",
        "off",
        "--no-access-log",
        # Longer than a client keeps a connection idle here (a person on the provider's
        # pages, seconds under load): with uvicorn's default, 5 s, a request sent as
        # the server closes the idle connection fails with no response.
        "--timeout-keep-alive",
        "75",
        "--timeout-graceful-shutdown",
        "5",
        "--log-level",
        "warning",
    ]
    with _serving(command, port, env, cwd, log) as url:
        yield url


@contextmanager
def app_server(
    server: str,
    project: str,
    env: Mapping[str, str],
    *,
    workers: int = 4,
    threads: int = 1,
    log: Path | None = None,
) -> Iterator[str]:
    """``project``'s application (``example`` serves ``example.wsgi:application`` or
    ``example.asgi:application``) under gunicorn (``server="wsgi"``, ``threads`` per
    worker) or uvicorn (``"asgi"``); yields its base URL."""
    if server == "asgi":
        with uvicorn(f"{project}.asgi:application", env, workers=workers, log=log) as url:
            yield url
    else:
        with gunicorn(
            f"{project}.wsgi:application", env, workers=workers, threads=threads, log=log
        ) as url:
            yield url


SERVERS = ("wsgi", "asgi")
