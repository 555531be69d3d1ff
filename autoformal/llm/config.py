"""Backend configurations (pydantic data, one model per backend kind, discriminated by `kind`)."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from autoformal.envvars import EnvAliasedSettings
from autoformal.llm.errors import EndpointNotConfiguredError


class OpenAIBackendConfig(EnvAliasedSettings):
    """An OpenAI-compatible chat-completions endpoint: vLLM (`vllm serve`), Mistral's API, OpenAI, ...

    Unset `base_url`/`model`/`api_key` are read from `AUTOFORMAL_BASE_URL`, `AUTOFORMAL_MODEL` and
    `AUTOFORMAL_API_KEY` (then `OPENAI_API_KEY`). Without a model, the server's only served model is used.

    Time limits: a server must answer `GET /models` (the warm-up probe) within `probe_timeout_s`, so a hung
    server is reported in seconds; each generation attempt gets `timeout_s`, and one request, retries
    included, gives up after `deadline_s`.
    """

    model_config = SettingsConfigDict(frozen=True, extra="forbid")
    env_aliases: ClassVar[dict[str, tuple[str, ...]]] = {
        "base_url": ("AUTOFORMAL_BASE_URL",),
        "model": ("AUTOFORMAL_MODEL",),
        "api_key": ("AUTOFORMAL_API_KEY", "OPENAI_API_KEY"),
    }

    kind: Literal["openai"] = "openai"
    base_url: str | None = Field(
        default=None,
        description="e.g. http://localhost:8000/v1; several servers of the same model: a comma-separated list "
        "(requests go to the least busy one, a failing one is skipped for `endpoint_cooldown_s`).",
    )
    model: str | None = None
    api_key: SecretStr | None = Field(default=None, description="Not needed for a local vLLM server.")
    max_concurrency: int = Field(default=64, ge=1, description="Requests in flight at once.")
    timeout_s: float = Field(
        default=300.0, gt=0, description="Per attempt (the whole answer: reasoning traces can take minutes)."
    )
    deadline_s: float = Field(default=600.0, gt=0, description="Per request, all attempts and back-off included.")
    connect_timeout_s: float = Field(default=5.0, gt=0)
    probe_timeout_s: float = Field(
        default=15.0,
        gt=0,
        description="For `GET /models` (warm-up, model discovery): a healthy server answers at once.",
    )
    max_retries: int = Field(
        default=2, ge=0, description="Retries on 408/409/429/5xx/connection errors, exponential backoff."
    )
    endpoint_cooldown_s: float = Field(
        default=30.0, gt=0, description="With several base URLs: how long a failing server is left out of rotation."
    )
    grammar_field: Literal["structured_outputs", "guided_grammar"] = Field(
        default="structured_outputs",
        description="Grammar field: vLLM >= 0.12 `structured_outputs.grammar`, or legacy `guided_grammar`.",
    )
    http_client: Literal["aiohttp", "httpx"] = Field(
        default="aiohttp",
        description="HTTP client library. `httpx` spends ~30 times the CPU per request with 64 requests in flight "
        "(its connection pool scans every connection for each request), which matters only for many short requests.",
    )
    request_logprobs: bool = Field(
        default=True, description="Ask for token log-probs (needed for `Completion.logprob`)."
    )
    extra_body: dict[str, Any] = Field(
        default_factory=dict, description="Merged into every request body (server-specific sampling options)."
    )

    @field_validator("base_url", "model", "api_key", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    def require_base_url(self) -> str:
        """The endpoint, or `EndpointNotConfiguredError` saying how to set one."""
        if not self.base_url:
            raise EndpointNotConfiguredError()
        return self.base_url


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
