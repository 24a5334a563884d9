"""Benchmark the hot path: using a stored, valid token.

A site calls ``get_access_token`` (or opens an ``authorized_session``) on every API call
it makes for a user. This measures, side by side in one process and one database:

- the floor: a plain ORM read of the same row, the same SQL the library runs
  (``OAuthToken.objects.filter(user_id=..., provider=...)[:1]``, no decryption);
- ``get_access_token(user, provider)``: that read plus decrypting the token. The
  library has the ORM build the statement once per connection and runs it again
  (``auth_code_flow_django.statements``), so it can cost less than the floor;
- ``authorized_session(user, provider)``: the session, ready to send that token;
- social-auth-app-django's ``UserSocialAuth.extra_data["access_token"]`` read and
  django-allauth's ``SocialToken`` read (``--peers``; ``pip install -e ".[bench]"``),
  which store tokens in clear.

Prints the median time per call over the repeats, the ratio to the floor, and the
queries per call.

    python benchmarks/hot_path.py [--users 1000] [--calls 5000] [--repeats 7] [--peers]
        [--database memory|sqlite|postgresql|mariadb] [--orm-statements]

``--orm-statements`` runs the library's statements as plain ORM queries instead of the
statements it builds once per connection (``auth_code_flow_django.statements``): the
path a Django whose internals they do not recognise takes. Compare the two runs.

``--database`` starts a throwaway server (``benchmarks/services.py``; MariaDB needs
``pip install -e ".[mysql]"``) instead of SQLite in memory, so each call also pays a
round trip on loopback, as on a site.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.services import DATABASE_CHOICES, bench_database  # noqa: E402

FLOOR = "floor: ORM read of the row"


def setup_rows(users: int, peers: bool) -> list[Any]:
    from django.contrib.auth.models import User

    from auth_code_flow_django.flow import TokenResponse
    from auth_code_flow_django.identity import Account
    from auth_code_flow_django.models import OAuthToken

    created = User.objects.bulk_create([User(username=f"user{i}") for i in range(users)])
    for user in created:
        OAuthToken.objects.store(
            user,
            "github",
            TokenResponse(access_token=f"gho_{user.pk:036d}", refresh_token=f"ghr_{user.pk}"),
            # As a connection stores it: the account known, nothing to look up.
            account=Account(str(user.pk), f"octo{user.pk}"),
        )
    if peers:
        from allauth.socialaccount.models import SocialAccount, SocialApp, SocialToken
        from social_django.models import UserSocialAuth

        app = SocialApp.objects.create(provider="github", name="github", client_id="c")
        for user in created:
            account = SocialAccount.objects.create(user=user, provider="github", uid=user.pk)
            SocialToken.objects.create(app=app, account=account, token=f"gho_{user.pk:036d}")
            UserSocialAuth.objects.create(
                user=user,
                provider="github",
                uid=str(user.pk),
                extra_data={"access_token": f"gho_{user.pk:036d}"},
            )
    return list(User.objects.order_by("pk"))


def contestants(peers: bool) -> dict[str, Callable[[Any], str]]:
    from auth_code_flow_django.models import OAuthToken
    from auth_code_flow_django.tokens import authorized_session, get_access_token

    def floor(user: Any) -> str:
        rows = OAuthToken.objects.filter(user_id=user.pk, provider="github").order_by()[:1]
        return next(iter(rows)).access_token_encrypted

    def session(user: Any) -> str:
        return authorized_session(user, "github").bearer_token()

    calls: dict[str, Callable[[Any], str]] = {
        FLOOR: floor,
        "get_access_token": lambda user: get_access_token(user, "github"),
        "authorized_session": session,
    }
    if peers:
        from allauth.socialaccount.models import SocialToken
        from social_django.models import UserSocialAuth

        def social_auth(user: Any) -> str:
            row = UserSocialAuth.objects.get(user_id=user.pk, provider="github")
            return str(row.extra_data["access_token"])

        def allauth(user: Any) -> str:
            row = SocialToken.objects.get(account__user_id=user.pk, account__provider="github")
            return row.token

        calls["social-auth extra_data read"] = social_auth
        calls["allauth SocialToken read"] = allauth
    return calls


def per_call(call: Callable[[Any], str], users: list[Any], calls: int) -> float:
    start = time.perf_counter()
    for index in range(calls):
        call(users[index % len(users)])
    return (time.perf_counter() - start) / calls


def queries_per_call(call: Callable[[Any], str], users: list[Any]) -> float:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        for user in users[:50]:
            call(user)
    return len(queries.captured_queries) / 50


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--calls", type=int, default=5000, help="calls per repeat")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--peers", action="store_true", help="also time allauth, social-auth")
    parser.add_argument("--database", choices=DATABASE_CHOICES, default="memory")
    parser.add_argument(
        "--orm-statements", action="store_true", help="plain ORM queries, not built statements"
    )
    args = parser.parse_args()
    if args.peers:
        os.environ["BENCH_PEERS"] = "1"
    if args.orm_statements:
        os.environ["BENCH_ORM_STATEMENTS"] = "1"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")
    with bench_database(args.database) as where:
        measure(args, where)


def measure(args: argparse.Namespace, where: str) -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    users = setup_rows(args.users, args.peers)
    calls = contestants(args.peers)
    for name, call in calls.items():
        assert call(users[0]), name
        per_call(call, users, 500)  # warm up

    # Interleave the contestants in each repeat so that machine noise hits all alike.
    samples: dict[str, list[float]] = {name: [] for name in calls}
    ratios: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(args.repeats):
        floor_time = per_call(calls[FLOOR], users, args.calls)
        samples[FLOOR].append(floor_time)
        for name, call in calls.items():
            if name == FLOOR:
                continue
            seconds = per_call(call, users, args.calls)
            samples[name].append(seconds)
            ratios[name].append(seconds / floor_time)

    print(
        f"hot path: {args.calls} calls x {args.repeats} repeats over {args.users} users; "
        f"Python {platform.python_version()}, Django {django.get_version()}, "
        f"{platform.machine()} x{os.cpu_count()}, {where}; "
        f"statements: {'plain ORM' if args.orm_statements else 'built'}"
    )
    print(f"{'':<30} {'us/call (median)':>17} {'x floor (median)':>17} {'queries':>8}")
    for name, call in calls.items():
        micro = statistics.median(samples[name]) * 1e6
        ratio = statistics.median(ratios[name]) if ratios[name] else 1.0
        print(f"{name:<30} {micro:>17.1f} {ratio:>17.2f} {queries_per_call(call, users):>8.1f}")


if __name__ == "__main__":
    main()
