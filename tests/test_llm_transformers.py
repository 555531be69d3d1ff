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


def test_grammar_is_refused_with_advice(backend: TransformersBackend) -> None:
    with pytest.raises(LLMRequestError, match="grammar"):
        backend.generate([_request(grammar='start: "x"')])


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
