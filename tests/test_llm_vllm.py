"""VLLMBackend. vLLM cannot run here (no GPU, optional extra), so: (a) the real import guard, and (b) the
request mapping / batching / result parsing against a stand-in `vllm` module with vLLM's offline API shape
(`LLM.chat`, `SamplingParams`, `StructuredOutputsParams`, `RequestOutput`/`CompletionOutput`)."""

from __future__ import annotations

import importlib.util
import sys
import types
from dataclasses import dataclass, field
from typing import Any

import pytest

from autoformal.llm import (
    BackendUnavailableError,
    ChatMessage,
    GenerationRequest,
    LLMBackend,
    VLLMBackendConfig,
)
from autoformal.llm.factory import build_backend
from autoformal.llm.vllm_backend import VLLMBackend


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vllm is installed")
def test_missing_vllm_extra_says_how_to_install() -> None:
    with pytest.raises(BackendUnavailableError, match=r"pip install 'autoformal\[vllm\]'"):
        build_backend(VLLMBackendConfig())


@dataclass
class _StructuredOutputsParams:
    grammar: str | None = None


@dataclass
class _SamplingParams:
    n: int = 1
    temperature: float = 1.0
    top_p: float = 1.0
    seed: int | None = None
    stop: list[str] | None = None
    max_tokens: int | None = 16
    logprobs: int | None = None
    structured_outputs: _StructuredOutputsParams | None = None


@dataclass
class _CompletionOutput:
    index: int
    text: str
    token_ids: list[int]
    cumulative_logprob: float | None
    finish_reason: str


@dataclass
class _RequestOutput:
    prompt_token_ids: list[int]
    outputs: list[_CompletionOutput]


@dataclass
class _LLM:
    """Records `chat` calls and answers like vLLM: one RequestOutput per conversation, n outputs each."""

    calls: list[dict[str, Any]] = field(default_factory=list)

    def chat(
        self,
        messages: list[list[dict[str, str]]],
        sampling_params: list[_SamplingParams],
        use_tqdm: bool,
        chat_template_kwargs: dict[str, Any] | None,
    ) -> list[_RequestOutput]:
        self.calls.append({"messages": messages, "params": sampling_params, "kwargs": chat_template_kwargs})
        outputs = []
        for conversation, params in zip(messages, sampling_params, strict=True):
            question = conversation[-1]["content"]
            samples = [
                _CompletionOutput(
                    i,
                    f"<think>plan {i}</think>theorem t{i} : {question} := by sorry",
                    [5] * (3 + i),
                    -0.5 * (i + 1),
                    "stop" if i else "length",
                )
                for i in range(params.n)
            ]
            outputs.append(_RequestOutput(prompt_token_ids=[1] * len(question), outputs=samples))
        return outputs

    def get_tokenizer(self) -> Any:
        return types.SimpleNamespace(encode=lambda text, add_special_tokens: text.split())


@pytest.fixture
def fake_vllm(monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("vllm")
    module.SamplingParams = _SamplingParams  # type: ignore[attr-defined]
    module.LLM = _LLM  # type: ignore[attr-defined]
    sampling_module = types.ModuleType("vllm.sampling_params")
    sampling_module.StructuredOutputsParams = _StructuredOutputsParams  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "vllm", module)
    monkeypatch.setitem(sys.modules, "vllm.sampling_params", sampling_module)


def _request(question: str, **overrides: Any) -> GenerationRequest:
    return GenerationRequest(messages=[ChatMessage(role="user", content=question)], **overrides)


@pytest.mark.usefixtures("fake_vllm")
def test_batch_mapping_and_results() -> None:
    engine = _LLM()
    backend = VLLMBackend(VLLMBackendConfig(model="mistralai/Leanstral-2603"), engine=engine)
    assert isinstance(backend, LLMBackend)
    requests = [
        _request("True", n=2, seed=1, stop=["\n\n"], grammar='root ::= "x"', max_tokens=64, temperature=0.6),
        _request("1 = 1", reasoning_effort="high"),
        _request("2 = 2", n=3),
    ]
    results = backend.generate(requests)

    # One engine call per reasoning effort: [no effort: requests 0 and 2], [high: request 1].
    assert [call["kwargs"] for call in engine.calls] == [None, {"reasoning_effort": "high"}]
    first_params = engine.calls[0]["params"][0]
    assert (first_params.n, first_params.seed, first_params.stop, first_params.max_tokens) == (
        2,
        1,
        ["\n\n"],
        64,
    )
    assert first_params.temperature == 0.6 and first_params.logprobs == 0
    assert first_params.structured_outputs == _StructuredOutputsParams(grammar='root ::= "x"')
    assert engine.calls[0]["params"][1].structured_outputs is None
    assert engine.calls[0]["params"][1].max_tokens == 2048  # the request default, not SamplingParams' 16

    # Results come back in request order, whatever the grouping.
    assert [len(result.completions) for result in results] == [2, 1, 3]
    assert results[1].completions[0].text == "theorem t0 : 1 = 1 := by sorry"
    second = results[0].completions[1]
    assert second.reasoning == "plan 1" and second.text == "theorem t1 : True := by sorry"
    assert second.logprob == -1.0 and second.completion_tokens == 4 and second.prompt_tokens == 4
    assert results[0].completions[0].finish_reason == "length"
    assert results[2].model == "mistralai/Leanstral-2603"
    assert backend.count_tokens("a b c") == 3
