"""Typed generation protocol shared by every backend: what we ask a model for and what comes back."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ChatMessage(BaseModel):
    """One chat turn."""

    model_config = ConfigDict(frozen=True)

    role: Literal["system", "user", "assistant"]
    content: str


class GenerationRequest(BaseModel):
    """One prompt to sample `n` completions from."""

    model_config = ConfigDict(frozen=True)

    messages: list[ChatMessage] = Field(min_length=1)
    n: int = Field(default=1, ge=1, description="Completions sampled from the same prompt (one server request).")
    temperature: float = Field(default=1.0, ge=0.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    max_tokens: int | None = Field(default=2048, ge=1, description="Per completion; None = server default.")
    stop: list[str] = Field(default_factory=list)
    seed: int | None = None
    grammar: str | None = Field(
        default=None,
        description="Grammar the output must follow (vLLM structured outputs); None = free text.",
    )
    reasoning_effort: str | None = Field(
        default=None, description='e.g. "none" or "high" for Leanstral/Magistral; None = model default.'
    )


FinishReason = Literal["stop", "length", "error", "other"]


class Completion(BaseModel):
    """One sampled completion with its reasoning trace (if any) split off the answer."""

    model_config = ConfigDict(frozen=True)

    text: str = Field(description="The answer, without any reasoning trace.")
    reasoning: str | None = Field(default=None, description="Reasoning trace, when the model produced one.")
    finish_reason: FinishReason
    prompt_tokens: int | None = None
    completion_tokens: int | None = Field(default=None, description="Tokens generated for this completion.")
    logprob: float | None = Field(
        default=None,
        description="Sum of the sampled tokens' log-probabilities, when the backend reports them.",
    )


class GenerationResult(BaseModel):
    """The completions for one `GenerationRequest`, in sampling order."""

    model_config = ConfigDict(frozen=True)

    completions: list[Completion]
    model: str


_FINISH_REASONS: dict[str, FinishReason] = {
    "stop": "stop",
    "eos": "stop",
    "stop_sequence": "stop",
    "end_turn": "stop",
    "length": "length",
    "max_tokens": "length",
    "abort": "error",
    "error": "error",
}


def normalize_finish_reason(reason: str | None) -> FinishReason:
    """Map backend-specific finish reasons onto the four the pipeline distinguishes."""
    return _FINISH_REASONS.get(reason or "", "other")
