"""Build the chat messages for the formalization and back-translation prompts, within a token budget."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

from autoformal.corpus.models import Declaration, Example
from autoformal.llm.models import ChatMessage
from autoformal.prompts.templates import PromptTemplates
from autoformal.prompts.tokens import (
    MESSAGE_OVERHEAD_TOKENS,
    TokenCounter,
    approximate_token_count,
    truncate_to_tokens,
)


class PromptBudget(BaseModel):
    """Token limits for a rendered prompt.

    Set `max_prompt_tokens` to the model's context length minus the completion's `max_tokens`.
    """

    model_config = ConfigDict(frozen=True)

    max_prompt_tokens: int = Field(default=16_384, ge=256, description="All messages together.")
    max_input_tokens: int = Field(default=4_096, ge=16, description="The informal input alone.")


class FormalizationPrompt(BaseModel):
    """A rendered formalization prompt and what went into it after trimming."""

    model_config = ConfigDict(frozen=True)

    messages: list[ChatMessage]
    declarations: list[Declaration] = Field(description="Declarations kept, in the order given.")
    examples: list[Example] = Field(description="Examples kept, in the order given.")
    input_truncated: bool
    prompt_tokens: int = Field(description="Prompt size under the token counter used.")


def _fence(text: str, tag: str) -> str:
    """Neutralise a closing delimiter inside untrusted text, so the text cannot end its own block."""
    return text.replace(f"</{tag}", f"<\\/{tag}")


def _messages_tokens(messages: Sequence[ChatMessage], count: TokenCounter) -> int:
    return sum(count(message.content) + MESSAGE_OVERHEAD_TOKENS for message in messages)


def build_formalization_prompt(
    informal: str,
    declarations: Sequence[Declaration] = (),
    examples: Sequence[Example] = (),
    budget: PromptBudget | None = None,
    *,
    templates: PromptTemplates | None = None,
    count_tokens: TokenCounter | None = None,
) -> FormalizationPrompt:
    """Render the formalization prompt, trimming context until it fits `budget`.

    `declarations` and `examples` are expected most relevant first (as retrieval returns them). While the
    prompt is over budget the last (least relevant) item is dropped from whichever list currently holds
    more items (declarations on a tie). The input itself is never dropped: it is truncated, with a note
    in the prompt, when it exceeds `max_input_tokens` or when it alone does not fit the prompt budget.
    """
    budget = budget or PromptBudget()
    templates = templates or PromptTemplates()
    count = count_tokens or approximate_token_count
    kept_declarations = list(declarations)
    kept_examples = [
        example.model_copy(update={"informal": _fence(example.informal, "informal_statement")}) for example in examples
    ]
    safe_input = _fence(informal, "informal_statement").strip()
    shown_input = truncate_to_tokens(safe_input, budget.max_input_tokens, count)
    system = ChatMessage(role="system", content=templates.render("formalization_system.j2"))

    def render(text: str) -> list[ChatMessage]:
        user = templates.render(
            "formalization_user.j2",
            informal=text,
            declarations=kept_declarations,
            examples=kept_examples,
            input_truncated=len(text) < len(safe_input),
            input_kept_chars=len(text),
            input_total_chars=len(safe_input),
        )
        return [system, ChatMessage(role="user", content=user)]

    messages = render(shown_input)
    total = _messages_tokens(messages, count)
    while total > budget.max_prompt_tokens and (kept_declarations or kept_examples):
        if len(kept_declarations) >= len(kept_examples):
            kept_declarations.pop()
        else:
            kept_examples.pop()
        messages = render(shown_input)
        total = _messages_tokens(messages, count)
    if total > budget.max_prompt_tokens:
        # Only the input is left to shrink; 64 tokens of slack absorb the truncation note that appears.
        room = budget.max_prompt_tokens - (total - count(shown_input)) - 64
        shown_input = truncate_to_tokens(shown_input, max(room, 0), count)
        messages = render(shown_input)
        total = _messages_tokens(messages, count)
    return FormalizationPrompt(
        messages=messages,
        declarations=kept_declarations,
        examples=[original for original in examples[: len(kept_examples)]],
        input_truncated=len(shown_input) < len(safe_input),
        prompt_tokens=total,
    )


def build_formalization_messages(
    informal: str,
    declarations: Sequence[Declaration] = (),
    examples: Sequence[Example] = (),
    budget: PromptBudget | None = None,
    *,
    templates: PromptTemplates | None = None,
    count_tokens: TokenCounter | None = None,
) -> list[ChatMessage]:
    """The chat messages of `build_formalization_prompt` (see there for trimming rules)."""
    return build_formalization_prompt(
        informal, declarations, examples, budget, templates=templates, count_tokens=count_tokens
    ).messages


def build_backtranslation_messages(
    statement: str,
    *,
    templates: PromptTemplates | None = None,
    max_statement_tokens: int = 4_096,
    count_tokens: TokenCounter | None = None,
) -> list[ChatMessage]:
    """Messages asking for a precise English rendering of a Lean statement."""
    templates = templates or PromptTemplates()
    count = count_tokens or approximate_token_count
    shown = truncate_to_tokens(_fence(statement, "lean_statement").strip(), max_statement_tokens, count)
    return [
        ChatMessage(role="system", content=templates.render("backtranslation_system.j2")),
        ChatMessage(role="user", content=templates.render("backtranslation_user.j2", statement=shown)),
    ]
