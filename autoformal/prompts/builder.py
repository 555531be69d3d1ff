"""Build the chat messages for the formalization, back-translation, judge, repair and judge-revision prompts, within
a token budget."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from pydantic import BaseModel, ConfigDict, Field

from autoformal.checking.models import LeanMessage
from autoformal.corpus.models import Declaration, Example
from autoformal.llm.models import ChatMessage
from autoformal.names.checker import UnknownName
from autoformal.prompts.templates import PromptTemplates, default_templates
from autoformal.prompts.tokens import (
    MESSAGE_OVERHEAD_TOKENS,
    TokenCounter,
    approximate_token_count,
    truncate_to_tokens,
)

_MIN_PROMPT_TOKENS = 256


class PromptBudget(BaseModel):
    """Token limits for a rendered prompt.

    Set `max_prompt_tokens` to the model's context length minus the completion's `max_tokens`.
    """

    model_config = ConfigDict(frozen=True)

    max_prompt_tokens: int = Field(default=16_384, ge=_MIN_PROMPT_TOKENS, description="All messages together.")
    max_input_tokens: int = Field(default=4_096, ge=16, description="The informal input alone.")

    def for_answer(self, answer_tokens: int, budgeted_answer_tokens: int) -> PromptBudget:
        """This budget for a completion of `answer_tokens` when it was set for `budgeted_answer_tokens`: the same
        context (prompt + answer), split differently. Never below the smallest valid budget (a context that
        small cannot hold a prompt anyway)."""
        room = self.max_prompt_tokens + budgeted_answer_tokens - answer_tokens
        return self.model_copy(update={"max_prompt_tokens": max(room, _MIN_PROMPT_TOKENS)})


class FormalizationPrompt(BaseModel):
    """A rendered formalization prompt and what went into it after trimming."""

    model_config = ConfigDict(frozen=True)

    messages: list[ChatMessage]
    declarations: list[Declaration] = Field(description="Declarations kept, in the order given.")
    examples: list[Example] = Field(description="Examples kept, in the order given.")
    input_truncated: bool
    prompt_tokens: int = Field(description="Prompt size under the token counter used.")


def _fence(text: str, *tags: str) -> str:
    """Neutralise every opening or closing `tags` delimiter inside untrusted text (a backslash after its `<`), so
    the text can neither end its own block nor open a fake one. Models read tags loosely, so case and whitespace
    do not matter: `</INFORMAL_STATEMENT>` and `< / lean_statement >` are neutralised too."""
    pattern = re.compile(r"<(?=\s*/?\s*(?:" + "|".join(map(re.escape, tags)) + r"))", re.IGNORECASE)
    return pattern.sub("<\\\\", text)


#: The delimiters of the formalization prompt that untrusted informal text is fenced against.
_FORMALIZATION_TAGS = ("informal_statement", "example")


def _messages_tokens(messages: Sequence[ChatMessage], count: TokenCounter) -> int:
    return sum(count(message.content) + MESSAGE_OVERHEAD_TOKENS for message in messages)


def _kept_sizes(declarations: int, examples: int) -> list[tuple[int, int]]:
    """(declarations, examples) kept after dropping 0, 1, 2, ... items, least relevant first, always from
    the list that currently holds more items (declarations on a tie)."""
    sizes = [(declarations, examples)]
    while declarations or examples:
        if declarations >= examples:
            declarations -= 1
        else:
            examples -= 1
        sizes.append((declarations, examples))
    return sizes


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
    templates = templates or default_templates()
    count = count_tokens or approximate_token_count
    fenced_examples = [
        example.model_copy(update={"informal": _fence(example.informal, *_FORMALIZATION_TAGS)}) for example in examples
    ]
    safe_input = _fence(informal, *_FORMALIZATION_TAGS).strip()
    shown_input = truncate_to_tokens(safe_input, budget.max_input_tokens, count)
    system = ChatMessage(role="system", content=templates.render("formalization_system.j2"))

    def render(text: str, kept: tuple[int, int]) -> tuple[list[ChatMessage], int]:
        user = templates.render(
            "formalization_user.j2",
            informal=text,
            declarations=declarations[: kept[0]],
            examples=fenced_examples[: kept[1]],
            input_truncated=len(text) < len(safe_input),
            input_kept_chars=len(text),
            input_total_chars=len(safe_input),
        )
        messages = [system, ChatMessage(role="user", content=user)]
        return messages, _messages_tokens(messages, count)

    kept = (len(declarations), len(examples))
    messages, total = render(shown_input, kept)
    if total > budget.max_prompt_tokens and any(kept):
        # Binary search for the fewest drops that fit (the prompt shrinks as items go): about ten renders for
        # hundreds of retrieved items, where dropping one at a time would render once per item.
        sizes = _kept_sizes(*kept)
        low, high = 1, len(sizes) - 1
        while low < high:
            middle = (low + high) // 2
            if render(shown_input, sizes[middle])[1] <= budget.max_prompt_tokens:
                high = middle
            else:
                low = middle + 1
        kept = sizes[low]
        messages, total = render(shown_input, kept)
    if total > budget.max_prompt_tokens:
        # Only the input is left to shrink; 64 tokens of slack absorb the truncation note that appears.
        room = budget.max_prompt_tokens - (total - count(shown_input)) - 64
        shown_input = truncate_to_tokens(shown_input, max(room, 0), count)
        messages, total = render(shown_input, kept)
    return FormalizationPrompt(
        messages=messages,
        declarations=list(declarations[: kept[0]]),
        examples=list(examples[: kept[1]]),
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
    templates = templates or default_templates()
    count = count_tokens or approximate_token_count
    shown = truncate_to_tokens(_fence(statement, "lean_statement").strip(), max_statement_tokens, count)
    return [
        ChatMessage(role="system", content=templates.render("backtranslation_system.j2")),
        ChatMessage(role="user", content=templates.render("backtranslation_user.j2", statement=shown)),
    ]


#: The delimiters of the judge prompt; each text is fenced against all of them, so no text can close its own
#: block or fake another one.
_JUDGE_TAGS = ("informal_statement", "lean_statement", "back_translation")
#: Tokens kept free of the judge's three texts for tokenizers that count a concatenation differently from the
#: sum of its parts (the formalization prompt keeps the same slack).
_JUDGE_SLACK_TOKENS = 64


def _truncation_marker(kept: int, total: int) -> str:
    return f"\n[… truncated to fit the prompt: the first {kept} of {total} characters are shown]"


def _shares(sizes: Sequence[int], room: int) -> list[int]:
    """Token allowances for texts of `sizes` sharing `room`: an equal share each, where texts smaller than
    their share pass their unused tokens on to the others (so one long text never squeezes out short ones)."""
    shares = [0] * len(sizes)
    order = sorted(range(len(sizes)), key=lambda i: sizes[i])
    for position, i in enumerate(order):
        shares[i] = min(sizes[i], max(room, 0) // (len(sizes) - position))
        room -= shares[i]
    return shares


def build_judge_messages(
    informal: str,
    statement: str,
    back_translation: str,
    budget: PromptBudget | None = None,
    *,
    templates: PromptTemplates | None = None,
    count_tokens: TokenCounter | None = None,
) -> list[ChatMessage]:
    """Messages asking a judge whether the Lean `statement` (read via its `back_translation`) is equivalent
    to, weaker or stronger than, or unrelated to the `informal` input.

    The prompt fits `budget.max_prompt_tokens` (set it to the judge's context length minus its `max_tokens`,
    e.g. with `PromptBudget.for_answer`): the three texts share what the templates leave, a short text keeping
    all of it, and the informal input is also cut to `budget.max_input_tokens` as in the formalization prompt.
    A cut text ends with a visible marker saying how much of it is shown."""
    budget = budget or PromptBudget()
    templates = templates or default_templates()
    count = count_tokens or approximate_token_count
    texts = [_fence(text, *_JUDGE_TAGS).strip() for text in (informal, statement, back_translation)]

    def render(shown: Sequence[str]) -> list[ChatMessage]:
        user = templates.render("judge_user.j2", informal=shown[0], statement=shown[1], back_translation=shown[2])
        return [
            ChatMessage(role="system", content=templates.render("judge_system.j2")),
            ChatMessage(role="user", content=user),
        ]

    room = budget.max_prompt_tokens - _messages_tokens(render(["", "", ""]), count) - _JUDGE_SLACK_TOKENS
    return render(_fit_texts(texts, room, budget.max_input_tokens, count))


def _fit_texts(texts: Sequence[str], room: int, max_input_tokens: int, count: TokenCounter) -> list[str]:
    """`texts` (the informal input first) cut to share `room` tokens (`_shares`), the input also to
    `max_input_tokens`; a cut text ends with a visible marker saying how much of it is shown."""
    sizes = [count(text) for text in texts]
    shares = _shares([min(sizes[0], max_input_tokens), *sizes[1:]], room)
    shown = []
    for text, size, share in zip(texts, sizes, shares, strict=True):
        if size <= share:
            shown.append(text)
            continue
        # The marker comes out of the text's own share (at its longest, for the text's full length).
        kept = truncate_to_tokens(text, share - count(_truncation_marker(len(text), len(text))), count)
        shown.append(kept + _truncation_marker(len(kept), len(text)))
    return shown


#: The delimiters of the repair prompt (each text is fenced against all of them, as in the judge prompt).
_REPAIR_TAGS = ("informal_statement", "failed_statement", "lean_errors")
#: The delimiters of the judge-revision prompt.
_REVISION_TAGS = ("informal_statement", "lean_statement", "judge_reason")


def format_check_errors(
    statement: str, messages: Sequence[LeanMessage] = (), unknown_names: Sequence[UnknownName] = ()
) -> str:
    """The errors a repair prompt shows: each Lean error with its line and column in `statement` and the source
    line it points at (a caret under the column), then the static name check's unknown names with their
    closest known names. Warnings and infos are left out: they did not make the statement fail."""
    lines = statement.splitlines()
    blocks = []
    for message in messages:
        if not message.is_error:
            continue
        block = f"error at line {message.line}, column {message.column}: {message.text.strip()}"
        if 1 <= message.line <= len(lines):
            source = lines[message.line - 1]
            caret = " " * min(message.column, len(source)) + "^"
            block += f"\n  {message.line} | {source}\n  {' ' * len(str(message.line))} | {caret}"
        blocks.append(block)
    for name in unknown_names:
        blocks.append(f"error (static name check): unknown constant {name.describe()}")
    return "\n".join(blocks) or "(no error message: the check failed without one)"


def _fit_with_declarations(
    render: Callable[[Sequence[str], int], list[ChatMessage]],
    texts: Sequence[str],
    declarations: int,
    budget: PromptBudget,
    count: TokenCounter,
) -> list[ChatMessage]:
    """Render with as many declarations (most relevant first) as leave the texts whole, then cut the texts to
    what is left (`_fit_texts`): the failed statement and its errors matter more than more context."""
    needed = sum(count(text) for text in texts)
    kept = declarations
    while True:
        room = budget.max_prompt_tokens - _messages_tokens(render([""] * len(texts), kept), count)
        room -= _JUDGE_SLACK_TOKENS
        if kept == 0 or room >= needed:
            break
        kept -= 1
    return render(_fit_texts(texts, room, budget.max_input_tokens, count), kept)


def build_repair_messages(
    informal: str,
    statement: str,
    errors: str,
    declarations: Sequence[Declaration] = (),
    budget: PromptBudget | None = None,
    *,
    templates: PromptTemplates | None = None,
    count_tokens: TokenCounter | None = None,
) -> list[ChatMessage]:
    """Messages asking for one corrected statement: the `informal` input, the `statement` that failed, its
    `errors` (`format_check_errors`) and the retrieved `declarations` (names that exist). The three texts are
    fenced as data like the judge's; the prompt fits `budget`, dropping the least relevant declarations first,
    then cutting the texts with a visible marker."""
    budget = budget or PromptBudget()
    templates = templates or default_templates()
    count = count_tokens or approximate_token_count
    texts = [_fence(text, *_REPAIR_TAGS).strip() for text in (informal, statement, errors)]
    system = ChatMessage(role="system", content=templates.render("repair_system.j2"))

    def render(shown: Sequence[str], kept: int) -> list[ChatMessage]:
        user = templates.render(
            "repair_user.j2",
            informal=shown[0],
            statement=shown[1],
            errors=shown[2],
            declarations=declarations[:kept],
        )
        return [system, ChatMessage(role="user", content=user)]

    return _fit_with_declarations(render, texts, len(declarations), budget, count)


def build_revision_messages(
    informal: str,
    statement: str,
    verdict: str,
    reason: str,
    budget: PromptBudget | None = None,
    *,
    templates: PromptTemplates | None = None,
    count_tokens: TokenCounter | None = None,
) -> list[ChatMessage]:
    """Messages asking for one revised statement after the judge found `statement` `verdict` (weaker, stronger
    or unrelated) with `reason`; the texts are fenced as data and fit `budget` like the judge's."""
    budget = budget or PromptBudget()
    templates = templates or default_templates()
    count = count_tokens or approximate_token_count
    texts = [_fence(text, *_REVISION_TAGS).strip() for text in (informal, statement, reason)]
    system = ChatMessage(role="system", content=templates.render("revision_system.j2"))

    def render(shown: Sequence[str], kept: int) -> list[ChatMessage]:
        user = templates.render(
            "revision_user.j2", informal=shown[0], statement=shown[1], reason=shown[2], verdict=verdict
        )
        return [system, ChatMessage(role="user", content=user)]

    return _fit_with_declarations(render, texts, 0, budget, count)
