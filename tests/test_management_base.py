from __future__ import annotations

import re
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import ManagementUtility, load_command_class
from django.core.management.base import OutputWrapper
from django.db import connections
from django.utils import timezone

from auth_code_flow_django.management.base import ProgressBar
from auth_code_flow_django.models import OAuthToken

from .conftest import TOKEN_URL, make_token

User = get_user_model()

COMMANDS = (
    "oauth_connections",
    "oauth_refresh_tokens",
    "oauth_purge_states",
    "oauth_rotate_keys",
    "oauth_providers",
)
#: Each command's exit statuses, as its --help ends (words only, wrapping aside).
EXIT_STATUS = {
    "oauth_connections": [
        "0 success",
        "2 usage error: an unknown option, a bad option value, an unknown provider or "
        "an unknown user",
    ],
    "oauth_refresh_tokens": [
        "0 success",
        "1 some refreshes failed (each one is reported on stderr)",
        "2 usage error: an unknown option, a bad option value, an unknown provider or "
        "a negative --within",
    ],
    "oauth_purge_states": [
        "0 success",
        "2 usage error: an unknown option or a bad option value",
    ],
    "oauth_rotate_keys": [
        "0 success",
        "1 some values could not be decrypted (each one is reported on stderr), or rows "
        "kept changing while they were re-encrypted: run it again",
        "2 usage error: an unknown option, a bad option value or a zero or negative --batch-size",
    ],
    "oauth_providers": [
        "0 success",
        "1 with --check: problems were found (each one is printed)",
        "2 usage error: an unknown option, a bad option value or an unknown provider",
    ],
}
# Options every Django command has; their help is Django's.
DJANGO_OPTIONS = {
    "-h",
    "--version",
    "-v",
    "--settings",
    "--pythonpath",
    "--traceback",
    "--no-color",
    "--force-color",
    "--skip-checks",
}


class Terminal(StringIO):
    def isatty(self) -> bool:
        return True


def cli(*argv: str) -> int:
    """Run ``manage.py *argv`` as cron would; return the exit status."""
    try:
        ManagementUtility(["manage.py", *argv]).execute()
    except SystemExit as exit_:
        return int(exit_.code or 0)
    return 0


@pytest.fixture
def keep_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    # A command run from the command line closes the connections when it ends; the
    # test's transaction must survive that.
    monkeypatch.setattr(connections, "close_all", lambda: None)


@pytest.mark.parametrize("name", COMMANDS)
def test_help_has_a_summary_option_help_and_exit_codes(name: str) -> None:
    command = load_command_class("auth_code_flow_django", name)
    parser = command.create_parser("manage.py", name)
    text = parser.format_help()
    summary = command.help.splitlines()[0]
    assert summary.endswith(".")
    assert len(summary) <= 79
    assert summary in text
    for action in parser._actions:
        if set(action.option_strings) & DJANGO_OPTIONS:
            continue
        assert action.help, f"{name} {action.option_strings} has no help"
        if action.default not in (None, False):
            assert f"(default: {action.default})" in " ".join(text.split())
    epilog = text.split("\nexit status:\n", 1)[1]
    assert all(len(line) <= 79 for line in epilog.splitlines())
    statuses = re.split(r"\n(?=  \d  )", epilog.rstrip("\n"))
    assert [" ".join(status.split()) for status in statuses] == EXIT_STATUS[name]


@pytest.mark.django_db
@pytest.mark.usefixtures("keep_connection")
def test_exit_codes_from_the_command_line(
    user: User, mocked: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    mocked.post(TOKEN_URL, status=503, body="down")
    for name in COMMANDS:
        assert cli(name) == 0, name
        assert cli(name, "--no-such-option") == 2, name
    for name in ("oauth_connections", "oauth_refresh_tokens", "oauth_providers"):
        assert cli(name, "--provider", "nope") == 2
    assert cli("oauth_connections", "--user", "ghost") == 2
    assert cli("oauth_connections", "--format", "xml") == 2
    assert cli("oauth_refresh_tokens", "--within", "-1") == 2
    assert cli("oauth_rotate_keys", "--batch-size", "0") == 2
    assert cli("oauth_providers", "--base-url", "www.example.com") == 2
    make_token(user, expires_at=timezone.now())
    assert cli("oauth_refresh_tokens") == 1
    OAuthToken.objects.update(access_token_encrypted="not-a-fernet-token")
    assert cli("oauth_rotate_keys") == 1
    err = capsys.readouterr().err
    assert "CommandError: 1 refresh(es) failed." in err
    assert "Unknown provider 'nope'" in err


def test_progress_bar_is_drawn_once_per_percent_and_only_on_a_terminal() -> None:
    terminal = Terminal()
    with ProgressBar(OutputWrapper(terminal), 1000) as bar:
        for _ in range(1000):
            bar.advance()
    frames = terminal.getvalue().split("\r")[1:]
    assert len(frames) == 101  # 0% to 100%
    assert frames[-1] == "[" + "#" * 30 + "] 1000/1000\n"
    plain = StringIO()
    with ProgressBar(OutputWrapper(plain), 10) as bar:
        bar.advance(10)
    assert plain.getvalue() == ""
    disabled = Terminal()
    with ProgressBar(OutputWrapper(disabled), 10, enabled=False) as bar:
        bar.advance(10)
    assert disabled.getvalue() == ""


def test_progress_bar_ends_its_line_when_work_stops_short() -> None:
    terminal = Terminal()
    with ProgressBar(OutputWrapper(terminal), 4) as bar:
        bar.advance()
    assert terminal.getvalue() == "\r[" + "#" * 7 + "." * 23 + "] 1/4\n"


def test_progress_bar_note_goes_above_the_bar() -> None:
    terminal = Terminal()
    out = OutputWrapper(terminal)
    with ProgressBar(out, 2) as bar:
        bar.advance()
        bar.note(out, "something failed")
        bar.advance()
    assert terminal.getvalue().split("\r")[1:] == [
        "[" + "#" * 15 + "." * 15 + "] 1/2",
        "\033[Ksomething failed\n",
        "[" + "#" * 15 + "." * 15 + "] 1/2",
        "[" + "#" * 30 + "] 2/2\n",
    ]
