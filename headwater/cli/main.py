"""The `headwater` command. Thin: it parses, calls the same functions the API will, and prints."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from headwater.bootstrap import DEMO_ORG, DEMO_USERS, init_instance, seed_demo_records, summarize
from headwater.errors import HeadwaterError
from headwater.settings import Settings

app = typer.Typer(help="Headwater: connect your sources, keep them in sync, search them with permissions.")
console = Console()
err = Console(stderr=True)

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="Where embedded state lives (default ./.headwater).")
]
JsonOut = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]

# What the main job cannot do yet, and which issue brings it.
NOT_YET_BUILT = [
    ("local folders connector and the full CLI", "issue 4"),
    ("indexing worker", "issue 5"),
    ("permission-filtered search and answers", "issue 6"),
    ("HTTP API and web UI with logins", "issue 7"),
]


def _settings(data_dir: Path | None) -> Settings:
    return Settings(data_dir=data_dir) if data_dir else Settings()


def _fail(exc: Exception) -> None:
    err.print(f"[bold red]error:[/] {exc}")
    raise typer.Exit(1)


@app.command()
def init(
    org: Annotated[str, typer.Option(help="Name of the organisation.")] = "My Organisation",
    admin_email: Annotated[str, typer.Option(help="Email of the first admin.")] = "admin@example.com",
    data_dir: DataDir = None,
) -> None:
    """Create the data directory, the organisation and its first admin."""
    try:
        org_id = init_instance(_settings(data_dir), org, ((admin_email, admin_email.split("@")[0], "admin"),))
    except HeadwaterError as exc:
        _fail(exc)
    console.print(f"initialised organisation [bold]{org}[/] ({org_id})")


@app.command()
def status(data_dir: DataDir = None, as_json: JsonOut = False) -> None:
    """What the instance holds: organisations, users, records, config keys."""
    try:
        summary = summarize(_settings(data_dir))
    except HeadwaterError as exc:
        _fail(exc)
    _print_summary(summary.as_dict(), as_json)


@app.command()
def demo(data_dir: DataDir = None, as_json: JsonOut = False) -> None:
    """The main job: an embedded instance with a demo organisation and two users."""
    settings = _settings(data_dir)
    try:
        org_id = init_instance(settings, DEMO_ORG, DEMO_USERS)
        seed_demo_records(settings, org_id)
        summary = summarize(settings)
    except HeadwaterError as exc:
        _fail(exc)
    data = summary.as_dict() | {"notYetBuilt": [f"{what} ({issue})" for what, issue in NOT_YET_BUILT]}
    _print_summary(data, as_json)
    if not as_json:
        console.print("\n[bold]Not built yet[/] (this demo grows as they land):")
        for what, issue in NOT_YET_BUILT:
            console.print(f"  - {what} — {issue}")


def _print_summary(data: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    console.print(f"store   {data['storeUrl']}")
    console.print(f"config  {data['configUrl']}")
    console.print(f"organisations: {', '.join(data['organizations']) or '(none: run headwater init)'}")
    table = Table("user", "name", "role", "records readable")
    for user in data["users"]:
        readable = data["readableRecordsByUser"].get(user["email"], 0)
        table.add_row(user["email"], user["name"] or "", user["role"], str(readable))
    console.print(table)
    console.print(f"records: {data['records']}   record groups: {data['recordGroups']}")
    console.print(f"config keys: {len(data['configKeys'])}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
