"""`headwater init`, `reset`, `serve` and `worker`: setting an instance up, wiping it, running it."""

from __future__ import annotations

import asyncio
import signal
from typing import Annotated

import typer
from rich.markup import escape

from headwater.bootstrap import init_instance
from headwater.services.data_dir import apply_reset, plan_reset
from headwater.services.errors import InvalidArgumentError
from headwater.services.platform import require_data_dir
from headwater.services.workers import Component, Role, run_workers
from headwater.settings import Settings

from .accounts import set_initial_admin_password
from .common import DataDir, JsonOut, cli_command, fail, may_ask, settings_for
from .output import print_json, say

ForSeconds = Annotated[
    float | None, typer.Option("--for", min=0.0, help="Stop after this many seconds (default: until Ctrl-C).")
]


@cli_command
def init(
    org: Annotated[str, typer.Option(help="Name of the organisation.")] = "My Organisation",
    admin_email: Annotated[str, typer.Option(help="Email of the first admin.")] = "admin@example.com",
    admin_password_stdin: Annotated[
        bool,
        typer.Option("--admin-password-stdin", help="Read the admin's password from stdin's first line."),
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Create the data directory, the organisation and its first admin (idempotent), and let the
    admin set a password (asked on a terminal; --admin-password-stdin for scripts)."""
    settings = settings_for(data_dir)
    org_id = init_instance(settings, org, ((admin_email, admin_email.split("@")[0], "admin"),))
    say(f"initialised organisation [bold]{escape(org)}[/] ({org_id})")
    say(escape(set_initial_admin_password(settings, admin_email, admin_password_stdin)))


@cli_command
def reset(
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """Delete everything in the embedded data directory, after a confirmation.

    Graph, events, config, secrets and index go. Server backends (PostgreSQL, etcd, Kafka) are never
    touched: drop those with their own tools."""
    plan = plan_reset(settings_for(data_dir))
    if not as_json:
        say(f"this deletes everything in [bold]{escape(str(plan.data_dir))}[/]:")
        for path in plan.delete:
            say(f"  {escape(path.name)}")
        for path, why in plan.keep:
            say(f"  keeps {escape(path.name)}: {escape(why)}")
        for backend in plan.server_backends:
            say(f"  not touched (a server backend): {escape(backend)}")
    if not yes:
        if not may_ask(no_input=False):
            raise fail("refusing to reset without confirmation — pass --yes")
        if not typer.confirm("delete it?", default=False, err=True):
            raise fail("nothing deleted")
    apply_reset(plan)
    if as_json:
        print_json(plan.as_dict() | {"deleted": True})
    else:
        say(f"reset {escape(str(plan.data_dir))}; start again with `headwater init`")


ApiHost = Annotated[
    str | None,
    typer.Option(
        "--host", help="Address the API and web UI listen on (default 127.0.0.1, or HEADWATER_API_HOST)."
    ),
]
ApiPort = Annotated[
    int | None,
    typer.Option(
        "--port", min=0, max=65535, help="Port of the API and web UI (default 8000, or HEADWATER_API_PORT)."
    ),
]


@cli_command
def serve(
    for_seconds: ForSeconds = None, host: ApiHost = None, port: ApiPort = None, data_dir: DataDir = None
) -> None:
    """Run everything in one process until Ctrl-C (or --for SECONDS).

    The sync scheduler and sync-events consumer, the indexing worker, and the HTTP API with the web
    UI (http://127.0.0.1:8000 by default; API docs at /docs)."""
    settings = settings_for(data_dir)
    require_data_dir(settings)
    run_roles(settings, for_seconds=for_seconds, api_host=host, api_port=port)


def run_roles(
    settings: Settings, *, for_seconds: float | None, api_host: str | None, api_port: int | None
) -> None:
    """Everything `serve` runs (also what `demo --serve` runs after the demo)."""
    roles = [Role.SYNC, Role.INDEXING]
    asyncio.run(
        _run(
            settings,
            roles,
            for_seconds,
            with_api=True,
            require_all=False,
            api_host=api_host,
            api_port=api_port,
        )
    )


@cli_command
def worker(
    role: Annotated[Role, typer.Option("--role", help="Which worker to run.", case_sensitive=False)],
    for_seconds: ForSeconds = None,
    data_dir: DataDir = None,
) -> None:
    """Run one worker role (for running several machines against server backends)."""
    settings = settings_for(data_dir)
    require_data_dir(settings)
    asyncio.run(_run(settings, [role], for_seconds, with_api=False, require_all=True))


async def _run(
    settings: Settings,
    roles: list[Role],
    for_seconds: float | None,
    *,
    with_api: bool,
    require_all: bool,
    api_host: str | None = None,
    api_port: int | None = None,
) -> None:
    if for_seconds is not None and for_seconds < 0:
        raise InvalidArgumentError("--for takes a number of seconds >= 0")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, stop.set)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or no signals
            pass
    if for_seconds is not None:
        loop.call_later(for_seconds, stop.set)
    await run_workers(
        settings,
        roles,
        stop,
        with_api=with_api,
        api_host=api_host,
        api_port=api_port,
        require_all=require_all,
        on_ready=_announce,
    )
    say("stopped")


def _announce(components: list[Component]) -> None:
    for c in components:
        mark = "[green]running[/]" if c.running else "[yellow]not running[/]"
        say(f"{mark} {escape(c.name)}: {escape(c.detail)}")
    if any(c.running for c in components):
        say("press Ctrl-C to stop")
