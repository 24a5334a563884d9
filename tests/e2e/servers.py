"""Helpers for end-to-end tests: real servers in subprocesses, forms read from HTML."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MANAGE = ROOT / "example_project" / "manage.py"
DEMO_CLIENT_SECRET = "demo-client-secret-not-for-production"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(
    port: int, process: subprocess.Popen[bytes], log: Path, timeout: float = 90
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server did not listen on {port} in {timeout}s:\n{log.read_text()}")


@contextmanager
def manage_py_server(
    args: list[str], port: int, env: dict[str, str], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``manage.py <args>`` (a command that serves on ``port``) until the block ends."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **env}
    full_env.pop("DJANGO_SETTINGS_MODULE", None)
    full_env.update(env)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, str(MANAGE), *args],
            cwd=ROOT,
            env=full_env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for_port(port, process, log)
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


class FormParser(HTMLParser):
    """The forms of a page: action, method and their named inputs' values."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, object]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append({"action": values.get("action", ""), "fields": {}, "submits": []})
        elif tag in ("input", "button") and self.forms:
            fields = self.forms[-1]["fields"]
            assert isinstance(fields, dict)
            if values.get("type") == "submit":
                submits = self.forms[-1]["submits"]
                assert isinstance(submits, list)
                submits.append(values)
            elif "name" in values:
                fields[values["name"]] = values.get("value", "")


def forms(html: str) -> list[dict[str, object]]:
    parser = FormParser()
    parser.feed(html)
    return parser.forms
