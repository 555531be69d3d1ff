"""Errors raised by the LLM backends. Each message says what went wrong and what to do about it."""

from __future__ import annotations

from collections.abc import Sequence

from autoformal.errors import AutoformalError, ConfigurationError

#: The recipe for serving Leanstral with vLLM; quoted in errors so users can copy it.
VLLM_SERVE_COMMAND = (
    "vllm serve mistralai/Leanstral-2603 --max-model-len 200000 --tensor-parallel-size 4 "
    "--attention-backend FLASH_ATTN_MLA --tool-call-parser mistral --enable-auto-tool-choice "
    "--reasoning-parser mistral"
)


class LLMError(AutoformalError):
    """Base class for errors talking to a language model."""


class EndpointNotConfiguredError(LLMError, ConfigurationError):
    """No OpenAI-compatible endpoint is configured."""

    def __init__(self) -> None:
        super().__init__(
            "no LLM endpoint configured. Start a server, e.g.\n"
            f"    {VLLM_SERVE_COMMAND}\n"
            "and point autoformal at it:\n"
            "    export AUTOFORMAL_BASE_URL=http://localhost:8000/v1\n"
            "    export AUTOFORMAL_MODEL=mistralai/Leanstral-2603  # optional if the server has one model\n"
            "    export AUTOFORMAL_API_KEY=...                     # only if the server requires a key\n"
            "(or pass base_url/model/api_key in OpenAIBackendConfig, or use the transformers/vllm backend)."
        )


class ServerUnreachableError(LLMError):
    """The endpoint refused or dropped the connection."""

    def __init__(self, base_url: str, detail: str) -> None:
        self.base_url = base_url
        super().__init__(
            f"cannot reach the LLM server at {base_url} ({detail}). Check that the server is running "
            f"(e.g. `{VLLM_SERVE_COMMAND}`) and that AUTOFORMAL_BASE_URL points at it, including `/v1`."
        )


class GenerationTimeoutError(LLMError):
    """The server did not answer within the configured timeout (after retries)."""

    def __init__(self, base_url: str, timeout_s: float, attempts: int | None) -> None:
        tries = f" ({attempts} attempt(s))" if attempts is not None else " (retries included)"
        super().__init__(
            f"the LLM server at {base_url} did not answer within {timeout_s:g} s{tries}. If it is hung, restart "
            "it; if it is only slow (long reasoning traces), raise timeout_s (--timeout, "
            "AUTOFORMAL_BACKEND__TIMEOUT_S; "
            "per attempt) and deadline_s (--deadline, AUTOFORMAL_BACKEND__DEADLINE_S; per request), or lower "
            "max_tokens or max_concurrency."
        )


class ModelNotFoundError(LLMError, ConfigurationError):
    """The server does not serve the requested model (or no model is set and the server serves several)."""

    def __init__(self, model: str | None, served: Sequence[str], base_url: str) -> None:
        self.model = model
        self.served = list(served)
        listing = ", ".join(f"`{name}`" for name in served) if served else "(none reported)"
        problem = (
            f"model `{model}` is not served by {base_url}"
            if model is not None
            else f"no model configured and {base_url} does not serve exactly one"
        )
        super().__init__(
            f"{problem}; it serves: {listing}. Set AUTOFORMAL_MODEL (or OpenAIBackendConfig.model) to one of these."
        )


class ContextLengthExceededError(LLMError):
    """The prompt plus `max_tokens` does not fit in the model's context window."""

    def __init__(self, detail: str) -> None:
        super().__init__(
            f"prompt too long for the model's context window: {detail} Lower the prompt token budget "
            "(PromptBudget.max_prompt_tokens) or `max_tokens`, or serve the model with a larger "
            "`--max-model-len`."
        )


class LLMRequestError(LLMError):
    """The server rejected a request for another reason (message quotes the server)."""

    def __init__(self, status_code: int | None, message: str) -> None:
        self.status_code = status_code
        status = f"HTTP {status_code}" if status_code is not None else "error"
        super().__init__(f"the LLM server rejected the request ({status}): {message}")


class BackendUnavailableError(LLMError, ConfigurationError):
    """An optional backend's dependency is not installed."""

    def __init__(self, backend: str, install_command: str, cause: str) -> None:
        super().__init__(
            f"the {backend} backend needs an optional dependency that is not installed ({cause}). "
            f"Install it with `{install_command}`, or use the OpenAI-compatible backend against a running "
            "server."
        )
