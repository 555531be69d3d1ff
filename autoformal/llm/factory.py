"""`build_backend`: one entry point from a configuration to a ready `LLMBackend`."""

from __future__ import annotations

from autoformal.llm.base import LLMBackend
from autoformal.llm.config import (
    BackendConfig,
    OpenAIBackendConfig,
    TransformersBackendConfig,
    VLLMBackendConfig,
)


def build_backend(config: BackendConfig | None = None) -> LLMBackend:
    """Construct the backend `config` describes; None = `OpenAIBackendConfig()` from the environment.

    Local backends import their heavy dependencies here, not at `import autoformal`.
    """
    if config is None or isinstance(config, OpenAIBackendConfig):
        from autoformal.llm.endpoints import MultiEndpointBackend, split_base_urls
        from autoformal.llm.openai_backend import OpenAICompatibleBackend

        config = config or OpenAIBackendConfig()
        urls = split_base_urls(config.require_base_url())
        if len(urls) > 1:
            return MultiEndpointBackend(config, urls)
        return OpenAICompatibleBackend(config)
    if isinstance(config, TransformersBackendConfig):
        from autoformal.llm.transformers_backend import TransformersBackend

        return TransformersBackend.from_config(config)
    if isinstance(config, VLLMBackendConfig):
        from autoformal.llm.vllm_backend import VLLMBackend

        return VLLMBackend(config)
    raise TypeError(f"unknown backend configuration {type(config).__name__}")
