"""Where the CLI prints: JSON for scripts, rich for people, one `error:` line on stderr.

Everything a command prints goes through here, so `--json` output is exactly the data (no colour,
no progress, no extra lines on stdout) and human output shares one look.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

COUNTS = ("new", "updated", "unchanged", "deleted", "skipped", "failed")


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def error_line(message: str) -> None:
    """`error: message` on stderr, on one line whatever the terminal width."""
    flat = " ".join(str(message).split())
    err_console.print(f"[bold red]error:[/] {escape(flat)}", soft_wrap=True)


def say(message: str) -> None:
    """A line for people (rich markup allowed; escape what comes from data)."""
    console.print(message, soft_wrap=True)


def table(columns: Sequence[str], rows: Iterable[Sequence[Any]], title: str | None = None) -> None:
    grid = Table(*columns, title=title, title_justify="left")
    for row in rows:
        grid.add_row(*(escape("" if cell is None else str(cell)) for cell in row))
    console.print(grid)


def when(ms: Any) -> str:
    """An epoch-ms time as `YYYY-MM-DD HH:MM:SS` UTC; empty for none."""
    if not ms:
        return ""
    return datetime.fromtimestamp(int(ms) / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def took(run: dict[str, Any]) -> str:
    start, end = run.get("startedAt"), run.get("endedAt")
    if not start or not end:
        return ""
    return f"{(int(end) - int(start)) / 1000:.1f} s"


def counts(run: dict[str, Any]) -> str:
    """`12 new, 3 updated, 1 failed`: the non-zero counts of a run, or `nothing changed`."""
    parts = [f"{int(run.get(name) or 0)} {name}" for name in COUNTS if run.get(name)]
    return ", ".join(parts) or "nothing changed"


def outcome_style(outcome: str | None) -> str:
    colour = {"completed": "green", "skipped": "yellow", "running": "cyan", "cancelled": "yellow"}.get(
        str(outcome), "red"
    )
    return f"[{colour}]{escape(str(outcome))}[/]"


def _location(location: Any) -> str:
    """`page 3`, `slide 2`, `heading Setup`: where in the record the hit is, as far as it says."""
    if not isinstance(location, dict):
        return ""
    return ", ".join(f"{k} {v}" for k, v in location.items() if v not in (None, "", []))


def _marked(snippet: str) -> str:
    """A snippet with the search's [[term]] markers shown in bold."""
    out = []
    for i, part in enumerate(re.split(r"\[\[|\]\]", snippet)):
        out.append(f"[bold yellow]{escape(part)}[/]" if i % 2 else escape(part))
    return "".join(out)


def print_hits(hits: Sequence[dict[str, Any]], indent: str = "") -> None:
    for rank, hit in enumerate(hits, 1):
        title = hit.get("recordName") or hit.get("recordKey") or "?"
        where = _location(hit.get("location"))
        score = f" ({hit['score']:.3f})" if isinstance(hit.get("score"), int | float) else ""
        say(f"{indent}{rank}. [bold]{escape(str(title))}[/]{score} [dim]{escape(where)}[/]")
        if hit.get("snippet"):
            say(f"{indent}   {_marked(str(hit['snippet']))}")


def print_demo(report: dict[str, Any]) -> None:
    say(f"\n[bold]Sample workspace[/] {escape(report['workspace'])}")
    for run in report["syncs"]:
        name, outcome = escape(str(run.get("name"))), outcome_style(run.get("outcome"))
        say(f"  synced {name}: {outcome} {counts(run)}")
    indexing = ", ".join(f"{n} {status.lower()}" for status, n in sorted(report["indexing"].items()) if n)
    say(f"  indexed in {report['indexingSeconds']} s: {indexing or 'nothing to index'}")
    for search in report["searches"]:
        say(f"\n[bold]search[/] {escape(repr(search['query']))} as {escape(search['as'])}")
        if search["hits"]:
            print_hits(search["hits"], indent="  ")
        else:
            say("  (no results this user may read)")
