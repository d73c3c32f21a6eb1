"""Asking a question: an answer written only from passages the caller may read, with numbered
citations linking to the records. `app.js` streams it (`POST /ask/stream`, one JSON object per
line); without JavaScript the form posts to `/ask` and the page shows the finished answer."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from markupsafe import Markup, escape
from starlette.responses import Response, StreamingResponse

from headwater.api.deps import Caller, StateDep
from headwater.api.state import ApiState
from headwater.search.answers import AnswerError
from headwater.search.service import SearchHit
from headwater.services.answers import MAX_QUESTION_CHARS, collect_answer, passages_for, stream_answer
from headwater.services.errors import InvalidArgumentError
from headwater.web.session import PageCaller
from headwater.web.templating import page, secure, templates

router = APIRouter()

_CITE = re.compile(r"\[(\d{1,3})\]")


def cited_html(text: str, citations: list[dict[str, Any]]) -> Markup:
    """The answer's text, escaped, with each `[n]` linked to the record it cites."""
    keys = {int(c["number"]): str(c["recordKey"]) for c in citations}

    def link(match: re.Match[str]) -> str:
        number = int(match.group(1))
        if number not in keys:
            return match.group(0)
        return f'<sup class="cite"><a href="/records/{escape(keys[number])}">[{number}]</a></sup>'

    return Markup(_CITE.sub(link, str(escape(text))))


def _passages(state: ApiState, caller: Caller, question: str) -> list[SearchHit]:
    return passages_for(
        state.search, state.store, user_key=caller.user_key, org_key=caller.org_key, question=question
    )


async def _question(request: Request) -> str:
    form = await request.form()
    return str(form.get("question") or "").strip()


@router.get("/ask")
async def ask_form(request: Request, caller: PageCaller) -> Response:
    return page(
        request, caller, "ask.html", "ask", question="", answer=None, error=None, limit=MAX_QUESTION_CHARS
    )


@router.post("/ask")
async def ask(request: Request, caller: PageCaller, state: StateDep) -> Response:
    question = await _question(request)
    try:
        hits = await state.call(_passages, state, caller, question)
        answer = await collect_answer(question, hits, settings=state.settings, http=state.http)
    except (InvalidArgumentError, AnswerError) as exc:
        return page(
            request,
            caller,
            "ask.html",
            "ask",
            status_code=422,
            question=question,
            answer=None,
            error=str(exc),
            limit=MAX_QUESTION_CHARS,
        )
    answer["html"] = cited_html(answer["text"], answer["citations"])
    return page(
        request,
        caller,
        "ask.html",
        "ask",
        question=question,
        answer=answer,
        error=None,
        limit=MAX_QUESTION_CHARS,
    )


def _line(message: dict[str, Any]) -> bytes:
    return (json.dumps(message, ensure_ascii=False) + "\n").encode()


@router.post("/ask/stream")
async def ask_stream(request: Request, caller: PageCaller, state: StateDep) -> Response:
    question = await _question(request)
    try:
        hits = await state.call(_passages, state, caller, question)
    except InvalidArgumentError as exc:
        return secure(
            Response(_line({"error": str(exc)}), media_type="application/x-ndjson", status_code=422)
        )

    async def lines() -> AsyncIterator[bytes]:
        async for event, data in stream_answer(question, hits, settings=state.settings, http=state.http):
            if event == "token":
                yield _line({"delta": data["text"]})
            elif event == "error":
                yield _line({"error": str(data["message"])})
            elif event == "done":
                data["html"] = cited_html(data["text"], data["citations"])
                html = templates.get_template("partials/answer.html").render(answer=data)
                yield _line({"html": html})

    response = StreamingResponse(
        lines(), media_type="application/x-ndjson", headers={"X-Accel-Buffering": "no"}
    )
    return secure(response)
