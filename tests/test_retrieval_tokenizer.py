"""`FastTokenizer` (the `tokenizers` library on the model's tokenizer.json) gives exactly what transformers'
`AutoTokenizer` gives for the ONNX encoder's call, without importing transformers and torch."""

from __future__ import annotations

import numpy as np
import pytest

from autoformal.retrieval.embedder import EmbedderConfig, _local_model_dir
from autoformal.retrieval.tokenizer import FastTokenizer, load_tokenizer

TEXTS = [
    "The sum of two even numbers is even.",
    "theorem t (x : ℝ) (h : 0 < x) : Real.sqrt (x ^ 2) = |x| := by sorry",
    "",
    "Ünïcödé ﬁ Ⅻ 𝔽 ∀ ε > 0, ∃ δ > 0",
    "[PAD] [CLS] [SEP] [UNK]",
    "word " * 400,  # truncated
]


def test_same_ids_masks_and_type_ids_as_autotokenizer() -> None:
    transformers = pytest.importorskip("transformers")
    model_dir = _local_model_dir(EmbedderConfig().model)
    fast = load_tokenizer(model_dir)
    assert isinstance(fast, FastTokenizer)
    reference = transformers.AutoTokenizer.from_pretrained(str(model_dir))
    for max_length in (256, 128, 8):
        for batch in (TEXTS, TEXTS[:1], TEXTS[2:4]):
            ours = fast(batch, padding=True, truncation=True, max_length=max_length, return_tensors="np")
            theirs = reference(batch, padding=True, truncation=True, max_length=max_length, return_tensors="np")
            for key in ("input_ids", "attention_mask", "token_type_ids"):
                assert ours[key].dtype == theirs[key].dtype == np.int64
                assert np.array_equal(ours[key], theirs[key]), (key, max_length)
    assert fast(TEXTS, padding=True, truncation=True, max_length=8, return_tensors="np")["input_ids"].shape == (6, 8)


def test_a_model_without_tokenizer_json_falls_back_to_autotokenizer(tmp_path) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("transformers")
    model_dir = _local_model_dir(EmbedderConfig().model)
    for name in ("vocab.txt", "tokenizer_config.json", "special_tokens_map.json", "config.json"):
        (tmp_path / name).write_bytes((model_dir / name).read_bytes())
    tokenizer = load_tokenizer(tmp_path)
    assert not isinstance(tokenizer, FastTokenizer)
    ids = tokenizer(TEXTS[:1], padding=True, truncation=True, max_length=16, return_tensors="np")["input_ids"]
    fast_ids = load_tokenizer(model_dir)(TEXTS[:1], padding=True, truncation=True, max_length=16, return_tensors="np")
    assert np.array_equal(ids, fast_ids["input_ids"])
