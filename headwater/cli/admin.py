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

from .common import DataDir, JsonOut, cli_command, fail, may_ask, settings_for
from .output import print_json, say

ForSeconds = Annotated[
    float | None, typer.Option("--for", min=0.0, help="Stop after this many seconds (default: until Ctrl-C).")
]


@cli_command
def init(
    org: Annotated[str, typer.Option(help="Name of the organisation.")] = "My Organisation",
    admin_email: Annotated[str, typer.Option(help="Email of the first admin.")] = "admin@example.com",
    data_dir: DataDir = None,
) -> None:
    """Create the data directory, the organisation and its first admin (idempotent)."""
    org_id = init_instance(settings_for(data_dir), org, ((admin_email, admin_email.split("@")[0], "admin"),))
    say(f"initialised organisation [bold]{escape(org)}[/] ({org_id})")


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


@cli_command
def serve(for_seconds: ForSeconds = None, data_dir: DataDir = None) -> None:
    """Run everything in one process until Ctrl-C (or --for SECONDS).

    The sync scheduler and sync-events consumer, the indexing worker, and (when built) the API and
    web UI."""
    settings = settings_for(data_dir)
    require_data_dir(settings)
    asyncio.run(_run(settings, [Role.SYNC, Role.INDEXING], for_seconds, with_api=True, require_all=False))


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
    settings: Settings, roles: list[Role], for_seconds: float | None, *, with_api: bool, require_all: bool
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
    await run_workers(settings, roles, stop, with_api=with_api, require_all=require_all, on_ready=_announce)
    say("stopped")


def _announce(components: list[Component]) -> None:
    for c in components:
        mark = "[green]running[/]" if c.running else "[yellow]not running[/]"
        say(f"{mark} {escape(c.name)}: {escape(c.detail)}")
    if any(c.running for c in components):
        say("press Ctrl-C to stop")
