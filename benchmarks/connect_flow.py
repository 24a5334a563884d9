"""Benchmark complete connect flows, in process.

Each flow is the two requests a user's browser makes to the site: start the
authorization (our ``authorize`` POST) and come back (``callback``). The provider's
endpoints are mocked with ``responses``, so the network costs nothing and only the
library's own work is measured. Prints flows/s (median of the repeats) and SQL queries
per flow (sessions included).

With ``--hardened``, the flow with PAR, DPoP and ``private_key_jwt`` together (an
ES256 key pair made per connection, a client assertion and a DPoP proof signed for the
push and for the code exchange) runs beside the plain flow against the same mocked
server, and the ratio of their CPU time per flow is printed.

With ``--peers``, django-allauth's connect flow and social-auth-app-django's associate
flow run on the same mocked GitHub endpoints in the same process, and the ratios are
printed. Peers need ``pip install -e ".[bench]"``.

    python benchmarks/connect_flow.py [--flows 100] [--repeats 15] [--peers] [--hardened]
        [--database memory|sqlite|postgresql|mariadb] [--orm-statements]

``--orm-statements`` runs the library's statements as plain ORM queries instead of the
statements it builds once per connection (``auth_code_flow_django.statements``): the
path a Django whose internals they do not recognise takes. Compare the two runs.

``--database`` starts a throwaway server (``benchmarks/services.py``; MariaDB needs
``pip install -e ".[mysql]"``) instead of SQLite in memory. CPU time is this process's
only: the server's work and the round trips are not in it, so the figures compare the
Python each library runs per flow; the statement counts show the rest.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.services import DATABASE_CHOICES, bench_database  # noqa: E402

GITHUB_TOKEN = "https://github.com/login/oauth/access_token"
GITHUB_USER = "https://api.github.com/user"
OURS = "auth-code-flow-django"
FLOOR = "framework floor"
FORM = "application/x-www-form-urlencoded"


def state_from(response: Any) -> str:
    assert response.status_code == 302, response.status_code
    return parse_qs(urlsplit(response["Location"]).query)["state"][0]


def form_post(client: Any, path: str, data: dict[str, str] | None = None) -> Any:
    """POST a form as a browser does (Django's test client sends multipart by default)."""
    return client.post(path, urlencode(data or {}), content_type=FORM)


def floor(client: Any) -> None:
    """Two authenticated requests that do nothing: what any library's flow costs at least."""
    state = state_from(form_post(client, "/floor/"))
    assert client.get("/floor/", {"state": state, "code": "the-code"}).status_code == 302


def ours(client: Any) -> None:
    state = state_from(form_post(client, "/oauth/github/authorize/"))
    done = client.get("/oauth/github/callback/", {"state": state, "code": "the-code"})
    assert done.status_code == 302
    assert done["Location"] == "/oauth/"


BENCH_AS = "https://as.bench.example"
PLAIN = "plain flow"
HARDENED = "PAR+DPoP+private_key_jwt"
_pushed: list[str] = []


def plain(client: Any) -> None:
    state = state_from(form_post(client, "/oauth/plain/authorize/"))
    done = client.get("/oauth/plain/callback/", {"state": state, "code": "the-code"})
    assert done.status_code == 302


def hardened(client: Any) -> None:
    started = form_post(client, "/oauth/hardened/authorize/")
    assert started.status_code == 302
    assert "request_uri=" in started["Location"]
    state = _pushed.pop()
    done = client.get("/oauth/hardened/callback/", {"state": state, "code": "the-code"})
    assert done.status_code == 302


def mock_bench_server(mocked: Any) -> None:
    def push(request: Any) -> tuple[int, dict[str, str], str]:
        assert request.headers["DPoP"]
        _pushed.append(parse_qs(request.body)["state"][0])
        body = {"request_uri": "urn:ietf:params:oauth:request_uri:bench", "expires_in": 60}
        return 201, {"Content-Type": "application/json"}, json.dumps(body)

    def token(request: Any) -> tuple[int, dict[str, str], str]:
        bound = "DPoP" in request.headers
        body = {"access_token": "at-bench", "token_type": "DPoP" if bound else "Bearer"}
        return 200, {"Content-Type": "application/json"}, json.dumps(body)

    mocked.add_callback("POST", f"{BENCH_AS}/par", callback=push)
    mocked.add_callback("POST", f"{BENCH_AS}/token", callback=token)


def allauth(client: Any) -> None:
    state = state_from(form_post(client, "/accounts/github/login/", {"process": "connect"}))
    done = client.get("/accounts/github/login/callback/", {"state": state, "code": "the-code"})
    assert done.status_code == 302
    assert "3rdparty" in done["Location"]


def social_auth(client: Any) -> None:
    state = state_from(form_post(client, "/social/login/github/"))
    done = client.get("/social/complete/github/", {"state": state, "code": "the-code"})
    assert done.status_code == 302


def stored(name: str) -> int | None:
    if name == FLOOR:
        return None
    if name in (OURS, PLAIN, HARDENED):
        from auth_code_flow_django.models import OAuthToken

        slug = {OURS: "github", PLAIN: "plain", HARDENED: "hardened"}[name]
        return OAuthToken.objects.filter(provider=slug).count()
    if name == "django-allauth":
        from allauth.socialaccount.models import SocialToken

        return SocialToken.objects.count()
    from social_django.models import UserSocialAuth

    return UserSocialAuth.objects.count()


def mock_github(mocked: Any) -> None:
    ids = itertools.count(1)

    def user(request: Any) -> tuple[int, dict[str, str], str]:
        uid = next(ids)
        body = {"id": uid, "login": f"octo{uid}", "name": "Octo", "email": None}
        return 200, {"Content-Type": "application/json"}, json.dumps(body)

    mocked.post(
        GITHUB_TOKEN,
        json={"access_token": "gho_benchmark", "token_type": "bearer", "scope": "read:user"},
    )
    mocked.add_callback("GET", GITHUB_USER, callback=user)
    mocked.get(f"{GITHUB_USER}/emails", json=[])


def clients(count: int, prefix: str) -> list[Any]:
    from django.contrib.auth.models import User
    from django.test import Client

    users = User.objects.bulk_create(
        User(username=f"{prefix}{i}", email=f"{prefix}{i}@example.com") for i in range(count)
    )
    result = []
    for user in users:
        client = Client()
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        result.append(client)
    return result


_batches = itertools.count()


def run(flow: Callable[[Any], None], count: int) -> float:
    """CPU seconds this process spent on ``count`` flows, each by a fresh logged-in user.

    CPU time, not wall time: on a shared machine another process's load stretches wall
    time but not the work done here (everything runs in this one thread).
    """
    users = clients(count, f"b{next(_batches)}-")
    # As timeit does: no garbage collection pass lands in one flow's batch and not in
    # another's (a full pass over Django and the peers' objects takes tens of ms).
    gc.collect()
    gc.disable()
    try:
        start = time.process_time()
        for client in users:
            flow(client)
        return time.process_time() - start
    finally:
        gc.enable()


def queries_per_flow(flow: Callable[[Any], None], count: int = 20) -> float:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    users = clients(count, f"q{next(_batches)}-")
    total = 0
    for client in users:
        with CaptureQueriesContext(connection) as queries:
            flow(client)
        total += len(queries.captured_queries)
    return total / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flows", type=int, default=100, help="flows per repeat")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--peers", action="store_true", help="also run allauth, social-auth")
    parser.add_argument("--database", choices=DATABASE_CHOICES, default="memory")
    parser.add_argument(
        "--hardened", action="store_true", help="also run PAR + DPoP + private_key_jwt"
    )
    parser.add_argument(
        "--orm-statements", action="store_true", help="plain ORM queries, not built statements"
    )
    args = parser.parse_args()
    if args.peers:
        os.environ["BENCH_PEERS"] = "1"
    if args.hardened:
        os.environ["BENCH_HARDENED"] = "1"
    if args.orm_statements:
        os.environ["BENCH_ORM_STATEMENTS"] = "1"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")
    with bench_database(args.database) as where:
        measure(args, where)


def measure(args: argparse.Namespace, where: str) -> None:

    import django

    django.setup()
    import responses
    from django.core.management import call_command
    from django.test.utils import setup_test_environment

    setup_test_environment()
    call_command("migrate", verbosity=0)

    flows: dict[str, Callable[[Any], None]] = {FLOOR: floor, OURS: ours}
    if args.peers:
        flows["django-allauth"] = allauth
        flows["social-auth-app-django"] = social_auth
    if args.hardened:
        flows[PLAIN] = plain
        flows[HARDENED] = hardened

    queries: dict[str, float] = {}
    seconds: dict[str, list[float]] = {name: [] for name in flows}
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        mock_github(mocked)
        mock_bench_server(mocked)
        for name, flow in flows.items():
            run(flow, 20)  # warm up imports, caches and connections
            queries[name] = queries_per_flow(flow)
        # Interleaved: each repeat runs every flow once, in a rotating order, so a
        # change in the machine's speed touches all of them alike.
        names = list(flows)
        for repeat in range(args.repeats):
            shift = repeat % len(names)
            for name in names[shift:] + names[:shift]:
                seconds[name].append(run(flows[name], args.flows))
    for name in flows:
        expected = 20 + 20 + args.flows * args.repeats
        assert stored(name) in (None, expected), (name, stored(name), expected)

    print(
        f"{args.flows} flows x {args.repeats} interleaved repeats, Python "
        f"{sys.version.split()[0]}, Django {django.get_version()}, "
        f"{os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), {where}; "
        f"statements: {'plain ORM' if args.orm_statements else 'built'}"
    )
    rate = {
        name: statistics.median(args.flows / t for t in times) for name, times in seconds.items()
    }
    floor_ms = 1000 / rate[FLOOR]
    print(f"{'':<24} {'flows/CPU-s':>12} {'ms/flow':>8} {'above floor':>12} {'queries':>8}")
    for name in flows:
        ms = 1000 / rate[name]
        print(
            f"{name:<24} {rate[name]:>12.1f} {ms:>8.2f} {ms - floor_ms:>9.2f} ms "
            f"{queries[name]:>8.1f}"
        )
    if args.hardened:
        ratios = [h / p for h, p in zip(seconds[HARDENED], seconds[PLAIN], strict=True)]
        print(
            f"{HARDENED} vs the plain flow: {statistics.median(ratios):.2f}x the CPU time "
            f"per flow (median of per-repeat ratios; range {min(ratios):.2f}-"
            f"{max(ratios):.2f}; target within 1.5x)"
        )
    if args.peers:
        peers = [name for name in flows if name not in (OURS, FLOOR, PLAIN, HARDENED)]
        for name in peers:
            ratios = [p / o for p, o in zip(seconds[name], seconds[OURS], strict=True)]
            print(
                f"{OURS} vs {name}: {statistics.median(ratios):.2f}x the flows/s "
                f"(median of per-repeat ratios; range {min(ratios):.2f}-{max(ratios):.2f})"
            )
        # In each repeat, against whichever peer was faster in that repeat.
        fastest = [min(times) for times in zip(*(seconds[name] for name in peers), strict=True)]
        ratios = [p / o for p, o in zip(fastest, seconds[OURS], strict=True)]
        print(
            f"ratio to the faster peer: {statistics.median(ratios):.2f}x flows/s "
            f"(median of per-repeat ratios; range {min(ratios):.2f}-{max(ratios):.2f})"
        )
    print(
        f"{OURS} also does what the peers do not: PKCE, state in the database "
        "(single-use, expiring), tokens encrypted at rest."
    )


if __name__ == "__main__":
    main()
