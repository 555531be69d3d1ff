"""Embedder, DeclarationIndex (FAISS + BM25), retrievers and the factory, with the real offline MiniLM."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from autoformal.corpus import CorpusError, Declaration, load_declarations, load_examples
from autoformal.corpus.models import Example
from autoformal.names import NameTable
from autoformal.retrieval import (
    MAX_QUERY_CHARS,
    BM25Retriever,
    DeclarationIndex,
    DenseRetriever,
    Embedder,
    EmbedderConfig,
    ExampleRetriever,
    Hit,
    HybridRetriever,
    IndexCorruptError,
    IndexMismatchError,
    IndexNotFoundError,
    IndexStateError,
    InvalidQueryError,
    RetrievalConfig,
    Retriever,
    build_example_retriever,
    build_retriever,
    declaration_text,
    split_name,
)

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return Embedder()


@pytest.fixture(scope="session")
def declarations() -> list[Declaration]:
    return load_declarations(FIXTURES / "decls_small.jsonl").declarations


@pytest.fixture(scope="session")
def index(embedder: Embedder, declarations: list[Declaration]) -> DeclarationIndex:
    return DeclarationIndex.build(declarations, embedder)


@pytest.fixture(scope="session")
def saved_index(index: DeclarationIndex, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return index.save(tmp_path_factory.mktemp("index") / "ix")


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised 32-dimensional sentence-transformers model (another model than MiniLM)."""
    from sentence_transformers import SentenceTransformer, models
    from transformers import AutoTokenizer, BertConfig, BertModel

    from autoformal.retrieval.embedder import resolve_model_path

    root = tmp_path_factory.mktemp("tiny")
    bert_dir = root / "bert"
    config = BertConfig(
        vocab_size=30522, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64
    )
    BertModel(config).save_pretrained(bert_dir)
    AutoTokenizer.from_pretrained(resolve_model_path("default")).save_pretrained(bert_dir)
    transformer = models.Transformer(str(bert_dir), max_seq_length=64)
    pooling = models.Pooling(32, pooling_mode="mean")
    SentenceTransformer(modules=[transformer, pooling], device="cpu").save(str(root / "st"))
    return root / "st"


class EncodeSpy:
    """`embedder`, recording every text it is asked to encode (what a rebuild embeds again)."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self.seen: list[str] = []

    def __getattr__(self, name: str) -> object:
        return getattr(self.embedder, name)

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        self.seen.extend(texts)
        return self.embedder.encode(texts)


def _names(hits: Sequence[Hit[Declaration]]) -> list[str]:
    return [hit.item.name for hit in hits]


# -- text -------------------------------------------------------------------------------------------------


def test_declaration_text_puts_name_words_first() -> None:
    declaration = Declaration(name="Finset.sum_range_succ", kind="theorem", signature=": a = b", docstring="Doc.")
    assert split_name("Nat.IsSquare.exists_sq") == ["Nat", "Is", "Square", "exists", "sq"]
    assert declaration_text(declaration) == "finset sum range succ. theorem Finset.sum_range_succ : a = b. Doc."


# -- embedder ---------------------------------------------------------------------------------------------


def test_embedder_rows_are_unit_float32_and_order_preserving(embedder: Embedder) -> None:
    texts = ["a long sentence about the square root of a real number " * 3, "prime", "", "sum of a range"]
    vectors = embedder.encode(texts)
    assert vectors.shape == (4, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors[[0, 1, 3]], axis=1), 1.0, atol=1e-5)
    one_by_one = np.vstack([embedder.encode([text]) for text in texts])
    assert np.allclose(vectors, one_by_one, atol=1e-4)  # length sorting must not permute rows
    assert embedder.encode([]).shape == (0, 384)
    with pytest.raises(TypeError):
        embedder.encode("not a list")  # type: ignore[arg-type]


def test_onnx_backend_matches_sentence_transformers(embedder: Embedder) -> None:
    reference = Embedder(EmbedderConfig(backend="torch"))
    texts = ["the square root of two is irrational", "Finset.sum_range_succ (f : ℕ → M) (n : ℕ)"]
    cosine = (embedder.encode(texts) * reference.encode(texts)).sum(axis=1)
    assert cosine.min() > 0.999
    assert embedder.variant == "onnx-fp32" and reference.variant == "torch-fp32"


def test_similar_texts_are_closer(embedder: Embedder) -> None:
    a, b, c = embedder.encode(["the square root of x", "sqrt x, the root of a number", "prime factorisation"])
    assert a @ b > a @ c


def test_quantize_needs_onnx() -> None:
    from autoformal.retrieval import EmbedderError

    with pytest.raises(EmbedderError, match="backend='onnx'"):
        Embedder(EmbedderConfig(backend="torch", quantize=True))


# -- index build / save / load ----------------------------------------------------------------------------


def test_build_manifest(index: DeclarationIndex, declarations: list[Declaration]) -> None:
    manifest = index.manifest
    assert manifest.count == len(declarations) == len(index)
    assert manifest.dimension == 384 and manifest.index_type == "flat"
    assert manifest.embedded == len(declarations) and manifest.reused == 0
    assert index.vectors.shape == (len(declarations), 384)


def test_dense_search_finds_the_obvious_declaration(index: DeclarationIndex, embedder: Embedder) -> None:
    dense = DenseRetriever(index, embedder)
    hits = dense.search("the sum over range n plus one splits off the last term", k=3)
    assert hits[0].item.name == "Finset.sum_range_succ"  # a synthesized @[to_additive] twin
    assert [hit.rank for hit in hits] == [1, 2, 3]
    assert all(hit.source == "dense" for hit in hits)
    assert hits[0].score >= hits[1].score >= hits[2].score
    assert dense.search("there are infinitely many prime numbers", k=1)[0].item.name == ("Nat.exists_infinite_primes")


def test_bm25_search_matches_names_and_skips_unrelated(index: DeclarationIndex) -> None:
    bm25 = BM25Retriever.from_index(index)
    hits = bm25.search("Real.sqrt_nonneg", k=5)
    assert hits[0].item.name == "Real.sqrt_nonneg" and hits[0].source == "bm25"
    assert bm25.search("zzzz qqqq", k=5) == []  # no shared token: nothing, not random rows


def test_hybrid_is_reciprocal_rank_fusion() -> None:
    class Fixed:
        def __init__(self, names: list[str]) -> None:
            self.names = names

        def search(self, query: str, k: int = 10) -> list[Hit[Example]]:
            return [
                Hit(item=Example(id=n, informal=n, formal=n), score=1.0, rank=r, source="fixed")
                for r, n in enumerate(self.names[:k], start=1)
            ]

    hybrid = HybridRetriever([Fixed(["a", "b", "c"]), Fixed(["c", "b", "d"])], fusion_k=60)
    hits = hybrid.search("q", k=4)
    # c: ranks 3 and 1 -> 1/63 + 1/61 = 0.032266 just beats b: ranks 2 and 2 -> 2/62 = 0.032258
    assert [h.item.id for h in hits] == ["c", "b", "a", "d"]
    assert hits[0].score == pytest.approx(1 / 61 + 1 / 63)
    assert hits[1].score == pytest.approx(2 / 62)
    assert hits[2].score == pytest.approx(1 / 61) and hits[3].score == pytest.approx(1 / 63)
    assert all(h.source == "hybrid" for h in hits)


def test_retrievers_satisfy_the_protocol(index: DeclarationIndex, embedder: Embedder) -> None:
    dense = DenseRetriever(index, embedder)
    bm25 = BM25Retriever.from_index(index)
    for retriever in (dense, bm25, HybridRetriever([dense, bm25])):
        assert isinstance(retriever, Retriever)
        hits = retriever.search("logarithm of a product", k=4)
        assert 0 < len(hits) <= 4
        assert len({h.item.name for h in hits}) == len(hits)
    hybrid = HybridRetriever([dense, bm25]).search("logarithm of a product", k=4)
    assert "Real.log_mul" in _names(hybrid)


@pytest.mark.parametrize("index_type", ["hnsw", "ivf"])
def test_ann_index_types(index_type: str, embedder: Embedder, declarations: list[Declaration], tmp_path: Path) -> None:
    index = DeclarationIndex.build(declarations, embedder, index_type=index_type)  # type: ignore[arg-type]
    loaded = DeclarationIndex.load(index.save(tmp_path / index_type))
    assert loaded.manifest.index_type == index_type
    hits = DenseRetriever(loaded, embedder).search("the sine squared plus cosine squared is one", k=1)
    assert hits[0].item.name == "Real.sin_sq_add_cos_sq"


def test_save_load_roundtrip(saved_index: Path, index: DeclarationIndex, embedder: Embedder) -> None:
    loaded = DeclarationIndex.load(saved_index, embedder=embedder)
    assert loaded.declarations == index.declarations
    assert np.array_equal(np.asarray(loaded.vectors), index.vectors)
    assert loaded.manifest.corpus_hash == index.manifest.corpus_hash
    assert set(loaded.manifest.files) >= {"declarations.jsonl", "vectors.npy", "names.tsv"}
    # The index carries the static name check's names file: loading it does not re-read the declarations.
    names = NameTable.load(saved_index)
    assert names.source.endswith("names.tsv") and "Finset.prod_range_succ" in names and "Finset.sum_range_succ" in names
    assert not [p for p in saved_index.parent.iterdir() if p.name.startswith(".")]  # no temp dirs left
    query = "square root of a nonnegative real squared"
    assert _names(DenseRetriever(loaded, embedder).search(query, 5)) == _names(
        DenseRetriever(index, embedder).search(query, 5)
    )
    assert _names(BM25Retriever.from_index(loaded).search(query, 5)) == _names(
        BM25Retriever.from_index(index).search(query, 5)
    )


def test_incremental_rebuild_embeds_only_changed_declarations(
    saved_index: Path, embedder: Embedder, declarations: list[Declaration]
) -> None:
    previous = DeclarationIndex.load(saved_index)
    changed = [d.model_copy(update={"docstring": "Edited docstring."}) for d in declarations[:2]]
    added = Declaration(name="Nat.factorial_pos", kind="theorem", signature="(n : ℕ) : 0 < n !")
    updated = [*changed, *declarations[2:-1], added]  # last one removed
    spy = EncodeSpy(embedder)
    rebuilt = DeclarationIndex.build(updated, spy, previous=previous)  # type: ignore[arg-type]
    assert sorted(spy.seen) == sorted(declaration_text(d) for d in [*changed, added])
    assert (rebuilt.manifest.embedded, rebuilt.manifest.reused) == (3, len(updated) - 3)
    unchanged = {d.name for d in declarations[2:-1]}
    old_rows = {d.name: previous.vectors[i] for i, d in enumerate(previous.declarations)}
    for row, declaration in enumerate(rebuilt.declarations):
        if declaration.name in unchanged:
            assert np.array_equal(rebuilt.vectors[row], old_rows[declaration.name])
    fresh = DeclarationIndex.build(updated, embedder)
    assert np.allclose(rebuilt.vectors, fresh.vectors, atol=1e-4)  # reuse gives what a full build gives


def test_truncated_faiss_index_rebuild_reuses_the_intact_vectors(
    index: DeclarationIndex, embedder: Embedder, declarations: list[Declaration], tmp_path: Path
) -> None:
    """Issue 12: only `faiss.index` damaged (truncated) — the vectors are intact, so a rebuild embeds nothing."""
    from autoformal.errors import AutoformalError

    damaged = DeclarationIndex.build(declarations, embedder, index_type="hnsw", previous=index).save(tmp_path / "ix")
    faiss_file = damaged / "faiss.index"
    faiss_file.write_bytes(faiss_file.read_bytes()[:100])
    with pytest.raises(AutoformalError):  # the index as a whole is refused
        DeclarationIndex.load(damaged)
    previous = DeclarationIndex.load(damaged, vectors_only=True)
    spy = EncodeSpy(embedder)
    rebuilt = DeclarationIndex.build(declarations, spy, previous=previous)  # type: ignore[arg-type]
    assert spy.seen == [] and rebuilt.manifest.reused == len(declarations)
    rebuilt.save(damaged)
    assert len(DeclarationIndex.load(damaged)) == len(declarations)  # whole again


def test_rebuild_with_another_model_re_embeds_everything(
    saved_index: Path, declarations: list[Declaration], tiny_model_dir: Path
) -> None:
    other = Embedder(EmbedderConfig(model=str(tiny_model_dir), backend="torch"))
    rebuilt = DeclarationIndex.build(declarations, other, previous=DeclarationIndex.load(saved_index))
    assert rebuilt.manifest.reused == 0 and rebuilt.manifest.dimension == 32


def test_index_built_with_another_model_is_rejected(saved_index: Path, tiny_model_dir: Path) -> None:
    other = Embedder(EmbedderConfig(model=str(tiny_model_dir), backend="torch"))
    assert other.dimension == 32
    with pytest.raises(IndexMismatchError, match=r"built with model .*all-MiniLM-L6-v2.*rebuild"):
        DeclarationIndex.load(saved_index, embedder=other)
    index = DeclarationIndex.load(saved_index)
    with pytest.raises(IndexMismatchError):
        DenseRetriever(index, other)


def test_onnx_backend_runs_other_models_too(tiny_model_dir: Path, tmp_path: Path) -> None:
    onnx = Embedder(EmbedderConfig(model=str(tiny_model_dir), cache_dir=tmp_path))
    torch = Embedder(EmbedderConfig(model=str(tiny_model_dir), backend="torch"))
    texts = ["an arbitrary sentence", "another one, longer than the first sentence"]
    assert (onnx.encode(texts) * torch.encode(texts)).sum(axis=1).min() > 0.999


def _copy(saved_index: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(saved_index, tmp_path / "copy"))


def test_truncated_vectors_are_detected(saved_index: Path, tmp_path: Path) -> None:
    copy = _copy(saved_index, tmp_path)
    data = (copy / "vectors.npy").read_bytes()
    (copy / "vectors.npy").write_bytes(data[: len(data) // 2])
    with pytest.raises(IndexCorruptError, match=r"vectors\.npy does not match its checksum"):
        DeclarationIndex.load(copy)
    with pytest.raises(IndexCorruptError, match="cannot read the index files"):
        DeclarationIndex.load(copy, verify=False)


def test_missing_file_manifest_and_garbage(saved_index: Path, tmp_path: Path) -> None:
    copy = _copy(saved_index, tmp_path)
    (copy / "declarations.jsonl").unlink()
    with pytest.raises(IndexCorruptError, match=r"missing declarations\.jsonl"):
        DeclarationIndex.load(copy)
    (copy / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(IndexCorruptError, match="unreadable"):
        DeclarationIndex.load(copy)
    (copy / "manifest.json").unlink()
    with pytest.raises(IndexCorruptError, match=r"not a .*autoformal index"):
        DeclarationIndex.load(copy)
    with pytest.raises(IndexNotFoundError, match="autoformal index build"):
        DeclarationIndex.load(tmp_path / "nowhere")


def test_format_version_mismatch(saved_index: Path, tmp_path: Path) -> None:
    copy = _copy(saved_index, tmp_path)
    manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    manifest["format_version"] = 999
    (copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IndexMismatchError, match="format 999"):
        DeclarationIndex.load(copy)


def test_failed_save_leaves_the_old_index_intact(
    index: DeclarationIndex, saved_index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = _copy(saved_index, tmp_path)
    before = {p.name: p.read_bytes() for p in copy.iterdir() if p.is_file()}

    def explode(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(type(index.bm25), "save", explode)
    with pytest.raises(OSError, match="disk full"):
        index.save(copy)
    assert {p.name: p.read_bytes() for p in copy.iterdir() if p.is_file()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["copy"]  # the temp dir was removed


def test_save_refuses_to_clobber_a_foreign_directory(index: DeclarationIndex, tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(IndexStateError, match="not an autoformal index"):
        index.save(tmp_path)
    assert (tmp_path / "precious.txt").read_text(encoding="utf-8") == "keep me"


def test_bad_corpora_are_rejected(embedder: Embedder) -> None:
    with pytest.raises(CorpusError, match="empty corpus"):
        DeclarationIndex.build([], embedder)
    twice = [Declaration(name="x", kind="def", signature=": ℕ")] * 2
    with pytest.raises(CorpusError, match="duplicate declaration names"):
        DeclarationIndex.build(twice, embedder)


@pytest.mark.parametrize(
    ("query", "k", "message"),
    [
        ("", 5, "empty query"),
        ("   \n", 5, "empty query"),
        ("x" * (MAX_QUERY_CHARS + 1), 5, "characters"),
        ("ok", 0, "k must be at least 1"),
    ],
)
def test_bad_queries(index: DeclarationIndex, embedder: Embedder, query: str, k: int, message: str) -> None:
    for retriever in (DenseRetriever(index, embedder), BM25Retriever.from_index(index)):
        with pytest.raises(InvalidQueryError, match=message):
            retriever.search(query, k)


def test_megabyte_query_is_rejected_quickly(index: DeclarationIndex, embedder: Embedder) -> None:
    with pytest.raises(InvalidQueryError, match="pass one statement"):
        HybridRetriever([DenseRetriever(index, embedder)]).search("ab " * 350_000, 10)


def test_k_larger_than_the_corpus(index: DeclarationIndex, embedder: Embedder) -> None:
    hits = DenseRetriever(index, embedder).search("anything at all", k=1000)
    assert len(hits) == len(index)


# -- examples and factory ---------------------------------------------------------------------------------


def test_example_retriever_over_shipped_examples(embedder: Embedder) -> None:
    retriever = ExampleRetriever(load_examples(), embedder)
    hits = retriever.search("Prove that the sum 1 + 3 + 5 + ... + (2n - 1) of odd numbers is a square.", k=3)
    assert hits[0].item.id == "sum_first_odd"
    assert hits[0].source == "examples" and isinstance(retriever, Retriever)


@pytest.mark.parametrize("kind", ["hybrid", "dense", "bm25"])
def test_build_retriever_from_config(saved_index: Path, embedder: Embedder, kind: str) -> None:
    config = RetrievalConfig(index_dir=saved_index, retriever=kind)  # type: ignore[arg-type]
    retriever = build_retriever(config, embedder=embedder)
    hits = retriever.search("Euclid: there are infinitely many primes", k=config.k)
    assert hits and all(hit.source == kind for hit in hits)
    assert "Nat.exists_infinite_primes" in _names(hits)


def test_build_retriever_loads_the_index_model_by_default(saved_index: Path) -> None:
    retriever = build_retriever(RetrievalConfig(index_dir=saved_index, retriever="dense"))
    assert isinstance(retriever, DenseRetriever)
    assert retriever.embedder.model_name == retriever.index.manifest.model


def test_build_example_retriever(embedder: Embedder) -> None:
    retriever = build_example_retriever(RetrievalConfig(), embedder=embedder)
    assert retriever.search("Show that 97 is prime.", k=1)[0].item.id == "prime_97"


def test_weighted_fusion_and_validation() -> None:
    class Fixed:
        def __init__(self, names: list[str]) -> None:
            self.names = names

        def search(self, query: str, k: int = 10) -> list[Hit[Example]]:
            return [
                Hit(item=Example(id=n, informal=n, formal=n), score=1.0, rank=r, source="fixed")
                for r, n in enumerate(self.names[:k], start=1)
            ]

    hits = HybridRetriever([Fixed(["a", "b"]), Fixed(["b", "a"])], weights=[1.0, 0.5]).search("q", k=2)
    assert [h.item.id for h in hits] == ["a", "b"]
    assert hits[0].score == pytest.approx(1 / 61 + 0.5 / 62)
    with pytest.raises(ValueError, match="one non-negative number per retriever"):
        HybridRetriever([Fixed(["a"])], weights=[1.0, 1.0])


def test_bm25_built_with_older_tokens_is_rebuilt_at_load(saved_index: Path, tmp_path: Path) -> None:
    copy = _copy(saved_index, tmp_path)
    manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    manifest["bm25_tokenizer"] = 0
    (copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    hits = BM25Retriever.from_index(DeclarationIndex.load(copy)).search("Real.sqrt_nonneg", k=1)
    assert hits[0].item.name == "Real.sqrt_nonneg"
