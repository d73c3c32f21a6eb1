"""`headwater users add / set-password`, `headwater tokens`, and `init` setting the admin's password."""

from __future__ import annotations

from pathlib import Path

import pytest

from headwater.services import accounts
from headwater.services.api_tokens import resolve_token
from headwater.settings import Settings
from headwater.store.registry import open_store
from tests.cli.conftest import ADA, Cli, error_of


def _login(data_dir: Path, email: str, password: str) -> accounts.Account:
    store = open_store(Settings(data_dir=data_dir).resolved_store_url)
    try:
        return accounts.authenticate(store, email, password)
    finally:
        store.close()


def test_users_add_with_a_password_from_stdin_then_the_user_can_log_in(cli: Cli) -> None:
    args = ("users", "add", "carol@acme.test", "--name", "Carol", "--role", "admin", "--password-stdin")
    added = cli.json(*args, input="carols-password-1\n")
    assert (added["email"], added["name"], added["role"], added["isActive"]) == (
        "carol@acme.test",
        "Carol",
        "admin",
        True,
    )
    assert _login(cli.data_dir, "carol@acme.test", "carols-password-1").key == added["id"]
    listed = {u["email"]: u["role"] for u in cli.json("users")}
    assert listed["carol@acme.test"] == "admin"
    again = cli("users", "add", "carol@acme.test", "--no-password")
    assert again.exit_code == 1
    taken = "error: carol@acme.test is already in use: an email address belongs to one account"
    assert error_of(again) == taken


def test_users_add_without_a_terminal_or_stdin_says_how(cli: Cli) -> None:
    result = cli("users", "add", "dan@acme.test")
    assert result.exit_code == 1
    assert error_of(result) == (
        "error: no terminal to ask for the password: pipe it in with --password-stdin "
        "(e.g. from a secrets manager)"
    )
    short = cli("users", "add", "dan@acme.test", "--password-stdin", input="short\n")
    assert (
        error_of(short)
        == "error: the password is too short: use at least 10 characters (a few words make a good one)"
    )
    bad_role = cli("users", "add", "dan@acme.test", "--role", "owner", "--no-password")
    assert error_of(bad_role) == "error: role must be admin or member, not 'owner'"


def test_set_password_by_prompt_asks_twice_and_hides_it(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("headwater.cli.common.stdin_is_interactive", lambda: True)
    result = cli("users", "set-password", ADA, input="adas-new-password\nadas-new-password\n")
    assert result.exit_code == 0, result.output
    assert "adas-new-password" not in result.output
    assert "password set for ada@acme.test" in result.stdout
    assert _login(cli.data_dir, ADA, "adas-new-password").email == ADA
    unknown = cli("users", "set-password", "zed@acme.test", "--password-stdin", input="whatever-long\n")
    assert error_of(unknown).startswith("error: no account with email 'zed@acme.test'")


def test_tokens_create_prints_the_token_once_list_shows_a_prefix_and_revoke_ends_it(cli: Cli) -> None:
    created = cli("tokens", "create", "backup script", "--as", ADA)
    assert created.exit_code == 0, created.output
    token = next(line for line in created.stdout.splitlines() if line.startswith("hw_"))
    store = open_store(Settings(data_dir=cli.data_dir).resolved_store_url)
    try:
        assert resolve_token(store, token).email == ADA
        listed = cli.json("tokens", "list", "--as", ADA)
        assert [(t["name"], t["prefix"]) for t in listed] == [("backup script", token[:11])]
        table = cli("tokens", "list", "--as", ADA)
        assert token not in table.stdout
        revoked = cli("tokens", "revoke", listed[0]["id"], "--as", ADA)
        assert revoked.exit_code == 0
        with pytest.raises(accounts.AuthenticationError):
            resolve_token(store, token)
    finally:
        store.close()
    assert cli.json("tokens", "list", "--as", ADA) == []
    missing = cli("tokens", "revoke", "no-such-id", "--as", ADA)
    assert error_of(missing).startswith("error: you have no API token with id 'no-such-id'")


def test_init_sets_the_admin_password_from_stdin_or_says_how_to_later(cli: Cli, tmp_path: Path) -> None:
    piped = Cli(tmp_path / "piped", cli.runner)
    args = ("init", "--org", "Initech", "--admin-email", "peter@initech.test", "--admin-password-stdin")
    result = piped(*args, input="peters-password\n")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1] == "password set for peter@initech.test"
    assert _login(piped.data_dir, "peter@initech.test", "peters-password").role == "admin"

    quiet = Cli(tmp_path / "quiet", cli.runner)
    result = quiet("init", "--org", "Initech", "--admin-email", "peter@initech.test")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[1] == (
        "no password set for peter@initech.test: set one with `headwater users set-password "
        "peter@initech.test` (or run init with --admin-password-stdin)"
    )
