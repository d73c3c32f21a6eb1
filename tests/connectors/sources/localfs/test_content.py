"""stream_record serves a file's bytes, and refuses anything that could lead outside the
configured folders: paths with `..` or absolute paths in the stored record, links swapped in after
the sync, another instance's records, folders, removed roots."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from headwater.connectors.sources.localfs import (
    LocalFileGoneError,
    LocalFileRefusedError,
    LocalFileStream,
)
from headwater.errors import HeadwaterError
from headwater.models.entities import FileRecord, Record

from .helpers import CID, World, content_of, record_at, run, uninitialised, write


@pytest.fixture
def synced(world: World) -> World:
    world.run_sync()
    return world


def _stream(world: World, record: Record) -> LocalFileStream:
    async def go() -> LocalFileStream:
        connector = await world.make(world.store, CID)
        return await connector.stream_record(record)

    return run(go())


def _refused(world: World, record: Record) -> str:
    with pytest.raises(HeadwaterError) as err:
        _stream(world, record)
    return str(err.value)


def test_serves_the_bytes_in_chunks_with_a_media_type(synced: World) -> None:
    big = os.urandom(700_000)
    (synced.root / "docs" / "a.txt").write_bytes(big)

    async def go() -> tuple[list[bytes], LocalFileStream]:
        connector = await synced.make(synced.store, CID)
        stream = await connector.stream_record(record_at(synced.store, "docs/a.txt"))
        return [chunk async for chunk in stream], stream

    chunks, stream = run(go())
    assert b"".join(chunks) == big
    assert [len(c) for c in chunks] == [262_144, 262_144, 175_712]
    assert (stream.media_type, stream.filename, stream.size) == ("text/plain", "a.txt", 700_000)
    assert content_of(synced, "docs/b.md") == b"# bravo"


def test_no_signed_url_for_local_files(synced: World) -> None:
    connector = synced.connector()
    assert connector.get_signed_url(record_at(synced.store, "docs/a.txt")) is None


def test_a_file_swapped_for_a_link_to_outside_is_refused(synced: World, tmp_path: Path) -> None:
    outside = write(tmp_path / "outside" / "a.txt", "not yours")
    record = record_at(synced.store, "docs/a.txt")
    (synced.root / "docs" / "a.txt").unlink()
    os.symlink(outside, synced.root / "docs" / "a.txt")
    message = _refused(synced, record)
    assert message == (
        f"record {record.id} ('a.txt'): its path below {synced.root} now goes through a symbolic link; "
        "links are never followed, so it is not served"
    )


def test_a_folder_swapped_for_a_link_to_outside_is_refused(synced: World, tmp_path: Path) -> None:
    write(tmp_path / "outside" / "deep" / "c.txt", "not yours")
    record = record_at(synced.store, "docs/deep/c.txt")
    (synced.root / "docs").rename(tmp_path / "docs-away")
    os.symlink(tmp_path / "outside", synced.root / "docs")
    with pytest.raises(LocalFileRefusedError, match="goes through a symbolic link"):
        _stream(synced, record)


@pytest.mark.parametrize(
    ("stored_path", "why"),
    [
        ("../outside/secret.txt", "has a path with '.', '..', empty or malformed parts"),
        ("docs/../../outside/secret.txt", "has a path with '.', '..', empty or malformed parts"),
        ("docs//a.txt", "has a path with '.', '..', empty or malformed parts"),
        ("docs/.", "has a path with '.', '..', empty or malformed parts"),
        ("/etc/passwd", "has an absolute path"),
        ("", "has no path below its folder"),
    ],
)
def test_stored_paths_that_could_climb_out_are_refused(synced: World, stored_path: str, why: str) -> None:
    record = record_at(synced.store, "docs/a.txt")
    assert isinstance(record, FileRecord)
    record.local_fs_relative_path = stored_path
    assert _refused(synced, record).startswith(f"record {record.id} ('a.txt') {why}")


def test_records_of_another_instance_folders_and_removed_roots_are_refused(synced: World) -> None:
    record = record_at(synced.store, "docs/a.txt")
    other = record.model_copy(update={"connector_id": "someone-else"})
    assert "belongs to connector instance 'someone-else', not to this one ('localfs-1')" in _refused(
        synced, other
    )
    folder = record_at(synced.store, "docs")
    assert "is not a file: only files have content to stream" in _refused(synced, folder)
    elsewhere = record.model_copy(update={"external_record_group_id": "root:/somewhere/else"})
    assert "is not under a folder this connector syncs" in _refused(synced, elsewhere)


def test_a_file_gone_or_replaced_by_a_fifo_is_reported_gone(synced: World) -> None:
    record = record_at(synced.store, "docs/a.txt")
    (synced.root / "docs" / "a.txt").unlink()
    with pytest.raises(LocalFileGoneError, match="is no longer a file in"):
        _stream(synced, record)
    os.mkfifo(synced.root / "docs" / "a.txt")  # must not block the open
    with pytest.raises(LocalFileGoneError, match="is no longer a file in"):
        _stream(synced, record)


def test_stream_before_init_says_so(synced: World) -> None:
    connector = run(uninitialised(synced, synced.config(CID)))
    with pytest.raises(HeadwaterError, match="used before init"):
        run(connector.stream_record(record_at(synced.store, "docs/a.txt")))


def test_an_escaped_slash_never_becomes_part_of_a_path(synced: World, tmp_path: Path) -> None:
    write(tmp_path / "outside" / "secret.txt", "not yours")
    record = record_at(synced.store, "docs/a.txt")
    assert isinstance(record, FileRecord)
    record.local_fs_relative_path = "..%2Foutside/secret.txt"  # '%2F' is never written for '/'
    with pytest.raises(LocalFileGoneError):
        _stream(synced, record)


def test_disk_access_takes_single_names_only() -> None:
    from headwater.connectors.sources.localfs.fsaccess import FsAccess

    fs = FsAccess()
    fd = os.open("/", os.O_RDONLY | os.O_DIRECTORY)
    try:
        for name in ("etc/..", "..", ".", "", "a\x00b"):
            with pytest.raises(OSError, match="not a single file name"):
                fs.open_dir(fd, name)
            with pytest.raises(OSError, match="not a single file name"):
                fs.open_file(fd, name)
    finally:
        os.close(fd)
