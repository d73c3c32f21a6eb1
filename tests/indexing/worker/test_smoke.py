from __future__ import annotations

from .helpers import ALICE, Env, doc, grant


def test_a_new_record_is_indexed_and_completed(env: Env) -> None:
    env.put("a.txt", "The quarterly plan covers hiring and budget.")
    env.sync((doc("a.txt"), [grant(ALICE)]))
    env.index_all()
    assert env.status("a.txt") == ("COMPLETED", None)
    key = env.key("a.txt")
    indexed = env.index.get_record(key)
    assert indexed is not None
    assert indexed.principals == frozenset({env.user(ALICE)})
    assert [c.text for c in env.index.get_chunks(key)] == ["The quarterly plan covers hiring and budget."]
