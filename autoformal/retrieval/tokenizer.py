"""The ONNX encoder's tokenizer, read straight from a model's `tokenizer.json` with the `tokenizers` library.

`transformers.AutoTokenizer` wraps the same Rust tokenizer, but importing it loads torch: ≈2.7 s of CPU
on this project's machine, most of a one-shot `autoformal formalize`. `FastTokenizer` configures the Rust
tokenizer exactly as `PreTrainedTokenizerFast.__call__(texts, padding=True, truncation=True,
max_length=n)` does (truncate longest-first on the right, pad on the right to the longest text, with the
model's pad token) and returns the same int64 arrays. Models without a `tokenizer.json` (slow-only
tokenizers) keep using `AutoTokenizer`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np


class BatchTokenizer(Protocol):
    def __call__(
        self, texts: list[str], *, padding: bool, truncation: bool, max_length: int, return_tensors: str
    ) -> Any: ...


class FastTokenizer:
    """``tokenizer(texts, padding=True, truncation=True, max_length=n, return_tensors="np")`` of the Rust
    tokenizer in ``tokenizer.json``, without transformers."""

    def __init__(self, tokenizer_file: Path, pad_token: str) -> None:
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(tokenizer_file))
        pad_id = self._tokenizer.token_to_id(pad_token)
        if pad_id is None:
            raise ValueError(f"pad token {pad_token!r} is not in {tokenizer_file}")
        self._tokenizer.enable_padding(direction="right", pad_id=pad_id, pad_type_id=0, pad_token=pad_token)
        self._max_length: int | None = None

    def __call__(
        self, texts: Sequence[str], *, padding: bool, truncation: bool, max_length: int, return_tensors: str
    ) -> dict[str, np.ndarray]:
        if not (padding and truncation and return_tensors == "np"):
            raise ValueError("FastTokenizer only pads, truncates and returns numpy arrays")
        if max_length != self._max_length:
            self._tokenizer.enable_truncation(max_length, stride=0, strategy="longest_first", direction="right")
            self._max_length = max_length
        encodings = self._tokenizer.encode_batch(list(texts), add_special_tokens=True)
        return {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }


def load_tokenizer(model_dir: Path) -> BatchTokenizer:
    """`FastTokenizer` when the model ships a `tokenizer.json` and names its pad token, else `AutoTokenizer`."""
    tokenizer_file = model_dir / "tokenizer.json"
    pad_token = _pad_token(model_dir)
    if tokenizer_file.is_file() and pad_token is not None:
        return FastTokenizer(tokenizer_file, pad_token)
    from transformers import AutoTokenizer

    tokenizer: BatchTokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    return tokenizer


def _pad_token(model_dir: Path) -> str | None:
    for name in ("tokenizer_config.json", "special_tokens_map.json"):
        path = model_dir / name
        if not path.is_file():
            continue
        token = json.loads(path.read_text(encoding="utf-8")).get("pad_token")
        if isinstance(token, dict):  # `{"content": "[PAD]", ...}` (AddedToken form)
            token = token.get("content")
        if isinstance(token, str):
            return token
    return None
