"""Answers with citations, built only from passages the asking user may read.

Two ways, chosen by configuration:
- with a chat endpoint (`HEADWATER_LLM_URL`, any OpenAI-compatible chat completions API), a grounded
  answer streamed token by token, citing the numbered passages as [1], [2], ...;
- without one, an extractive answer: the sentences of the best passages that carry most of the
  question's words, each followed by its citation number.
Passages come from `SearchService.search`, so permission filtering happened before anything reaches
the model; the model never sees a document the user cannot read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx

from headwater.clients.openai_compatible import error_message
from headwater.errors import ConfigurationError, HeadwaterError
from headwater.search.service import SearchHit
from headwater.search.snippets import query_terms

SYSTEM_PROMPT = (
    "You answer questions using only the numbered passages you are given. Cite every statement with the "
    "passage numbers in square brackets, like [1] or [2][3]. If the passages do not contain the answer, "
    "say that you could not find it in the documents. Do not use outside knowledge."
)
_CITATION = re.compile(r"\[(\d+)\]")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


class AnswerError(HeadwaterError):
    """The chat endpoint failed; the message says what to fix and never carries the API key."""


@dataclass(slots=True)
class Citation:
    number: int
    record_key: str
    record_name: str
    web_url: str | None
    location: dict[str, Any]
    connector_id: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "recordKey": self.record_key,
            "recordName": self.record_name,
            "webUrl": self.web_url,
            "location": self.location,
            "connectorId": self.connector_id,
        }


@dataclass(slots=True)
class Answer:
    text: str
    citations: list[Citation] = field(default_factory=list)
    mode: str = "extractive"  # or "llm"
    model: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "mode": self.mode,
            "model": self.model,
            "citations": [c.as_dict() for c in self.citations],
        }


def citations_for(hits: list[SearchHit]) -> list[Citation]:
    return [
        Citation(i, h.record_key, h.record_name, h.web_url, h.location, h.connector_id)
        for i, h in enumerate(hits, start=1)
    ]


def extractive_answer(question: str, hits: list[SearchHit], *, max_passages: int = 3) -> Answer:
    """The best sentences of the top passages, each cited; only the cited passages are listed."""
    terms = query_terms(question)
    hits = hits[:max_passages]
    if not hits:
        return Answer("No document you can read matches the question.")
    lines = []
    for number, hit in enumerate(hits, start=1):
        sentences = [s.strip() for s in _SENTENCE.split(" ".join(hit.text.split())) if s.strip()]
        if not sentences:
            continue
        scored = sorted(
            enumerate(sentences),
            key=lambda pair: (-len(terms & {w.lower() for w in re.findall(r"\w+", pair[1])}), pair[0]),
        )
        best = sorted(i for i, _ in scored[:2])  # two best sentences, in document order
        lines.append(" ".join(sentences[i] for i in best) + f" [{number}]")
    return Answer("\n".join(lines), citations_for(hits))


@dataclass(frozen=True, slots=True)
class ChatEndpoint:
    base_url: str  # ends in /v1 (or whatever the server mounts the API at)
    model: str

    @classmethod
    def from_url(cls, url: str) -> ChatEndpoint:
        """`openai+https://host/v1?model=NAME` (or `openai+http://` for a local Ollama or vLLM)."""
        parsed = urlparse(url)
        if parsed.scheme not in ("openai+https", "openai+http"):
            raise ConfigurationError(
                f"chat URL must start with openai+https:// or openai+http:// (got {parsed.scheme or 'none'}://)"
            )
        model = (parse_qs(parsed.query).get("model") or [""])[0]
        if not model:
            raise ConfigurationError(
                "chat URL needs ?model=NAME, e.g. openai+http://127.0.0.1:11434/v1?model=llama3"
            )
        scheme = parsed.scheme.removeprefix("openai+")
        return cls(f"{scheme}://{parsed.netloc}{parsed.path.rstrip('/')}", model)


class ChatAnswerer:
    """Streams a grounded answer from an OpenAI-compatible chat completions endpoint."""

    def __init__(self, endpoint: ChatEndpoint, client: httpx.Client, api_key: str | None = None) -> None:
        self.endpoint = endpoint
        self._client = client
        self._api_key = api_key

    def stream(self, question: str, hits: list[SearchHit]) -> Iterator[str]:
        """Text deltas of the answer, as the model produces them."""
        headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
        body = {"model": self.endpoint.model, "stream": True, "messages": chat_messages(question, hits)}
        url = f"{self.endpoint.base_url}/chat/completions"
        try:
            with self._client.stream("POST", url, json=body, headers=headers) as response:
                if response.status_code != 200:
                    response.read()
                    said = self._redact(error_message(response))
                    raise AnswerError(
                        f"chat endpoint {url} answered {response.status_code}: {said}"
                        + (" — check HEADWATER_LLM_API_KEY" if response.status_code in (401, 403) else "")
                    )
                for line in response.iter_lines():
                    delta = chat_stream_delta(line)
                    if delta is None:
                        break
                    if delta:
                        yield delta
        except httpx.HTTPError as exc:
            raise AnswerError(f"cannot reach the chat endpoint {url}: {type(exc).__name__}") from None

    def _redact(self, text: str) -> str:
        """A server may echo the key it rejected; it never reaches an error or a log."""
        return text.replace(self._api_key, "***") if self._api_key else text

    def answer(self, question: str, hits: list[SearchHit]) -> Answer:
        if not hits:
            return Answer(
                "No document you can read matches the question.", mode="llm", model=self.endpoint.model
            )
        text = "".join(self.stream(question, hits))
        return finish_llm_answer(text, hits, self.endpoint.model)


def finish_llm_answer(text: str, hits: list[SearchHit], model: str) -> Answer:
    """The answer with the citations it actually used (a model may cite numbers that do not exist:
    those are dropped from the list rather than pointing at the wrong document)."""
    cited = sorted({int(n) for n in _CITATION.findall(text) if 1 <= int(n) <= len(hits)})
    every = citations_for(hits)
    return Answer(text, [every[n - 1] for n in cited], mode="llm", model=model)


def chat_messages(question: str, hits: list[SearchHit]) -> list[dict[str, str]]:
    """The chat completions `messages` for a grounded answer: the system prompt, then the numbered
    passages (name, location, text) and the question. Numbers start at 1, as the citations do."""
    passages = "\n\n".join(
        f"[{i}] {h.record_name}" + (f" ({_where(h.location)})" if h.location else "") + f"\n{h.text}"
        for i, h in enumerate(hits, start=1)
    )
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": f"Passages:\n\n{passages}\n\nQuestion: {question}"},
    ]


def _where(location: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in location.items())


def chat_stream_delta(line: str) -> str | None:
    """The text delta carried by one server-sent event line of a streamed chat completion.

    Returns None at the end of the stream (`data: [DONE]`) and "" for a line that carries no text
    (a comment, a keep-alive, a role-only delta, or a line that is not JSON), so a caller can stop
    on None and skip empty strings."""
    if not line.startswith("data:"):
        return ""
    data = line[5:].strip()
    if data == "[DONE]":
        return None
    try:
        choices = json.loads(data).get("choices") or []
    except json.JSONDecodeError:
        return ""
    if not choices:
        return ""
    return str((choices[0].get("delta") or {}).get("content") or "")
