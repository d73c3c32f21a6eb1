"""What every command shares: the options that mean the same thing everywhere, settings, running
the async service functions, and turning errors into one line with a hint and an exit code."""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import typer

from headwater.connectors.core.errors import redact
from headwater.errors import HeadwaterError
from headwater.services.errors import InvalidArgumentError, NotBuiltYetError
from headwater.settings import Settings

from .output import error_line

P = ParamSpec("P")
T = TypeVar("T")

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", help="Where embedded state lives (default ./.headwater, or HEADWATER_DATA_DIR)."
    ),
]
JsonOut = Annotated[bool, typer.Option("--json", help="Print JSON for scripts (no colours, no progress).")]
NoInput = Annotated[
    bool,
    typer.Option("--no-input", help="Never ask; fail naming what is missing (implied without a terminal)."),
]
SetValues = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="A config value, as field=value (repeat for more fields; a field given twice gets both "
        "values, one per line). See `connectors fields TYPE`.",
    ),
]
SkipCheck = Annotated[
    bool,
    typer.Option("--skip-check", help="Save without starting the connector to check the config."),
]

EXIT_ERROR = 1
EXIT_NOT_BUILT = 2
EXIT_INTERRUPTED = 130
DEBUG_ENV = "HEADWATER_DEBUG"


def settings_for(data_dir: Path | None) -> Settings:
    return Settings(data_dir=data_dir) if data_dir else Settings()


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a service coroutine to completion from a (synchronous) command."""
    return asyncio.run(coroutine)


def stdin_is_interactive() -> bool:
    """Whether a person can answer prompts (tests replace this)."""
    return sys.stdin.isatty()


def may_ask(no_input: bool) -> bool:
    return not no_input and stdin_is_interactive()


def parse_assignments(assignments: list[str] | None) -> dict[str, str]:
    """`["folder=/x", "apiToken=..."]` -> `{"folder": "/x", ...}`. Values may contain '='; a field
    given twice gets both values, one per line (several folders, a list)."""
    out: dict[str, str] = {}
    for item in assignments or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise InvalidArgumentError(f"--set expects field=value, not {item!r}")
        key = name.strip()
        out[key] = f"{out[key]}\n{value}" if key in out else value
    return out


def fail(message: str, code: int = EXIT_ERROR) -> typer.Exit:
    """Print `error: message` (one line) and return the Exit to raise."""
    error_line(message)
    return typer.Exit(code)


def cli_command(fn: Callable[P, T]) -> Callable[P, T]:
    """Run a command with Headwater's error policy: a deliberate error (HeadwaterError) is one line
    and exit 1 (2 for what is not built yet), Ctrl-C exits 130, and an unexpected exception is one
    line that says it is a bug (the traceback with HEADWATER_DEBUG=1)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except NotBuiltYetError as exc:
            raise fail(str(exc), EXIT_NOT_BUILT) from None
        except HeadwaterError as exc:
            raise fail(str(exc)) from None
        except KeyboardInterrupt:
            raise fail("interrupted", EXIT_INTERRUPTED) from None
        except Exception as exc:
            if os.environ.get(DEBUG_ENV):
                raise
            raise fail(
                f"unexpected {type(exc).__name__}: {redact(str(exc))} — this is a bug in Headwater; "
                f"run again with {DEBUG_ENV}=1 to see the traceback"
            ) from None

    return wrapper


class _StderrHandler(logging.Handler):
    """Writes log lines to whatever sys.stderr is at the time (a test runner swaps it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
        except Exception:
            self.handleError(record)


def configure_logging(verbose: bool) -> None:
    """Headwater's log lines on stderr (`warning: ...`); INFO too with --verbose."""
    root = logging.getLogger("headwater")
    for handler in [h for h in root.handlers if isinstance(h, _StderrHandler)]:
        root.removeHandler(handler)
    handler = _StderrHandler(logging.INFO if verbose else logging.WARNING)
    handler.setFormatter(_LowerLevelFormatter("%(levelname)s: %(message)s"))
    root.addHandler(handler)
    if verbose:  # otherwise leave the level alone: the process's root level decides
        root.setLevel(logging.INFO)


class _LowerLevelFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"{record.levelname.lower()}: {record.getMessage()}"
