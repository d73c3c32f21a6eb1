"""The `headwater` command. Thin: it parses, calls the same service functions the API will
(`headwater.services`), and prints (`output.py`). Commands live in modules by topic:
`admin.py` (init, reset, serve, worker), `connectors.py` (the `connectors` group), `sync.py`
(sync, status), `records.py` (records, users, search); the demo stays here."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from headwater.bootstrap import DEMO_USERS, summarize
from headwater.services.demo import run_demo
from headwater.services.errors import InvalidArgumentError

from . import admin, records, sync
from .accounts import tokens_app, users_app
from .common import DataDir, JsonOut, cli_command, configure_logging, run, settings_for
from .connectors import app as connectors_app
from .output import print_demo, print_json, say
from .sync import print_summary

app = typer.Typer(
    help="Headwater: connect your sources, keep them in sync, search them with permissions.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

DEMO_PORT = 8000


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
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")
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
    serve: Annotated[
        bool,
        typer.Option("--serve", help="Afterwards, serve the web UI and API on 127.0.0.1 until Ctrl-C."),
    ] = False,
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port for --serve.")] = DEMO_PORT,
) -> None:
    """The main job: a demo organisation and two users, the sample workspace synced and indexed,
    and a search as each user to show that permissions hold (--serve: then the web UI)."""
    if serve and as_json:
        raise InvalidArgumentError("--serve prints a banner and runs until Ctrl-C: leave out --json")
    settings = settings_for(data_dir)
    step = (lambda _: None) if as_json else (lambda what: say(f"[dim]·[/] {what}"))
    report = run(run_demo(settings, workspace, on_step=step)).as_dict()
    data = summarize(settings).as_dict() | {"demo": report}
    if as_json:
        print_json(data)
    else:
        print_summary(data)
        print_demo(report)
        _print_logins(report["logins"])
        say("\n[bold]Try it:[/]")
        say(f'  .venv/bin/headwater search "expense policy hotel" --as {DEMO_USERS[1][0]}')
        say(f'  .venv/bin/headwater search "board memo acquisition" --as {DEMO_USERS[0][0]}')
        say("  .venv/bin/headwater records --as " + DEMO_USERS[1][0])
        if not serve:
            say("  .venv/bin/headwater demo --serve    (the same, then the web UI at http://127.0.0.1:8000)")
    if serve:
        say("\n[bold]Serving the demo[/] (log in with the demo logins above; Ctrl-C stops it)")
        if not settings.localfs_roots:  # the admin may add more demo folders in the web UI
            settings = settings.model_copy(update={"localfs_roots": (Path(str(report["workspace"])),)})
            shown = escape(str(report["workspace"]))
            say(f"  local folders the web UI may add: {shown} (HEADWATER_LOCALFS_ROOTS)")
        admin.run_roles(settings, for_seconds=None, api_host="127.0.0.1", api_port=port)


def _print_logins(logins: list[dict[str, object]]) -> None:
    say("\n[bold]Demo logins[/] (demo-only passwords: never use them on an instance others can reach)")
    for login in logins:
        password = login["password"] or "(a password set earlier; not shown)"
        say(f"  {escape(str(login['email']))}  {escape(str(password))}  ({login['role']})")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
