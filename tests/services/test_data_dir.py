"""What `reset` deletes, keeps and refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from headwater.services.data_dir import apply_reset, plan_reset
from headwater.services.errors import NotADataDirError
from headwater.settings import Settings


def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "hw"
    (path / "index").mkdir(parents=True)
    (path / "index" / "segment").write_text("x")
    (path / "headwater.db").write_text("db")
    (path / "secret.key").write_text("key")
    return path


def test_everything_in_an_embedded_data_dir_goes(tmp_path: Path) -> None:
    path = data_dir(tmp_path)
    plan = plan_reset(Settings(data_dir=path))
    assert [p.name for p in plan.delete] == ["headwater.db", "index", "secret.key"]
    assert (plan.keep, plan.server_backends) == ([], [])
    apply_reset(plan)
    assert path.is_dir()
    assert list(path.iterdir()) == []


def test_server_backends_are_named_not_touched_and_their_key_is_kept(tmp_path: Path) -> None:
    path = data_dir(tmp_path)
    settings = Settings(
        data_dir=path,
        store_url="postgresql://hw:s3cret-pw@db.internal:5433/headwater?schema=prod",
        config_url="etcd://etcd.internal:2379",
        events_url="kafka://kafka.internal:9092",
    )
    plan = plan_reset(settings)
    assert plan.server_backends == [
        "graph store: postgresql://db.internal:5433/headwater",
        "event log: kafka://kafka.internal:9092",
        "config store: etcd://etcd.internal:2379",
    ]
    assert [(p.name, why) for p, why in plan.keep] == [
        ("secret.key", "the server config store's secrets are encrypted with it")
    ]
    assert "s3cret-pw" not in str(plan.as_dict())
    apply_reset(plan)
    assert [p.name for p in path.iterdir()] == ["secret.key"]


@pytest.mark.parametrize("make", ["missing", "unrelated", "home"])
def test_refuses_what_is_not_a_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make: str) -> None:
    target = tmp_path / "target"
    if make == "unrelated":
        target.mkdir()
        (target / "notes.txt").write_text("mine")
    if make == "home":
        target = data_dir(tmp_path)
        monkeypatch.setenv("HOME", str(target))
    with pytest.raises(NotADataDirError):
        plan_reset(Settings(data_dir=target))
