"""`headwater records`, `headwater users` and `headwater search`: what the graph holds, and who
can see what."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape

from headwater.services.answers import ask as ask_service
from headwater.services.answers import explain as explain_service
from headwater.services.records import RecordFilter, list_records, list_users
from headwater.services.search import search as search_service

from .common import DataDir, JsonOut, cli_command, settings_for
from .output import console, print_hits, print_json, say, table, when

AsUser = Annotated[str | None, typer.Option("--as", help="Only what the user with this email can read.")]


@cli_command
def records(
    connector: Annotated[
        str | None, typer.Option("--connector", help="Only this instance's records.")
    ] = None,
    record_type: Annotated[
        str | None, typer.Option("--type", help="Only this record type (FILE, MAIL, ...).")
    ] = None,
    name_contains: Annotated[
        str | None, typer.Option("--name-contains", help="Names containing this text.")
    ] = None,
    as_user: AsUser = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Show at most this many.")] = 50,
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """List records, filtered; with --as EMAIL only those that person can read."""
    result = list_records(
        settings_for(data_dir),
        RecordFilter(
            connector=connector,
            record_type=record_type,
            name_contains=name_contains,
            as_user=as_user,
            limit=limit,
        ),
    )
    if as_json:
        print_json(result)
        return
    rows: list[dict[str, Any]] = result["records"]
    table(
        ("name", "type", "connector", "path / url", "who can read"),
        (
            (
                r["name"],
                r["type"],
                r["connector"],
                r["path"] or r["webUrl"] or "",
                "; ".join(r["access"]) or "nobody",
            )
            for r in rows
        ),
    )
    scope = f" readable by {escape(as_user)}" if as_user else ""
    more = f" (showing {len(rows)}; raise --limit for more)" if result["total"] > len(rows) else ""
    say(f"{result['total']} records{scope}{more}")


@cli_command
def users(data_dir: DataDir = None, as_json: JsonOut = False) -> None:
    """Platform users and the groups and roles they belong to.

    People granted access at a source who have not joined yet are listed as not active."""
    rows = list_users(settings_for(data_dir))
    if as_json:
        print_json(rows)
        return
    table(
        ("email", "name", "role", "active", "groups"),
        (
            (u["email"], u["name"] or "", u["role"], "yes" if u["active"] else "no", ", ".join(u["groups"]))
            for u in rows
        ),
    )


@cli_command
def search(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    as_user: Annotated[str, typer.Option("--as", help="Search as the user with this email (required).")],
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many hits.")] = 10,
    mode: Annotated[
        str, typer.Option("--mode", help="hybrid (default), keyword (no embedding model) or vector.")
    ] = "hybrid",
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """Search what a user may read, best hits first, with where each was found."""
    result = search_service(settings_for(data_dir), query, as_user, limit=limit, mode=mode)
    if as_json:
        print_json(result)
        return
    if not result["hits"]:
        say(f"no results for {escape(query)!r} readable by {escape(as_user)}")
        return
    print_hits(result["hits"])


@cli_command
def ask(
    question: Annotated[str, typer.Argument(help="The question.")],
    as_user: Annotated[str, typer.Option("--as", help="Answer from what this user may read (required).")],
    passages: Annotated[int, typer.Option("--passages", min=1, help="How many passages to answer from.")] = 5,
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """Answer a question from the documents a user may read, with numbered citations.

    With HEADWATER_LLM_URL set (any OpenAI-compatible chat API) the answer is written by that model and
    streamed; without it, the best sentences of the best passages are quoted."""
    streamed: list[str] = []

    def show(delta: str) -> None:
        streamed.append(delta)
        if not as_json:
            console.print(delta, end="", soft_wrap=True, highlight=False)

    answer = ask_service(settings_for(data_dir), question, as_user, passages=passages, on_delta=show)
    if as_json:
        print_json(answer)
        return
    if streamed:
        console.print()
    else:
        say(escape(answer["text"]))
    for c in answer["citations"]:
        where = ", ".join(f"{k} {v}" for k, v in (c.get("location") or {}).items())
        say(f"  [{c['number']}] [bold]{escape(str(c['recordName']))}[/] [dim]{escape(where)}[/]")


@cli_command
def explain(
    record: Annotated[str, typer.Argument(help="A record key, or a record's exact name.")],
    as_user: Annotated[str, typer.Option("--as", help="The user whose access to explain (required).")],
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """Why a user can, or cannot, see a record: the path of memberships, grant and inheritance."""
    why = explain_service(settings_for(data_dir), as_user, record)
    if as_json:
        print_json(why)
        return
    names: dict[str, str] = why.get("names") or {}

    def name(node_id: str) -> str:
        return names.get(node_id, node_id)

    verdict = "[green]can read[/]" if why["canRead"] else "[red]cannot read[/]"
    say(f"{escape(as_user)} {verdict} {escape(name('records/' + why['recordKey']))}")
    for path in why["paths"]:
        chain = " → ".join(name(n) for n in path["membership"])
        inherit = " → ".join(name(n) for n in path["inheritance"])
        say(f"  • {escape(chain)} ({escape(path['membershipReason'])})")
        granted = f"granted {path['role']} on {name(path['grantedOn'])}; record path: {inherit}"
        say(f"    {escape(granted)}")
        if path.get("lastSyncedAt"):
            say(f"    last synced {when(path['lastSyncedAt'])} UTC")
    for grant in why["grants"]:
        who = f"{name(grant['principal'])} ({grant['role']} on {name(grant['grantedOn'])})"
        say(f"  has access: {escape(who)}")
    for note in why["notes"]:
        say(f"  note: {escape(note)}")
