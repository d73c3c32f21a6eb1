"""`headwater sync` (with a live progress bar) and `headwater status` (instances, runs, failures)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn

from headwater.bootstrap import summarize
from headwater.services.errors import InvalidArgumentError
from headwater.services.platform import require_data_dir
from headwater.services.syncing import SyncProgress, instances_status, run_history, run_syncs

from .common import EXIT_INTERRUPTED, DataDir, JsonOut, cli_command, fail, run, settings_for
from .output import console, counts, outcome_style, print_json, say, table, took, when


class ProgressView:
    """One rich progress row per instance: discovered, processed, failed, rate, ETA."""

    def __init__(self) -> None:
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[counts]}"),
            TextColumn("{task.fields[rate]}"),
            TextColumn("{task.fields[eta]}"),
            console=console,
            transient=False,
        )
        self.tasks: dict[str, TaskID] = {}

    def __enter__(self) -> ProgressView:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def update(self, p: SyncProgress) -> None:
        task = self.tasks.get(p.connector_id)
        if task is None:
            task = self.tasks[p.connector_id] = self.progress.add_task(
                p.name, total=None, counts="", rate="", eta=""
            )
        state = f" ({p.status.lower()})" if p.status not in (None, "SYNCING", "FULL_SYNCING", "IDLE") else ""
        self.progress.update(
            task,
            description=f"{p.name}{state}",
            total=p.expected if not p.done else max(p.discovered, 1),
            completed=p.processed + p.failed if not p.done else max(p.discovered, 1),
            counts=f"{p.discovered} discovered, {p.processed} processed, {p.failed} failed",
            rate=f"{p.rate:.0f}/s",
            eta="" if p.done else (f"ETA {_duration(p.eta_s)}" if p.eta_s is not None else "ETA –"),
        )


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    minutes, secs = divmod(int(seconds + 0.5), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


@cli_command
def sync(
    name: Annotated[str | None, typer.Argument(help="The instance to sync (or --all).")] = None,
    all_instances: Annotated[bool, typer.Option("--all", help="Sync every enabled instance.")] = False,
    full: Annotated[bool, typer.Option("--full", help="List everything again from the start.")] = False,
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """Sync an instance now, with live progress and a summary.

    The sync runs in this process. Ctrl-C cancels it: what was committed stays, and the next sync
    continues from there."""
    if bool(name) == all_instances:
        raise InvalidArgumentError("name one instance to sync, or pass --all (not both)")
    settings = settings_for(data_dir)
    names = [name] if name else None
    try:
        if as_json:
            results = run(run_syncs(settings, names, full=full))
        else:
            with ProgressView() as view:
                results = run(run_syncs(settings, names, full=full, on_progress=view.update))
    except KeyboardInterrupt:
        raise fail(
            "interrupted: the sync was cancelled; what it committed stays, and the next sync continues "
            "from there",
            EXIT_INTERRUPTED,
        ) from None
    if as_json:
        print_json(results[0] if name else results)
    else:
        for result in results:
            _print_result(result)
    bad = [r for r in results if r.get("outcome") != "completed"]
    if bad:
        first = bad[0]
        reason = first.get("reason") or first.get("error") or first.get("outcome")
        hint = (
            f" — enable it with `headwater connectors enable {first.get('name')}`"
            if reason == "inactive"
            else ""
        )
        raise fail(f"sync of {first.get('name')} {first.get('outcome')}: {reason}{hint}")


def _print_result(run_doc: dict[str, Any]) -> None:
    if run_doc.get("outcome") == "skipped":
        name, reason = escape(str(run_doc.get("name"))), escape(str(run_doc.get("reason")))
        say(f"{name}: {outcome_style('skipped')} ({reason})")
        return
    kind = "full sync" if run_doc.get("full") else "sync"
    name = escape(str(run_doc.get("name")))
    say(
        f"{name}: {kind} {outcome_style(run_doc.get('outcome'))} in {took(run_doc)} — "
        f"{run_doc.get('discovered', 0)} discovered; {counts(run_doc)}"
    )
    if run_doc.get("error"):
        say(f"  reason: {escape(str(run_doc['error']))}")


@cli_command
def status(
    name: Annotated[str | None, typer.Argument(help="One instance: its state and last run.")] = None,
    history: Annotated[
        bool, typer.Option("--history", help="With NAME: the run history and failed items.")
    ] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many runs of history.")] = 20,
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """What the instance holds and how its connectors are doing (NAME --history: its runs)."""
    settings = settings_for(data_dir)
    if history and not name:
        raise InvalidArgumentError("--history needs an instance name: headwater status NAME --history")
    if name:
        data = run_history(settings, name, limit=limit if history else 1)
        if as_json:
            print_json(data)
        else:
            _print_instance(data, history)
        return
    require_data_dir(settings)
    summary = summarize(settings).as_dict() | {"connectors": instances_status(settings)}
    if as_json:
        print_json(summary)
        return
    print_summary(summary)
    if summary["connectors"]:
        table(
            ("connector", "type", "enabled", "state", "last run", "ended", "counts"),
            (
                (
                    c["name"],
                    c["type"],
                    "yes" if c["isActive"] else "no",
                    c["status"] + (f": {c['statusReason']}" if c.get("statusReason") else ""),
                    (c["lastRun"] or {}).get("outcome", "never"),
                    when((c["lastRun"] or {}).get("endedAt")),
                    counts(c["lastRun"]) if c["lastRun"] else "",
                )
                for c in summary["connectors"]
            ),
            title="connectors",
        )
    else:
        say("connectors: none yet — add one with `headwater connectors add TYPE --name NAME`")


def _print_instance(data: dict[str, Any], history: bool) -> None:
    state = data["status"] + (f" ({data['statusReason']})" if data.get("statusReason") else "")
    say(
        f"[bold]{escape(str(data['name']))}[/] ({escape(str(data['type']))}) — "
        f"{'enabled' if data['isActive'] else 'disabled'}, {escape(state)}"
    )
    if not data["runs"]:
        say("no runs yet — run `headwater sync " + escape(str(data["name"])) + "`")
        return
    runs = data["runs"] if history else data["runs"][:1]
    table(
        ("started", "kind", "outcome", "took", "discovered", "counts", "error"),
        (
            (
                when(r.get("startedAt")),
                "full" if r.get("full") else "incremental",
                r.get("outcome"),
                took(r),
                r.get("discovered", 0),
                counts(r),
                r.get("error") or "",
            )
            for r in runs
        ),
        title="runs" if history else "last run",
    )
    for r in runs:
        for f in r.get("failures") or []:
            say(
                f"  [yellow]failed[/] {escape(str(f.get('recordName') or f.get('externalId')))} "
                f"(run of {when(r.get('startedAt'))}): {escape(str(f.get('reason')))}"
            )


def print_summary(data: dict[str, Any]) -> None:
    """The instance summary (`status`, `demo`): stores, organisation, users, records."""
    say(f"store   {escape(str(data['storeUrl']))}")
    say(f"config  {escape(str(data['configUrl']))}")
    say(f"organisations: {escape(', '.join(data['organizations'])) or '(none: run headwater init)'}")
    table(
        ("user", "name", "role", "records readable"),
        (
            (u["email"], u["name"] or "", u["role"], data["readableRecordsByUser"].get(u["email"], 0))
            for u in data["users"]
        ),
    )
    say(f"records: {data['records']}   record groups: {data['recordGroups']}")
    say(f"config keys: {len(data['configKeys'])}")
