"""Questions answered from what the asking user may read, and "why can this user see this record".

`ask` and `explain` are the CLI's (a user named by email). The API and the web pages use the
caller-scoped functions: `passages_for` (search as the caller: the only passages an answer may use),
then `stream_answer` (events `citation`, `token`, `done`, `error`) or `collect_answer` (the finished
answer), and `explain_for` (who may ask about whom is decided there).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx

from headwater.clients.openai_compatible import error_message
from headwater.errors import NotFoundError
from headwater.search.answers import (
    AnswerError,
    ChatAnswerer,
    ChatEndpoint,
    chat_messages,
    chat_stream_delta,
    citations_for,
    extractive_answer,
    finish_llm_answer,
)
from headwater.search.explain import explain_access
from headwater.search.service import SearchHit, SearchService, open_search_service
from headwater.settings import Settings
from headwater.store.base import GraphStore

from .errors import ForbiddenError, InvalidArgumentError
from .platform import find_user, open_store_only
from .record_access import RecordNotFoundError, can_read_record
from .search import MAX_QUERY_CHARS, SearchScope, readable_hits, without_hidden_web_urls

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
        with service.store.read() as tx:
            hits = without_hidden_web_urls(tx, hits)
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


# ---- for the API and the web pages: always as the caller -----------------------------------------

MAX_QUESTION_CHARS = MAX_QUERY_CHARS  # the question is the search query its passages come from
MAX_PASSAGES = 20
NO_MATCH = "No document you can read matches the question."


def passages_for(
    service: SearchService,
    store: GraphStore,
    *,
    user_key: str,
    org_key: str,
    question: str,
    k: int = 5,
    scope: SearchScope | None = None,
) -> list[SearchHit]:
    """The passages an answer to `question` may use: the caller's best readable hits. Raises
    InvalidArgumentError for an empty or oversized question before anything is searched."""
    if not question.strip():
        raise InvalidArgumentError("the question is empty — say what you want to know")
    if len(question) > MAX_QUESTION_CHARS:
        raise InvalidArgumentError(
            f"the question is longer than {MAX_QUESTION_CHARS} characters — shorten it"
        )
    if not 1 <= k <= MAX_PASSAGES:
        raise InvalidArgumentError(f"k (passages) must be between 1 and {MAX_PASSAGES}, not {k}")
    hits, _ = readable_hits(
        service, store, user_key=user_key, org_key=org_key, query=question, k=k, mode="hybrid", scope=scope
    )
    return hits


async def stream_answer(
    question: str, hits: list[SearchHit], *, settings: Settings, http: httpx.AsyncClient
) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """The answer as events: one `citation` per numbered passage (what `[n]` in the text refers
    to), `token`s of text (`{"text": ...}`), then `done` with the whole answer (`text`, `mode`,
    `model`, and `citations`: only those the text cites). A chat endpoint that fails ends the
    stream with `error` (`{"code", "message"}`; the message never carries the API key).

    With `HEADWATER_LLM_URL` the text streams from that OpenAI-compatible endpoint through `http`;
    without, the extractive answer arrives as one `token`."""
    if not settings.llm_url or not hits:
        answer = extractive_answer(question, hits)
        for citation in answer.citations:
            yield "citation", citation.as_dict()
        yield "token", {"text": answer.text}
        yield "done", answer.as_dict()
        return
    endpoint = ChatEndpoint.from_url(settings.llm_url)
    for citation in citations_for(hits):
        yield "citation", citation.as_dict()
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    pieces: list[str] = []
    try:
        async for delta in _chat_deltas(http, endpoint, key, question, hits):
            pieces.append(delta)
            yield "token", {"text": delta}
    except AnswerError as exc:
        yield "error", {"code": "answer_failed", "message": str(exc)}
        return
    yield "done", finish_llm_answer("".join(pieces), hits, endpoint.model).as_dict()


async def collect_answer(
    question: str, hits: list[SearchHit], *, settings: Settings, http: httpx.AsyncClient
) -> dict[str, Any]:
    """The finished answer (`stream_answer`'s `done`); AnswerError when the chat endpoint failed."""
    async for event, data in stream_answer(question, hits, settings=settings, http=http):
        if event == "done":
            return data
        if event == "error":
            raise AnswerError(str(data["message"]))
    raise AnswerError("the answer ended without a result")  # pragma: no cover - stream_answer always ends


async def _chat_deltas(
    http: httpx.AsyncClient, endpoint: ChatEndpoint, api_key: str | None, question: str, hits: list[SearchHit]
) -> AsyncIterator[str]:
    """Text deltas from the chat completions endpoint (server-sent events), as they arrive."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    body = {"model": endpoint.model, "stream": True, "messages": chat_messages(question, hits)}
    url = f"{endpoint.base_url}/chat/completions"
    try:
        async with http.stream(
            "POST", url, json=body, headers=headers, timeout=httpx.Timeout(CHAT_TIMEOUT_S, connect=10.0)
        ) as response:
            if response.status_code != 200:
                await response.aread()
                said = error_message(response)
                if api_key:  # a server may echo the key it rejected
                    said = said.replace(api_key, "***")
                hint = " — check HEADWATER_LLM_API_KEY" if response.status_code in (401, 403) else ""
                raise AnswerError(f"chat endpoint {url} answered {response.status_code}: {said}{hint}")
            async for line in response.aiter_lines():
                delta = chat_stream_delta(line)
                if delta is None:
                    return
                if delta:
                    yield delta
    except httpx.HTTPError as exc:
        raise AnswerError(f"cannot reach the chat endpoint {url}: {type(exc).__name__}") from None


def explain_for(
    store: GraphStore,
    *,
    caller_user_key: str,
    caller_email: str,
    caller_org_key: str,
    caller_is_admin: bool,
    record_key: str,
    user_email: str | None = None,
) -> dict[str, Any]:
    """Why a user can (or cannot) read a record: `explain_access`'s paths, grants, notes and names,
    plus `user` (`{key, email}`) and `searchable` (what search, browsing and content links decide:
    READ-or-better grants, not while quarantined; `canRead` also counts lesser grants).

    Who may ask: anyone about themselves (`user_email` None or their own), for a record they can
    read; an admin about any user of their organisation, for any record of it (an access audit:
    it shows grants and names, never content). Nothing crosses organisations: another org's record
    or user is "not found", and so is a record a member cannot read."""
    asking_self = user_email is None or user_email.strip().lower() == caller_email.lower()
    if not asking_self and not caller_is_admin:
        raise ForbiddenError(
            "members may ask only about themselves: leave out `user` (or pass your own email)"
        )
    with store.read() as tx:
        if asking_self:
            target_key, target_email = caller_user_key, caller_email
        else:
            email = str(user_email).strip().lower()
            doc = tx.get_nodes_by_external_ids("users", "", [email]).get(email)
            if doc is None or str(doc.get("orgId") or "") != caller_org_key:
                raise NotFoundError(f"no user {email!r} in your organisation")
            target_key, target_email = str(doc["_key"]), str(doc.get("email") or email)
        record = tx.get_node("records", record_key)
        if record is None or str(record.get("orgId") or "") != caller_org_key or record.get("isPlaceholder"):
            raise RecordNotFoundError(record_key)
        if not caller_is_admin and not can_read_record(tx, caller_user_key, caller_org_key, record_key):
            raise RecordNotFoundError(record_key)
        why = explain_access(tx, target_key, record_key).as_dict()
        searchable = can_read_record(tx, target_key, caller_org_key, record_key)
    return why | {"user": {"key": target_key, "email": target_email}, "searchable": searchable}
