"""The documentation's code is true: its Python blocks run, the tutorial's site works,
the key migration it describes keeps every token, and the tests it cites exist.

Each Python block in ``docs/`` and the README is preceded by a marker line that
GitHub does not show (``<!-- test: ... -->`` in Markdown pages, ``.. test: ...`` and a
blank line before a reStructuredText ``code-block``):

- ``exec``: run in a fresh namespace (imports and names must exist);
- ``settings``: run, then used as settings: ``manage.py check`` must report nothing
  about this app and every provider must build;
- ``file <path> append|replace|create``: a file of the tutorial's site (any language);
- ``compile (reason)``: a fragment that cannot run alone; it must still compile.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import io
import json
import os
import re
import shlex
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from cryptography.fernet import Fernet
from django.contrib.auth.models import User
from django.core.checks import run_checks
from django.core.management import call_command
from django.test import override_settings

from auth_code_flow_django import conf, crypto
from auth_code_flow_django.crypto import TokenDecryptionError
from auth_code_flow_django.models import OAuthToken
from auth_code_flow_django.providers import get_providers

from .conftest import make_token

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
KINDS = ("exec", "settings", "file", "compile")

pytestmark = pytest.mark.skipif(not DOCS.is_dir(), reason="needs the repository's docs/")

MARKER = re.compile(r"^\s*(?:<!--|\.\.)\s*test:\s*(?P<spec>.*?)\s*(?:-->)?\s*$")
FENCE = re.compile(r"^(?P<indent>\s*)```(?P<lang>[\w+-]*)\s*$")
RST_CODE = re.compile(r"^(?P<indent>\s*)\.\. code-block:: (?P<lang>[\w+-]+)\s*$")


@dataclass
class Block:
    path: Path
    line: int
    lang: str
    code: str
    marker: list[str]

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def marker_before(lines: list[str], index: int) -> list[str]:
    match = MARKER.match(lines[index - 1]) if index else None
    return shlex.split(match["spec"]) if match else []


def read_rst_blocks(path: Path) -> Iterator[Block]:
    """``.. code-block::`` directives, marked by a ``.. test: ...`` comment before them."""
    lines = path.read_text(encoding="utf-8").splitlines()
    for index, line in enumerate(lines):
        directive = RST_CODE.match(line)
        if not directive:
            continue
        body = []
        for following in lines[index + 1 :]:
            if following.strip() and len(following) - len(following.lstrip()) <= len(
                directive["indent"]
            ):
                break
            body.append(following)
        marker = lines[index - 2] if index >= 2 and not lines[index - 1].strip() else ""
        yield Block(
            path=path,
            line=index + 1,
            lang=directive["lang"],
            code=textwrap.dedent("\n".join(body)).strip("\n") + "\n",
            marker=marker_before([marker], 1),
        )


def read_blocks(path: Path) -> Iterator[Block]:
    if path.suffix == ".rst":
        yield from read_rst_blocks(path)
        return
    lines = path.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        fence = FENCE.match(lines[index])
        if not fence or not fence["lang"]:
            index += 1
            continue
        start = index
        indent = fence["indent"]
        index += 1
        body = []
        while index < len(lines) and lines[index].rstrip() != f"{indent}```":
            body.append(lines[index])
            index += 1
        yield Block(
            path=path,
            line=start + 1,
            lang=fence["lang"],
            code=textwrap.dedent("\n".join(body)) + "\n",
            marker=marker_before(lines, start),
        )
        index += 1


def all_blocks() -> list[Block]:
    paths = [ROOT / "README.md", *sorted(DOCS.rglob("*.md")), *sorted(DOCS.rglob("*.rst"))]
    return [block for path in paths if path.is_file() for block in read_blocks(path)]


def python_blocks(kind: str | None = None) -> list[Any]:
    return [
        pytest.param(block, id=block.id)
        for block in all_blocks()
        if block.lang == "python" and (kind is None or block.marker[:1] == [kind])
    ]


def find_block(page: str, needle: str) -> Block:
    (block,) = [b for b in read_blocks(DOCS / page) if needle in b.code]
    return block


def fake_environ(code: str) -> dict[str, str]:
    """A value for each ``os.environ["NAME"]`` the code reads (a Fernet key for keys)."""
    names = re.findall(r"os\.environ\[\"(\w+)\"\]", code)
    return {
        name: Fernet.generate_key().decode() if name.endswith("KEY") else f"test-{name.lower()}"
        for name in names
    }


def run_block(block: Block, environ: dict[str, str] | None = None) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": "docs_example"}
    code = compile(block.code, block.id, "exec")
    with pytest.MonkeyPatch.context() as patch:
        for name, value in (environ or fake_environ(block.code)).items():
            patch.setenv(name, value)
        exec(code, namespace)  # noqa: S102 - the documentation's own examples
    return namespace


def test_docs_have_python_examples() -> None:
    assert len(python_blocks()) >= 10


@pytest.mark.parametrize("block", python_blocks())
def test_python_block_is_marked_and_compiles(block: Block) -> None:
    hint = f"{block.id}: precede the block with a '<!-- test: {'|'.join(KINDS)} -->' line"
    assert block.marker, hint
    assert block.marker[0] in KINDS, hint
    compile(block.code, block.id, "exec")


@pytest.mark.parametrize("block", python_blocks("exec"))
def test_exec_block_runs(block: Block, db: Any) -> None:
    with contextlib.redirect_stdout(io.StringIO()):
        run_block(block)


@pytest.mark.parametrize("block", python_blocks("settings"))
def test_settings_block_passes_the_checks(block: Block) -> None:
    namespace = run_block(block)
    values = {name: value for name, value in namespace.items() if name.isupper()}
    assert values, f"{block.id} defines no setting"
    with override_settings(**values):
        problems = [m for m in run_checks() if m.id and m.id.startswith("auth_code_flow_django.")]
        assert problems == []
        get_providers()


def test_moving_to_explicit_keys_as_documented(user: User) -> None:
    page = "howto/rotating-keys.md"
    make_token(user, access_token="access-before-move", refresh_token="refresh-before-move")

    # Step 1: print the keys derived from SECRET_KEY and SECRET_KEY_FALLBACKS.
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        run_block(find_block(page, "derive_key"))
    derived = printed.getvalue().split()
    assert derived == [
        crypto.derive_key("tests-secret-key-not-for-production-0123456789abcdef").decode()
    ]

    # Step 2: the new key first, then the derived key.
    new_key = Fernet.generate_key().decode()
    step2 = find_block(page, "AUTH_CODE_FLOW_ENCRYPTION_KEYS = [")
    keys = run_block(
        step2, {"AUTH_CODE_FLOW_KEY": new_key, "AUTH_CODE_FLOW_DERIVED_KEY": derived[0]}
    )["AUTH_CODE_FLOW_ENCRYPTION_KEYS"]
    assert keys == [new_key, derived[0]]

    # What the page warns about: the new key alone reads nothing stored before.
    with (
        override_settings(AUTH_CODE_FLOW_ENCRYPTION_KEYS=[new_key]),
        pytest.raises(TokenDecryptionError),
    ):
        _ = OAuthToken.objects.get().access_token

    with override_settings(AUTH_CODE_FLOW_ENCRYPTION_KEYS=keys):
        token = OAuthToken.objects.get()
        assert token.access_token == "access-before-move"
        # Step 3: re-encrypt.
        call_command("oauth_rotate_keys", stdout=io.StringIO())
        token.refresh_from_db()
        assert crypto.is_current(token.access_token_encrypted)
        assert crypto.is_current(token.refresh_token_encrypted)

    # Step 4: the derived key is gone, and SECRET_KEY no longer matters.
    with override_settings(
        AUTH_CODE_FLOW_ENCRYPTION_KEYS=[new_key], SECRET_KEY="a-completely-new-secret-key"
    ):
        token = OAuthToken.objects.get()
        assert token.access_token == "access-before-move"
        assert token.refresh_token == "refresh-before-move"


# -- the tutorial, run as written -------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert match, html
    return match[1]


SITE = "127.0.0.1:8000"  # the tutorial's site and demo server; the test uses free ports
SERVER = "localhost:9000"
CHECKOUT = "/path/to/auth-code-flow-django"


@dataclass
class Tutorial:
    """docs/tutorial.md run in order as a reader would: its ``shell terminal-N`` blocks
    line by line (each terminal keeps its directory), its ``file`` blocks written into
    the site. Servers run in the
    background on free ports; the checkout is this repository."""

    folder: Path
    env: dict[str, str]
    site_port: int = dataclasses.field(default_factory=free_port)
    server_port: int = dataclasses.field(default_factory=free_port)
    servers: dict[str, subprocess.Popen[bytes]] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        self.terminals = {"terminal-1": self.folder, "terminal-2": self.folder}
        self.terminal = "terminal-1"

    @property
    def cwd(self) -> Path:
        """Where the current terminal is."""
        return self.terminals[self.terminal]

    @property
    def site(self) -> str:
        return f"http://127.0.0.1:{self.site_port}"

    @property
    def server(self) -> str:
        return f"http://localhost:{self.server_port}"

    def localize(self, text: str) -> str:
        text = text.replace(SITE, f"127.0.0.1:{self.site_port}")
        text = text.replace(SERVER, f"localhost:{self.server_port}")
        return text.replace(CHECKOUT, str(ROOT))

    def write(self, block: Block) -> None:
        _, relative, mode = block.marker
        target = self.folder / "mysite" / relative
        code = self.localize(block.code)
        if mode == "append":
            target.write_text(target.read_text() + "\n" + code)
        else:
            assert target.exists() == (mode == "replace"), block.id
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(code)

    def serve(self, name: str, args: list[str], env: dict[str, str], port: int) -> None:
        from .e2e.servers import wait_for_port

        self.stop(name)
        log = self.folder / f"{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                args, cwd=self.cwd, env=env, stdout=out, stderr=subprocess.STDOUT
            )
        self.servers[name] = process
        wait_for_port(port, process, log)

    def stop(self, name: str) -> None:
        process = self.servers.pop(name, None)
        if process:
            process.terminate()
            process.wait(timeout=10)

    def manage(self, *args: str) -> str:
        """``manage.py`` of the site, outside the page's commands; what it printed."""
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    def run(self, line: str) -> str:
        """One command line of the page; returns what it printed."""
        words = shlex.split(self.localize(line))
        env = dict(self.env)
        while words and re.match(r"^[A-Z_]+=", words[0]):
            name, value = words.pop(0).split("=", 1)
            env[name] = value
        match words:
            case ["cd", folder]:
                self.terminals[self.terminal] = self.cwd / folder
                return ""
            case ["export", assignment]:
                name, value = assignment.split("=", 1)
                self.env[name] = value
                return ""
            case ["django-admin", *args]:
                command = [sys.executable, "-m", "django", *args]
            case ["python", "manage.py", "runserver"]:
                args = [sys.executable, "manage.py", "runserver", self.site[7:], "--noreload"]
                self.serve("site", args, env, self.site_port)
                return ""
            case ["python", "manage.py", "createsuperuser", *args]:
                env["DJANGO_SUPERUSER_PASSWORD"] = "tutorial-admin-password"
                command = [sys.executable, "manage.py", "createsuperuser", *args, "--noinput"]
            case ["python", "example_project/manage.py", "demo", *args]:
                # Its own database, not the checkout's example_project/provider.sqlite3.
                env["PROVIDER_DATABASE"] = str(self.folder / "provider.sqlite3")
                command = [sys.executable, "example_project/manage.py", "demo", *args]
                self.serve("demo server", command, env, self.server_port)
                return ""
            case ["python", *args]:
                command = [sys.executable, *args]
            case _:
                raise AssertionError(f"the test does not know how to run {line!r}")
        result = subprocess.run(command, cwd=self.cwd, env=env, capture_output=True, text=True)
        assert result.returncode == 0, f"{line}: {result.stdout}{result.stderr}"
        return result.stdout

    def steps(self) -> Iterator[tuple[str, str]]:
        """Runs the page; yields (command, output) after each command line."""
        for block in read_blocks(DOCS / "tutorial.md"):
            if block.marker[:1] == ["file"]:
                self.write(block)
            elif block.marker[:1] == ["shell"]:
                self.terminal = block.marker[1]
                for line in block.code.splitlines():
                    if line.strip():
                        yield line, self.run(line)
            else:
                assert block.lang != "sh" or block.marker[:1] == ["skip"], block.id


def submit(browser: requests.Session, page: requests.Response, **fields: str) -> Any:
    from .e2e.servers import forms

    (form,) = [f for f in forms(page.text) if "password" in f["fields"] or "allow" in fields]
    action = urljoin(page.url, str(form["action"]) or page.url)
    data = {**form["fields"], **fields}  # type: ignore[dict-item]
    return browser.post(action, data=data, allow_redirects=False, timeout=30)


def press_connect(browser: requests.Session, site: str, slug: str) -> requests.Response:
    """Press Connect beside ``slug`` on the connections page; the reply (a redirect)."""
    page = browser.get(f"{site}/oauth/", timeout=30)
    assert page.status_code == 200
    assert f'action="/oauth/{slug}/authorize/"' in page.text
    return browser.post(
        f"{site}/oauth/{slug}/authorize/",
        data={"csrfmiddlewaretoken": csrf_token(page.text)},
        allow_redirects=False,
        timeout=30,
    )


def connect_at_demo_server(browser: requests.Session, tutorial: Tutorial, slug: str) -> None:
    """Connect ``slug``: log in at the demo server as alice if asked, and authorize."""
    response = press_connect(browser, tutorial.site, slug)
    assert response.status_code == 302, response.text
    assert response.headers["Location"].startswith(f"{tutorial.server}/o/authorize/?")
    page = browser.get(response.headers["Location"], timeout=30)
    if "/accounts/login/" in page.url:
        page = submit(browser, page, username="alice", password="alice-demo-password")
        assert page.status_code == 302, page.text[:300]
        page = browser.get(urljoin(page.url, page.headers["Location"]), timeout=30)
    assert 'name="allow"' in page.text, page.text[:300]
    # The consent page names the client by the site it sends users back to.
    assert f"the site at {tutorial.site}" in page.text, page.text[:500]
    back = submit(browser, page, allow="Authorize")
    assert back.status_code == 302
    assert back.headers["Location"].startswith(f"{tutorial.site}/oauth/{slug}/callback/?")
    done = browser.get(back.headers["Location"], allow_redirects=False, timeout=30)
    assert done.status_code == 302, done.text[:500]
    assert done.headers["Location"] == "/oauth/"


def log_in_to_site(browser: requests.Session, site: str) -> None:
    # Logged out: /oauth/ sends you to the login page, which exists.
    response = browser.get(f"{site}/oauth/", allow_redirects=False, timeout=10)
    assert response.status_code == 302
    assert response.headers["Location"] == "/accounts/login/?next=/oauth/"
    response = browser.get(site + response.headers["Location"], timeout=10)
    assert response.status_code == 200
    response = browser.post(
        f"{site}/accounts/login/",
        data={
            "csrfmiddlewaretoken": csrf_token(response.text),
            "username": "admin",
            "password": "tutorial-admin-password",
            "next": "/oauth/",
        },
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302, response.text
    assert response.headers["Location"] == "/oauth/"


@pytest.fixture
def tutorial(tmp_path: Path) -> Iterator[Tutorial]:
    env = {
        k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE", "PYTHONPATH"}
    }
    tutorial = Tutorial(tmp_path, env)
    try:
        yield tutorial
    finally:
        for name in list(tutorial.servers):
            tutorial.stop(name)


# Run in the tutorial's site by ``manage.py shell``: the demo API as each connection.
TUTORIAL_API_CALL = """
import json
from django.contrib.auth import get_user_model
from auth_code_flow_django.tokens import authorized_session
admin = get_user_model().objects.get(username="admin")
print(json.dumps({{
    slug: authorized_session(admin, slug).get("{0}/api/me/", timeout=10).json()["username"]
    for slug in ("demo", "demo-openid")
}}))
"""


@pytest.mark.live
def test_tutorial_as_written(tutorial: Tutorial) -> None:
    """Every command of the tutorial, in order, then what it says happens."""
    steps = tutorial.steps()
    browser = requests.Session()
    browser.trust_env = False
    commands = []
    for command, _output in steps:
        commands.append(command)
        if command == "python manage.py runserver":
            break
    assert commands[0] == f"cd {CHECKOUT}"
    assert "startproject" in commands[2]

    # 4. By endpoints: the connect flow through the demo server's real pages.
    log_in_to_site(browser, tutorial.site)
    connect_at_demo_server(browser, tutorial, "demo")

    # 5. By issuer: the discovered configuration, then the OpenID Connect flow.
    command, output = next(steps)
    assert command == "python manage.py oauth_providers --provider demo-openid --check"
    assert f"{tutorial.server}/o/token/" in output
    assert "discovery" in output
    assert "has a key to verify ID tokens" in output
    connect_at_demo_server(browser, tutorial, "demo-openid")
    page = browser.get(f"{tutorial.site}/oauth/", timeout=30).text
    assert page.count('data-status="active"') == 2
    # The profile scope the page asks for puts the user name in the ID token.
    assert "Connected as <strong>alice</strong>" in page
    connections = json.loads(tutorial.manage("oauth_connections", "--format", "json"))
    assert sorted((c["user"], c["provider"]) for c in connections) == [
        ("admin", "demo"),
        ("admin", "demo-openid"),
    ]
    # Both entries may call the demo server's API with the user's token.
    called = tutorial.manage("shell", "-c", TUTORIAL_API_CALL.format(tutorial.server))
    assert json.loads(called.splitlines()[-1]) == {"demo": "alice", "demo-openid": "alice"}

    # 6. GitHub: the exports, the setting, the site served again.
    assert [command for command, _output in steps] == [
        "export GITHUB_CLIENT_ID=your-client-id",
        "export GITHUB_CLIENT_SECRET=your-client-secret",
        "python manage.py runserver",
    ]
    response = press_connect(browser, tutorial.site, "github")
    assert response.status_code == 302, response.text
    location = urlsplit(response.headers["Location"])
    assert (location.scheme, location.netloc, location.path) == (
        "https",
        "github.com",
        "/login/oauth/authorize",
    )
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert query["client_id"] == "your-client-id"
    assert query["redirect_uri"] == f"{tutorial.site}/oauth/github/callback/"
    assert query["response_type"] == "code"
    assert query["scope"] == "read:user"
    assert query["code_challenge_method"] == "S256"
    assert len(query["state"]) >= 43


def test_tutorial_shell_blocks_are_all_run_or_skipped() -> None:
    blocks = [b for b in read_blocks(DOCS / "tutorial.md") if b.lang == "sh"]
    assert [b.marker[:1] for b in blocks] == [["skip"]] + [["shell"]] * 6
    assert {b.marker[1] for b in blocks[1:]} == {"terminal-1", "terminal-2"}
    lines = [line for b in blocks[1:] for line in b.code.splitlines() if line.strip()]
    assert len(lines) == 11


# -- beside django-allauth, as the how-to page builds it ---------------------------------

# Run in the page's site by ``manage.py shell``: a user logs in through allauth's login
# form, connects GitHub through this app (GitHub's token endpoint and API mocked), then
# starts allauth's GitHub login; prints what happened.
ALLAUTH_SITE_SCRIPT = """
import json
from urllib.parse import parse_qs, urlsplit

import responses
from django.apps import apps
from django.test import Client
from django.test.utils import setup_test_environment
from django.urls import reverse

from auth_code_flow_django.models import OAuthToken

setup_test_environment()
client = Client()
seen = {}
seen["urls"] = [
    reverse("account_login"),
    reverse("github_login"),
    reverse("auth_code_flow:connections"),
    reverse("auth_code_flow:callback", args=["github"]),
]
models = {model._meta.label: model._meta.db_table for model in apps.get_models()}
seen["models"] = sorted(models)
seen["tables"] = sorted(set(models.values()))
seen["logged out"] = client.get("/oauth/")["Location"]
page = client.get("/accounts/login/")
seen["login page"] = [page.status_code, page.templates[0].name]
done = client.post(
    "/accounts/login/",
    {"login": "admin", "password": "side-by-side-password", "next": "/oauth/"},
)
seen["logged in"] = [done.status_code, done["Location"]]
to_github = urlsplit(client.post("/oauth/github/authorize/")["Location"])
query = {k: v[0] for k, v in parse_qs(to_github.query).items()}
seen["connect"] = [to_github.netloc + to_github.path, query["redirect_uri"], query["scope"]]
with responses.RequestsMock(assert_all_requests_are_fired=False) as github:
    github.post(
        "https://github.com/login/oauth/access_token",
        json={"access_token": "gho_side_by_side", "token_type": "bearer", "scope": "repo"},
    )
    github.get("https://api.github.com/user", json={"id": 1, "login": "octocat"})
    back = client.get("/oauth/github/callback/", {"code": "code-1", "state": query["state"]})
seen["callback"] = [back.status_code, back["Location"]]
token = OAuthToken.objects.get()
seen["token"] = [token.user.username, token.provider, token.access_token, token.scope]
login = client.post("/accounts/github/login/")
to_github = urlsplit(login["Location"])
query = {k: v[0] for k, v in parse_qs(to_github.query).items()}
seen["allauth login"] = [to_github.netloc + to_github.path, query["redirect_uri"]]
print(json.dumps(seen))
"""


def test_side_by_side_with_allauth(tmp_path: Path) -> None:
    pytest.importorskip("allauth")
    env = {
        k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE", "PYTHONPATH"}
    }
    env.update(
        GITHUB_LOGIN_CLIENT_ID="login-client-id",
        GITHUB_LOGIN_CLIENT_SECRET="login-client-secret",
        GITHUB_CLIENT_ID="api-client-id",
        GITHUB_CLIENT_SECRET="api-client-secret",
        DJANGO_SUPERUSER_USERNAME="admin",
        DJANGO_SUPERUSER_EMAIL="admin@example.com",
        DJANGO_SUPERUSER_PASSWORD="side-by-side-password",
    )

    def manage(*args: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=tmp_path / "mysite",
            env=env,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, f"{args}: {result.stdout}{result.stderr}"
        return result.stdout + result.stderr

    subprocess.run([sys.executable, "-m", "django", "startproject", "mysite"], cwd=tmp_path)
    site = Tutorial(tmp_path, env)
    blocks = [b for b in read_blocks(DOCS / "howto" / "with-allauth.md") if b.marker]
    assert [b.marker for b in blocks] == [
        ["file", "mysite/settings.py", "append"],
        ["file", "mysite/urls.py", "replace"],
    ]
    for block in blocks:
        site.write(block)

    assert "System check identified no issues (0 silenced)." in manage("check")
    manage("migrate", "--noinput")
    applied = manage("showmigrations", "account", "socialaccount", "auth_code_flow_django")
    assert "[ ]" not in applied
    assert "auth_code_flow_django" in applied
    assert "socialaccount" in applied
    manage("createsuperuser", "--noinput")

    seen = json.loads(manage("shell", "-c", ALLAUTH_SITE_SCRIPT).strip().splitlines()[-1])
    assert seen["urls"] == [
        "/accounts/login/",
        "/accounts/github/login/",
        "/oauth/",
        "/oauth/github/callback/",
    ]
    # Both apps' models, each with its own table.
    assert {
        "account.EmailAddress",
        "socialaccount.SocialToken",
        "auth_code_flow_django.OAuthToken",
        "auth_code_flow_django.OAuthState",
    } <= set(seen["models"])
    assert len(seen["tables"]) == len(seen["models"])
    assert seen["logged out"] == "/accounts/login/?next=/oauth/"
    assert seen["login page"] == [200, "account/login.html"]
    assert seen["logged in"] == [302, "/oauth/"]
    assert seen["connect"] == [
        "github.com/login/oauth/authorize",
        "http://testserver/oauth/github/callback/",
        "repo",
    ]
    assert seen["callback"] == [302, "/oauth/"]
    assert seen["token"] == ["admin", "github", "gho_side_by_side", "repo"]
    assert seen["allauth login"] == [
        "github.com/login/oauth/authorize",
        "http://testserver/accounts/github/login/callback/",
    ]


# -- the security model cites tests that exist -------------------------------------------


def cited_tests() -> list[tuple[str, str]]:
    """(file, test) pairs cited by docs/security.md; ``::name`` continues the last file."""
    text = (DOCS / "security.md").read_text(encoding="utf-8")
    cited: list[tuple[str, str]] = []
    current = ""
    for match in re.finditer(r"`((?:e2e/)?(?:test_\w+\.py)?)(?:::(\w+))?`", text):
        path, name = match.groups()
        if path:
            current = path
        if name:
            assert current, f"::{name} cited before any file"
            cited.append((current, name))
        elif path:
            cited.append((path, ""))
    return cited


def test_security_page_cites_tests() -> None:
    assert len(cited_tests()) >= 30


@pytest.mark.parametrize(("path", "name"), cited_tests())
def test_security_page_citation_exists(path: str, name: str) -> None:
    source = ROOT / "tests" / path
    assert source.is_file(), f"docs/security.md cites {path}, which does not exist"
    if name:
        assert re.search(rf"^(async )?def {name}\(", source.read_text(), re.MULTILINE), (
            f"docs/security.md cites {path}::{name}, which does not exist"
        )


def test_checks_page_lists_every_check_id() -> None:
    import auth_code_flow_django.checks as checks
    from auth_code_flow_django.checks import provider_urls

    package = Path(checks.__file__).parent
    source = "".join(path.read_text(encoding="utf-8") for path in sorted(package.glob("*.py")))
    used = {
        f"auth_code_flow_django.E{int(n):03d}" for n in re.findall(r"check_id\((\d+)\)", source)
    }
    used |= set(re.findall(r"auth_code_flow_django\.[EW]\d{3}", source))
    # Endpoint URL problems map to ids through a table.
    used |= {
        f"auth_code_flow_django.E{number:03d}"
        for number, _hint in provider_urls._URL_PROBLEMS.values()
    }
    page = (DOCS / "reference" / "checks.md").read_text(encoding="utf-8")
    assert set(re.findall(r"auth_code_flow_django\.[EW]\d{3}", page)) == used


def test_readme_links_point_to_files() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", readme)
    local = [link for link in links if "://" not in link]
    assert len(local) >= 15
    assert [link for link in local if not (ROOT / link).exists()] == []


GITHUB = {"github": {"preset": "github", "client_id": "id", "client_secret": "secret"}}


@override_settings(OAUTH_PROVIDERS=GITHUB)
def test_calling_apis_view_as_documented(user: User, other_user: User) -> None:
    import responses
    from django.test import RequestFactory

    view = run_block(find_block("howto/calling-apis.md", "def github_repos"))
    rendered: list[tuple[str, dict[str, Any] | None, int]] = []
    view["render"] = lambda request, template, context=None, status=200: rendered.append(
        (template, context, status)
    )
    make_token(user, "github", access_token="gho_documented_token_0001")
    request = RequestFactory().get("/repos/")

    with responses.RequestsMock() as mock:
        api = mock.get("https://api.github.com/user/repos", json=[{"name": "hello"}])
        request.user = user
        view["github_repos"](request)
        assert api.calls[0].request.headers["Authorization"] == (
            "Bearer gho_documented_token_0001"
        )
    assert rendered == [("repos.html", {"repos": [{"name": "hello"}]}, 200)]

    request.user = other_user
    response = view["github_repos"](request)
    assert response.status_code == 302
    assert response["Location"] == "/oauth/github/authorize/"


# -- the pages read as source, on GitHub or in an editor ---------------------------------

# What only Sphinx understands, and GitHub shows raw: MyST roles, MyST comments (test
# markers once were), MyST targets, colon fences; reStructuredText roles.
MYST_ONLY = re.compile(
    r"\{(?:py:)?(?:doc|ref|numref|term|eq|download|any|setting|mod|func|class|meth|attr"
    r"|exc|data|obj)\}`"
    r"|^\s*%"
    r"|^\s*\([\w-]+\)=\s*$"
    r"|^\s*:::"
)
RST_ONLY = re.compile(
    r":(?:py:)?(?:doc|ref|numref|term|any|setting|mod|func|class|meth|attr|exc|data|obj):`"
)


def sphinx_only_syntax(path: Path) -> list[str]:
    """``line: text`` for each line outside code that GitHub would show raw."""
    found = []
    lines = path.read_text(encoding="utf-8").splitlines()
    in_code, code_indent = False, -1
    for number, line in enumerate(lines, 1):
        indent = len(line) - len(line.lstrip())
        if path.suffix == ".md":
            if FENCE.match(line) or re.match(r"^\s*```\{", line) or line.strip() == "```":
                in_code = not in_code
                continue
            pattern = MYST_ONLY
        else:
            if in_code and (not line.strip() or indent > code_indent):
                continue
            in_code = bool(RST_CODE.match(line) or line.rstrip().endswith("::"))
            code_indent = indent
            pattern = RST_ONLY
        if not in_code and pattern.search(line):
            found.append(f"{number}: {line.strip()}")
    return found


def source_pages() -> list[Path]:
    extra = [ROOT / "README.md", ROOT / "CHANGELOG.md", ROOT / "example_project" / "README.md"]
    pages = [*extra, *sorted(DOCS.rglob("*.md")), *sorted(DOCS.rglob("*.rst"))]
    return [page for page in pages if "_build" not in page.parts and page.is_file()]


def test_sphinx_only_syntax_is_found() -> None:
    assert len(source_pages()) >= 25
    page = Path(__file__).with_name("sphinx_only_sample.md")
    try:
        page.write_text(
            "See {doc}`tutorial` and {py:func}`x`.\n"
            "% test: exec\n"
            "(install)=\n"
            "```python\n{doc}`inside a fence is fine`\n```\n"
            "[a link](tutorial.md) and <!-- test: exec --> are fine.\n",
            encoding="utf-8",
        )
        assert sphinx_only_syntax(page) == [
            "1: See {doc}`tutorial` and {py:func}`x`.",
            "2: % test: exec",
            "3: (install)=",
        ]
        rst = page.with_suffix(".rst")
        rst.write_text(
            "See :doc:`x`.\n\n.. code-block:: rst\n\n   :doc:`fine`\n\nAnd :class:`Y`.\n",
            encoding="utf-8",
        )
        assert sphinx_only_syntax(rst) == ["1: See :doc:`x`.", "7: And :class:`Y`."]
    finally:
        page.unlink(missing_ok=True)
        page.with_suffix(".rst").unlink(missing_ok=True)


@pytest.mark.parametrize("page", source_pages(), ids=lambda page: str(page.relative_to(ROOT)))
def test_page_shows_no_sphinx_only_syntax(page: Path) -> None:
    """Every page reads right on GitHub: links instead of roles, hidden test markers."""
    assert sphinx_only_syntax(page) == [], (
        f"{page.relative_to(ROOT)}: use a Markdown link ([text](page.md#anchor)) or a "
        "reStructuredText link (`text <page.md#anchor>`__) and <!-- test: ... --> markers"
    )


@pytest.mark.parametrize("page", sorted(DOCS.glob("reference/*.rst")), ids=lambda page: page.name)
def test_rst_page_renders_without_sphinx(page: Path) -> None:
    """Rendered by plain docutils, as GitHub renders it (problems not shown): no role
    or directive shows as text, and the generated tables are there."""
    core = pytest.importorskip("docutils.core")
    html = core.publish_string(
        page.read_text(encoding="utf-8"),
        writer="html",
        settings_overrides={"report_level": 5, "halt_level": 5, "warning_stream": False},
    ).decode()
    text = re.sub(r"<[^>]+>", " ", html.split("<body>", 1)[1])
    assert re.findall(r":\w+:`|\.\. \w|GENERATED", text) == []
    if "GENERATED" in page.read_text(encoding="utf-8"):
        assert "<table" in html


def load_generator() -> Any:
    spec = importlib.util.spec_from_file_location("acfd_docs", DOCS / "_ext" / "acfd_docs.py")
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_reference_pages_match_the_code() -> None:
    """settings.rst, providers.rst and commands.rst hold what the code defines."""
    generator = load_generator()
    assert generator.stale_pages() == [], f"run: {generator.COMMAND}"
    settings_page = (DOCS / "reference" / "settings.rst").read_text(encoding="utf-8")
    for name in conf.DEFAULTS:
        assert f".. _{name}:\n\n       ``{name}``" in settings_page
    commands_page = (DOCS / "reference" / "commands.rst").read_text(encoding="utf-8")
    assert "``--within SECONDS``" in commands_page
    assert "oauth_connections [--provider PROVIDER] [--user USER] [--active | --expired]" in (
        commands_page
    )
    assert "``-v {0,1,2,3}, --verbosity" not in commands_page


def test_generated_pages_follow_a_new_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    generator = load_generator()
    doc = "Seconds of an example that exists only in this test."
    monkeypatch.setitem(conf.DEFAULTS, "AUTH_CODE_FLOW_EXAMPLE_ONLY", 5)
    monkeypatch.setattr(conf.Settings, "EXAMPLE_ONLY", property(lambda self: 5, doc=doc), False)
    assert generator.stale_pages() == ["docs/reference/settings.rst"]
    page = (DOCS / "reference" / "settings.rst").read_text(encoding="utf-8")
    row = "   * - .. _AUTH_CODE_FLOW_EXAMPLE_ONLY:\n\n       ``AUTH_CODE_FLOW_EXAMPLE_ONLY``\n"
    assert f"{row}     - ``5``\n     - {doc}\n" in (generator.regenerated("app-settings", page))

    monkeypatch.setattr(conf.Settings, "EXAMPLE_ONLY", property(lambda self: 5), False)
    with pytest.raises(generator.MissingDescriptionError, match="AUTH_CODE_FLOW_EXAMPLE_ONLY"):
        generator.stale_pages()
