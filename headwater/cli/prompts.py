"""Asking for a connector's config, one prompt per field of its builder schema.

Each field is asked the way its type wants: secrets hidden, checkboxes as yes/no, options as a
choice, filters with their operators. Required fields insist; optional ones accept Enter. A shown
default (the schema's, or the value stored now) is kept by pressing Enter; `-` clears an optional
field. Answers are checked as they are typed and returned as text (the service parses them once).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import typer
from rich.markup import escape

from headwater.services import config_document, config_input
from headwater.services import config_schema as schema
from headwater.services.errors import ConfigValueError

from .output import err_console

CLEAR = "-"


def say(message: str) -> None:
    """Prompts and their hints go to stderr: stdout stays the command's result (`--json`)."""
    err_console.print(message, soft_wrap=True)


SECTION_TITLES = {
    schema.Section.AUTH: "Connection",
    schema.Section.SYNC: "Sync",
    schema.Section.SYNC_FILTERS: "What to sync (filters; Enter skips)",
    schema.Section.INDEXING_FILTERS: "What to index (filters; Enter skips)",
}


def ask_form(
    fields: list[schema.ConfigField],
    current: Mapping[str, Any],
    given: Mapping[str, Any],
) -> dict[str, Any]:
    """Ask every field that applies and was not given on the command line. `current` holds the
    values in force (schema defaults or stored ones), keyed `section.name`. Returns the answers
    that change something, keyed `section.name` (None clears a field)."""
    given_keys = {schema.find_field(fields, name).key for name in given}
    answers: dict[str, Any] = {}
    known = dict(current)  # typed values so far: conditional fields depend on them
    section: schema.Section | None = None
    say("[dim]Enter keeps the shown value; '-' clears an optional one.[/]")
    for field in fields:
        if field.key in given_keys or not field.shown(known):
            continue
        if field.section is not section:
            section = field.section
            say(f"\n[bold]{SECTION_TITLES[section]}[/]")
        answer = ask_field(field, known.get(field.key))
        if answer is not _UNCHANGED:
            answers[field.key] = answer
            known[field.key] = config_input.coerce(field, answer, file_paths=True)
    return answers


class _Unchanged:
    pass


_UNCHANGED: Any = _Unchanged()


def _label(field: schema.ConfigField) -> str:
    label = field.label if field.label == field.name else f"{field.label} [{field.name}]"
    if field.is_filter and len(field.operators) > 1:
        label += f" (operators: {', '.join(field.operators)})"
    elif field.options:
        label += f" ({', '.join(field.options)})"
    return label if field.required else f"{label} (optional)"


def ask_field(field: schema.ConfigField, current: Any) -> Any:
    """One field's answer as text (bool for a checkbox), None to clear, or `_UNCHANGED`."""
    if field.description:
        say(f"[dim]{escape(field.description)}[/]")
    if field.kind.upper() == "CHECKBOX":
        answer = typer.confirm(_label(field), default=bool(current), err=True)
        return _UNCHANGED if answer == bool(current) else answer
    if field.secret:
        return _ask_secret(field, has_value=current not in (None, ""))
    if field.kind.upper() == "TEXTAREA":
        return _ask_lines(field, current)
    shown = config_document.display_value(field, current)
    while True:
        text = typer.prompt(_label(field), default=shown, show_default=bool(shown), err=True)
        text = str(text).strip()
        if text == shown:
            if text or not field.required:
                return _UNCHANGED
            say("[red]  a value is needed[/]")
            continue
        if text == CLEAR:
            if field.required:
                say("[red]  this field is required; it cannot be cleared[/]")
                continue
            return None
        if _valid(field, text):
            return text


def _ask_secret(field: schema.ConfigField, has_value: bool) -> Any:
    hint = " (Enter keeps the stored one)" if has_value else ""
    while True:
        text = str(
            typer.prompt(_label(field) + hint, default="", show_default=False, hide_input=True, err=True)
        ).strip()
        if not text:
            if has_value or not field.required:
                return _UNCHANGED
            say("[red]  a value is needed[/]")
            continue
        if text == CLEAR and not field.required:
            return None
        if _valid(field, text):
            return text


def _ask_lines(field: schema.ConfigField, current: Any) -> Any:
    """A multi-line field (folders, emails): one line per prompt, an empty line ends it."""
    has_value = current not in (None, "")
    if has_value:
        say(f"[dim]now: {escape(' | '.join(str(current).splitlines()))} (an empty first line keeps it)[/]")
    while True:
        lines: list[str] = []
        while True:
            hint = f" line {len(lines) + 1}" if lines else " (one per line; an empty line ends)"
            line = str(typer.prompt(_label(field) + hint, default="", show_default=False, err=True)).strip()
            if not line:
                break
            lines.append(line)
        if not lines:
            if has_value or not field.required:
                return _UNCHANGED
            say("[red]  a value is needed[/]")
            continue
        if lines == [CLEAR]:
            if not field.required:
                return None
            say("[red]  this field is required; it cannot be cleared[/]")
            continue
        text = "\n".join(lines)
        if _valid(field, text):
            return text


def _valid(field: schema.ConfigField, text: str) -> bool:
    try:
        config_input.coerce(field, text, file_paths=True)
    except ConfigValueError as exc:
        say(f"[red]  {escape(exc.reason)}[/]")
        return False
    return True
