"""Statement index (kinds), static model2vec backend, example-guided retrieval, query-vector LRU, and name
suggestions — real encoders and real files on small fixtures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from autoformal.cli import app
from autoformal.corpus import Declaration, Example, load_declarations, select_kinds
from autoformal.names import NameChecker, NameKind, NameTable
from autoformal.names.suggest import edit_distance, suggest_names
from autoformal.retrieval import DeclarationIndex, Embedder, EmbedderConfig, RetrievalConfig, build_retriever
from autoformal.retrieval.guided import ExampleGuidedRetriever, statement_constants
from autoformal.retrieval.retrievers import HybridRetriever

FIXTURES = Path(__file__).parent / "fixtures"


def _decl(name: str, kind: str = "def", signature: str = ": ℕ") -> Declaration:
    return Declaration(name=name, kind=kind, signature=signature)


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder()


# -- statement index --------------------------------------------------------------------------------------


def test_select_kinds_keeps_what_statements_use() -> None:
    declarations = [
        _decl("Real.sqrt"),
        _decl("Nat.Prime", "def"),
        _decl("Group", "class"),
        _decl("Real.sqrt_nonneg", "theorem"),
        _decl("Nat.le_refl", "lemma"),
        _decl("Foo", "class inductive"),
        _decl("Bar", "irreducible_def"),
        _decl("inst", "instance"),
    ]
    statement = [d.name for d in select_kinds(declarations, include_theorems=False)]
    assert statement == ["Real.sqrt", "Nat.Prime", "Group", "Foo", "Bar", "inst"]
    assert len(select_kinds(declarations, include_theorems=True)) == len(declarations)


def test_default_build_is_a_statement_index_with_a_whole_corpus_names_file(tmp_path: Path) -> None:
    out = tmp_path / "ix"
    result = CliRunner().invoke(
        app,
        [
            *("index", "build", "--corpus", str(FIXTURES / "decls_small.jsonl"), "--out", str(out)),
            *("--backend", "onnx", "--json"),  # the default static backend is tested on a tiny model below
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    corpus = load_declarations(FIXTURES / "decls_small.jsonl").declarations
    expected = [d.name for d in corpus if d.kind not in ("theorem", "lemma")]
    assert summary["count"] == len(expected) < len(corpus)
    indexed = [json.loads(line)["name"] for line in (out / "declarations.jsonl").read_text().splitlines()]
    assert indexed == expected
    table = NameTable.load(out)  # the name check still knows the theorems
    assert "Nat.exists_infinite_primes" in table and "Nat.exists_infinite_primes" not in indexed


# -- static (model2vec) backend ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised 1-layer, 32-dimensional sentence-transformers model with MiniLM's tokenizer."""
    from sentence_transformers import SentenceTransformer, models
    from transformers import AutoTokenizer, BertConfig, BertModel

    from autoformal.retrieval.embedder import resolve_model_path

    root = tmp_path_factory.mktemp("tiny")
    config = BertConfig(
        vocab_size=30522, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64
    )
    BertModel(config).save_pretrained(root / "bert")
    AutoTokenizer.from_pretrained(resolve_model_path("default")).save_pretrained(root / "bert")
    transformer = models.Transformer(str(root / "bert"), max_seq_length=64)
    SentenceTransformer(modules=[transformer, models.Pooling(32, pooling_mode="mean")], device="cpu").save(
        str(root / "st")
    )
    return root / "st"


@pytest.mark.slow
def test_static_backend_distills_once_and_caches(tiny_bert: Path, tmp_path: Path) -> None:
    pytest.importorskip("model2vec.distill")
    config = EmbedderConfig(model=str(tiny_bert), backend="static", cache_dir=tmp_path)
    first = Embedder(config)
    vectors = first.encode(["the square root of two", "a prime number", ""])
    assert vectors.dtype == np.float32 and vectors.shape == (3, first.dimension)
    assert np.allclose(np.linalg.norm(vectors[:2], axis=1), 1.0, atol=1e-5)
    assert first.variant == "static-fp32"
    cached = list((tmp_path / "static").iterdir())
    assert len(cached) == 1 and (cached[0] / "model.safetensors").is_file()
    again = Embedder(config)  # loads the cached distillation (no second distill)
    assert np.allclose(again.encode(["a prime number"]), vectors[1:2], atol=1e-6)
    # A saved model2vec directory is used as is.
    direct = Embedder(EmbedderConfig(model=str(cached[0]), backend="static", cache_dir=tmp_path / "unused"))
    assert np.allclose(direct.encode(["a prime number"]), vectors[1:2], atol=1e-6)
    assert not (tmp_path / "unused").exists()
    with pytest.raises(Exception, match="static vectors"):
        Embedder(EmbedderConfig(model=str(tiny_bert), backend="static", quantize=True, cache_dir=tmp_path))


@pytest.mark.slow
def test_index_of_another_space_gets_its_own_query_encoder(
    tmp_path: Path, embedder: Embedder, tiny_bert: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The pipeline shares its MiniLM encoder; an index built with another encoder must not take it.
    pytest.importorskip("model2vec.distill")
    from autoformal.retrieval.config import query_embedder

    monkeypatch.setenv("AUTOFORMAL_CACHE_DIR", str(tmp_path / "cache"))
    corpus = [_decl("Real.sqrt", signature="(x : ℝ) : ℝ"), _decl("Nat.Prime", signature="(p : ℕ) : Prop")]
    static = Embedder(EmbedderConfig(model=str(tiny_bert), backend="static"))
    static_index = DeclarationIndex.build(corpus, static)
    config = RetrievalConfig(index_dir=tmp_path)
    assert query_embedder(config, static_index, static) is static
    own = query_embedder(config, static_index, embedder)  # MiniLM offered, the index's static encoder used
    assert own is not embedder and own.variant == "static-fp32" and own.dimension == static.dimension
    minilm_index = DeclarationIndex.build(corpus, embedder)
    assert query_embedder(config, minilm_index, embedder) is embedder


# -- query vector LRU ----------------------------------------------------------------------------------------


def test_encode_query_is_cached_and_read_only(embedder: Embedder) -> None:
    first = embedder.encode_query("the sum of the first n odd numbers")
    assert first is embedder.encode_query("the sum of the first n odd numbers")
    assert np.allclose(first, embedder.encode(["the sum of the first n odd numbers"])[0], atol=1e-6)
    with pytest.raises(ValueError):
        first[0] = 1.0


# -- example-guided retrieval ----------------------------------------------------------------------------------


def test_statement_constants_resolve_opens_and_root() -> None:
    known = {"Real.sqrt", "Real.pi", "Nat.Prime", "Finset.range", "Finset.sum"}
    formal = "theorem t (x : ℝ) (p : ℕ) (h : Nat.Prime p) : sqrt x ≤ pi ∧ ∑ i ∈ Finset.range p, i = 0 := sorry"
    used = statement_constants(formal, "import Mathlib\nopen Real", lambda n: n if n in known else None)
    assert used == ["Nat.Prime", "Real.sqrt", "Real.pi", "Finset.range"]
    assert statement_constants("theorem t : sqrt 2 = 1 := sorry", "", lambda n: n if n in known else None) == []
    assert statement_constants("not lean at all ((", "", lambda n: n) == []


def test_example_guided_retrieval_votes_by_similarity(embedder: Embedder) -> None:
    declarations = [
        _decl("Real.sqrt", signature="(x : ℝ) : ℝ"),
        _decl("Real.log", signature="(x : ℝ) : ℝ"),
        _decl("Nat.Prime", signature="(p : ℕ) : Prop"),
        _decl("Nat.factorial", signature=": ℕ → ℕ"),
    ]
    examples = [
        Example(
            id="a",
            informal="Show that the square root of 2 is less than 2.",
            formal="theorem a : Real.sqrt 2 < 2 := sorry",
        ),
        Example(id="b", informal="Prove that 97 is a prime number.", formal="theorem b : Nat.Prime 97 := sorry"),
        Example(id="c", informal="Compute log of e.", formal="theorem c : Real.log (Real.exp 1) = 1 := sorry"),
        Example(id="none", informal="Unrelated.", formal="theorem d : True := sorry"),  # votes for nothing
    ]
    retriever = ExampleGuidedRetriever(declarations, examples, embedder, neighbours=2)
    assert len(retriever) == 3  # the example naming no indexed declaration is dropped
    hits = retriever.search("Prove that 101 is a prime number.", k=2)
    assert hits[0].item.name == "Nat.Prime" and hits[0].source == "examples"
    assert [hit.rank for hit in hits] == list(range(1, len(hits) + 1))
    # Its own example left out (evaluation must not see a problem's gold), the prime vote disappears.
    excluded = retriever.search("Prove that 97 is a prime number.", k=4, exclude=frozenset({"b"}))
    assert "Nat.Prime" not in [hit.item.name for hit in excluded]


def test_default_hybrid_fuses_dense_bm25_and_examples(tmp_path: Path, embedder: Embedder) -> None:
    corpus = load_declarations(FIXTURES / "decls_small.jsonl").declarations
    saved = DeclarationIndex.build(select_kinds(corpus, include_theorems=False), embedder).save(tmp_path / "ix")
    assert not DeclarationIndex.read_manifest(saved).theorems
    retriever = build_retriever(RetrievalConfig(index_dir=saved), embedder=embedder)
    assert isinstance(retriever, HybridRetriever) and len(retriever.retrievers) == 3
    assert retriever.weights == [1.0, RetrievalConfig().bm25_weight, RetrievalConfig().guided_weight]
    names = [hit.item.name for hit in retriever.search("Show that 97 is a prime number.", k=5)]
    assert "Nat.Prime" in names
    off = build_retriever(RetrievalConfig(index_dir=saved, guided_weight=0), embedder=embedder)
    assert isinstance(off, HybridRetriever) and len(off.retrievers) == 2
    alone = build_retriever(RetrievalConfig(index_dir=saved, retriever="examples"), embedder=embedder)
    assert isinstance(alone, ExampleGuidedRetriever)
    # An index built for proof search (theorems) keeps the plain hybrid: examples never vote for lemmas.
    with_theorems = DeclarationIndex.build(corpus, embedder).save(tmp_path / "all")
    assert DeclarationIndex.read_manifest(with_theorems).theorems
    plain = build_retriever(RetrievalConfig(index_dir=with_theorems), embedder=embedder)
    assert isinstance(plain, HybridRetriever) and len(plain.retrievers) == 2


# -- name suggestions ----------------------------------------------------------------------------------------


F, V, S, C = NameKind.FUNCTION, NameKind.VALUE, NameKind.STRUCTURE, NameKind.CLASS
TABLE = NameTable.from_names(
    [
        ("Real.sqrt", F),
        ("Real.sqrt_nonneg", V),
        ("Real.sqrt_lt_sqrt", V),
        ("NNReal.sqrt", F),
        ("Nat.sqrt_le", V),
        ("Nat.Prime", F),
        ("Nat.prime_two", V),
        ("Nat.Prime.two_le", V),
        ("Real.exp", F),
        ("List.length_append", V),
        ("Finset.card", F),
    ]
)


def test_edit_distance_counts_a_swap_as_one() -> None:
    assert edit_distance("lenght", "length", 2) == 1
    assert edit_distance("sqrt", "sqrt", 1) == 0
    assert edit_distance("abc", "xyz", 1) == 2  # stops past the limit


@pytest.mark.parametrize(
    ("written", "opens", "expected"),
    [
        ("List.lenght", (), "List.length"),  # a core member, edit distance (swap)
        ("Nat.prime", (), "Nat.Prime"),  # case
        ("prime", ("Nat",), "Nat.Prime"),  # case under an open
        ("sqrt", (), "Real.sqrt"),  # missing `open Real`: the def with most lemmas named after it first
        ("Real.sqrtt", (), "Real.sqrt"),  # edit distance in the namespace as written
        ("Finset.crad", (), "Finset.card"),
    ],
)
def test_suggestions(written: str, opens: tuple[str, ...], expected: str) -> None:
    assert suggest_names(TABLE, written, opens)[0] == expected


def test_suggestions_prefer_definitions_and_skip_short_fuzzy_matches() -> None:
    assert suggest_names(TABLE, "sqrt")[:2] == ["Real.sqrt", "NNReal.sqrt"]
    assert suggest_names(TABLE, "ex") == []  # two letters: no fuzzy match (`lt` and `le` both exist)
    assert suggest_names(TABLE, "lt") == ["LT"]  # but a case variant is no fuzzy match
    assert "Real.sqrt" not in suggest_names(TABLE, "Real.sqrt")  # itself is not a suggestion


def test_name_check_error_carries_the_suggestions() -> None:
    checker = NameChecker(TABLE)
    result = checker.check("theorem t (x : ℝ) : Real.sqrtt x = x ∧ Nat.prime 2 := sorry", "import Mathlib")
    assert [(u.name, u.suggestions[0]) for u in result.unknown] == [
        ("Real.sqrtt", "Real.sqrt"),
        ("Nat.prime", "Nat.Prime"),
    ]
    assert "did you mean Real.sqrt" in result.describe() and "did you mean Nat.Prime" in result.describe()
    assert checker.suggest("sqrt", "import Mathlib")[0] == "Real.sqrt"
    # A missing core member stays unverified (it may exist), with a hint when it looks misspelt.
    core = checker.check("theorem t (l : List ℕ) : List.lenght l = 0 ∧ List.length_append = 1 := sorry")
    assert core.ok and core.unverified == ["List.lenght"]
    assert core.unverified_suggestions == {"List.lenght": ["List.length"]}
    assert "List.lenght (did you mean List.length?)" in core.describe()
