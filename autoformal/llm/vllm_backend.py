"""`VLLMBackend`: vLLM's offline engine (`vllm.LLM`) in this process.

For one GPU box without a server. Every request of a batch goes to the engine in one `LLM.chat` call, so vLLM
schedules them together (continuous batching, shared prefix caching); `n` samples per request come from one
`SamplingParams(n=...)`. Grammars use `StructuredOutputsParams(grammar=...)` (vLLM >= 0.12).
Needs the `vllm` extra: `pip install 'autoformal[vllm]'`.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby
from typing import Any

from autoformal.llm.base import ThreadedSyncBackend
from autoformal.llm.config import VLLMBackendConfig
from autoformal.llm.errors import BackendUnavailableError
from autoformal.llm.models import Completion, GenerationRequest, GenerationResult, normalize_finish_reason
from autoformal.llm.reasoning import split_reasoning


def _import_vllm() -> Any:
    try:
        import vllm
    except ImportError as error:
        raise BackendUnavailableError("vllm", "pip install 'autoformal[vllm]'", str(error)) from error
    return vllm


class VLLMBackend(ThreadedSyncBackend):
    """`LLMBackend` over an in-process `vllm.LLM`. The engine loads in the constructor (minutes for big
    models); construct once and reuse."""

    def __init__(self, config: VLLMBackendConfig | None = None, *, engine: Any | None = None) -> None:
        self.config = config or VLLMBackendConfig()
        self._vllm = _import_vllm()
        if engine is None:
            options: dict[str, Any] = {
                "model": self.config.model,
                "tensor_parallel_size": self.config.tensor_parallel_size,
                "gpu_memory_utilization": self.config.gpu_memory_utilization,
                **self.config.engine_kwargs,
            }
            if self.config.max_model_len is not None:
                options["max_model_len"] = self.config.max_model_len
            if self.config.reasoning_parser is not None:
                options["reasoning_parser"] = self.config.reasoning_parser
            engine = self._vllm.LLM(**options)
        self.engine = engine

    @property
    def model_name(self) -> str:
        return self.config.model

    def count_tokens(self, text: str) -> int:
        return len(self.engine.get_tokenizer().encode(text, add_special_tokens=False))

    def sampling_params(self, request: GenerationRequest) -> Any:
        """The `vllm.SamplingParams` for `request` (public so the mapping can be inspected and tested)."""
        options: dict[str, Any] = {
            "n": request.n,
            "temperature": request.temperature,
            "top_p": request.top_p,
            "seed": request.seed,
            "stop": list(request.stop) or None,
            # SamplingParams defaults to 16 tokens; None means "up to the context window", like the server.
            "max_tokens": request.max_tokens,
            # logprobs=0 returns the sampled token's log-prob only, enough for `cumulative_logprob`.
            "logprobs": 0,
        }
        if request.grammar is not None:
            from vllm.sampling_params import StructuredOutputsParams

            options["structured_outputs"] = StructuredOutputsParams(grammar=request.grammar)
        return self._vllm.SamplingParams(**options)

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        results: dict[int, GenerationResult] = {}
        indexed = sorted(enumerate(requests), key=lambda item: item[1].reasoning_effort or "")
        # The chat template's reasoning switch is per `chat` call, so requests are grouped by effort.
        for effort, group in groupby(indexed, key=lambda item: item[1].reasoning_effort or ""):
            members = list(group)
            outputs = self.engine.chat(
                [[message.model_dump() for message in request.messages] for _, request in members],
                sampling_params=[self.sampling_params(request) for _, request in members],
                use_tqdm=False,
                chat_template_kwargs={"reasoning_effort": effort} if effort else None,
            )
            for (index, _), output in zip(members, outputs, strict=True):
                results[index] = self._result(output)
        return [results[index] for index in range(len(requests))]

    def _result(self, output: Any) -> GenerationResult:
        prompt_tokens = len(output.prompt_token_ids) if output.prompt_token_ids is not None else None
        completions = []
        for sample in output.outputs:
            # The offline engine returns the raw text; reasoning parsers only run in `vllm serve`.
            text, reasoning = split_reasoning(sample.text)
            logprob = sample.cumulative_logprob
            completions.append(
                Completion(
                    text=text,
                    reasoning=reasoning,
                    finish_reason=normalize_finish_reason(sample.finish_reason),
                    prompt_tokens=prompt_tokens,
                    completion_tokens=len(sample.token_ids),
                    logprob=float(logprob) if logprob is not None else None,
                )
            )
        return GenerationResult(completions=completions, model=self.model_name)
