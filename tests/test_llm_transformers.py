"""TransformersBackend on a tiny random GPT-2 and a word-level tokenizer built in the test (no download)."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from autoformal.llm import ChatMessage, GenerationRequest, LLMBackend, LLMRequestError  # noqa: E402
from autoformal.llm.transformers_backend import TransformersBackend  # noqa: E402
from autoformal.prompts import build_formalization_prompt, token_counter_for  # noqa: E402

VOCABULARY_TEXT = "theorem lemma foo bar : ( ) n ℕ + = 0 1 2 := by sorry True ∀ , < ≤ x y user assistant"


def _tiny_backend() -> TransformersBackend:
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    vocab = {"[PAD]": 0, "[UNK]": 1, "[EOS]": 2}
    for word in [*VOCABULARY_TEXT.split(), "system", "user:", "assistant:", "system:"]:
        vocab.setdefault(word, len(vocab))
    core = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, pad_token="[PAD]", unk_token="[UNK]", eos_token="[EOS]")
    torch.manual_seed(0)
    config = GPT2Config(
        vocab_size=len(vocab),
        n_positions=256,
        n_embd=32,
        n_layer=1,
        n_head=2,
        bos_token_id=2,
        eos_token_id=2,
        pad_token_id=0,
    )
    model = GPT2LMHeadModel(config)
    return TransformersBackend(model, tokenizer, model_name="tiny-gpt2", use_chat_template=False)


@pytest.fixture(scope="module")
def backend() -> TransformersBackend:
    return _tiny_backend()


def _request(**overrides: object) -> GenerationRequest:
    messages = [ChatMessage(role="user", content="theorem foo ( n : ℕ ) : n + 0 = n")]
    return GenerationRequest(messages=messages, **overrides)


def test_n_samples_with_finite_logprobs(backend: TransformersBackend) -> None:
    assert isinstance(backend, LLMBackend)
    [result] = backend.generate([_request(n=4, max_tokens=12, temperature=1.0, seed=3)])
    assert result.model == "tiny-gpt2"
    assert len(result.completions) == 4
    prompt_tokens = backend.count_tokens(backend.prompt_text(_request().messages))
    for completion in result.completions:
        assert completion.logprob is not None and math.isfinite(completion.logprob)
        assert completion.logprob < 0
        assert completion.completion_tokens is not None and 1 <= completion.completion_tokens <= 12
        assert completion.prompt_tokens == prompt_tokens
        assert completion.finish_reason in ("stop", "length")
    assert len({c.text for c in result.completions}) > 1, "sampling at T=1 gives different samples"


def test_seed_makes_sampling_reproducible(backend: TransformersBackend) -> None:
    first = backend.generate([_request(n=3, max_tokens=8, seed=11)])[0]
    again = backend.generate([_request(n=3, max_tokens=8, seed=11)])[0]
    assert [c.text for c in first.completions] == [c.text for c in again.completions]
    assert [c.logprob for c in first.completions] == pytest.approx([c.logprob for c in again.completions])


def test_logprob_matches_a_forward_pass(backend: TransformersBackend) -> None:
    """The reported log-probability is the model's, recomputed independently from the sampled text."""
    request = _request(n=1, max_tokens=6, temperature=0.0)
    [completion] = backend.generate([request])[0].completions
    prompt_ids = backend.tokenizer(backend.prompt_text(request.messages), add_special_tokens=False)["input_ids"]
    completion_ids = backend.tokenizer(completion.text, add_special_tokens=False)["input_ids"]
    if completion.completion_tokens != len(completion_ids):
        completion_ids.append(backend.tokenizer.eos_token_id)  # the sample ended with EOS
    assert len(completion_ids) == completion.completion_tokens
    ids = torch.tensor([prompt_ids + completion_ids])
    with torch.no_grad():
        log_probs = torch.log_softmax(backend.model(ids).logits[0].float(), dim=-1)
    expected = sum(log_probs[len(prompt_ids) + step - 1, token].item() for step, token in enumerate(completion_ids))
    assert completion.logprob == pytest.approx(expected, abs=1e-4)


def test_max_tokens_reports_length(backend: TransformersBackend) -> None:
    [result] = backend.generate([_request(n=2, max_tokens=1, seed=5)])
    for completion in result.completions:
        assert completion.completion_tokens == 1
        assert completion.finish_reason in ("length", "stop")


async def test_async_batch(backend: TransformersBackend) -> None:
    results = await backend.agenerate([_request(n=2, max_tokens=4, seed=1), _request(n=1, max_tokens=4)])
    assert [len(r.completions) for r in results] == [2, 1]
    await backend.aclose()


def test_invalid_grammar_is_reported(byte_level_backend: TransformersBackend) -> None:
    with pytest.raises(LLMRequestError, match="grammar does not compile"):
        byte_level_backend.generate([_request(grammar="root ::= (unclosed")])


def test_prompt_budget_uses_the_backend_tokenizer(backend: TransformersBackend) -> None:
    count = token_counter_for(backend)
    assert count("theorem foo : True") == 4
    prompt = build_formalization_prompt("n + 0 = n", count_tokens=count)
    assert prompt.prompt_tokens == sum(count(m.content) + 4 for m in prompt.messages)


def test_build_backend_loads_a_saved_model_directory(tmp_path) -> None:
    """The real `from_pretrained` loading path, on a model directory written here (no hub access)."""
    from autoformal.llm import TransformersBackendConfig
    from autoformal.llm.factory import build_backend

    tiny = _tiny_backend()
    tiny.model.save_pretrained(tmp_path)
    tiny.tokenizer.save_pretrained(tmp_path)
    loaded = build_backend(TransformersBackendConfig(model=str(tmp_path), device="cpu", use_chat_template=False))
    assert loaded.model_name == str(tmp_path)
    [result] = loaded.generate([_request(n=2, max_tokens=5, seed=7)])
    [expected] = tiny.generate([_request(n=2, max_tokens=5, seed=7)])
    assert [c.text for c in result.completions] == [c.text for c in expected.completions]


# --- grammar-constrained decoding (llguidance needs a byte-level tokenizer, so a BPE one is trained here) ---

STATEMENTS = [
    "theorem foo (n : ℕ) : n + 0 = n := by sorry",
    "lemma bar {α : Type} [Group α] (a : α) : a * 1 = a := by sorry",
    "def f (x : ℝ) : ℝ := x ^ 2",
]


@pytest.fixture(scope="module")
def byte_level_backend() -> TransformersBackend:
    pytest.importorskip("llguidance")
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), special_tokens=["<eos>"]
    )
    core.train_from_iterator(STATEMENTS * 3, trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, eos_token="<eos>", pad_token="<eos>")
    torch.manual_seed(1)
    eos = tokenizer.eos_token_id
    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=512,
        n_embd=32,
        n_layer=1,
        n_head=2,
        bos_token_id=eos,
        eos_token_id=eos,
        pad_token_id=eos,
    )
    return TransformersBackend(GPT2LMHeadModel(config), tokenizer, model_name="tiny-bpe", use_chat_template=False)


def test_fixed_string_grammar_forces_the_output(byte_level_backend: TransformersBackend) -> None:
    target = "theorem t : True := by sorry"
    [result] = byte_level_backend.generate([_request(n=3, max_tokens=64, seed=2, grammar=f'root ::= "{target}"')])
    for completion in result.completions:
        assert completion.text == target
        assert completion.finish_reason == "stop"
        assert completion.logprob is not None and math.isfinite(completion.logprob)


def test_generation_grammar_constrains_a_random_model(byte_level_backend: TransformersBackend) -> None:
    """A random model emits bytes at random; under the generation grammar every sample is a valid prefix of
    an answer (complete answers when it stops)."""
    import llguidance
    import llguidance.hf

    from autoformal.llm.grammar import generation_grammar

    grammar = generation_grammar()
    unconstrained = byte_level_backend.generate([_request(n=4, max_tokens=24, seed=3)])[0].completions
    constrained = byte_level_backend.generate([_request(n=4, max_tokens=24, seed=3, grammar=grammar)])[0].completions

    tokenizer = byte_level_backend.tokenizer
    compiled = llguidance.grammar_from("grammar", grammar)
    ll_tokenizer = llguidance.hf.from_tokenizer(tokenizer)

    def prefix_state(text: str) -> tuple[bool, bool]:
        matcher = llguidance.LLMatcher(ll_tokenizer, compiled, log_level=0)
        ok = matcher.consume_tokens(tokenizer.encode(text, add_special_tokens=False)) and not matcher.is_error()
        return ok, matcher.is_accepting()

    heads = ("theorem ", "lemma ", "example", "def ", "abbrev ", "noncomputable ", "```lean")
    for completion in constrained:
        assert any(head.startswith(completion.text[:12]) or completion.text.startswith(head) for head in heads)
        valid_prefix, complete = prefix_state(completion.text)
        assert valid_prefix, completion.text
        if completion.finish_reason == "stop":
            assert complete, completion.text
    assert not all(prefix_state(completion.text)[0] for completion in unconstrained), (
        "without the grammar the random model should not produce valid prefixes"
    )
