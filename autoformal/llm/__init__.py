"""LLM backends: one `LLMBackend` protocol, implemented over an OpenAI-compatible HTTP API (vLLM server,
Mistral, OpenAI), vLLM's offline engine and Hugging Face transformers. Heavy libraries load lazily."""

from autoformal.llm.base import LLMBackend, SupportsTokenCount, SupportsWarmUp
from autoformal.llm.config import (
    BackendConfig,
    OpenAIBackendConfig,
    TransformersBackendConfig,
    VLLMBackendConfig,
)
from autoformal.llm.errors import (
    BackendUnavailableError,
    ContextLengthExceededError,
    EndpointNotConfiguredError,
    GenerationTimeoutError,
    LLMError,
    LLMRequestError,
    ModelNotFoundError,
    ServerUnreachableError,
)
from autoformal.llm.models import ChatMessage, Completion, GenerationRequest, GenerationResult
from autoformal.llm.openai_backend import OpenAICompatibleBackend
from autoformal.llm.reasoning import split_reasoning

__all__ = [
    "BackendConfig",
    "BackendUnavailableError",
    "ChatMessage",
    "Completion",
    "ContextLengthExceededError",
    "EndpointNotConfiguredError",
    "GenerationRequest",
    "GenerationResult",
    "GenerationTimeoutError",
    "LLMBackend",
    "LLMError",
    "LLMRequestError",
    "ModelNotFoundError",
    "OpenAIBackendConfig",
    "OpenAICompatibleBackend",
    "ServerUnreachableError",
    "SupportsTokenCount",
    "SupportsWarmUp",
    "TransformersBackendConfig",
    "VLLMBackendConfig",
    "split_reasoning",
]
