"""Separating reasoning traces from answers."""

from __future__ import annotations

import pytest

from autoformal.llm import split_reasoning

STATEMENT = "theorem t : 1 + 1 = 2 := by sorry"


@pytest.mark.parametrize(
    ("text", "answer", "reasoning"),
    [
        (STATEMENT, STATEMENT, None),
        (f"<think>\nadd the numbers\n</think>\n\n{STATEMENT}", STATEMENT, "add the numbers"),
        (f"[THINK]mistral style[/THINK]{STATEMENT}", STATEMENT, "mistral style"),
        # the chat template opened the block in the prompt: only the closing tag is generated
        (f"implicit opening</think>{STATEMENT}", STATEMENT, "implicit opening"),
        # cut off by max_tokens while thinking: no answer yet
        ("<think>still thinking about", "", "still thinking about"),
        (f"<think>a</think>{STATEMENT}<think>b</think>", STATEMENT, "a\n\nb"),
    ],
)
def test_split_reasoning(text: str, answer: str, reasoning: str | None) -> None:
    assert split_reasoning(text) == (answer, reasoning)


def test_text_without_trace_is_returned_unchanged() -> None:
    text = "  theorem t : True := by sorry\n"
    assert split_reasoning(text) == (text, None)
