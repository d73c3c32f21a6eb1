"""Every way the connector touches the disk, in one replaceable object.

Paths are never opened whole. The walk goes from the configured root one name at a time with
`openat` (`dir_fd=`) and `O_NOFOLLOW`, so a symbolic link anywhere below the root (even one swapped
in after a check) makes the open fail instead of leading outside the root. Files are opened with
`O_NONBLOCK` (a FIFO put where a file was must not hang the sync) and checked with `fstat` to be
regular files.

Tests replace an `FsAccess` with a subclass that refuses chosen names: they often run as root,
where `chmod 000` does not stop a read.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

READ_CHUNK = 1 << 20
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


class NotARegularFileError(OSError):
    """What was opened is not a regular file (a FIFO, a device, a socket, a folder)."""


class FsAccess:
    """Opens roots, folders and files below a root without ever following a link."""

    def open_root(self, path: str) -> int:
        """A directory fd for a configured root (already resolved to a real path)."""
        return os.open(path, _DIR_FLAGS)

    def open_dir(self, parent_fd: int, name: str) -> int:
        _check_name(name)
        try:
            return os.open(name, _DIR_FLAGS, dir_fd=parent_fd)
        except NotADirectoryError:
            # O_NOFOLLOW | O_DIRECTORY reports a link as "not a directory"; say what it is
            if stat.S_ISLNK(os.stat(name, dir_fd=parent_fd, follow_symlinks=False).st_mode):
                raise OSError(errno.ELOOP, "is a symbolic link", name) from None
            raise

    def open_file(self, dir_fd: int, name: str) -> int:
        """A read-only fd for the regular file `name` in the folder `dir_fd`."""
        _check_name(name)
        fd = os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise NotARegularFileError(f"{name!r} is not a regular file")
            os.set_blocking(fd, True)
        except BaseException:
            os.close(fd)
            raise
        return fd

    def list_dir(self, dir_fd: int) -> list[os.DirEntry[str]]:
        with os.scandir(dir_fd) as entries:
            return list(entries)

    def fs_tag(self, dir_fd: int, st_dev: int) -> int:
        """A number naming the filesystem that stays the same across reboots where the filesystem
        reports one (its fsid, derived from its UUID on ext4, XFS, btrfs), else its device number."""
        fsid = os.fstatvfs(dir_fd).f_fsid
        return fsid if fsid else st_dev

    def hash_file(self, dir_fd: int, name: str) -> tuple[str, os.stat_result]:
        """(sha256 hex of the content, the file's stat after reading it)."""
        fd = self.open_file(dir_fd, name)
        try:
            digest = hashlib.sha256()
            while chunk := os.read(fd, READ_CHUNK):
                digest.update(chunk)
            return digest.hexdigest(), os.fstat(fd)
        finally:
            os.close(fd)

    @contextmanager
    def folder(self, root: str, parts: Sequence[str]) -> Iterator[int]:
        """An fd for the folder `parts` below `root`, reached name by name; closed on exit."""
        fd = self.open_root(root)
        try:
            for part in parts:
                child = self.open_dir(fd, part)
                os.close(fd)
                fd = child
            yield fd
        finally:
            os.close(fd)


def _check_name(name: str) -> None:
    """One name, never a path: `a/../..` would climb out of the folder in a single open."""
    if not name or name in (".", "..") or "/" in name or "\x00" in name:
        raise OSError(errno.EINVAL, "not a single file name", name)
