"""A process writing the embedded index dies mid-batch; reopening gives exactly the last committed
batch, and no search returns a deleted chunk, an old text, or a record to a principal it no longer grants."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from headwater.indexing.index.base import SearchIndex
from headwater.indexing.index.registry import open_search_index
from tests.indexing.index import crash_child as child

CHILD = Path(child.__file__)
ROOT = Path(__file__).parents[3]


def start_child(url: str, *args: str) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen(
        [sys.executable, str(CHILD), url, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def assert_index_equals(index: SearchIndex, model: child.Model, tokens: list[str]) -> None:
    """The index holds exactly `model`, and every search agrees with it."""
    assert index.record_keys() == set(model)
    assert index.count_chunks() == sum(len(texts) for _, texts in model.values())
    for key, (principals, texts) in model.items():
        record = index.get_record(key)
        assert record is not None, key
        assert record.principals == principals, key
        chunks = index.get_chunks(key)
        assert [c.text for c in chunks] == texts, key
        for ordinal, text in enumerate(texts):
            np.testing.assert_allclose(chunks[ordinal].vector, child.vector_for(text), atol=1e-6)
            # complete: each chunk is found by its own word and its own vector, by its readers
            token = text.split()[0]
            assert [(h.record_key, h.ordinal) for h in index.keyword_search(token, principals)] == [
                (key, ordinal)
            ]
            best = index.vector_search(child.vector_for(text), principals, k=1)
            assert [(h.record_key, h.ordinal) for h in best] == [(key, ordinal)]
    # sound: whatever any principal finds, by any word ever written, is current and readable by it
    for principal in child.ALL_PRINCIPALS:
        for token in tokens:
            for hit in index.keyword_search(token, {principal}, k=50):
                principals, texts = model[hit.record_key]
                assert principal in principals, (principal, token)
                assert texts[hit.ordinal] == hit.text, (principal, token)
        for text in [
            f"{w}{n} {s}" for n in range(len(tokens) // 3) for w, s in (("alpha", "body"), ("beta", "tail"))
        ]:
            for hit in index.vector_search(child.vector_for(text), {principal}, k=50):
                principals, texts = model[hit.record_key]
                assert principal in principals
                assert texts[hit.ordinal] == hit.text


@pytest.mark.parametrize(
    ("crash_point", "batches_kept"),
    [
        ("vectors_written", child.SETUP_BATCHES - 1),  # before the metadata commit: the batch is lost
        ("metadata_committed", child.SETUP_BATCHES),  # after it: tantivy and memory are behind
        ("keyword_staged", child.SETUP_BATCHES),
        ("keyword_committed", child.SETUP_BATCHES),  # only the journal entries are left over
    ],
)
def test_crash_inside_a_batch(tmp_path: Path, crash_point: str, batches_kept: int) -> None:
    url = f"embedded://{tmp_path / 'index'}"
    proc = start_child(url, "points", crash_point)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 77, (out, err)

    index = open_search_index(url, child.DIMENSIONS)
    try:
        assert_index_equals(index, child.model_after(batches_kept), child.tokens_up_to(child.SETUP_BATCHES))
        # and the repaired index keeps working: the next batch lands on top
        child.run_batch(index, batches_kept + 1)
        assert_index_equals(index, child.model_after(batches_kept + 1), child.tokens_up_to(batches_kept + 1))
    finally:
        index.close()


@pytest.mark.parametrize("options", ["", "?ann_min_vectors=1&exact_max_allowed=0"], ids=["exact", "ivf"])
def test_sigkill_at_random_instants(tmp_path: Path, options: str) -> None:
    rng = random.Random(20261124)
    url = f"embedded://{tmp_path / 'index'}{options}"
    kept = -1
    for _ in range(3):
        # each run continues the batches on what the previous kill left
        proc = start_child(url, "loop", str(kept + 1))
        assert proc.stdout is not None
        assert proc.stderr is not None
        wanted = kept + rng.randint(1, 4)
        last = kept
        while last < wanted:
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
            last = int(line.split()[1])
        time.sleep(rng.uniform(0, 0.05))
        proc.kill()
        rest, _ = proc.communicate()
        last = max([last, *(int(line.split()[1]) for line in rest.splitlines())])

        index = open_search_index(url, child.DIMENSIONS)
        try:
            # the kill may have landed after batch `last + 1` committed but before it was printed
            kept = last + 1 if index.get_record(f"r{last + 1}") is not None else last
            assert_index_equals(index, child.model_after(kept), child.tokens_up_to(kept + 1))
        finally:
            index.close()
