"""What the app's management commands share: help layout, exit codes, JSON output,
user and provider look-ups, and a progress bar."""

from __future__ import annotations

import argparse
import json
import textwrap
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.core.management.base import (
    BaseCommand,
    CommandError,
    CommandParser,
    DjangoHelpFormatter,
    OutputWrapper,
)
from django.utils import dateformat, timezone

from ..providers import get_providers

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class HelpFormatter(DjangoHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Django's option order; the description and epilog keep their line breaks."""


class AppCommand(BaseCommand):
    """A command of this app: its help ends with the exit statuses it can end with."""

    #: What exit status 1 means for this command; ``None``: it never exits with 1.
    exit_failed: str | None = None
    #: What else than an unknown option or a bad option value is a usage error (2).
    usage_errors: tuple[str, ...] = ()

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        kwargs.setdefault("formatter_class", HelpFormatter)
        kwargs.setdefault("epilog", self.exit_status_help())
        return super().create_parser(prog_name, subcommand, **kwargs)

    def exit_status_help(self) -> str:
        *first, last = ["an unknown option", "a bad option value", *self.usage_errors]
        meanings = {0: "success", EXIT_FAILED: self.exit_failed}
        meanings[EXIT_USAGE] = f"usage error: {', '.join(first)} or {last}"
        lines = ["exit status:"]
        for status, meaning in meanings.items():
            if meaning:
                lines.append(
                    textwrap.fill(
                        meaning,
                        79,
                        initial_indent=f"  {status}  ",
                        subsequent_indent=" " * 5,
                        break_on_hyphens=False,
                    )
                )
        return "\n".join(lines)

    def add_format_argument(self, parser: CommandParser, choices: tuple[str, ...]) -> None:
        parser.add_argument(
            "--format",
            choices=choices,
            default=choices[0],
            help="output format; json is one document for scripts (default: %(default)s)",
        )

    def write_json(self, document: object) -> None:
        self.stdout.write(json.dumps(document, indent=2))


def usage_error(message: str) -> CommandError:
    return CommandError(message, returncode=EXIT_USAGE)


def unknown_provider(slug: str) -> CommandError:
    known = ", ".join(sorted(get_providers())) or "none"
    return usage_error(f"Unknown provider {slug!r}. Known providers: {known}.")


def find_user(username: str) -> AbstractBaseUser:
    user_model = get_user_model()
    user = user_model._default_manager.filter(**{user_model.USERNAME_FIELD: username}).first()
    if user is None:
        raise usage_error(f"No user {username!r}.")
    return user


def aware(value: datetime) -> datetime:
    """``value`` with its time zone (naive values are in ``TIME_ZONE``: ``USE_TZ = False``)."""
    if timezone.is_naive(value):
        return timezone.make_aware(value, timezone.get_default_timezone())
    return timezone.localtime(value)


def human_time(value: datetime | None) -> str:
    """``2026-11-28 04:05:06 UTC``: seconds, in the current time zone, which is named."""
    return dateformat.format(aware(value), "Y-m-d H:i:s T") if value else ""


def iso_time(value: datetime | None) -> str:
    return aware(value).isoformat() if value else ""


class ProgressBar:
    """``[#####.....] 5/10``, redrawn in place when ``stream`` is a terminal, at most once
    per percent; nothing at all elsewhere. Use it as a context manager."""

    width = 30

    def __init__(self, stream: OutputWrapper, total: int, *, enabled: bool = True) -> None:
        self.stream = stream
        self.total = total
        self.done = 0
        self.enabled = enabled and total > 0 and stream.isatty()
        self.drawn_percent = -1
        self.line_open = False

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self.line_open:
            self.stream.write("")
            self.line_open = False

    def advance(self, step: int = 1) -> None:
        self.done = min(self.done + step, self.total)
        if not self.enabled:
            return
        percent = 100 * self.done // self.total
        if percent == self.drawn_percent:
            return
        self.drawn_percent = percent
        self.draw()

    def draw(self) -> None:
        filled = self.width * self.done // self.total
        bar = "#" * filled + "." * (self.width - filled)
        finished = self.done == self.total
        self.stream.write(f"\r[{bar}] {self.done}/{self.total}", ending="\n" if finished else "")
        self.stream.flush()
        self.line_open = not finished

    def note(self, stream: OutputWrapper, message: str) -> None:
        """Write ``message`` on its own line, then draw the bar again below it."""
        if self.line_open:
            self.stream.write("\r\033[K", ending="")
            self.stream.flush()
        stream.write(message)
        if self.line_open:
            self.draw()
