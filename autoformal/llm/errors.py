"""Errors raised by the LLM backends; defined with the whole tree in `autoformal.errors` (this module keeps the
old import location working)."""

from autoformal.errors import (
    VLLM_SERVE_COMMAND,
    BackendUnavailableError,
    ContextLengthExceededError,
    EndpointNotConfiguredError,
    GenerationTimeoutError,
    LLMError,
    LLMRequestError,
    ModelNotFoundError,
    ServerUnreachableError,
)

__all__ = [
    "VLLM_SERVE_COMMAND",
    "BackendUnavailableError",
    "ContextLengthExceededError",
    "EndpointNotConfiguredError",
    "GenerationTimeoutError",
    "LLMError",
    "LLMRequestError",
    "ModelNotFoundError",
    "ServerUnreachableError",
]
