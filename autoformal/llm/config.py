"""Backend configurations (pydantic data, one model per backend kind, discriminated by `kind`)."""

from __future__ import annotations

import os
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from autoformal.llm.errors import EndpointNotConfiguredError

BASE_URL_ENV = "AUTOFORMAL_BASE_URL"
MODEL_ENV = "AUTOFORMAL_MODEL"
API_KEY_ENVS = ("AUTOFORMAL_API_KEY", "OPENAI_API_KEY")


class OpenAIBackendConfig(BaseModel):
    """An OpenAI-compatible chat-completions endpoint: vLLM (`vllm serve`), Mistral's API, OpenAI, ...

    Unset `base_url`/`model`/`api_key` are read from `AUTOFORMAL_BASE_URL`, `AUTOFORMAL_MODEL` and
    `AUTOFORMAL_API_KEY` (then `OPENAI_API_KEY`). Without a model, the server's only served model is used.
    """

    model_config = ConfigDict(frozen=True)

    kind: Literal["openai"] = "openai"
    base_url: str | None = Field(
        default=None,
        description="e.g. http://localhost:8000/v1; several servers of the same model: a comma-separated list "
        "(requests go to the least busy one, a failing one is skipped for `endpoint_cooldown_s`).",
    )
    model: str | None = None
    api_key: SecretStr | None = Field(default=None, description="Not needed for a local vLLM server.")
    max_concurrency: int = Field(default=64, ge=1, description="Requests in flight at once.")
    timeout_s: float = Field(default=600.0, gt=0, description="Per attempt; reasoning traces can take minutes.")
    connect_timeout_s: float = Field(default=5.0, gt=0)
    max_retries: int = Field(
        default=4, ge=0, description="Retries on 408/409/429/5xx/connection errors, exponential backoff."
    )
    endpoint_cooldown_s: float = Field(
        default=30.0, gt=0, description="With several base URLs: how long a failing server is left out of rotation."
    )
    grammar_field: Literal["structured_outputs", "guided_grammar"] = Field(
        default="structured_outputs",
        description="Grammar field: vLLM >= 0.12 `structured_outputs.grammar`, or legacy `guided_grammar`.",
    )
    http_client: Literal["httpx", "aiohttp"] = Field(
        default="httpx",
        description="The SDK's HTTP transport; `aiohttp` (`pip install aiohttp`) costs ~30% less CPU per "
        "request, which matters only for many short requests.",
    )
    request_logprobs: bool = Field(
        default=True, description="Ask for token log-probs (needed for `Completion.logprob`)."
    )
    extra_body: dict[str, Any] = Field(
        default_factory=dict, description="Merged into every request body (server-specific sampling options)."
    )

    def resolved_base_url(self) -> str:
        base_url = self.base_url or os.environ.get(BASE_URL_ENV)
        if not base_url:
            raise EndpointNotConfiguredError()
        return base_url.rstrip("/")

    def resolved_model(self) -> str | None:
        return self.model or os.environ.get(MODEL_ENV) or None

    def resolved_api_key(self) -> str | None:
        if self.api_key is not None:
            return self.api_key.get_secret_value()
        return next((os.environ[name] for name in API_KEY_ENVS if os.environ.get(name)), None)


class TransformersBackendConfig(BaseModel):
    """A local Hugging Face causal LM run with `model.generate` (CPU or one GPU; small models, tests)."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["transformers"] = "transformers"
    model: str = Field(description="Hub id or local directory of a causal LM with a tokenizer.")
    device: str | None = Field(default=None, description="torch device; None = cuda if available, else cpu.")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    use_chat_template: bool = Field(
        default=True,
        description="Apply the tokenizer's chat template (plain role-prefixed text without one).",
    )


class VLLMBackendConfig(BaseModel):
    """vLLM's offline engine (`vllm.LLM`) in this process; needs the `vllm` extra and a GPU."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["vllm"] = "vllm"
    model: str = "mistralai/Leanstral-2603"
    tensor_parallel_size: int = Field(default=1, ge=1)
    max_model_len: int | None = None
    gpu_memory_utilization: float = Field(default=0.9, gt=0, le=1)
    reasoning_parser: str | None = Field(
        default=None,
        description="vLLM reasoning parser (e.g. `mistral`) so grammars constrain the answer, not the trace.",
    )
    engine_kwargs: dict[str, Any] = Field(default_factory=dict, description="Passed through to `vllm.LLM(...)`.")


BackendConfig = Annotated[
    OpenAIBackendConfig | TransformersBackendConfig | VLLMBackendConfig, Field(discriminator="kind")
]
