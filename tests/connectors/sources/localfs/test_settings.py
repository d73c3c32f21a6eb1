"""The configuration's checks: each mistake is refused by init() with a message that says what to
fix, and the builder metadata declares the fields."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from headwater.connectors import testing
from headwater.connectors.core.connector import ConnectorInitError
from headwater.connectors.sources.localfs import LocalFilesystemConnector

from .helpers import World, make_unreadable, run, uninitialised


def _init_error(world: World) -> str:
    with pytest.raises(ConnectorInitError) as err:
        world.connector()
    return str(err.value)


def test_the_builder_declares_the_fields() -> None:
    meta = LocalFilesystemConnector._connector_metadata  # type: ignore[attr-defined]
    assert (meta["name"], meta["appGroup"], meta["supportedAuthTypes"]) == (
        "Local FS",
        "Local Storage",
        ["NONE"],
    )
    fields = meta["config"]["sync"]["customFields"]
    assert [(f["name"], f["fieldType"], f["required"]) for f in fields] == [
        ("folders", "TEXTAREA", True),
        ("maxFileSizeMb", "NUMBER", False),
        ("shareWithUsers", "TEXTAREA", False),
        ("shareWithGroups", "TEXTAREA", False),
    ]
    assert meta["config"]["permissionModel"] == "APP_LEVEL"
    assert meta["connectorScopes"] == ["personal", "team"]


def test_missing_configuration(world: World) -> None:
    connector = run(uninitialised(world, testing.DictConfigService()))
    with pytest.raises(ConnectorInitError) as err:
        run(connector.init())
    assert (
        str(err.value) == "Local FS is not configured yet: enter at least one folder under 'Folders to sync'"
    )
    assert connector.test_connection_and_access() is False


@pytest.mark.parametrize(
    ("folders", "message"),
    [
        (
            "",
            "No folder to sync: enter the absolute path of at least one folder (one per line) "
            "under 'Folders to sync'",
        ),
        (
            "notes",
            "'notes' is not an absolute path: enter the full path of the folder on the Headwater "
            "server, for example /srv/shared/notes",
        ),
    ],
)
def test_folder_list_mistakes(world: World, folders: str, message: str) -> None:
    world.sync["folders"] = folders
    assert _init_error(world) == message


def test_missing_folder(world: World, tmp_path: Path) -> None:
    world.sync["folders"] = f"{world.root}\n{tmp_path / 'gone'}"
    assert _init_error(world) == (
        f"The folder '{tmp_path / 'gone'}' does not exist on the Headwater server: check the path (and that "
        "its disk is mounted), or remove it from 'Folders to sync'"
    )


def test_a_file_instead_of_a_folder(world: World) -> None:
    world.sync["folders"] = str(world.root / "notes.txt")
    assert _init_error(world) == (
        f"'{world.root / 'notes.txt'}' is a file, not a folder: enter the folder that contains it under "
        "'Folders to sync'"
    )


def test_unreadable_folder(world: World) -> None:
    class DenyRoot(type(world.fs)):  # type: ignore[misc]
        def open_root(self, path: str) -> int:
            if path == str(world.root) and os.geteuid() == 0:
                raise PermissionError(13, "Permission denied", path)
            return super().open_root(path)

    world.fs = DenyRoot()
    if os.geteuid() != 0:
        make_unreadable(world.fs, world.root)
    try:
        assert _init_error(world) == (
            f"Headwater cannot read the folder '{world.root}' (permission denied): give the account that "
            "runs Headwater read and execute permission on it (for example chmod o+rx), or remove it from "
            "'Folders to sync'"
        )
    finally:
        world.root.chmod(0o755)


def test_nested_folders(world: World) -> None:
    world.sync["folders"] = f"{world.root}\n{world.root / 'docs'}"
    assert _init_error(world) == (
        f"'{world.root / 'docs'}' is inside '{world.root}', which is already listed under 'Folders to sync': "
        f"keep only '{world.root}'"
    )


def test_the_same_folder_twice_and_through_a_link_is_one_root(world: World, tmp_path: Path) -> None:
    os.symlink(world.root, tmp_path / "alias")
    world.sync["folders"] = f"{world.root}\n{tmp_path / 'alias'}\n{world.root}/"
    connector = world.connector()
    assert connector.settings is not None
    assert [r.path for r in connector.settings.roots] == [str(world.root)]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (
            "maxFileSizeMb",
            "lots",
            "'Maximum file size (MiB)' must be a positive number, not 'lots': for example 100",
        ),
        ("maxFileSizeMb", 0, "'Maximum file size (MiB)' must be a positive number, not 0: for example 100"),
        ("shareWithUsers", "bob@example.com, bob", "'bob' in 'Share with users' is not an email address"),
        (
            "shareWithGroups",
            "Engineering",
            "The line 'Engineering' in 'Share with groups' is not 'group name: email, email'",
        ),
        (
            "shareWithGroups",
            "Engineering:",
            "The group 'Engineering' in 'Share with groups' has no members: write 'group name: email, email'",
        ),
        ("shareWithGroups", "A: a@x.io\na: b@x.io", "The group 'a' appears twice in 'Share with groups'"),
    ],
)
def test_field_mistakes(world: World, field: str, value: object, message: str) -> None:
    world.sync[field] = value
    assert _init_error(world) == message


def test_values_under_custom_values_are_read_too(world: World) -> None:
    folders = world.sync.pop("folders")
    world.sync["customValues"] = {"folders": folders, "maxFileSizeMb": 5}
    connector = world.connector()
    assert connector.settings is not None
    assert connector.settings.max_file_bytes == 5 * 2**20
    assert connector.test_connection_and_access() is True
    world.root.rename(world.root.with_name("moved-away"))
    assert connector.test_connection_and_access() is False
