"""Locust users that each run complete connect flows against the example site.

One iteration is what a person does in a browser: log in at the site, press Connect
(the ``authorize`` POST with the CSRF token), follow the redirect to the demo server,
log in there, approve, come back to the callback, open the home page (which calls the
demo server's API through ``authorized_session``), read the access token
``BENCH_TOKEN_CALLS`` times more through ``/bench/token/<provider>/`` (one
``get_access_token`` per request, the read behind every API call), and disconnect.
Cookies are cleared between iterations, so both logins are real.

``benchmarks/load.py`` starts the servers and runs this file headless; by hand::

    BENCH_PROVIDER_URL=http://127.0.0.1:8001 BENCH_FLOWS=100 BENCH_RESULTS=out.json \\
        locust -f benchmarks/locustfile.py --headless -u 8 -r 8 --host http://127.0.0.1:8000

Environment: ``BENCH_PROVIDER_URL`` (the demo server), ``BENCH_FLOWS`` (complete flows
to run, then stop), ``BENCH_ACCOUNTS`` (the accounts ``bench0000``... that exist on
both sides, at least as many as users), ``BENCH_PASSWORD``, ``BENCH_PROVIDERS`` (the
site's provider slugs, used in turn: ``demo,demo-openid``), ``BENCH_TOKEN_CALLS``
(token reads per flow, default 0), ``BENCH_RESULTS`` (where to write every step's
duration, every token read's and every error, as JSON).
"""

from __future__ import annotations

import json
import os
import time
from contextlib import contextmanager
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import gevent
from gevent.event import Event
from locust import HttpUser, events, task
from locust.env import Environment
from locust.exception import StopUser

PROVIDER_URL = os.environ.get("BENCH_PROVIDER_URL", "http://127.0.0.1:8001").rstrip("/")
FLOWS = int(os.environ.get("BENCH_FLOWS", "100"))
ACCOUNTS = int(os.environ.get("BENCH_ACCOUNTS", "64"))
PASSWORD = os.environ.get("BENCH_PASSWORD", "bench-password")
PROVIDERS = os.environ.get("BENCH_PROVIDERS", "demo,demo-openid").split(",")
RESULTS = os.environ.get("BENCH_RESULTS", "")
TOKEN_CALLS = int(os.environ.get("BENCH_TOKEN_CALLS", "0"))

#: The steps of one flow, as reported.
STEPS = ("login", "authorize", "provider pages", "callback", "api call", "disconnect")
#: Each token read's duration, reported apart from the steps.
TOKEN_READ = "token read"


class FlowError(Exception):
    """A step did not get the answer a browser would."""


class Forms(HTMLParser):
    """The forms of a page: action and named inputs' values."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append((values.get("action", ""), {}))
        elif tag == "input" and self.forms and "name" in values and values.get("type") != "submit":
            self.forms[-1][1][values["name"]] = values.get("value", "")


def form_of(html: str, index: int = 0) -> tuple[str, dict[str, str]]:
    parser = Forms()
    parser.feed(html)
    if len(parser.forms) <= index:
        raise FlowError(f"no form #{index} on the page: {html[:200]!r}")
    return parser.forms[index]


class Run:
    """What every user of this process shares: flows handed out, samples, errors."""

    def __init__(self) -> None:
        self.handed_out = 0
        self.finished = 0
        self.accounts_taken = 0
        self.samples: dict[str, list[float]] = {step: [] for step in (*STEPS, "flow", TOKEN_READ)}
        self.providers: dict[str, int] = {}
        self.errors: list[dict[str, str]] = []
        self.started: float | None = None
        self.ended: float | None = None
        self.done = Event()

    def next_flow(self) -> int | None:
        if self.handed_out >= FLOWS:
            return None
        self.handed_out += 1
        if self.started is None:
            self.started = time.monotonic()
        return self.handed_out - 1

    def flow_finished(self) -> None:
        self.finished += 1
        if self.finished >= FLOWS:
            self.ended = time.monotonic()
            self.done.set()

    def write(self) -> None:
        if not RESULTS:
            return
        ended = self.ended or time.monotonic()
        with open(RESULTS, "w") as out:
            json.dump(
                {
                    "flows_target": FLOWS,
                    "flows_finished": self.finished,
                    "flows_ok": len(self.samples["flow"]),
                    "seconds": ended - self.started if self.started else 0.0,
                    "samples": self.samples,
                    "providers": self.providers,
                    "errors": self.errors,
                },
                out,
            )


run = Run()


@events.test_start.add_listener
def _watch(environment: Environment, **kwargs: Any) -> None:
    def stop_when_done() -> None:
        run.done.wait()
        assert environment.runner is not None
        environment.runner.quit()

    gevent.spawn(stop_when_done)


@events.quitting.add_listener
def _write(environment: Environment, **kwargs: Any) -> None:
    run.write()
    if run.errors or run.finished < FLOWS:
        environment.process_exit_code = 1


class FlowUser(HttpUser):
    """One person, with an account on the site and one at the demo server."""

    # Each flow straight after the last: the load is the 32 concurrent people.
    wait_time = staticmethod(lambda: 0)

    def on_start(self) -> None:
        if run.accounts_taken >= ACCOUNTS:
            raise FlowError(f"more users than the {ACCOUNTS} bench accounts")
        self.username = f"bench{run.accounts_taken:04d}"
        run.accounts_taken += 1

    @contextmanager
    def step(self, name: str, flow: dict[str, float]) -> Any:
        started = time.perf_counter()
        error: Exception | None = None
        try:
            yield
        except Exception as exc:
            error = exc
            raise
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            flow[name] = elapsed
            self.environment.events.request.fire(
                request_type="STEP",
                name=name,
                response_time=elapsed,
                response_length=0,
                exception=error,
                context={},
            )

    def get(self, url: str, name: str) -> Any:
        return self.client.get(url, name=name, allow_redirects=False, timeout=60)

    def post(self, url: str, data: dict[str, str], name: str) -> Any:
        return self.client.post(url, data=data, name=name, allow_redirects=False, timeout=60)

    def expect(self, response: Any, status: int, what: str) -> Any:
        if response.status_code != status:
            raise FlowError(
                f"{what}: {response.status_code} instead of {status}: {response.text[:300]!r}"
            )
        return response

    def csrf(self) -> str:
        token = self.client.cookies.get("csrftoken", domain=urlsplit(self.host).hostname)
        if not token:
            raise FlowError("no CSRF cookie from the site")
        return str(token)

    @task
    def connect_and_disconnect(self) -> None:
        number = run.next_flow()
        if number is None:
            raise StopUser()
        provider = PROVIDERS[number % len(PROVIDERS)]
        timings: dict[str, float] = {}
        reads: list[float] = []
        started = time.perf_counter()
        try:
            self.flow(provider, timings, reads)
        except Exception as exc:
            # The failed step is the last one timed.
            step = list(timings)[-1] if timings else "login"
            run.errors.append(
                {"user": self.username, "provider": provider, "step": step, "error": repr(exc)}
            )
        else:
            for name, value in timings.items():
                run.samples[name].append(value)
            run.samples[TOKEN_READ] += reads
            # The token reads are not a step of the flow: their time stays out of it.
            run.samples["flow"].append((time.perf_counter() - started) * 1000 - sum(reads))
            run.providers[provider] = run.providers.get(provider, 0) + 1
        finally:
            run.flow_finished()

    def flow(self, provider: str, timings: dict[str, float], reads: list[float]) -> None:
        self.client.cookies.clear()
        site = self.host.rstrip("/")
        with self.step("login", timings):
            page = self.expect(self.get(f"{site}/accounts/login/", "site login page"), 200, "")
            _, fields = form_of(page.text)
            fields.update(username=self.username, password=PASSWORD)
            done = self.post(f"{site}/accounts/login/", fields, "site login")
            self.expect(done, 302, "site login")

        with self.step("authorize", timings):
            to_server = self.post(
                f"{site}/oauth/{provider}/authorize/",
                {"csrfmiddlewaretoken": self.csrf()},
                "site authorize",
            )
            self.expect(to_server, 302, "authorize")
            location = to_server.headers["Location"]
            if not location.startswith(f"{PROVIDER_URL}/o/authorize/?"):
                raise FlowError(f"authorize redirected to {location}")

        with self.step("provider pages", timings):
            to_login = self.expect(self.get(location, "provider authorize"), 302, "provider")
            login_url = urljoin(location, to_login.headers["Location"])
            page = self.expect(self.get(login_url, "provider login page"), 200, "login page")
            _, fields = form_of(page.text)
            fields.update(username=self.username, password=PASSWORD)
            logged_in = self.expect(self.post(login_url, fields, "provider login"), 302, "login")
            consent_url = urljoin(login_url, logged_in.headers["Location"])
            consent = self.expect(self.get(consent_url, "provider consent page"), 200, "consent")
            action, fields = form_of(consent.text)
            fields["allow"] = "Authorize"
            back = self.post(urljoin(consent_url, action), fields, "provider approve")
            self.expect(back, 302, "approve")
            callback = back.headers["Location"]
            if not callback.startswith(f"{site}/oauth/{provider}/callback/?"):
                raise FlowError(f"the provider sent the user to {callback[:200]}")

        with self.step("callback", timings):
            done = self.expect(self.get(callback, f"site callback {provider}"), 302, "callback")
            if done.headers["Location"] != "/oauth/":
                raise FlowError(f"the callback went to {done.headers['Location']}")

        with self.step("api call", timings):
            home = self.expect(self.get(f"{site}/", "site home (api call)"), 200, "home")
            if 'id="api-result"' not in home.text or f"'username': '{self.username}'" not in (
                home.text.replace("&#x27;", "'")
            ):
                raise FlowError(f"the home page did not call the API: {home.text[-600:]!r}")

        for _ in range(TOKEN_CALLS):
            began = time.perf_counter()
            read = self.get(f"{site}/bench/token/{provider}/", "site token read")
            self.expect(read, 200, "token read")
            reads.append((time.perf_counter() - began) * 1000)

        with self.step("disconnect", timings):
            gone = self.post(
                f"{site}/oauth/{provider}/disconnect/",
                {"csrfmiddlewaretoken": self.csrf()},
                f"site disconnect {provider}",
            )
            self.expect(gone, 302, "disconnect")
