"""The generation grammar, compiled and run by llguidance (one of vLLM's structured-output backends) over a
byte-level BPE tokenizer trained here, so acceptance is checked token by token as a decoder would."""

from __future__ import annotations

import pytest

from autoformal.llm.grammar import generation_grammar

llguidance = pytest.importorskip("llguidance")
pytest.importorskip("llguidance.hf")

ACCEPTED = [
    "theorem foo (n : ℕ) : n + 0 = n := by sorry",
    "```lean\ntheorem foo (n : ℕ) :\n    n + 0 = n := by\n  sorry\n```",
    "```lean4\nlemma foo {α : Type*} [Group α] (a b : α) (h : a * b = 1) :\n    b * a = 1 := by sorry\n```\n",
    "def f (x : ℝ) : ℝ := x ^ 2\ntheorem t : f 2 = 4 := by sorry",
    "noncomputable def g (x : ℝ) : ℝ := Real.sqrt x\nabbrev N : ℕ := 5\ntheorem t : g 4 = 2 := by sorry",
    "example : (fun x => x) 1 = 1 := by sorry",
    "theorem t (l : List ℕ) : 1 :: l ≠ [] := by sorry",
    "theorem t (s : Set ℕ) (h : s = {x | x > 2 ∧ x < 5}) : ∀ x ∈ s, x ≥ 3 := by sorry",
    "theorem t : ∃ f : ℕ → ℕ, ∀ n, f (n + 1) > f n := by sorry",
]
REJECTED = [
    "theorem t : True := by simp",  # a proof, not a statement
    "theorem t : True := trivial",
    "theorem a : True := by sorry\ntheorem b : True := by sorry",  # two theorems
    "theorem t : 1 = 1) := by sorry",  # unbalanced
    "import Mathlib\ntheorem t : True := by sorry",  # commands are not part of an answer
    "theorem t : True\nfoo := by sorry",  # unindented continuation line
    "def a := 1\ndef b := 2\ndef c := 3\ndef d := 4\ntheorem t : True := by sorry",  # > 3 helpers
    "Sure! Here is the formalization:",
    "theorem t :\tTrue := by sorry",  # Lean rejects tabs
    "theorem t : True \x00:= by sorry",
]


@pytest.fixture(scope="module")
def tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), special_tokens=["<eos>"]
    )
    core.train_from_iterator(ACCEPTED * 3, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=core, eos_token="<eos>")


@pytest.fixture(scope="module")
def matcher_factory(tokenizer):
    import llguidance.hf

    ll_tokenizer = llguidance.hf.from_tokenizer(tokenizer)
    grammar = llguidance.grammar_from("grammar", generation_grammar())
    assert llguidance.LLMatcher.validate_grammar(grammar, ll_tokenizer) == ""  # empty = no error

    def accepts(text: str) -> bool:
        matcher = llguidance.LLMatcher(ll_tokenizer, grammar, log_level=0)
        consumed = matcher.consume_tokens(tokenizer.encode(text, add_special_tokens=False))
        return consumed and not matcher.is_error() and matcher.is_accepting()

    return accepts


def test_grammar_is_gbnf_with_root_rule() -> None:
    text = generation_grammar()
    assert "root ::=" in text and '":=" ws "by" ws "sorry"' in text


@pytest.mark.parametrize("text", ACCEPTED)
def test_accepts_statements(matcher_factory, text: str) -> None:
    assert matcher_factory(text)


@pytest.mark.parametrize("text", REJECTED)
def test_rejects_non_statements(matcher_factory, text: str) -> None:
    assert not matcher_factory(text)


def test_accepted_outputs_pass_the_safety_gate() -> None:
    """What the decoder may emit for real statements is what the Lark gate lets through."""
    try:
        from autoformal import check_safe, extract_statements
    except ImportError:
        pytest.skip("autoformal.syntax safety gate not available yet")
    for text in ACCEPTED:
        statements = extract_statements(text)
        assert len(statements) == 1, text
        verdict = check_safe(statements[0])
        assert verdict.ok, (text, verdict.reason)
