"""Which server folders Local FS may read, as the operator meets it on the command line: any folder
but Headwater's own state (data directory, database, secret key, index), however the path is
spelled (symbolic links, `..`); the policy itself (`services/local_folders.py`); and a sync through
the services, which never reads that state even when a stored config points at it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from headwater.connectors.core.engine import SyncEngine
from headwater.connectors.core.instances import get_instance, get_run
from headwater.connectors.sources.localfs.settings import forbid_paths
from headwater.services import local_folders
from headwater.services.errors import ConfigValueError
from headwater.services.platform import config_key, find_instance, open_platform, open_store_only
from headwater.services.workers import Role, run_workers
from headwater.settings import Settings
from headwater.store.base import GraphStore
from tests.cli.conftest import Cli, error_of

LOCAL_FS = "Local FS"


def add(cli: Cli, name: str, folder: Path | str) -> tuple[int, str]:
    result = cli("connectors", "add", LOCAL_FS, "--name", name, "--no-input", "--set", f"folders={folder}")
    return result.exit_code, (error_of(result) if result.exit_code else "")


def test_the_cli_refuses_headwater_s_own_data_however_it_is_named(
    cli: Cli, data_dir: Path, folder: Path, tmp_path: Path
) -> None:
    (tmp_path / "link-to-data").symlink_to(data_dir)
    for name, path in [
        ("data", data_dir),
        ("index", data_dir / "index"),
        ("parent", data_dir.parent),  # holds the data directory
        ("dotdot", folder / ".." / data_dir.name),
        ("link", tmp_path / "link-to-data"),
    ]:
        code, error = add(cli, name, path)
        assert code == 1, name
        assert "is or holds Headwater's own data" in error, (name, error)
    # any other folder is the operator's to choose: no HEADWATER_LOCALFS_ROOTS needed on the server
    assert add(cli, "notes", folder) == (0, "")
    # nor can a configure move an instance onto the data directory
    moved = cli("connectors", "configure", "notes", "--no-input", "--set", f"folders={data_dir}")
    assert moved.exit_code == 1
    assert "is or holds Headwater's own data" in error_of(moved)


def test_the_policy_compares_real_paths(tmp_path: Path) -> None:
    data, keys, shared, elsewhere = (tmp_path / n for n in ("data", "keys", "shared", "elsewhere"))
    for path in (data, keys, shared / "team", elsewhere):
        path.mkdir(parents=True)
    (shared / "escape").symlink_to(elsewhere)
    settings = Settings(data_dir=data, secret_key_file=keys / "secret.key", localfs_roots=(shared,))

    def check(folder: Path | str, *, within_roots: bool = True) -> str:
        config = {"sync": {"folders": str(folder)}}
        try:
            local_folders.check_folders(settings, config, within_roots=within_roots)
        except ConfigValueError as exc:
            return str(exc)  # "folders: <reason>"
        return ""

    assert check(shared) == ""
    assert check(shared / "team") == ""
    assert check(f"{shared}/team/../team") == ""
    assert check(shared / "escape").startswith("folders: '")  # a link inside a root leads out...
    assert "is outside the folders" in check(shared / "escape")  # ...so it is outside
    assert "is outside the folders" in check(f"{shared}/team/../../elsewhere")
    assert "HEADWATER_LOCALFS_ROOTS" in check(elsewhere)
    assert check(elsewhere, within_roots=False) == ""  # the CLI: the operator's choice
    assert "own data" in check(keys, within_roots=False)  # the secret key file's folder
    assert "own data" in check(data / "index", within_roots=False)
    # a folder that does not exist is refused with the same words as one that does
    outside_missing = check(tmp_path / "nope")
    assert outside_missing == check(elsewhere).replace(str(elsewhere), str(tmp_path / "nope"))
    # several lines: each is checked
    assert "own data" in check(f"{shared}\n{data}", within_roots=False)
    # a root that holds the data directory does not open it
    settings = settings.model_copy(update={"localfs_roots": (tmp_path,)})
    assert check(elsewhere) == ""
    assert "own data" in check(data)
    assert "own data" in check(tmp_path)


def test_no_roots_means_no_folder_through_the_api(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    with pytest.raises(ConfigValueError) as refused:
        local_folders.check_folders(settings, {"sync": {"folders": str(tmp_path)}}, within_roots=True)
    assert "until its operator sets HEADWATER_LOCALFS_ROOTS" in refused.value.reason
    assert "headwater connectors add" in refused.value.reason


def test_the_roots_setting_takes_absolute_paths_separated_like_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEADWATER_LOCALFS_ROOTS", "/srv/shared:/mnt/team/")
    assert Settings().localfs_roots == (Path("/srv/shared"), Path("/mnt/team"))
    monkeypatch.setenv("HEADWATER_LOCALFS_ROOTS", "srv/shared")
    with pytest.raises(ValueError, match="HEADWATER_LOCALFS_ROOTS takes absolute paths"):
        Settings()
    monkeypatch.delenv("HEADWATER_LOCALFS_ROOTS")
    assert Settings().localfs_roots == ()


def _point_at(data_dir: Path, name: str, folder: Path) -> str:
    """Rewrite an instance's folders in the config store itself, past the policy (as an instance
    saved before the rule, or a config edited in the store, would be); returns its id."""
    settings = Settings(data_dir=data_dir)

    async def rewrite() -> str:
        async with open_platform(settings) as platform:
            doc = find_instance(platform.store, name)
            key = config_key(str(doc["_key"]))
            stored = await platform.config_store.get(key) or {}
            await platform.config_store.put(key, {**stored, "sync": {"folders": str(folder)}})
            return str(doc["_key"])

    return asyncio.run(rewrite())


def _record_names(data_dir: Path, connector_id: str) -> set[str]:
    store = open_store_only(Settings(data_dir=data_dir))
    try:
        with store.read() as tx:
            return {str(d["recordName"]) for d in tx.find_nodes("records", connector_id=connector_id)}
    finally:
        store.close()


def test_a_sync_never_reads_headwater_s_own_data_whatever_the_config_says(
    cli: Cli, data_dir: Path, folder: Path, tmp_path: Path
) -> None:
    try:
        assert add(cli, "data", folder) == (0, "")
        assert add(cli, "everything", folder) == (0, "")
        data_id = _point_at(data_dir, "data", data_dir)
        everything_id = _point_at(data_dir, "everything", tmp_path)  # holds the data directory

        run = cli.json("sync", "data")
        assert (run["outcome"], run["new"], run["failed"]) == ("completed", 0, 1)
        assert _record_names(data_dir, data_id) == set()  # nothing from it was read
        [failure] = cli.json("status", "data", "--history")["runs"][0]["failures"]
        assert failure["recordName"] == str(data_dir)
        assert failure["reason"].startswith(f"{data_dir} is or lies inside Headwater's own data")

        run = cli.json("sync", "everything")
        assert (run["outcome"], run["failed"]) == ("completed", 1)
        names = _record_names(data_dir, everything_id)
        assert {"notes", "readme.md", "plan.md"} <= names  # the rest of the folder is synced
        assert not names & {data_dir.name, "headwater.db", "secret.key", "index"}
        [failure] = cli.json("status", "everything", "--history")["runs"][0]["failures"]
        assert failure["recordName"] == data_dir.name
        assert f"{data_dir} is Headwater's own data" in failure["reason"]
    finally:
        forbid_paths(())  # a process-wide setting: later tests start without it


def test_the_sync_worker_never_reads_headwater_s_own_data_either(
    cli: Cli, data_dir: Path, folder: Path
) -> None:
    assert add(cli, "data", folder) == (0, "")
    data_id = _point_at(data_dir, "data", data_dir)
    settings = Settings(data_dir=data_dir)
    forbid_paths(())  # what the worker installs is under test

    async def one_sync_by_the_worker() -> dict[str, Any]:
        stop = asyncio.Event()
        worker = asyncio.create_task(run_workers(settings, [Role.SYNC], stop, poll_s=0.02))
        try:
            async with open_platform(settings) as platform:
                SyncEngine(platform.store, platform.config_store).request_sync(data_id)
                for _ in range(500):
                    run = last_run(platform.store, data_id)
                    if run is not None and run.get("outcome") != "running":
                        return run
                    await asyncio.sleep(0.02)
            raise AssertionError("the sync worker did not run the requested sync within 10 s")
        finally:
            stop.set()
            await asyncio.wait_for(worker, timeout=20)

    try:
        run = asyncio.run(one_sync_by_the_worker())
        assert (run["outcome"], run["new"], run["failed"]) == ("completed", 0, 1)
        assert _record_names(data_dir, data_id) == set()
    finally:
        forbid_paths(())


def last_run(store: GraphStore, connector_id: str) -> dict[str, Any] | None:
    doc = get_instance(store, connector_id) or {}
    return get_run(store, str(doc["lastRunId"])) if doc.get("lastRunId") else None
