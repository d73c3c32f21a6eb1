"""Records held by the mass-deletion brake are hidden from search until they come back: the sweep
announces the change and the index takes their principals away; releasing them gives them back.
Nothing is re-embedded either way."""

from __future__ import annotations

from .helpers import ALICE, Env, doc, grant, run


def _principals(env: Env, ext: str) -> frozenset[str]:
    record = env.index.get_record(env.key(ext))
    assert record is not None
    return record.principals


def test_quarantined_records_are_found_by_nobody_until_released(env: Env) -> None:
    names = [f"{c}.txt" for c in "abcdefghij"]
    for name in names:
        env.put(name, f"quarterly notes {name}")
    env.sync(*[(doc(name), [grant(ALICE)]) for name in names])
    env.index_all()
    alice = env.user(ALICE)
    assert all(alice in _principals(env, n) for n in names)
    embedded = len(env.embedder.texts)

    env.processor.begin_scope("whole", whole_connector=True)
    env.sync(*[(doc(name), [grant(ALICE)]) for name in names[:7]])  # h, i, j missing: 30 % > 20 %
    result = run(env.processor.complete_scope("whole"))
    assert result.braked
    env.index_all()
    assert [n for n in names if not _principals(env, n)] == ["h.txt", "i.txt", "j.txt"]
    assert all(alice in _principals(env, n) for n in names[:7])

    assert run(env.processor.release_quarantine()) == ["h.txt", "i.txt", "j.txt"]
    env.index_all()
    assert all(alice in _principals(env, n) for n in names)
    assert len(env.embedder.texts) == embedded  # access changes only: nothing embedded again
