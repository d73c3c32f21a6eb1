"""What every OpenAI-compatible API (OpenAI, Azure OpenAI, Ollama, vLLM, ...) shares, used by the
embeddings client and the chat answerer alike."""

from __future__ import annotations

import httpx

MAX_MESSAGE_CHARS = 200


def error_message(response: httpx.Response) -> str:
    """The server's own error message, short: OpenAI sends `{"error": {"message": ...}}`, some
    compatible servers `{"error": "..."}`, others plain text."""
    try:
        error = response.json().get("error")
        message = error.get("message") if isinstance(error, dict) else error
        return str(message or response.reason_phrase)[:MAX_MESSAGE_CHARS]
    except (ValueError, AttributeError):
        return response.text[:MAX_MESSAGE_CHARS] or response.reason_phrase
