"""The example project: valid, set up by one command, real providers from the environment."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from .servers import MANAGE, ROOT

pytestmark = pytest.mark.live


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    return subprocess.run(
        [sys.executable, str(MANAGE), *args],
        cwd=ROOT,
        env={**full_env, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("settings_module", ["example.settings", "example.settings_provider"])
def test_system_checks_pass(settings_module: str, tmp_path: Path) -> None:
    result = manage(
        "check",
        "--fail-level",
        "WARNING",
        env={
            "DJANGO_SETTINGS_MODULE": settings_module,
            "EXAMPLE_DATABASE": str(tmp_path / "db.sqlite3"),
        },
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_demo_setup_creates_users_and_the_client(tmp_path: Path) -> None:
    database = tmp_path / "db.sqlite3"
    env = {"EXAMPLE_DATABASE": str(database)}
    for _ in range(2):  # idempotent
        result = manage("demo", "127.0.0.1:8765", "--setup-only", env=env)
        assert result.returncode == 0, result.stderr
    assert "http://127.0.0.1:8765/" in result.stdout
    assert "alice / alice-demo-password" in result.stdout
    with sqlite3.connect(database) as db:
        users = {row[0] for row in db.execute("SELECT username FROM auth_user")}
        clients = list(
            db.execute(
                "SELECT client_id, redirect_uris, client_secret FROM oauth2_provider_application"
            )
        )
    assert users == {"alice", "bob", "admin"}
    assert len(clients) == 1
    client_id, redirect_uris, stored_secret = clients[0]
    assert client_id == "demo-client"
    assert redirect_uris.split() == [
        "http://127.0.0.1:8765/oauth/demo/callback/",
        "http://127.0.0.1:8765/oauth/demo-openid/callback/",
    ]
    assert stored_secret != "demo-client-secret-not-for-production"  # hashed by the server


def test_real_providers_are_enabled_by_environment_variables(tmp_path: Path) -> None:
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        "print(json.dumps(sorted(settings.OAUTH_PROVIDERS)))"
    )
    base = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    base.update(
        DJANGO_SETTINGS_MODULE="example.settings",
        PYTHONPATH=str(ROOT / "example_project"),
        EXAMPLE_DATABASE=str(tmp_path / "db.sqlite3"),
    )
    for name in ("GITHUB", "STACKEXCHANGE", "OIDC"):
        base.pop(f"{name}_CLIENT_ID", None)
        base.pop(f"{name}_CLIENT_SECRET", None)
    base.pop("OIDC_ISSUER", None)

    def providers(**extra: str) -> list[str]:
        out = subprocess.run(
            [sys.executable, "-c", code],
            env={**base, **extra},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
        return list(json.loads(out))

    assert providers() == ["demo", "demo-openid"]
    assert providers(GITHUB_CLIENT_ID="i", GITHUB_CLIENT_SECRET="s") == [
        "demo",
        "demo-openid",
        "github",
    ]
    assert providers(
        GITHUB_CLIENT_ID="i",
        GITHUB_CLIENT_SECRET="s",
        STACKEXCHANGE_CLIENT_ID="i",
        STACKEXCHANGE_CLIENT_SECRET="s",
    ) == ["demo", "demo-openid", "github", "stackexchange"]
    assert providers(GITHUB_CLIENT_ID="only-an-id") == ["demo", "demo-openid"]
    assert providers(OIDC_ISSUER="https://idp.example", OIDC_CLIENT_ID="i") == [
        "demo",
        "demo-openid",
        "oidc",
    ]
    assert providers(OIDC_ISSUER="https://idp.example") == ["demo", "demo-openid"]
