"""A fake OpenAI-compatible chat completions server: it answers from the passages it is sent.

Stateful enough to test a client: it checks the bearer token and the request's shape, records every
request, streams its answer as server-sent events in several deltas the way the real API does
(`data: {"choices": [{"delta": {"content": ...}}]}` lines, then `data: [DONE]`), and can be told to
fail. Its "model" is deterministic: it repeats the first sentence of each passage that shares a word
with the question, citing the passage's number.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse


@dataclass
class FakeChatState:
    api_key: str = "sk-test-chat"
    requests: list[dict[str, Any]] = field(default_factory=list)
    fail_with: int | None = None  # answer every request with this status
    cite_out_of_range: bool = False  # also cite a passage number that was not sent


def grounded_reply(messages: list[dict[str, str]]) -> str:
    user = next(m["content"] for m in messages if m["role"] == "user")
    passages_part, _, question = user.rpartition("Question: ")
    words = {w.lower() for w in re.findall(r"\w{4,}", question)}
    parts = []
    for number, body in re.findall(
        r"\[(\d+)\][^\n]*\n(.*?)(?=\n\n\[\d+\]|\n\nQuestion|\Z)", passages_part, re.S
    ):
        first = re.split(r"(?<=[.!?])\s", body.strip())[0]
        if words & {w.lower() for w in re.findall(r"\w{4,}", body)}:
            parts.append(f"{first} [{number}]")
    return " ".join(parts) or "I could not find it in the documents."


def create_app(state: FakeChatState) -> FastAPI:
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def completions(request: Request) -> Any:
        if request.headers.get("authorization") != f"Bearer {state.api_key}":
            return JSONResponse({"error": {"message": "Incorrect API key provided"}}, status_code=401)
        body = await request.json()
        state.requests.append(body)
        if state.fail_with:
            return JSONResponse(
                {"error": {"message": "the model is overloaded"}}, status_code=state.fail_with
            )
        if not isinstance(body.get("messages"), list) or not body.get("model"):
            return JSONResponse({"error": {"message": "model and messages are required"}}, status_code=400)
        reply = grounded_reply(body["messages"])
        if state.cite_out_of_range:
            reply += " [99]"
        if not body.get("stream"):
            return {"choices": [{"index": 0, "message": {"role": "assistant", "content": reply}}]}

        def events() -> Iterator[str]:
            words = reply.split(" ")
            for i in range(0, len(words), 3):  # several deltas, like the real API
                piece = " ".join(words[i : i + 3]) + (" " if i + 3 < len(words) else "")
                chunk = {"choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
                yield f"data: {json.dumps(chunk)}\n\n"
            yield 'data: {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}\n\n'
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    return app
