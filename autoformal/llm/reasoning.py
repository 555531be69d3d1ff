"""Separate a reasoning trace from the answer when the server did not already do it.

Servers started with a reasoning parser (`vllm serve ... --reasoning-parser mistral`) return the trace in
`reasoning_content`; without one, or with local backends, it arrives inline as a `<think>…</think>`
(DeepSeek/Qwen style) or `[THINK]…[/THINK]` (Mistral/Magistral style) block.
"""

from __future__ import annotations

import re

_TAG_PAIRS = (("<think>", "</think>"), ("[THINK]", "[/THINK]"))
_BLOCK_PATTERNS = tuple(
    re.compile(re.escape(open_tag) + r"(.*?)" + re.escape(close_tag), re.DOTALL) for open_tag, close_tag in _TAG_PAIRS
)


def split_reasoning(text: str) -> tuple[str, str | None]:
    """Return `(answer, reasoning)`; `reasoning` is None when `text` holds no trace.

    Handles complete blocks anywhere in the text, a closing tag without an opening one (chat templates that
    put the opening tag in the prompt), and an unterminated opening tag (generation cut off while thinking:
    everything after it is reasoning and the answer is empty).
    """
    traces: list[str] = []
    for (open_tag, close_tag), pattern in zip(_TAG_PAIRS, _BLOCK_PATTERNS, strict=True):
        if open_tag not in text and close_tag not in text:
            continue
        traces.extend(match.group(1).strip() for match in pattern.finditer(text))
        text = pattern.sub("", text)
        if close_tag in text:  # opening tag was part of the prompt
            head, _, text = text.partition(close_tag)
            traces.insert(0, head.strip())
        if open_tag in text:  # cut off mid-thought
            text, _, tail = text.partition(open_tag)
            traces.append(tail.strip())
    if not traces:
        return text, None
    return text.strip(), "\n\n".join(trace for trace in traces if trace)
