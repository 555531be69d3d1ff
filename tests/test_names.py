"""The static name check: the name table, Lean's resolution rules, the scorer, the pipeline filter, and the
false-positive rate on gold benchmark statements (shared data; skipped when absent)."""

from __future__ import annotations

import asyncio
import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from autoformal.corpus import CorpusError
from autoformal.names import NameChecker, NameKind, NamesFileInfo, NameTable, read_names_info
from autoformal.names.table import MATHLIB_SENTINELS
from autoformal.scoring import NameScorer, ScoringCandidate

F, V, S = NameKind.FUNCTION, NameKind.VALUE, NameKind.STRUCTURE
TINY = NameTable.from_names(
    [
        ("Real", S),
        ("Real.sqrt", F),
        ("Real.pi", V),
        ("Real.exp", F),
        ("Finset", S),
        ("Finset.range", F),
        ("Finset.card", F),
        ("Finset.sum", F),
        ("Set", F),
        ("Set.univ", V),
        ("Function.comp", F),
        ("Polynomial", S),
        ("Polynomial.eval", F),
        ("IsOpen", F),
    ]
)


def check(statement: str, header: str = "", table: NameTable = TINY):
    return NameChecker(table).check(statement, header)


def unknown(statement: str, header: str = "", table: NameTable = TINY) -> list[str]:
    return [u.name for u in check(statement, header, table).unknown]


def test_known_names_and_core_names_resolve() -> None:
    result = check("theorem t (x : ℝ) (s : Finset ℕ) : Real.sqrt x ≤ s.card ∧ Nat.Prime 2 ∧ True ∧ id x = x := sorry")
    # Nat.Prime is not in the tiny table, but `Nat` is a namespace Lean core populates: unverified, not unknown.
    assert result.ok and result.parsed and not result.auto_bound
    assert result.unverified == ["Nat.Prime"]
    assert result.describe() == "no unknown names; not checkable without Lean (may exist): Nat.Prime"


def test_open_core_namespace_hides_only_plausible_core_members() -> None:
    # Lean core's `Nat` members are not in a Mathlib corpus; through `open Nat` an undotted name may be one,
    # but only if it looks like one: a generated name (`rec`) or built from words known names use.
    table = NameTable.from_names(["Nat.succ_le_of_lt", "Nat.sub_one", "Real.sqrt"])
    header = "import Mathlib\nopen BigOperators Real Nat Topology"
    core = "theorem t (n : ℕ) : succ n = n + 1 ∧ sub n 1 < n ∧ lt 1 2 ∧ rec = recOn ∧ le_of_lt_succ = 1 := sorry"
    result = check(core, header, table)
    assert result.ok and not result.auto_bound
    assert result.unverified == ["succ", "sub", "lt", "rec", "recOn", "le_of_lt_succ"]
    misspelt = "theorem t (x : ℝ) : sqrtt x = x ∧ succc 1 = 2 := sorry"
    result = check(misspelt, header, table)
    assert [u.name for u in result.auto_bound] == ["sqrtt", "succc"] and not result.unverified
    assert result.auto_bound[0].suggestions == ["Real.sqrt"]
    assert unknown(misspelt, header + "\nset_option autoImplicit false", table) == ["sqrtt", "succc"]
    # Written qualified, a missing `Nat` member stays unverified: `Nat.foo` may be any core lemma.
    assert check("theorem t : Nat.sqrtt 4 = 2 := sorry", header, table).unverified == ["Nat.sqrtt"]


def test_misspelt_dotted_name_is_unknown_with_suggestions() -> None:
    result = check("theorem t (x : ℝ) : Real.sqrtt x = Real.expp x := sorry")
    assert [u.name for u in result.unknown] == ["Real.sqrtt", "Real.expp"]
    assert result.unknown[0].suggestions[0] == "Real.sqrt"
    assert "Real.exp" in result.unknown[1].suggestions
    assert "did you mean Real.sqrt" in result.describe()


def test_unknown_namespace_is_unknown() -> None:
    assert unknown("theorem t (x : ℝ) : Reals.sqrt x = x := sorry") == ["Reals.sqrt"]


def test_open_namespaces_and_root_prefix() -> None:
    statement = "theorem t (x : ℝ) : sqrt x = x := sorry"
    assert check(statement, "import Mathlib\nopen Real Nat").ok
    assert not check(statement, "import Mathlib\nopen Real Nat").auto_bound
    # Without `open Real`, Lean's default autoImplicit binds `sqrt` as a variable: elaborates, but suspicious.
    result = check(statement, "import Mathlib")
    assert result.ok and [u.name for u in result.auto_bound] == ["sqrt"]
    assert result.auto_bound[0].suggestions == []  # nothing close at the root of the tiny table
    # With autoImplicit off it is an error.
    assert unknown(statement, "import Mathlib\nset_option autoImplicit false") == ["sqrt"]
    assert unknown("theorem t (x : ℝ) : _root_.sqrt x = x := sorry", "open Real\nset_option autoImplicit false") == [
        "_root_.sqrt"
    ]
    assert check("theorem t (x : ℝ) : _root_.Real.sqrt x = x := sorry").ok


def test_bound_variables_are_not_constants() -> None:
    statement = (
        "theorem t (f : ℕ → ℕ) (hf : ∀ n, f n > 0) : hf.le = hf.le ∧ (∀ ε > 0, ∃ δ, δ < ε) ∧ "
        "(fun y => y + 1) = f ∧ {y : ℕ | y > 0} = {z | z < 3} ∧ {f x | (x : ℕ) (hx : x > 0)} = ∅ ∧ "
        "∑ k ∈ Finset.range 3, k = 3 ∧ ∀ g : (m : ℕ) → Fin m, g = g := sorry"
    )
    result = check(statement, "set_option autoImplicit false")
    assert result.ok and not result.auto_bound


def test_single_letters_are_auto_bound_and_notation_is_skipped() -> None:
    result = check("theorem t : x + α₁ = y' ∧ (2 : ℝ≥0∞) = ⊤ ∧ 𝓝 x = ⊥ ∧ conj z = z ∧ n.succ = 1 := sorry",
                   "set_option autoImplicit false")
    assert result.ok and not result.unverified


def test_header_and_preamble_declarations_are_in_scope() -> None:
    header = (
        "import Mathlib\nopen Set\nset_option autoImplicit false\n"
        "def is_topology (X : Type*) (T : Set (Set X)) := univ ∈ T\n"
        "variable {Gr : Type*} [Group Gr]\n"
        "local notation \"lim\" => 0\n"
        "namespace Foo\n"
        "def bar := 1\n"
    )
    statement = (
        "abbrev answer : ℕ := 3\n\n"
        "theorem t (X : Type) (T : Set (Set X)) (g : Gr) : is_topology X T ∧ answer = lim ∧ bar = Foo.bar := sorry"
    )
    assert check(statement, header).ok
    assert unknown("theorem t : is_topology = 1 := sorry", "set_option autoImplicit false") == ["is_topology"]


def test_field_notation_on_constants() -> None:
    # A constant's field: its namespace depends on a type we do not know → unverified.
    assert check("theorem t : Real.pi.foo = 1 := sorry").ok
    # A function's field goes to `Function`: `Real.sqrt.comp` is `Function.comp Real.sqrt`.
    assert check("theorem t : Real.sqrt.comp Real.exp = Real.sqrt := sorry").ok
    assert unknown("theorem t : Real.sqrt.foo = 1 := sorry") == ["Real.sqrt.foo"]
    # Projections of terms cannot be resolved statically and are never flagged.
    assert check("theorem t (f : ℕ → Finset ℕ) : (f 2).foo = (Finset.range 3).bar := sorry").ok


def test_structure_members_fields_and_generated_names() -> None:
    table = NameTable({"Finset": S, "Finset.card": F}, fields={"val"})
    assert check("theorem t : Finset.val = Finset.mk ∧ Finset.toList = 1 := sorry", table=table).ok
    assert unknown("theorem t : Finset.card_foo = 1 := sorry", table=table) == ["Finset.card_foo"]
    # A class's members are all possible fields when written qualified, not when reached through `open`.
    classes = NameTable({"Fintype": NameKind.CLASS, "Fintype.card": F})
    assert check("theorem t : Fintype.elems = 1 := sorry", table=classes).ok
    assert unknown("theorem t : is_thing = 1 := sorry", "open Fintype\nset_option autoImplicit false", classes) == [
        "is_thing"
    ]


def test_names_mathlib_mentions_are_not_flagged() -> None:
    # `dist` is a class field exported to the root: Mathlib writes it, but no declaration is named `dist`.
    table = NameTable.from_records([("dist_comm", "theorem", "(x y : α) : dist x y = dist y x", (), None)])
    assert "dist" in table.mentioned
    result = check("theorem t (x y : ℝ) : dist x y = 0 := sorry", "set_option autoImplicit false", table)
    assert result.ok and result.unverified == ["dist"]


def test_unparsed_statements_are_not_judged() -> None:
    result = check("theorem t : (1 + = 2 := sorry")
    assert not result.parsed and result.ok and "does not parse" in result.describe()


def _write_corpus(path: Path) -> None:
    records = [
        {"name": "Finset.prod", "kind": "def", "signature": "(s : Finset α) (f : α → β) : β",
         "attributes": ["to_additive"], "namespace": "Finset"},
        {"name": "Finset", "kind": "structure", "signature": "(α : Type*)"},
        {"name": "Real.sqrt", "kind": "def", "signature": "(x : ℝ) : ℝ", "namespace": "Real"},
        {"name": "Real.pi", "kind": "def", "signature": ": ℝ", "namespace": "Real"},
    ]
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.writelines(json.dumps(r) + "\n" for r in records)


def test_table_loads_from_corpus_names_file_and_index(tmp_path: Path) -> None:
    corpus = tmp_path / "decls.jsonl.gz"
    _write_corpus(corpus)
    table = NameTable.load(corpus)
    assert "Finset.sum" in table  # the synthesized @[to_additive] twin
    assert table.kind("Real.sqrt") is F and table.kind("Real.pi") is V and table.kind("Finset") is S
    assert table.is_namespace("Real") and "Nat" in table  # core names are always there
    names_file = tmp_path / "names.tsv"
    table.save(names_file)
    again = NameTable.load(names_file)
    assert len(again) == len(table) and again.kind("Real.sqrt") is F and again.mentioned == table.mentioned
    index = tmp_path / "index"
    index.mkdir()
    with gzip.open(corpus, "rt", encoding="utf-8") as handle:
        (index / "declarations.jsonl").write_text(handle.read(), encoding="utf-8")
    assert NameTable.load(index).kind("Real.sqrt") is F
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "declarations.jsonl").write_text('{"name": "Real.sqrt"}\n{"name": \n', encoding="utf-8")
    with pytest.raises(CorpusError, match=r"declarations.jsonl:2: not a JSON object"):
        NameTable.load(broken)
    with pytest.raises(CorpusError, match="not found"):
        NameTable.load(tmp_path / "missing.tsv")


def test_names_file_says_whether_it_is_a_whole_mathlib(tmp_path: Path) -> None:
    # A subset index (a test's, the recall benchmark's) writes a names file too: against it real Mathlib
    # names look unknown, so its header says it is a fragment.
    fragment = tmp_path / "fragment.tsv"
    TINY.save(fragment)
    assert not TINY.looks_complete and TINY.declarations == 14
    assert read_names_info(fragment) == NamesFileInfo(declarations=14, looks_complete=False)
    whole = NameTable.from_names([*MATHLIB_SENTINELS, "Nat.Prime.two_le"])
    index = tmp_path / "index"
    index.mkdir()
    whole.save(index / "names.tsv")
    assert read_names_info(index) == NamesFileInfo(declarations=5, looks_complete=True)
    again = NameTable.load(index)
    assert again.looks_complete and again.declarations == 5 and "Nat.Prime.two_le" in again
    # A names file written before the header carried this: unknown until loaded.
    old = tmp_path / "old.tsv"
    old.write_text("# autoformal names v1\nReal.sqrt\tF\n", encoding="utf-8")
    assert read_names_info(old) == NamesFileInfo(declarations=None, looks_complete=None)
    assert NameTable.load(old).declarations == 1
    corpus = tmp_path / "decls.jsonl"
    corpus.write_text('{"name": "Real.sqrt"}\n', encoding="utf-8")
    with pytest.raises(CorpusError, match="not an autoformal names file"):
        read_names_info(corpus)


def test_name_scorer() -> None:
    scorer = NameScorer(NameChecker(TINY), header="import Mathlib\nopen Real")
    statements = [
        "theorem a (x : ℝ) : sqrt x = x := sorry",
        "theorem b (x : ℝ) : Real.sqrtt x = x := sorry",
        "theorem c (x : ℝ) : sqroot x = x := sorry",
        "theorem d : (1 + = 2 := sorry",
        "theorem e : Nat.Prime 2 := sorry",
    ]
    scores = asyncio.run(scorer.score("", [ScoringCandidate.from_statement(s) for s in statements]))
    assert [s.value for s in scores] == [1.0, 0.0, 0.5, 0.5, 1.0]
    assert scores[0].explanation == "all names resolve"
    assert "not checkable without Lean" in scores[4].explanation and "Nat.Prime" in scores[4].explanation
    assert "Real.sqrtt" in scores[1].explanation and "Real.sqrt" in scores[1].explanation
    assert "auto-bound" in scores[2].explanation and "sqroot" in scores[2].explanation


def test_pipeline_drops_candidates_with_unknown_names_before_lean(tmp_path: Path) -> None:
    from autoformal.config import FormalizerConfig
    from autoformal.llm import OpenAIBackendConfig
    from autoformal.pipeline import Formalizer
    from autoformal.testing.openai_server import OpenAIStubServer
    from autoformal.testing.standin_repl import install_standin, read_log

    samples = [
        "```lean\ntheorem good (s : Finset ℕ) : s.card = Finset.card s := by sorry\n```",
        "```lean\ntheorem bad (s : Finset ℕ) : Finset.cardd s = 0 := by sorry\n```",
    ]

    def responder(request: dict[str, Any]) -> list[str]:
        return [samples[i % 2] for i in range(int(request.get("n") or 1))]

    names = tmp_path / "names.tsv"
    TINY.save(names)
    standin = install_standin(tmp_path / "proj", log_path=tmp_path / "lean.jsonl")
    from autoformal.checking import ReplCheckerConfig

    checker = ReplCheckerConfig(
        project_dir=standin.directory, repl_dir=standin.directory, lake_path=standin.lake, num_workers=1
    )
    with OpenAIStubServer(responder) as server:
        for mode, sent in (("drop", 1), ("annotate", 2)):
            config = FormalizerConfig(
                backend=OpenAIBackendConfig(base_url=server.base_url, model=server.model),
                checker=checker,
                cache=False,
                samples=2,
                retrieval="off",
                examples=0,
                backtranslation=False,
                names=names,
                names_filter=mode,
            )
            assert standin.log_path is not None
            before = len([e for e in read_log(standin.log_path) if "env" in e.get("request", {})])
            with Formalizer(config) as formalizer:
                result = formalizer.formalize("The cardinality of a finite set is its cardinality.")
            after = len([e for e in read_log(standin.log_path) if "env" in e.get("request", {})])
            assert after - before == sent
            assert result.stage_counts["safe"] == 2 and result.stage_counts["names"] == sent
            if mode == "drop":
                dropped = [e for e in result.errors if "not sent to Lean" in e]
                assert len(dropped) == 1 and "Finset.cardd (did you mean Finset.card?)" in dropped[0]
                assert [c.statement.split()[1] for c in result.candidates] == ["good"]
            else:
                by_name = {c.statement.split()[1]: c for c in result.candidates}
                assert by_name["bad"].scores["names"] == 0.0 and by_name["good"].scores["names"] == 1.0
                assert "Finset.cardd" in by_name["bad"].explanations["names"]


def test_names_scorer_judges_under_the_inputs_own_header_and_context(tmp_path: Path) -> None:
    from autoformal.config import FormalizerConfig
    from autoformal.llm import OpenAIBackendConfig
    from autoformal.pipeline import Formalizer
    from autoformal.testing.openai_server import OpenAIStubServer

    statement = "```lean\ntheorem uses_context (n : ℕ) : Spec.double n = n + n := by sorry\n```"
    names = tmp_path / "names.tsv"
    TINY.save(names)
    with OpenAIStubServer(lambda request: [statement] * int(request.get("n") or 1)) as server:
        config = FormalizerConfig(
            backend=OpenAIBackendConfig(base_url=server.base_url, model=server.model),
            lean=False, cache=False, samples=1, retrieval="off", examples=0, backtranslation=False,
            names=names, names_filter="annotate",
        )  # fmt: skip
        with Formalizer(config) as formalizer:
            with_context = formalizer.formalize("double n is n + n", context="opaque Spec.double : ℕ → ℕ")
            without = formalizer.formalize("double n is n + n")
    # `Spec.double` is declared by the input's (trusted) context: known there, unknown without it.
    assert with_context.best is not None and with_context.best.scores["names"] == 1.0
    assert without.best is not None and without.best.scores["names"] == 0.0
    assert "Spec.double" in without.best.explanations["names"]


def test_names_auto_uses_the_retrieval_index_names_file(tmp_path: Path) -> None:
    from autoformal.assembly import names_source_of
    from autoformal.config import FormalizerConfig
    from autoformal.retrieval import RetrievalConfig

    index = tmp_path / "index"
    index.mkdir()
    config = FormalizerConfig(retrieval_config=RetrievalConfig(index_dir=index))
    assert config.names == "auto" and names_source_of(config) is None  # no index names: no check
    TINY.save(index / "names.tsv")
    assert names_source_of(config) is None  # a fragment of Mathlib: its misses would be false "unknown"s
    complete = NameTable.from_names(MATHLIB_SENTINELS)
    complete.save(index / "names.tsv")
    assert names_source_of(config) == index / "names.tsv"
    assert names_source_of(config.model_copy(update={"names": None})) is None
    for off in ("", "none", "off"):
        assert FormalizerConfig(names=off).names is None
    explicit = tmp_path / "other.tsv"
    assert names_source_of(config.model_copy(update={"names": explicit})) == explicit


# Gold statements that name something the 2026 Mathlib corpus lacks for a real reason: helper definitions
# that a stored ProofNet-lean4 statement uses but its header lacks (`def Rl`, `def K_topology`: Lean rejects
# it as stored) and `Complex.abs`, removed from Mathlib since (miniF2F targets a 2024 Mathlib). Every other
# miss is an undotted name that Lean's autoImplicit would bind, reported as `auto_bound`: names renamed since
# (QuotientMap → IsQuotientMap, setOf → Set.ofPred, ...) and the ProofNet-lean4 helpers again.
GOLD_UNKNOWN = {"Rl.IsOpen", "K_topology.IsOpen", "Complex.abs"}
GOLD_AUTO_BOUND = {
    "QuotientMap", "LocPathConnectedSpace", "TopologicalGroup", "IsNormalSubgroup", "Inf", "Sup", "setOf", "Xor'",
    "is_topology", "countably_compact", "lower_limit_topology", "rational", "limit_point_compact",
}


@pytest.fixture(scope="module")
def mathlib_names(shared_data: Path) -> NameTable:
    return NameTable.load(shared_data / "mathlib" / "decls.jsonl.gz")


def _check_gold(shared_data: Path, checker: NameChecker, header: str | None) -> tuple[int, int, set[str], set[str]]:
    """Rows, rows with an unknown name, unknown names and auto-bound names over every gold statement, each
    under its own header (`header=None`) or under `header`."""
    rows = flagged = 0
    unknown_names: set[str] = set()
    auto_bound: set[str] = set()
    for path in sorted((shared_data / "benchmarks").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            result = checker.check(record["formal"], record["header"] if header is None else header)
            rows += 1
            flagged += bool(result.unknown)
            unknown_names.update(u.name for u in result.unknown)
            auto_bound.update(u.name for u in result.auto_bound)
    return rows, flagged, unknown_names, auto_bound


def test_gold_statements_have_no_false_unknown_names(shared_data: Path, mathlib_names: NameTable) -> None:
    rows, flagged, unknown_names, auto_bound = _check_gold(shared_data, NameChecker(mathlib_names), None)
    assert mathlib_names.looks_complete and mathlib_names.declarations > 200_000
    assert rows > 2000
    assert unknown_names <= GOLD_UNKNOWN, unknown_names - GOLD_UNKNOWN
    assert auto_bound <= GOLD_AUTO_BOUND, auto_bound - GOLD_AUTO_BOUND
    assert flagged <= 2


def test_gold_statements_under_the_default_header(shared_data: Path, mathlib_names: NameTable) -> None:
    from autoformal.checking.header import DEFAULT_HEADER

    # Its `open ... Nat` must not hide every unknown undotted name as a possible core `Nat` member.
    rows, flagged, unknown_names, auto_bound = _check_gold(shared_data, NameChecker(mathlib_names), DEFAULT_HEADER)
    assert rows > 2000
    # `pdf.IsUniform` needs its statement's `open ProbabilityTheory`, which the default header lacks.
    assert unknown_names <= GOLD_UNKNOWN | {"pdf.IsUniform"}, unknown_names - GOLD_UNKNOWN
    assert auto_bound <= GOLD_AUTO_BOUND, auto_bound - GOLD_AUTO_BOUND
    assert {"QuotientMap", "setOf"} <= auto_bound
    assert flagged <= 4
