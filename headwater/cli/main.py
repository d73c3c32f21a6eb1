"""The `headwater` command. Thin: it parses, calls the same service functions the API will
(`headwater.services`), and prints (`output.py`). Commands live in modules by topic:
`admin.py` (init, reset, serve, worker), `connectors.py` (the `connectors` group), `sync.py`
(sync, status), `records.py` (records, users, search); the demo stays here."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from headwater.bootstrap import DEMO_USERS, summarize
from headwater.services.demo import run_demo

from . import admin, records, sync
from .common import DataDir, JsonOut, cli_command, configure_logging, run, settings_for
from .connectors import app as connectors_app
from .output import print_demo, print_json, say
from .sync import print_summary

app = typer.Typer(
    help="Headwater: connect your sources, keep them in sync, search them with permissions.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

# What the main job cannot do yet, and which issue brings it.
NOT_YET_BUILT = [("HTTP API and web UI with logins", "issue 7")]


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
app.command()(records.ask)
app.command()(records.explain)
app.command()(admin.serve)
app.command()(admin.worker)
app.command()(admin.reset)


@app.command()
@cli_command
def demo(
    data_dir: DataDir = None,
    as_json: JsonOut = False,
    workspace: Annotated[
        Path | None,
        typer.Option("--workspace", help="Folder with team/ and private-ada/ (default: the bundled one)."),
    ] = None,
) -> None:
    """The main job: a demo organisation and two users, the sample workspace synced and indexed,
    and a search as each user to show that permissions hold."""
    settings = settings_for(data_dir)
    step = (lambda _: None) if as_json else (lambda what: say(f"[dim]·[/] {what}"))
    report = run(run_demo(settings, workspace, on_step=step)).as_dict()
    data = summarize(settings).as_dict() | {"demo": report}
    data["notYetBuilt"] = [f"{what} ({issue})" for what, issue in NOT_YET_BUILT]
    if as_json:
        print_json(data)
        return
    print_summary(data)
    print_demo(report)
    say("\n[bold]Try it:[/]")
    say(f'  .venv/bin/headwater search "expense policy hotel" --as {DEMO_USERS[1][0]}')
    say(f'  .venv/bin/headwater search "board memo acquisition" --as {DEMO_USERS[0][0]}')
    say("  .venv/bin/headwater records --as " + DEMO_USERS[1][0])
    say("\n[bold]Not built yet:[/] " + "; ".join(f"{what} ({issue})" for what, issue in NOT_YET_BUILT))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
