"""File names: any bytes Linux allows round-trip through the stored form and show readably."""

from __future__ import annotations

import os

from hypothesis import given, settings
from hypothesis import strategies as st

from headwater.connectors.sources.localfs.names import (
    display_name,
    os_name,
    os_parts,
    stored_name,
    stored_path,
)

NAME_BYTES = st.binary(min_size=1, max_size=40).filter(lambda b: b"/" not in b and b"\x00" not in b)


@settings(deadline=None)  # microseconds of work; a busy machine must not make it flaky
@given(NAME_BYTES)
def test_every_name_round_trips_and_is_storable(raw: bytes) -> None:
    name = os.fsdecode(raw)
    stored = stored_name(name)
    assert os.fsencode(os_name(stored)) == raw
    stored.encode("utf-8")  # no lone surrogates: the store's JSON accepts it
    display_name(name).encode("utf-8")


def test_ordinary_names_are_stored_as_they_are() -> None:
    assert stored_name("Résumé 2024.pdf") == "Résumé 2024.pdf"
    assert stored_name("100%.txt") == "100%25.txt"
    assert stored_name(os.fsdecode(b"caf\xe9.txt")) == "caf%E9.txt"
    assert display_name(os.fsdecode(b"caf\xe9.txt")) == "caf\ufffd.txt"


def test_paths_join_stored_names() -> None:
    parts = ("docs", os.fsdecode(b"\xff"), "a%b")
    assert stored_path(parts) == "docs/%FF/a%25b"
    assert os_parts(stored_path(parts)) == list(parts)
    assert os_parts("") == []


def test_only_what_was_escaped_is_unescaped() -> None:
    assert os_name("a%2Fb%2e%zz%") == "a%2Fb%2e%zz%"  # never written by stored_name: left alone
    assert os_name("%25%E9") == "%" + os.fsdecode(b"\xe9")
