"""Token counting for prompt budgets."""

from __future__ import annotations

from collections.abc import Callable

TokenCounter = Callable[[str], int]

#: Chat templates wrap each message in role markers; a flat per-message allowance covers them.
MESSAGE_OVERHEAD_TOKENS = 4


def approximate_token_count(text: str) -> int:
    """One token per 3 UTF-8 bytes, rounded up.

    Used when the model's tokenizer is not at hand (remote servers). It overestimates English (BPE
    tokenizers average about 4 characters per token) and counts Lean's Unicode symbols (3 bytes each,
    usually one token) about right, so budgets computed with it err on the safe side.
    """
    return -(-len(text.encode("utf-8")) // 3)


def token_counter_for(backend: object | None) -> TokenCounter:
    """The backend's exact `count_tokens` when it has a tokenizer, else `approximate_token_count`."""
    from autoformal.llm.base import SupportsTokenCount

    if isinstance(backend, SupportsTokenCount):
        return backend.count_tokens
    return approximate_token_count


def truncate_to_tokens(text: str, max_tokens: int, count: TokenCounter) -> str:
    """Longest prefix of `text` with at most `max_tokens` tokens (binary search over character length)."""
    if count(text) <= max_tokens:
        return text
    # No tokenizer in practice has tokens longer than 32 characters on average; cap the search range so
    # hostile megabyte inputs are not re-tokenized in full at every step.
    low, high = 0, min(len(text), max(max_tokens, 0) * 32)
    while low < high:
        middle = (low + high + 1) // 2
        if count(text[:middle]) <= max_tokens:
            low = middle
        else:
            high = middle - 1
    return text[:low]
