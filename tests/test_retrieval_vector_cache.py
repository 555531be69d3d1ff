"""The on-disk cache of the few-shot examples' vectors: a hit returns exactly what encoding returns, and a file
for other texts or another encoder, a damaged file or a cache directory that cannot be written all fall back
to encoding, with the real offline MiniLM encoder."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from autoformal.corpus import load_examples
from autoformal.retrieval import Embedder, ExampleRetriever
from autoformal.retrieval.vector_cache import MAGIC, cache_key, encode_cached, vector_file

QUERIES = [
    "The sum of two even natural numbers is even.",
    "Prove that the sum 1 + 3 + 5 + ... + (2n - 1) of odd numbers is a square.",
    "Every prime greater than 2 is odd.",
]


@pytest.fixture(scope="module")
def loaded() -> Embedder:
    return Embedder()


@pytest.fixture
def embedder(loaded: Embedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Embedder:
    """The shared encoder (its ONNX export where it is), caching vectors in this test's own directory."""
    monkeypatch.setattr(loaded, "cache_dir", tmp_path)
    return loaded


@pytest.fixture
def texts() -> list[str]:
    return [example.informal for example in load_examples()]


def _count_encodes(embedder: Embedder, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many texts each `embedder.encode` call from now on encodes."""
    calls: list[int] = []
    original = embedder.encode

    def counting(batch: Sequence[str], *, progress: bool = False) -> np.ndarray:
        calls.append(len(batch))
        return original(batch, progress=progress)

    monkeypatch.setattr(embedder, "encode", counting)
    return calls


def _files(root: Path) -> list[Path]:
    return sorted((root / "vectors").glob("*.vec")) if (root / "vectors").is_dir() else []


def test_a_hit_returns_exactly_the_encoded_vectors_and_the_same_examples(
    embedder: Embedder, texts: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh = embedder.encode(texts)
    uncached = [[hit.item.id for hit in ExampleRetriever(load_examples(), embedder).search(q, 4)] for q in QUERIES]
    assert len(_files(tmp_path)) == 1  # that retriever's first start wrote the file
    calls = _count_encodes(embedder, monkeypatch)
    first = encode_cached(embedder, texts)
    retriever = ExampleRetriever(load_examples(), embedder)
    cached = [[hit.item.id for hit in retriever.search(q, 4)] for q in QUERIES]
    assert calls == []  # both example sets came from the file (the queries from the encoder's own LRU)
    assert first.dtype == np.float32 and first.flags.writeable
    assert np.array_equal(first, fresh) and np.array_equal(retriever._vectors, fresh)
    assert cached == uncached


def test_other_texts_or_another_encoder_never_read_a_file(
    embedder: Embedder, texts: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    encode_cached(embedder, texts)
    calls = _count_encodes(embedder, monkeypatch)
    edited = [*texts[:-1], texts[-1] + " (edited)"]
    assert np.array_equal(encode_cached(embedder, edited), embedder.encode(edited))
    assert calls[0] == len(texts)  # encoded, not read from the file of the unedited list
    rebatched = embedder.config.model_copy(update={"batch_size": 7})
    monkeypatch.setattr(embedder, "config", rebatched)
    encode_cached(embedder, texts)
    assert calls[2] == len(texts) and len(_files(tmp_path)) == 3
    # A file moved under another list's name (its header names its own key) is not trusted either.
    identity = embedder.identity
    assert identity is not None
    vector_file(tmp_path, cache_key(identity, texts)).replace(vector_file(tmp_path, cache_key(identity, edited)))
    assert np.array_equal(encode_cached(embedder, edited), embedder.encode(edited))


@pytest.mark.parametrize("damage", ["truncated", "flipped byte", "garbage", "empty"])
def test_a_damaged_file_is_recomputed_and_replaced(
    embedder: Embedder, texts: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    fresh = encode_cached(embedder, texts)
    [path] = _files(tmp_path)
    data = path.read_bytes()
    assert data.startswith(MAGIC + b"\n")
    if damage == "truncated":
        path.write_bytes(data[:-100])
    elif damage == "flipped byte":
        path.write_bytes(data[:-10] + bytes([data[-10] ^ 0x40]) + data[-9:])
    elif damage == "garbage":
        path.write_bytes(b"\x00\xff" * 1000)
    else:
        path.write_bytes(b"")
    calls = _count_encodes(embedder, monkeypatch)
    assert np.array_equal(encode_cached(embedder, texts), fresh)
    assert calls == [len(texts)]
    assert path.read_bytes() == data  # rewritten whole
    assert np.array_equal(encode_cached(embedder, texts), fresh) and calls == [len(texts)]


def test_an_unwritable_cache_directory_falls_back_to_encoding(
    loaded: Embedder, texts: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A file where the directory should be: mkdir fails even for root, whom permission bits do not stop.
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    monkeypatch.setattr(loaded, "cache_dir", blocker)
    calls = _count_encodes(loaded, monkeypatch)
    assert np.array_equal(encode_cached(loaded, texts), loaded.encode(texts))
    assert np.array_equal(encode_cached(loaded, texts), loaded.encode(texts))
    assert calls == [len(texts)] * 4  # every call encodes; nothing raised
    assert list(tmp_path.iterdir()) == [blocker]


def test_an_encoder_without_identity_is_not_cached(texts: list[str], tmp_path: Path) -> None:
    class StandIn:  # e.g. the torch backend, whose vectors also depend on the device
        identity = None
        cache_dir = tmp_path
        dimension = 3

        def encode(self, batch: Sequence[str]) -> np.ndarray:
            return np.ones((len(batch), 3), np.float32)

    assert encode_cached(StandIn(), texts).shape == (len(texts), 3)  # type: ignore[arg-type]
    assert _files(tmp_path) == []
