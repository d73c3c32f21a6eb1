"""The `headwater` command. Thin: it parses, calls the same service functions the API will
(`headwater.services`), and prints (`output.py`). Commands live in modules by topic:
`admin.py` (init, reset, serve, worker), `connectors.py` (the `connectors` group), `sync.py`
(sync, status), `records.py` (records, users, search); the demo stays here."""

from __future__ import annotations

from typing import Annotated

import typer

from headwater.bootstrap import DEMO_ORG, DEMO_USERS, init_instance, seed_demo_records, summarize

from . import admin, records, sync
from .common import DataDir, JsonOut, cli_command, configure_logging, settings_for
from .connectors import app as connectors_app
from .output import print_json, say
from .sync import print_summary

app = typer.Typer(
    help="Headwater: connect your sources, keep them in sync, search them with permissions.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

# What the main job cannot do yet, and which issue brings it.
NOT_YET_BUILT = [
    ("local folders connector and the full CLI", "issue 4"),
    ("indexing worker", "issue 5"),
    ("permission-filtered search and answers", "issue 6"),
    ("HTTP API and web UI with logins", "issue 7"),
]


@app.callback()
def _options(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Also print informational log lines.")
    ] = False,
) -> None:
    configure_logging(verbose)


app.command()(admin.init)
app.command()(sync.status)
app.command()(sync.sync)
app.add_typer(connectors_app, name="connectors")
app.command()(records.records)
app.command()(records.users)
app.command()(records.search)
app.command()(admin.serve)
app.command()(admin.worker)
app.command()(admin.reset)


@app.command()
@cli_command
def demo(data_dir: DataDir = None, as_json: JsonOut = False) -> None:
    """The main job: an embedded instance with a demo organisation and two users."""
    settings = settings_for(data_dir)
    org_id = init_instance(settings, DEMO_ORG, DEMO_USERS)
    seed_demo_records(settings, org_id)
    data = summarize(settings).as_dict() | {
        "notYetBuilt": [f"{what} ({issue})" for what, issue in NOT_YET_BUILT]
    }
    if as_json:
        print_json(data)
        return
    print_summary(data)
    say("\n[bold]Not built yet[/] (this demo grows as they land):")
    for what, issue in NOT_YET_BUILT:
        say(f"  - {what} — {issue}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
