"""`headwater users` (list, add, set-password) and `headwater tokens` (create, list, revoke).

Passwords are read from a hidden prompt (asked twice) or, for scripts, from the first line of
stdin with `--password-stdin`; never from an option (it would land in the shell history and the
process list). A new API token is printed once.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.markup import escape

from headwater.services import accounts, api_tokens
from headwater.services.errors import InvalidArgumentError
from headwater.services.passwords import check_password_rules
from headwater.services.platform import open_store_only, organisation
from headwater.settings import Settings
from headwater.store.base import GraphStore

from . import records
from .common import DataDir, JsonOut, cli_command, may_ask, settings_for
from .output import print_json, say, table, when

users_app = typer.Typer(help="Platform users: list them, add one, set a password.", no_args_is_help=False)
tokens_app = typer.Typer(help="API tokens for scripts: `Authorization: Bearer hw_...`.", no_args_is_help=True)

PasswordStdin = Annotated[
    bool,
    typer.Option("--password-stdin", help="Read the password from the first line of stdin (for scripts)."),
]
AsUser = Annotated[str, typer.Option("--as", help="The user (email) the tokens belong to.")]


def read_password(from_stdin: bool, *, what: str = "password") -> str:
    """A new password from stdin's first line, or from a hidden prompt asked twice."""
    if from_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise InvalidArgumentError(
                f"--password-stdin was given but stdin has no {what} on its first line"
            )
        return line
    if not may_ask(no_input=False):
        raise InvalidArgumentError(
            f"no terminal to ask for the {what}: pipe it in with --password-stdin "
            "(e.g. from a secrets manager)"
        )
    password: str = typer.prompt(f"New {what}", hide_input=True, confirmation_prompt=True, err=True)
    check_password_rules(password)
    return password


def _with_store(settings: Settings) -> GraphStore:
    return open_store_only(settings)


@users_app.callback(invoke_without_command=True)
def users(ctx: typer.Context, data_dir: DataDir = None, as_json: JsonOut = False) -> None:
    """Platform users and the groups and roles they belong to (`users add`, `users set-password`:
    manage them).

    People granted access at a source who have not joined yet are listed as not active."""
    if ctx.invoked_subcommand is None:
        records.users(data_dir=data_dir, as_json=as_json)


@users_app.command("add")
@cli_command
def add_user(
    email: Annotated[str, typer.Argument(help="The person's email (their login).")],
    name: Annotated[str | None, typer.Option("--name", help="Full name (default: from the email).")] = None,
    role: Annotated[str, typer.Option("--role", help="admin or member.")] = "member",
    org: Annotated[
        str | None, typer.Option("--org", help="Organisation name (default: the first one).")
    ] = None,
    password_stdin: PasswordStdin = False,
    no_password: Annotated[
        bool, typer.Option("--no-password", help="Add without a password (set one later with set-password).")
    ] = False,
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """Add a user to the organisation with a role, and set their password."""
    accounts.check_role(role)
    password = None if no_password else read_password(password_stdin)
    store = _with_store(settings_for(data_dir))
    try:
        org_key = _org_key(store, org)
        account = accounts.create_user(store, org_key, email, name=name, role=role, password=password)
    finally:
        store.close()
    if as_json:
        print_json(account.as_dict())
        return
    say(
        f"added [bold]{escape(account.email)}[/] ({account.role})" + ("" if password else "; no password yet")
    )


def _org_key(store: GraphStore, name: str | None) -> str:
    with store.read() as tx:
        if name is None:
            return str(organisation(tx)["_key"])
        orgs = tx.find_nodes("organizations")
    for doc in orgs:
        if str(doc.get("registeredName", "")).lower() == name.strip().lower():
            return str(doc["_key"])
    known = ", ".join(sorted(str(d.get("registeredName")) for d in orgs)) or "none"
    raise InvalidArgumentError(f"no organisation named {name!r} (organisations: {known})")


@users_app.command("set-password")
@cli_command
def set_password(
    email: Annotated[str, typer.Argument(help="Whose password.")],
    password_stdin: PasswordStdin = False,
    data_dir: DataDir = None,
) -> None:
    """Set a user's password (their web sessions end)."""
    settings = settings_for(data_dir)
    store = _with_store(settings)
    try:
        account = accounts.find_account(store, email)
        accounts.set_password(store, account.key, read_password(password_stdin))
    finally:
        store.close()
    say(f"password set for [bold]{escape(account.email)}[/]")


@tokens_app.command("create")
@cli_command
def create_token(
    name: Annotated[str, typer.Argument(help="What the token is for, e.g. 'backup script'.")],
    as_user: AsUser,
    expires_in_days: Annotated[
        int | None, typer.Option("--expires-in-days", min=1, max=3650, help="Default: no expiry.")
    ] = None,
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """Create an API token acting as the user; it is printed once, so store it now."""
    store = _with_store(settings_for(data_dir))
    try:
        account = accounts.find_account(store, as_user)
        token, info = api_tokens.create_token(store, account, name, expires_in_days=expires_in_days)
    finally:
        store.close()
    if as_json:
        print_json(info.as_dict() | {"token": token})
        return
    say(f"API token [bold]{escape(info.name)}[/] for {escape(account.email)} (id {info.id}):")
    typer.echo(token)
    say("it is shown only now: store it somewhere safe. Use it as `Authorization: Bearer <token>`.")


@tokens_app.command("list")
@cli_command
def list_tokens(as_user: AsUser, data_dir: DataDir = None, as_json: JsonOut = False) -> None:
    """The user's API tokens (their first characters only)."""
    store = _with_store(settings_for(data_dir))
    try:
        found = api_tokens.list_tokens(store, accounts.find_account(store, as_user).key)
    finally:
        store.close()
    if as_json:
        print_json([t.as_dict() for t in found])
        return
    table(
        ("id", "name", "token starts", "last used", "expires"),
        (
            (t.id, t.name, t.prefix + "…", when(t.last_used_at) or "never", when(t.expires_at) or "never")
            for t in found
        ),
    )


@tokens_app.command("revoke")
@cli_command
def revoke_token(
    token_id: Annotated[str, typer.Argument(help="The token's id (`tokens list`).")],
    as_user: AsUser,
    data_dir: DataDir = None,
) -> None:
    """Revoke one of the user's API tokens; it stops working at once."""
    store = _with_store(settings_for(data_dir))
    try:
        info = api_tokens.revoke_token(store, accounts.find_account(store, as_user).key, token_id)
    finally:
        store.close()
    say(f"revoked API token [bold]{escape(info.name)}[/] ({info.id})")


def set_initial_admin_password(settings: Settings, email: str, from_stdin: bool) -> str:
    """For `init`: the admin's password from stdin or a prompt; returns what was done, in words."""
    store = _with_store(settings)
    try:
        account = accounts.find_account(store, email)
        if not from_stdin and accounts.has_password(store, account.key):
            return f"{email} has a password already"
        if not from_stdin and not may_ask(no_input=False):
            return (
                f"no password set for {email}: set one with `headwater users set-password {email}` "
                "(or run init with --admin-password-stdin)"
            )
        accounts.set_password(store, account.key, read_password(from_stdin, what=f"password for {email}"))
    finally:
        store.close()
    return f"password set for {email}"
