"""Questions answered from what the asking user may read, and "why can this user see this record":
the CLI's `ask` and `explain`, and what the API will call."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from headwater.search.answers import ChatAnswerer, ChatEndpoint, extractive_answer, finish_llm_answer
from headwater.search.explain import explain_access
from headwater.search.service import open_search_service
from headwater.settings import Settings

from .errors import InvalidArgumentError
from .platform import find_user, open_store_only

CHAT_TIMEOUT_S = 120.0


def ask(
    settings: Settings,
    question: str,
    user_email: str,
    *,
    passages: int = 5,
    on_delta: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """An answer with citations built only from passages `user_email` may read: streamed from the
    configured chat endpoint (`HEADWATER_LLM_URL`) through `on_delta`, else extractive."""
    if not question.strip():
        raise InvalidArgumentError("the question is empty — say what you want to know")
    with open_search_service(settings) as service:
        hits = service.search(question, user_key=service.user_key_for_email(user_email), k=passages).hits
    if not settings.llm_url:
        return extractive_answer(question, hits).as_dict()
    endpoint = ChatEndpoint.from_url(settings.llm_url)
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    with httpx.Client(timeout=CHAT_TIMEOUT_S) as client:
        answerer = ChatAnswerer(endpoint, client, key)
        pieces = []
        for delta in answerer.stream(question, hits) if hits else iter(()):
            pieces.append(delta)
            if on_delta is not None:
                on_delta(delta)
    if not hits:
        return extractive_answer(question, hits).as_dict() | {"mode": "llm", "model": endpoint.model}
    return finish_llm_answer("".join(pieces), hits, endpoint.model).as_dict()


def explain(settings: Settings, user_email: str, record: str) -> dict[str, Any]:
    """Why `user_email` can (or cannot) read `record` (a record key, or a record's exact name)."""
    store = open_store_only(settings)
    try:
        with store.read() as tx:
            user = find_user(tx, user_email)
            key = record if tx.get_node("records", record) else _key_by_name(tx.find_nodes("records"), record)
            return explain_access(tx, str(user["_key"]), key).as_dict() | {"user": user_email}
    finally:
        store.close()


def _key_by_name(docs: list[dict[str, Any]], name: str) -> str:
    matches = [d for d in docs if d.get("recordName") == name]
    if not matches:
        raise InvalidArgumentError(f"no record with key or name {name!r} — `headwater records` lists them")
    if len(matches) > 1:
        keys = ", ".join(str(d["_key"]) for d in matches[:5])
        raise InvalidArgumentError(
            f"{len(matches)} records are named {name!r}; pass one of their keys: {keys}"
        )
    return str(matches[0]["_key"])
