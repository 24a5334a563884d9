"""Two copies of ``oauth_refresh_tokens`` at once on the run's database (SQLite in a
file, PostgreSQL or MariaDB), in separate OS processes, against a token endpoint on
loopback: between them each due token is refreshed exactly once."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from http.server import ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from auth_code_flow_django.models import OAuthToken

from .conftest import make_token
from .loopback import QuietHandler, serving
from .test_concurrency import run_in_processes

User = get_user_model()

DUE = 40
COPIES = 2


class CountingEndpoint(ThreadingHTTPServer):
    """Answers each refresh grant with ``at:<token>`` and ``<token>+`` after 20 ms (so
    the copies overlap), and counts every refresh token it receives."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _CountingHandler)
        self.seen: Counter[str] = Counter()
        self.lock = threading.Lock()


class _CountingHandler(QuietHandler):
    server: CountingEndpoint

    def do_POST(self) -> None:
        form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
        refresh_token = form["refresh_token"][0]
        with self.server.lock:
            self.server.seen[refresh_token] += 1
        time.sleep(0.02)
        self.reply_json(
            {
                "access_token": f"at:{refresh_token}",
                "refresh_token": f"{refresh_token}+",
                "token_type": "Bearer",
                "expires_in": 3600,
            }
        )


@pytest.fixture
def endpoint() -> Iterator[CountingEndpoint]:
    with serving(CountingEndpoint()) as server:
        yield server


def test_two_copies_at_once_refresh_each_due_token_once(
    shared_db: dict[str, str], endpoint: CountingEndpoint
) -> None:
    expired = timezone.now() - timedelta(seconds=5)
    for index in range(DUE):
        user = User.objects.create_user(f"user{index:02d}")
        make_token(user, refresh_token=f"rt-{index:02d}", expires_at=expired)
    fresh = User.objects.create_user("fresh")
    make_token(fresh, refresh_token="rt-fresh", expires_at=timezone.now() + timedelta(hours=1))
    providers = json.loads(json.dumps(django_settings.OAUTH_PROVIDERS))
    providers["example"]["base_uri"] = f"http://127.0.0.1:{endpoint.server_address[1]}"
    job = {
        "command": ["oauth_refresh_tokens", "--format", "json"],
        "settings": {"OAUTH_PROVIDERS": providers, "AUTH_CODE_FLOW_HTTP_TIMEOUT": 5.0},
    }

    results = run_in_processes(COPIES, job, shared_db)

    assert [r["exit"] for r in results] == [0] * COPIES, results
    summaries = [json.loads(r["stdout"]) for r in results]
    assert sum(s["refreshed"] for s in summaries) == DUE, summaries
    assert all(s["failed"] == 0 for s in summaries), summaries
    # The endpoint saw every due refresh token, each once, and nothing else.
    assert endpoint.seen == Counter({f"rt-{index:02d}": 1 for index in range(DUE)})
    for token in OAuthToken.objects.exclude(user=fresh).select_related("user"):
        index = token.user.get_username().removeprefix("user")
        assert token.refresh_token == f"rt-{index}+"
        assert token.access_token == f"at:rt-{index}"
        assert not token.is_expired
        assert not token.refresh_claim
    assert OAuthToken.objects.get(user=fresh).refresh_token == "rt-fresh"
