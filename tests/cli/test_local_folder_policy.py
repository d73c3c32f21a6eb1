"""Which server folders Local FS may read, as the operator meets it on the command line: any folder
but Headwater's own state (data directory, database, secret key, index), however the path is
spelled (symbolic links, `..`); and the policy itself (`services/local_folders.py`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from headwater.services import local_folders
from headwater.services.errors import ConfigValueError
from headwater.settings import Settings
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
