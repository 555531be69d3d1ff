"""Corpus loaders: JSONL (plain/gz, bad input), Lean source trees, `@[to_additive]` twins, examples."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from autoformal.corpus import (
    CorpusError,
    CorpusFormatError,
    Declaration,
    default_examples_path,
    load_declarations,
    load_examples,
)
from autoformal.corpus.jsonl import write_declarations_jsonl
from autoformal.corpus.lean_source import parse_lean_source, read_lean_tree
from autoformal.corpus.to_additive import (
    ToAdditiveSpec,
    additive_names,
    synthesize_additive_twins,
    translate_component,
)

FIXTURES = Path(__file__).parent / "fixtures"
SMALL = FIXTURES / "decls_small.jsonl"


def _record(name: str | None, **extra: object) -> str:
    return json.dumps({"name": name, "kind": "theorem", "signature": ": True", **extra}) + "\n"


# -- JSONL ------------------------------------------------------------------------------------------------


def test_jsonl_fixture_loads_with_anonymous_dropped_and_twins_added() -> None:
    corpus = load_declarations(SMALL)
    assert corpus.records == 37
    assert corpus.anonymous == 1
    names = [d.name for d in corpus.declarations]
    assert len(names) == len(set(names))
    real = [d for d in corpus.declarations if d.derived_from is None]
    assert len(real) == 36
    assert corpus.additive_twins == len(corpus.declarations) - 36 == 7
    sqrt = next(d for d in corpus.declarations if d.name == "Real.sqrt")
    assert sqrt.kind == "def" and sqrt.signature == "(x : ℝ) : ℝ" and sqrt.namespace == "Real"
    assert sqrt.statement == "def Real.sqrt (x : ℝ) : ℝ"


def test_gzip_and_plain_give_the_same_declarations(tmp_path: Path) -> None:
    packed = tmp_path / "decls.jsonl.gz"
    with gzip.open(packed, "wb") as handle:
        handle.write(SMALL.read_bytes())
    assert load_declarations(packed).declarations == load_declarations(SMALL).declarations


def test_written_corpus_reads_back_identically(tmp_path: Path) -> None:
    declarations = load_declarations(SMALL).declarations
    out = tmp_path / "roundtrip.jsonl"
    write_declarations_jsonl(declarations, out)
    again = load_declarations(out, additive_twins=False).declarations
    assert again == declarations
    assert [d.content_hash for d in again] == [d.content_hash for d in declarations]


def test_non_utf8_line_is_reported_with_its_line_number(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(_record("a").encode() + b'{"name": "caf\xe9", "kind": "def", "signature": ""}\n')
    with pytest.raises(CorpusFormatError, match=r"bad\.jsonl:2: line is not valid UTF-8.*iconv"):
        load_declarations(path)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json\n", "not a JSON object"),
        ("[1, 2]\n", "expected a JSON object, got list"),
        ('{"name": "x", "kind": 3, "signature": ""}\n', "not a declaration record"),
    ],
)
def test_malformed_lines_are_rejected(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(_record("ok") + line, encoding="utf-8")
    with pytest.raises(CorpusFormatError, match=message):
        load_declarations(path)


def test_truncated_gzip_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "cut.jsonl.gz"
    with gzip.open(path, "wb") as handle:
        handle.write(SMALL.read_bytes() * 20)
    path.write_bytes(path.read_bytes()[:400])
    with pytest.raises(CorpusError, match=r"cannot read .*complete"):
        load_declarations(path)


def test_empty_and_missing_corpora(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n", encoding="utf-8")
    with pytest.raises(CorpusError, match="empty"):
        load_declarations(empty)
    with pytest.raises(CorpusError, match="not found"):
        load_declarations(tmp_path / "missing.jsonl")


def test_duplicate_names_keep_first_or_error(tmp_path: Path) -> None:
    path = tmp_path / "dup.jsonl"
    path.write_text(_record("a", docstring="first") + _record("b") + _record("a", docstring="second"), encoding="utf-8")
    corpus = load_declarations(path)
    assert [d.name for d in corpus.declarations] == ["a", "b"]
    assert corpus.declarations[0].docstring == "first"
    assert corpus.duplicate_names == ["a"]
    with pytest.raises(CorpusError, match=r"1 duplicate declaration name.*keep_first"):
        load_declarations(path, on_duplicate="error")


def test_content_hash_ignores_location_but_not_signature() -> None:
    base = Declaration(name="x", kind="theorem", signature=": True", line=1)
    assert base.content_hash == base.model_copy(update={"line": 99, "module": "M"}).content_hash
    assert base.content_hash != base.model_copy(update={"signature": ": False"}).content_hash


@pytest.mark.shared_data
def test_shared_mathlib_corpus_head_loads(shared_data: Path, tmp_path: Path) -> None:
    head = tmp_path / "head.jsonl"
    with gzip.open(shared_data / "mathlib" / "decls.jsonl.gz", "rt", encoding="utf-8") as source:
        head.write_text("".join(next(source) for _ in range(2000)), encoding="utf-8")
    corpus = load_declarations(head)
    assert corpus.records == 2000
    assert len(corpus.declarations) + corpus.anonymous + len(corpus.duplicate_names) - corpus.additive_twins == 2000
    assert all(d.module and d.module.startswith("Mathlib.") for d in corpus.declarations)


# -- Lean source trees ------------------------------------------------------------------------------------


def test_lean_source_tree_parsing() -> None:
    declarations, anonymous = read_lean_tree(FIXTURES / "lean_tree")
    by_name = {d.name: d for d in declarations}
    assert anonymous == 1  # `instance : Inhabited (Fin (n + 1))`
    assert "fake_in_comment" not in " ".join(by_name)  # inside a nested block comment
    prod = by_name["MyLib.Sums.prod_range_succ'"]
    assert prod.kind == "theorem"
    assert prod.signature == "(f : ℕ → M) (n : ℕ) : ∏ x ∈ range (n + 1), f x = (∏ x ∈ range n, f x) * f n"
    assert prod.docstring == "The product over `range (n + 1)` splits off the last factor."
    assert prod.attributes == ('to_additive (attr := simp) "The sum over `range (n + 1)` splits off the last term."',)
    assert prod.variables == ("{M : Type*} [CommMonoid M]",)
    assert prod.module == "MyLib.Algebra.Sums" and prod.line == 16
    one_mul = by_name["MyLib.Sums.one_mul'"]
    assert one_mul.attributes == ("simp",) and one_mul.modifiers == ("protected",)
    assert one_mul.signature == "(a : M) : 1 * a = a"  # the trailing `-- ... := fake` comment is gone
    helper = by_name["MyLib.Sums.helper"]
    assert helper.docstring == "A helper definition\nspanning two lines."
    assert helper.modifiers == ("noncomputable",)
    assert helper.variables == ("{M : Type*} [CommMonoid M]", "(n : ℕ)")
    assert by_name["MyLib.Sums.instNonemptyHelper"].signature == ": Nonempty ℕ"
    assert by_name["root_level_fact"].signature == '(s : String := "a := b") : s = s'
    assert by_name["MyLib.Sums.with_open_prefix"].docstring == "Docstring after an `open ... in` prefix."
    assert by_name["MyLib.Sums.Pair"].kind == "structure"
    assert by_name["MyLib.Sums.Color"].kind == "inductive"
    assert by_name["MyLib.Sums.matchDef"].signature == ": ℕ → ℕ"
    assert by_name["weird name"].namespace is None  # after `end MyLib.Sums`


def test_lean_source_multiline_attribute_and_nested_namespaces() -> None:
    text = (
        "namespace A\nnamespace B\n@[simp,\n  norm_cast]\ntheorem t\n    (x : ℕ) :\n    x = x := rfl\nend B\n"
        "def d : ℕ := 0\nend A\n"
    )
    declarations, anonymous = parse_lean_source(text, module="M")
    assert anonymous == 0
    assert [(d.name, d.attributes, d.signature) for d in declarations] == [
        ("A.B.t", ("simp", "norm_cast"), "(x : ℕ) : x = x"),
        ("A.d", (), ": ℕ"),
    ]


def test_lean_tree_loads_through_load_declarations_with_twins() -> None:
    corpus = load_declarations(FIXTURES / "lean_tree")
    twin = next(d for d in corpus.declarations if d.derived_from == "MyLib.Sums.prod_range_succ'")
    assert twin.name == "MyLib.Sums.sum_range_succ'"
    assert twin.docstring == "The sum over `range (n + 1)` splits off the last term."
    assert "∑ x ∈ range (n + 1), f x = (∑ x ∈ range n, f x) + f n" in twin.signature


def test_non_utf8_lean_file(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    shutil.copytree(FIXTURES / "lean_tree", root)
    (root / "Bad.lean").write_bytes(b"theorem caf\xe9 : True := trivial\n")
    with pytest.raises(CorpusFormatError, match=r"Bad\.lean: not valid UTF-8"):
        load_declarations(root)


# -- @[to_additive] ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("multiplicative", "additive"),
    [
        ("prod_range_succ", "sum_range_succ"),
        ("mul_one", "add_zero"),
        ("inv_mul_cancel", "neg_add_cancel"),
        ("div_self", "sub_self"),
        ("prod_pow", "sum_nsmul"),
        ("zpow_natCast", "zsmul_natCast"),
        ("isUnit_iff", "isAddUnit_iff"),
        ("CommMonoid", "AddCommMonoid"),
        ("LeftCancelMonoid", "AddLeftCancelMonoid"),
        ("mulSupport_one", "support_zero"),
        ("Finset", "Finset"),
    ],
)
def test_translate_component(multiplicative: str, additive: str) -> None:
    assert translate_component(multiplicative) == additive


def test_to_additive_attribute_arguments() -> None:
    spec = ToAdditiveSpec('to_additive (attr := simp) (reorder := 1 2) sum_foo "The sum version."')
    assert (spec.skip, spec.name, spec.docstring) == (False, "sum_foo", "The sum version.")
    assert ToAdditiveSpec("to_additive existing").skip
    assert ToAdditiveSpec("to_additive self").skip
    assert ToAdditiveSpec("to_additive").name is None


def test_twins_honour_explicit_names_existing_and_namespaces() -> None:
    declarations = [
        Declaration(name="Monoid", kind="class", signature="(M : Type u)", attributes=("to_additive",)),
        Declaration(name="Monoid.foo_mul", kind="theorem", signature=": True", attributes=("to_additive",)),
        Declaration(
            name="Finset.prod_const",
            kind="theorem",
            signature="(b : M) : ∏ _x ∈ s, b = b ^ s.card",
            namespace="Finset",
            attributes=("to_additive sum_const_nsmul",),
        ),
        Declaration(name="Monoid.npow_zero", kind="theorem", signature=": True", attributes=("to_additive existing",)),
        Declaration(name="Real.sqrt", kind="def", signature="(x : ℝ) : ℝ"),
    ]
    assert additive_names(declarations) == {
        "Monoid": "AddMonoid",
        "Monoid.foo_mul": "AddMonoid.foo_add",
        "Finset.prod_const": "Finset.sum_const_nsmul",
    }
    twins = {t.name: t for t in synthesize_additive_twins(declarations)}
    assert twins["Finset.sum_const_nsmul"].signature == "(b : M) : ∑ _x ∈ s, b = s.card • b"
    assert twins["Finset.sum_const_nsmul"].derived_from == "Finset.prod_const"
    assert twins["AddMonoid.foo_add"].namespace == "AddMonoid"


def test_twins_never_replace_real_declarations(tmp_path: Path) -> None:
    path = tmp_path / "both.jsonl"
    path.write_text(
        _record("mul_one", signature="(a : M) : a * 1 = a", attributes=["to_additive"])
        + _record("add_zero", signature="(a : M) : a + 0 = a", docstring="the real one"),
        encoding="utf-8",
    )
    corpus = load_declarations(path)
    assert corpus.additive_twins == 0
    assert next(d for d in corpus.declarations if d.name == "add_zero").docstring == "the real one"


# -- examples ---------------------------------------------------------------------------------------------


def test_shipped_examples() -> None:
    examples = load_examples()
    assert default_examples_path().name == "examples.jsonl"
    assert len(examples) >= 40
    assert len({e.id for e in examples}) == len(examples)
    for example in examples:
        assert example.formal.startswith("theorem ") and example.formal.endswith(":= by sorry")
        assert example.header and example.header.startswith("import Mathlib")


def test_example_loader_errors(tmp_path: Path) -> None:
    path = tmp_path / "ex.jsonl"
    path.write_text(json.dumps({"id": "a", "informal": "x"}) + "\n", encoding="utf-8")
    with pytest.raises(CorpusFormatError, match="required fields: informal, formal"):
        load_examples(path)
    path.write_text(
        json.dumps({"id": "a", "informal": "x", "formal": "y"}) * 1
        + "\n"
        + json.dumps({"id": "a", "informal": "z", "formal": "w"})
        + "\n",
        encoding="utf-8",
    )
    with pytest.raises(CorpusFormatError, match="duplicate example id 'a'"):
        load_examples(path)


@pytest.mark.shared_data
def test_benchmark_jsonl_loads_as_examples(shared_data: Path) -> None:
    examples = load_examples(shared_data / "benchmarks" / "minif2f_lean4_yangky11.jsonl")
    assert len(examples) == 488
    assert all(e.header and "import Mathlib" in e.header for e in examples)
