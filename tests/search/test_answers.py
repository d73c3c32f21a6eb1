"""Answers: extractive without a model, grounded and streamed with an OpenAI-compatible endpoint."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest

from headwater.errors import ConfigurationError
from headwater.search.answers import AnswerError, ChatAnswerer, ChatEndpoint, extractive_answer
from headwater.search.service import SearchHit
from tests.fakes.openai_chat import FakeChatState, create_app
from tests.fakes.server import serve_app


def hit(key: str, name: str, text: str, **location: int) -> SearchHit:
    return SearchHit(
        key, name, "c1", "LOCAL_FS", "FILE", f"file:///{name}", 0.1, text[:40], dict(location), 0, text
    )


HITS = [
    hit(
        "r1",
        "expense-policy.md",
        "Meals are reimbursed up to 40 euros a day. Hotels up to 150 euros a night.",
        page=2,
    ),
    hit("r2", "travel.md", "Book trains for trips under four hours. Flights need approval from a manager."),
]


def test_extractive_answer_cites_the_best_sentences() -> None:
    answer = extractive_answer("How much is reimbursed for hotels per night?", HITS)
    assert answer.mode == "extractive"
    assert answer.text.splitlines()[0] == (
        "Meals are reimbursed up to 40 euros a day. Hotels up to 150 euros a night. [1]"
    )
    assert [c.record_key for c in answer.citations] == ["r1", "r2"]
    assert answer.citations[0].location == {"page": 2}
    assert extractive_answer("anything", []).citations == []


@pytest.fixture(scope="module")
def chat() -> Iterator[tuple[str, FakeChatState]]:
    state = FakeChatState()
    with serve_app(create_app(state)) as base:
        yield base, state


def test_streamed_grounded_answer_with_citations(chat: tuple[str, FakeChatState]) -> None:
    base, state = chat
    endpoint = ChatEndpoint.from_url(f"openai+{base}/v1?model=tiny")
    with httpx.Client() as client:
        answerer = ChatAnswerer(endpoint, client, api_key=state.api_key)
        deltas = list(answerer.stream("Which trips need approval by a manager?", HITS))
        answer = answerer.answer("Which trips need approval by a manager?", HITS)
    assert len(deltas) > 1  # really streamed in pieces
    assert "".join(deltas) == answer.text == "Book trains for trips under four hours. [2]"
    assert [c.record_key for c in answer.citations] == ["r2"]
    assert answer.mode == "llm"
    sent = state.requests[-1]
    assert sent["model"] == "tiny"
    assert sent["stream"] is True
    assert "[1] expense-policy.md (page 2)" in sent["messages"][1]["content"]


def test_citations_to_passages_that_were_not_sent_are_dropped(chat: tuple[str, FakeChatState]) -> None:
    base, state = chat
    state.cite_out_of_range = True
    try:
        with httpx.Client() as client:
            answer = ChatAnswerer(
                ChatEndpoint.from_url(f"openai+{base}/v1?model=m"), client, state.api_key
            ).answer("hotels per night", HITS)
    finally:
        state.cite_out_of_range = False
    assert answer.text.endswith("[99]")
    assert [c.number for c in answer.citations] == [1]


def test_errors_are_clear_and_never_carry_the_key(
    chat: tuple[str, FakeChatState], caplog: pytest.LogCaptureFixture
) -> None:
    base, state = chat
    caplog.set_level(logging.DEBUG)
    endpoint = ChatEndpoint.from_url(f"openai+{base}/v1?model=m")
    with httpx.Client() as client:
        with pytest.raises(AnswerError) as wrong_key:
            ChatAnswerer(endpoint, client, "sk-wrong-secret").answer("hotels", HITS)
        state.fail_with = 503
        try:
            with pytest.raises(AnswerError) as overloaded:
                ChatAnswerer(endpoint, client, state.api_key).answer("hotels", HITS)
        finally:
            state.fail_with = None
        with pytest.raises(AnswerError) as unreachable:
            ChatAnswerer(ChatEndpoint("http://127.0.0.1:9/v1", "m"), client, "sk-wrong-secret").answer(
                "x", HITS
            )
    assert "401" in str(wrong_key.value)
    assert "HEADWATER_LLM_API_KEY" in str(wrong_key.value)
    assert "503" in str(overloaded.value)
    assert "overloaded" in str(overloaded.value)
    assert "cannot reach" in str(unreachable.value)
    for text in (str(wrong_key.value), str(unreachable.value), caplog.text):
        assert "sk-wrong-secret" not in text


def test_chat_url_must_name_scheme_and_model() -> None:
    with pytest.raises(ConfigurationError, match="openai\\+https://"):
        ChatEndpoint.from_url("https://api.example.test/v1?model=m")
    with pytest.raises(ConfigurationError, match="model=NAME"):
        ChatEndpoint.from_url("openai+https://api.example.test/v1")
    assert ChatEndpoint.from_url("openai+https://api.example.test/v1/?model=gpt") == ChatEndpoint(
        "https://api.example.test/v1", "gpt"
    )
