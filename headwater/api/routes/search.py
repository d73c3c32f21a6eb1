"""Search and answers, always as the caller.

    POST /api/v1/search   hits with highlighted snippets and where in the record they are
    POST /api/v1/ask      an answer with numbered citations: JSON, or server-sent events

There is no "search as another user" parameter, for admins either: an unknown field such as
`asUser` is refused (422). An admin who wants to know what someone can see asks
`GET /api/v1/records/{key}/explain?user=...`, which shows grants and never content.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from headwater.api.deps import Caller, CallerDep, StateDep
from headwater.api.errors import AUTH_ERRORS, error_json, error_responses
from headwater.api.json_types import JsonDateTime, JsonInt
from headwater.api.state import ApiState
from headwater.search.answers import AnswerError
from headwater.search.service import SearchHit
from headwater.services.answers import (
    MAX_PASSAGES,
    MAX_QUESTION_CHARS,
    collect_answer,
    passages_for,
    stream_answer,
)
from headwater.services.search import MAX_K, MAX_QUERY_CHARS, SearchScope, search_as

router = APIRouter(prefix="/api/v1", tags=["search"])


class Filters(BaseModel):
    """Narrow the search; a list matches any of its values. A window whose `modifiedFrom` is not
    before its `modifiedTo` matches nothing."""

    model_config = ConfigDict(extra="forbid", strict=True)

    connectorIds: list[str] = Field(default_factory=list, max_length=50)
    recordTypes: list[str] = Field(default_factory=list, max_length=20, description="FILE, MAIL, ...")
    recordGroupIds: list[str] = Field(default_factory=list, max_length=50)
    modifiedFrom: JsonDateTime | None = Field(None, description="Inclusive; ISO 8601 (UTC if no offset).")
    modifiedTo: JsonDateTime | None = Field(None, description="Exclusive.")

    def scope(self) -> SearchScope:
        return SearchScope(
            connector_ids=frozenset(self.connectorIds),
            record_types=frozenset(self.recordTypes),
            record_group_ids=frozenset(self.recordGroupIds),
            modified_from=_epoch_ms(self.modifiedFrom),
            modified_to=_epoch_ms(self.modifiedTo),
        )


def _epoch_ms(value: datetime | None) -> int | None:
    if value is None:
        return None
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return int(aware.timestamp() * 1000)


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    query: str = Field(min_length=1, max_length=MAX_QUERY_CHARS)
    k: JsonInt = Field(10, ge=1, le=MAX_K, description="How many records (one hit per record).")
    mode: Literal["hybrid", "keyword", "vector"] = "hybrid"
    filters: Filters | None = None


class HitConnector(BaseModel):
    id: str
    name: str | None = Field(description="The connector instance's name.")
    type: str | None = Field(description="The kind of connector, e.g. LOCAL_FS.")


class Hit(BaseModel):
    recordKey: str
    recordName: str
    recordType: str
    connector: HitConnector
    webUrl: str | None
    score: float
    snippet: str = Field(description="The passage around the query's words, marked `[[like this]]`.")
    snippetHtml: str = Field(description="The snippet HTML-escaped, the words in <mark>.")
    location: dict[str, Any] = Field(description="page, slide, sheet, row, heading, line: what applies.")
    more: list[dict[str, Any]] = Field(description="Other matching passages of the record.")


class SearchResponse(BaseModel):
    query: str
    mode: str
    tookMs: float
    hits: list[Hit]


def _search(state: ApiState, caller: Caller, body: SearchRequest) -> dict[str, Any]:
    return search_as(
        state.search,
        state.store,
        user_key=caller.user_key,
        org_key=caller.org_key,
        query=body.query,
        k=body.k,
        mode=body.mode,
        scope=body.filters.scope() if body.filters else None,
    )


BODY_ERRORS = AUTH_ERRORS | error_responses(400)  # 400: a body that is not JSON at all


@router.post("/search", responses=BODY_ERRORS)
async def search(body: SearchRequest, caller: CallerDep, state: StateDep) -> SearchResponse:
    """What you can read that matches the query, best first, one hit per record."""
    return SearchResponse.model_validate(await state.call(_search, state, caller, body))


# ---- answers --------------------------------------------------------------------------------------


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS)
    k: JsonInt = Field(5, ge=1, le=MAX_PASSAGES, description="How many passages the answer may use.")
    filters: Filters | None = None
    stream: bool | None = Field(
        None,
        description="true: server-sent events; false: one JSON answer; unset: events when a chat "
        "endpoint is configured (HEADWATER_LLM_URL), JSON otherwise.",
    )


class Citation(BaseModel):
    number: int = Field(description="What [n] in the text refers to.")
    recordKey: str
    recordName: str
    webUrl: str | None
    location: dict[str, Any]
    connectorId: str


class Answer(BaseModel):
    text: str
    mode: Literal["extractive", "llm"]
    model: str | None
    citations: list[Citation] = Field(description="Only the passages the text cites.")


ASK_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The answer. With `text/event-stream`: events `citation` (a numbered "
        "passage), `token` (`{text}`), then `done` (the Answer) or `error` (`{code, message}`).",
        "content": {
            "text/event-stream": {
                "schema": {
                    "type": "object",
                    "description": "One server-sent event; `data` is JSON.",
                    "properties": {
                        "event": {"type": "string", "enum": ["citation", "token", "done", "error"]},
                        "data": {"type": "string"},
                    },
                    "required": ["event", "data"],
                }
            }
        },
    },
    **BODY_ERRORS,
    **error_responses(502),
}


def _passages(state: ApiState, caller: Caller, body: AskRequest) -> list[SearchHit]:
    return passages_for(
        state.search,
        state.store,
        user_key=caller.user_key,
        org_key=caller.org_key,
        question=body.question,
        k=body.k,
        scope=body.filters.scope() if body.filters else None,
    )


@router.post("/ask", responses=ASK_RESPONSES)
async def ask(body: AskRequest, caller: CallerDep, state: StateDep) -> Any:
    """An answer to the question from the passages you can read, citing them as [1], [2], ...
    Only passages you may read are ever sent to a chat endpoint. 502 (JSON) when the configured
    chat endpoint fails; in a stream, an `error` event."""
    hits = await state.call(_passages, state, caller, body)
    streaming = body.stream if body.stream is not None else bool(state.settings.llm_url)
    if streaming:
        events = stream_answer(body.question, hits, settings=state.settings, http=state.http)
        return StreamingResponse(
            _server_sent(events),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )
    try:
        answer = await collect_answer(body.question, hits, settings=state.settings, http=state.http)
    except AnswerError as exc:  # 502 is not in the shared error table: answered here
        return error_json(502, "answer_failed", str(exc))
    return Answer.model_validate(answer)


async def _server_sent(events: AsyncIterator[tuple[str, dict[str, Any]]]) -> AsyncIterator[str]:
    async for event, data in events:
        yield f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
