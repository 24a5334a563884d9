"""panva's oidc-provider (npm) as a real authorization server on loopback.

Its pinned version and lock file are in ``tests/e2e/oidc_provider/``; when that folder
has no ``node_modules``, ``npm ci`` installs them once into a cache folder named by the
lock file's hash. Without Node.js and npm the tests skip with a reason, or fail when
``AUTH_CODE_FLOW_TEST_REQUIRE`` names ``node`` or ``browser`` (as CI does).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from .servers import free_port, wait_for_port

SOURCE = Path(__file__).parent / "oidc_provider"
FILES = ("package.json", "package-lock.json", "server.mjs")


def _missing(reason: str) -> None:
    required = {p.strip() for p in os.environ.get("AUTH_CODE_FLOW_TEST_REQUIRE", "").split(",")}
    if required & {"node", "browser"}:
        pytest.fail(f"{reason} (required by AUTH_CODE_FLOW_TEST_REQUIRE)")
    pytest.skip(reason)


def installed() -> tuple[str, Path]:
    """The ``node`` executable and a folder with the server and its dependencies."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        _missing("needs Node.js and npm to run oidc-provider (apt-get install npm)")
    assert node is not None
    assert npm is not None
    if (SOURCE / "node_modules" / "oidc-provider").is_dir():
        return node, SOURCE
    lock = (SOURCE / "package-lock.json").read_bytes()
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    folder = (
        base / "auth-code-flow-django" / f"oidc-provider-{hashlib.sha256(lock).hexdigest()[:16]}"
    )
    if not (folder / "node_modules" / "oidc-provider").is_dir():
        folder.mkdir(parents=True, exist_ok=True)
        for name in FILES:
            shutil.copy(SOURCE / name, folder / name)
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if result.returncode != 0:
            _missing(f"npm ci of oidc-provider failed:\n{result.stderr[-2000:]}")
    shutil.copy(SOURCE / "server.mjs", folder / "server.mjs")
    return node, folder


@contextmanager
def oidc_provider(clients: list[dict[str, Any]], log: Path) -> Iterator[str]:
    """Run oidc-provider with ``clients`` until the block ends; yield its issuer."""
    node, folder = installed()
    port = free_port()
    env = {**os.environ, "PORT": str(port), "OIDC_CLIENTS": json.dumps(clients)}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [node, "server.mjs"], cwd=folder, env=env, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            wait_for_port(port, process, log)
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
