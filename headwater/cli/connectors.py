"""`headwater connectors ...`: connector types, and instances: add, configure, test, enable, disable,
remove."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape

from headwater.connectors.core.definitions import ConnectorScope
from headwater.connectors.core.instances import list_instances
from headwater.services import config_document
from headwater.services import connectors as service
from headwater.services.catalog import connector_types
from headwater.services.connector_removal import removal_preview, remove_instance
from headwater.services.dry_run import DryRunReport, dry_run_connector
from headwater.services.errors import NotInitialisedError
from headwater.services.platform import open_store_only

from .common import (
    DataDir,
    JsonOut,
    NoInput,
    SetValues,
    SkipCheck,
    cli_command,
    fail,
    may_ask,
    parse_assignments,
    run,
    settings_for,
)
from .output import print_json, say, table
from .prompts import ask_form

app = typer.Typer(
    help="Connector types and instances: list, add, configure, test, enable, disable, remove.",
    no_args_is_help=True,
)

Name = Annotated[str, typer.Argument(help="The connector instance's name (or id).")]


@app.command("list")
@cli_command
def list_types(data_dir: DataDir = None, as_json: JsonOut = False) -> None:
    """The connector types you can add, with the instances of each (when there is a data directory)."""
    types = [t.as_dict() for t in connector_types()]
    instances: dict[str, list[str]] = {}
    try:
        store = open_store_only(settings_for(data_dir))
    except NotInitialisedError:
        store = None
    if store is not None:
        try:
            for doc in list_instances(store):
                instances.setdefault(str(doc.get("type")).lower(), []).append(str(doc.get("name")))
        finally:
            store.close()
    for entry in types:
        entry["instances"] = sorted(instances.get(str(entry["type"]).lower(), []))
    if as_json:
        print_json(types)
        return
    if not types:
        say("no connector types are installed")
        return
    table(
        ("type", "group", "description", "auth", "instances"),
        (
            (t["type"], t["group"], t["description"], ", ".join(t["authTypes"]), ", ".join(t["instances"]))
            for t in types
        ),
    )


@app.command("fields")
@cli_command
def fields(
    connector_type: Annotated[
        str, typer.Argument(metavar="TYPE", help="A connector type (see `connectors list`).")
    ],
    auth_type: Annotated[
        str | None, typer.Option("--auth-type", help="Which auth form (default: the first).")
    ] = None,
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """The config fields of a connector type: what `add --set` and the prompts take."""
    form = service.connector_form(connector_type, auth_type)
    rows = [
        {
            "field": f.key,
            "label": f.label,
            "type": f.kind,
            "required": f.required,
            "secret": f.secret,
            "default": None if f.secret else f.default,
            "options": list(f.options),
            "operators": list(f.operators),
            "description": f.description,
        }
        for f in form
    ]
    if as_json:
        print_json(rows)
        return
    table(
        ("field", "type", "required", "default", "options / operators", "description"),
        (
            (
                f.key,
                f.kind + (" (secret)" if f.secret else ""),
                "yes" if f.required else "",
                "" if f.secret or f.default in (None, "", []) else f.default,
                ", ".join(f.options or f.operators),
                f.description,
            )
            for f in form
        ),
    )


@app.command("add")
@cli_command
def add(
    connector_type: Annotated[
        str, typer.Argument(metavar="TYPE", help="A connector type (see `connectors list`).")
    ],
    name: Annotated[str, typer.Option("--name", help="A name for this instance, unique.")],
    scope: Annotated[
        ConnectorScope,
        typer.Option(
            "--scope", help="personal (your account) or team (the organisation's).", case_sensitive=False
        ),
    ] = ConnectorScope.PERSONAL,
    owner: Annotated[
        str | None, typer.Option("--owner", help="Email of the user who owns it (default: the first admin).")
    ] = None,
    auth_type: Annotated[
        str | None, typer.Option("--auth-type", help="Which auth form (default: the first).")
    ] = None,
    set_values: SetValues = None,
    no_input: NoInput = False,
    skip_check: SkipCheck = False,
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """Add a connector instance, asking for its config (or taking it from --set).

    The connector is started with the config to check that it works before anything is saved;
    the config is stored encrypted and the instance left enabled. Secrets are asked hidden and
    never printed."""
    settings = settings_for(data_dir)
    given = parse_assignments(set_values)
    form = service.connector_form(connector_type, auth_type)
    run(service.ensure_name_free(settings, name))
    values: dict[str, Any] = dict(given)
    if may_ask(no_input):
        current = config_document.defaults(form) | service.parse_values(form, given, file_paths=True)
        values |= ask_form(form, current, given)
    view = run(
        service.create_instance_with_config(
            settings,
            connector_type,
            name,
            values,
            scope.value,
            owner,
            auth_type=auth_type,
            check=not skip_check,
            file_paths=True,  # the operator on the server: a FILE field names a file to read
        )
    )
    if as_json:
        print_json(view)
        return
    shown = escape(str(view["name"]))
    say(f"added [bold]{shown}[/] ({escape(str(view['type']))}, {view['scope']}), id {view['id']}")
    _print_config(view["config"])
    quoted = escape(_quoted(str(view["name"])))
    if not view["isActive"]:
        say(f"not checked, so left disabled: [bold]headwater connectors enable {quoted}[/] once it can start")
    else:
        say(f"next: [bold]headwater connectors test {quoted}[/], then [bold]headwater sync {quoted}[/]")


@app.command("configure")
@cli_command
def configure(
    name: Name,
    set_values: SetValues = None,
    no_input: NoInput = False,
    skip_check: SkipCheck = False,
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """Change an instance's config, asking each field with its current value (or taking --set).

    Secrets: Enter keeps the stored one. A changed config is saved only if the connector starts
    with it (unless --skip-check)."""
    settings = settings_for(data_dir)
    changes: dict[str, Any] = dict(parse_assignments(set_values))
    if may_ask(no_input):
        _, form, stored = run(service.instance_form(settings, name))
        changes |= ask_form(form, stored | service.parse_values(form, changes, file_paths=True), changes)
    view = run(service.configure(settings, name, changes, check=not skip_check, file_paths=True))
    if as_json:
        print_json(view)
        return
    saved = "config saved" if view["changed"] else "config unchanged"
    say(f"[bold]{escape(str(view['name']))}[/] ({escape(str(view['type']))}): {saved}, {view['status']}")
    _print_config(view["config"])


@app.command("show")
@cli_command
def show(name: Name, data_dir: DataDir = None, as_json: JsonOut = False) -> None:
    """An instance and its config (secrets masked)."""
    view = run(service.show(settings_for(data_dir), name))
    if as_json:
        print_json(view)
        return
    say(
        f"[bold]{escape(str(view['name']))}[/] ({escape(str(view['type']))}, {view['scope']}) — "
        f"{'enabled' if view['isActive'] else 'disabled'}, {view['status']}"
    )
    _print_config(view["config"])


@app.command("test")
@cli_command
def dry_run(
    name: Name,
    sample: Annotated[int, typer.Option("--sample", min=0, help="How many items to show.")] = 10,
    max_items: Annotated[
        int, typer.Option("--max-items", min=1, help="Stop the sample after this many items.")
    ] = 1000,
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.1, help="Stop each step after this many seconds.")
    ] = 60.0,
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """Test run: start the connector, test its connection, show what a sync would bring.

    The playbook's §8 test run. It writes nothing: the sample goes to a throwaway store."""
    report = run(
        dry_run_connector(
            settings_for(data_dir), name, sample_size=sample, max_items=max_items, timeout_s=timeout
        )
    )
    if as_json:
        print_json(report.as_dict())
    else:
        _print_report(report)
    if not report.ok:
        failed = next(step for step in report.steps if not step.ok)
        raise fail(f"{report.name}: {failed.name} failed: {failed.detail}")


@app.command("enable")
@cli_command
def enable(name: Name, data_dir: DataDir = None, as_json: JsonOut = False) -> None:
    """Enable an instance after checking that its connector starts; scheduled syncs resume."""
    _toggle(name, True, data_dir, as_json)


@app.command("disable")
@cli_command
def disable(name: Name, data_dir: DataDir = None, as_json: JsonOut = False) -> None:
    """Disable an instance: no scheduled or requested syncs until enabled (its records stay)."""
    _toggle(name, False, data_dir, as_json)


@app.command("remove")
@cli_command
def remove(
    name: Name,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """Delete an instance with everything it synced, after a confirmation.

    Its records (with their permissions and links), record groups, groups, sync points, run history
    and stored config go at once; the indexing worker (`headwater serve`) then removes them from the
    search index. Platform users stay. The source itself is never touched."""
    settings = settings_for(data_dir)
    plan = run(removal_preview(settings, name))
    shown = escape(plan["name"])
    if not yes:
        if not may_ask(no_input=False):
            raise fail(f"refusing to remove {plan['name']} without confirmation — pass --yes")
        say(
            f"this deletes [bold]{shown}[/] ({escape(plan['type'])}, {plan['scope']}) and its "
            f"{plan['records']} records, with their permissions, sync state and stored config"
        )
        if not typer.confirm("remove it?", default=False, err=True):
            raise fail("nothing removed")
    result = run(remove_instance(settings, plan["id"]))
    if as_json:
        print_json(result)
        return
    if result["scheduled"]:
        say(
            f"{shown} is syncing right now: it is disabled, and the sync worker deletes it as soon as "
            "the sync stops"
        )
        return
    say(
        f"removed {shown} and its {result['deletedRecords']} records; the indexing worker "
        "(`headwater serve`) removes them from the search index"
    )


def _toggle(name: str, enabled: bool, data_dir: Any, as_json: bool) -> None:
    view = run(service.set_enabled(settings_for(data_dir), name, enabled))
    if as_json:
        print_json(view)
        return
    state = "enabled" if enabled else "disabled"
    say(f"{escape(str(view['name']))} {'is now' if view['changed'] else 'was already'} {state}")


def _quoted(name: str) -> str:
    return f"'{name}'" if any(c.isspace() for c in name) else name


def _print_config(form: list[dict[str, Any]]) -> None:
    if form:
        table(("field", "value"), ((f["field"], "" if f["value"] is None else f["value"]) for f in form))


def _print_report(report: DryRunReport) -> None:
    say(f"test run of [bold]{escape(report.name)}[/] ({escape(report.type)}) — nothing is written")
    for step in report.steps:
        mark = "[green]ok[/]  " if step.ok else "[red]FAIL[/]"
        say(f"  {mark} {step.name}: {escape(step.detail)}")
    if not report.totals:
        return
    totals = report.totals
    say(
        f"\na sync would bring {totals.get('records', 0)} records "
        f"({', '.join(f'{n} {t}' for t, n in report.records_by_type.items()) or 'none'}), "
        f"{totals.get('recordGroups', 0)} record groups, {totals.get('groups', 0)} groups"
        + (f" — {escape(report.stopped_early)}" if report.stopped_early else "")
    )
    if report.sample:
        table(
            ("name", "type", "path / url", "who can read"),
            (
                (
                    r["name"],
                    r["type"],
                    r["path"] or r["webUrl"] or "",
                    "; ".join(r["access"]) or "nobody (no grant)",
                )
                for r in report.sample
            ),
            title=f"first {len(report.sample)} items",
        )
    for failure in report.failures:
        item = escape(str(failure["recordName"] or failure["externalId"]))
        say(f"  [yellow]skipped[/] {item}: {escape(str(failure['reason']))}")
