"""Relevance on the bundled sample workspace: the hand-written queries of examples/queries.json,
through the main job's own path (two local-folder instances, the worker, the real local model, the
embedded index, hybrid search), for each demo user.

For a user a query's documents are visible to, the first expected document must be among the top 5
(every query, both users) and the mean reciprocal rank must stay above 0.8 (0.906 when written).
For a user they are not visible to, none of them may appear at all.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from headwater.search.service import SearchService, open_search_service
from headwater.services.demo import run_demo
from headwater.settings import Settings

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
QUERIES: dict[str, Any] = json.loads((EXAMPLES / "queries.json").read_text())


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SearchService]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("relevance"))
    asyncio.run(run_demo(settings))
    with open_search_service(settings) as opened:
        yield opened


def test_the_workspace_is_generated_from_its_sources_and_the_queries_name_real_files() -> None:
    check = subprocess.run(
        [sys.executable, str(EXAMPLES / "make_workspace.py"), "--check"], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    for item in QUERIES["queries"]:
        for path in item["expected"]:
            assert (EXAMPLES / "workspace" / path).is_file(), (item["id"], path)


def test_hand_written_queries_find_their_documents_for_exactly_the_right_users(
    service: SearchService,
) -> None:
    reciprocal_ranks, misses, leaks = [], [], []
    for item in QUERIES["queries"]:
        expected = [Path(p).name for p in item["expected"]]
        for email in QUERIES["users"].values():
            hits = service.search(item["query"], user_key=service.user_key_for_email(email), k=10).hits
            names = [h.record_name for h in hits]
            found = [rank for rank, name in enumerate(names, 1) if name in expected]
            if email not in item["visible_to"]:
                if found:
                    leaks.append((item["id"], email, names))
                continue
            reciprocal_ranks.append(1 / found[0] if found else 0.0)
            if not found or found[0] > 5:
                misses.append((item["id"], email, names[:5]))
    assert leaks == []
    assert misses == []
    assert len(reciprocal_ranks) >= 30
    assert sum(reciprocal_ranks) / len(reciprocal_ranks) > 0.8
