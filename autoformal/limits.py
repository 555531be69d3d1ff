"""`Limits`: how much runs at once, in the spirit of httpx's `Limits` — one object for the three bounds that
matter, instead of a concurrency knob per component.

- `inputs`: inputs in flight in a batch (`formalize_many`, `bulk`, `docstrings`): high on purpose, since the
  other two bound the real load (fewer inputs in flight leave LLM slots idle while inputs sit in Lean or
  scoring; benchmarks/pipeline_overhead.py).
- `llm_requests`: LLM requests in flight at once (the OpenAI-compatible backend's `max_concurrency`).
- `lean_workers`: Lean processes or requests at once (the REPL checker's `num_workers`, the Kimina checker's
  `max_concurrent_requests`).

Unset values leave the component's own setting alone, so the older field names (`concurrency`,
`backend.max_concurrency`, `checker.num_workers`, `checker.max_concurrent_requests`) keep working; a value
set here wins over them. `autoformal.assembly` applies the limits when it builds the components.
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, PositiveInt

from autoformal.checking.config import KiminaCheckerConfig, ReplCheckerConfig
from autoformal.llm.config import OpenAIBackendConfig, TransformersBackendConfig, VLLMBackendConfig

# Bound (not constrained) type variables: a config typed as the union comes back typed as the union.
_Backend = TypeVar("_Backend", bound=OpenAIBackendConfig | TransformersBackendConfig | VLLMBackendConfig)
_Checker = TypeVar("_Checker", bound=ReplCheckerConfig | KiminaCheckerConfig)


class Limits(BaseModel):
    """Inputs in flight, LLM requests in flight, Lean workers (None: the component's own setting)."""

    model_config = ConfigDict(frozen=True)

    inputs: PositiveInt | None = Field(default=None, description="Inputs in flight (default: `concurrency`).")
    llm_requests: PositiveInt | None = Field(
        default=None, description="LLM requests in flight (default: the backend's `max_concurrency`, 64)."
    )
    lean_workers: PositiveInt | None = Field(
        default=None,
        description="Lean REPL workers, or concurrent Kimina requests (default: the checker's own setting).",
    )

    def backend(self, config: _Backend) -> _Backend:
        """`config` with `llm_requests` applied (in-process backends schedule their own batches)."""
        if self.llm_requests is None or not isinstance(config, OpenAIBackendConfig):
            return config
        return config.model_copy(update={"max_concurrency": self.llm_requests})

    def checker(self, config: _Checker) -> _Checker:
        """`config` with `lean_workers` applied."""
        if self.lean_workers is None:
            return config
        if isinstance(config, ReplCheckerConfig):
            return config.model_copy(update={"num_workers": self.lean_workers})
        return config.model_copy(update={"max_concurrent_requests": self.lean_workers})

    def batch(self, default: int) -> int:
        """Inputs in flight: `inputs`, else `default` (the config's `concurrency`)."""
        return self.inputs if self.inputs is not None else default
