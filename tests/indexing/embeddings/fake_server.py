"""A fake OpenAI-compatible embeddings server, stateful enough to test a client against.

It checks what the real API checks (bearer token, a model it serves, `input` a non-empty list of
non-empty strings, at most `max_inputs` of them), records every request, answers with deterministic
vectors (a hash of each text; not unit length, as many non-OpenAI servers send them) and lists `data`
in REVERSE order so that a client has to sort by `index`. It can be told to answer the next requests
with 429 + Retry-After or with 500, and it can echo the caller's key in an error like a careless proxy.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

MODEL = "fake-embed-small"
DIMENSIONS = 8


def fake_vector(text: str, dimensions: int = DIMENSIONS) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    return [float(digest[i] - 127) or 1.0 for i in range(dimensions)]


@dataclass
class FakeEmbeddingsState:
    api_key: str = "sk-fake-embeddings-key-0123456789"
    max_inputs: int = 16
    dimensions: int = DIMENSIONS
    requests: list[dict[str, Any]] = field(default_factory=list)
    throttle_next: int = 0  # answer this many requests with 429
    retry_after: str = "2"
    fail_next: int = 0  # answer this many requests with 500
    echo_key_in_errors: bool = False

    def reset(self) -> None:
        self.requests.clear()
        self.throttle_next = self.fail_next = 0
        self.retry_after = "2"
        self.echo_key_in_errors = False


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"message": message}}, status_code=status, headers=headers)


def create_app(state: FakeEmbeddingsState) -> FastAPI:
    app = FastAPI()

    @app.post("/v1/embeddings")
    async def embeddings(request: Request) -> Any:
        auth = request.headers.get("authorization", "")
        if auth != f"Bearer {state.api_key}":
            shown = auth.removeprefix("Bearer ") if state.echo_key_in_errors else "sk-...****"
            return _error(401, f"Incorrect API key provided: {shown}")
        body = await request.json()
        state.requests.append(body)
        if state.throttle_next > 0:
            state.throttle_next -= 1
            return _error(429, "Rate limit reached for requests", {"Retry-After": state.retry_after})
        if state.fail_next > 0:
            state.fail_next -= 1
            detail = f" for key {state.api_key}" if state.echo_key_in_errors else ""
            return _error(500, f"The server had an error while processing your request{detail}")
        if body.get("model") != MODEL:
            return _error(404, f"The model `{body.get('model')}` does not exist")
        inputs = body.get("input")
        if not isinstance(inputs, list) or not inputs:
            return _error(400, "'input' must be a non-empty array of strings")
        if not all(isinstance(text, str) and text for text in inputs):
            return _error(400, "'$.input' is invalid: empty strings are not allowed")
        if len(inputs) > state.max_inputs:
            return _error(400, f"too many inputs: at most {state.max_inputs} per request")
        dimensions = int(body.get("dimensions") or state.dimensions)
        data = [
            {"object": "embedding", "index": i, "embedding": fake_vector(text, dimensions)}
            for i, text in enumerate(inputs)
        ]
        return {
            "object": "list",
            "data": list(reversed(data)),
            "model": MODEL,
            "usage": {"prompt_tokens": len(inputs), "total_tokens": len(inputs)},
        }

    return app
