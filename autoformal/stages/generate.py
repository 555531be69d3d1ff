"""Generate: one LLM request for k samples of the formalization prompt."""

from __future__ import annotations

from typing import TYPE_CHECKING

from autoformal.llm.base import LLMBackend
from autoformal.llm.models import ChatMessage, GenerationRequest
from autoformal.prompts import TokenCounter, build_formalization_messages
from autoformal.stages.base import Candidate, Job, Stage

if TYPE_CHECKING:
    from autoformal.assembly import Components
    from autoformal.config import FormalizerConfig


def prompt_input(job: Job) -> str:
    """The input as the model sees it: the text, and the trusted context it may use."""
    if job.context:
        return f"{job.text}\n\nThese Lean declarations are in scope:\n{job.context}"
    return job.text


class GenerateStage(Stage):
    name = "generated"

    def __init__(
        self, backend: LLMBackend, config: FormalizerConfig, *, count_tokens: TokenCounter, grammar: str | None
    ) -> None:
        self.backend = backend
        self.config = config
        self.count_tokens = count_tokens
        self.grammar = grammar

    @classmethod
    def build(cls, parts: Components) -> GenerateStage:
        return cls(parts.backend, parts.config, count_tokens=parts.count_tokens, grammar=parts.grammar)

    def request(self, job: Job) -> GenerationRequest:
        cfg = self.config
        messages = build_formalization_messages(
            prompt_input(job), job.declarations, job.examples, cfg.prompt_budget, count_tokens=self.count_tokens
        )
        return self.sampling(messages, n=cfg.samples)

    def sampling(self, messages: list[ChatMessage], *, n: int) -> GenerationRequest:
        """`n` samples of `messages` under the configured sampling settings (first samples and repairs alike)."""
        cfg = self.config
        return GenerationRequest(
            messages=messages,
            n=n,
            temperature=cfg.temperature,
            top_p=cfg.top_p,
            max_tokens=cfg.max_tokens,
            seed=cfg.seed,
            grammar=self.grammar,
            reasoning_effort=cfg.reasoning_effort,
        )

    async def run(self, job: Job, candidates: list[Candidate]) -> list[Candidate]:
        generation = (await self.backend.agenerate([self.request(job)]))[0]
        job.model = generation.model
        job.outputs = [c.text for c in generation.completions]
        truncated = sum(1 for c in generation.completions if c.finish_reason == "length")
        if truncated:
            job.report(
                self.name,
                f"{truncated} of {len(generation.completions)} samples hit max_tokens={self.config.max_tokens}",
            )
        return candidates

    def count(self, job: Job, candidates: list[Candidate]) -> int | None:
        return len(job.outputs)  # samples, before extraction
