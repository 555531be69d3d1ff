"""`FormalizerConfig`: every setting of the `Formalizer`, as pydantic data, read from (highest first) init
arguments, `AUTOFORMAL_*` environment variables (nested fields with `__`, e.g. `AUTOFORMAL_RANKER__ELABORATION`)
and a TOML file (`AUTOFORMAL_CONFIG`, else `./autoformal.toml` when present).

The LLM endpoint itself is configured by the backend's own variables (`AUTOFORMAL_BASE_URL`,
`AUTOFORMAL_MODEL`, `AUTOFORMAL_API_KEY`) and the Lean project by `AUTOFORMAL_LEAN_PROJECT`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Discriminator, Field, Tag, ValidationInfo, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from autoformal.checking.config import KiminaCheckerConfig, ReplCheckerConfig
from autoformal.checking.header import DEFAULT_HEADER
from autoformal.checking.semantic import SemanticConfig
from autoformal.limits import Limits
from autoformal.llm.config import OpenAIBackendConfig, TransformersBackendConfig, VLLMBackendConfig
from autoformal.prompts.builder import PromptBudget
from autoformal.ranking.ranker import RankerConfig
from autoformal.retrieval.config import RetrievalConfig
from autoformal.retrieval.embedder import EmbedderConfig

CONFIG_FILE_ENV = "AUTOFORMAL_CONFIG"
DEFAULT_CONFIG_FILE = Path("autoformal.toml")



def _kind_or(default: str):  # type: ignore[no-untyped-def]
    """Discriminate by `kind`, defaulting when it is absent, so `AUTOFORMAL_CHECKER__NUM_WORKERS=4` alone
    configures the default checker instead of failing for want of `AUTOFORMAL_CHECKER__KIND`."""

    def kind(value: object) -> str:
        found = value.get("kind") if isinstance(value, dict) else getattr(value, "kind", None)
        return str(found or default)

    return kind


CheckerConfig = Annotated[
    Annotated[ReplCheckerConfig, Tag("repl")] | Annotated[KiminaCheckerConfig, Tag("kimina")],
    Discriminator(_kind_or("repl")),
]
BackendSettings = Annotated[
    Annotated[OpenAIBackendConfig, Tag("openai")]
    | Annotated[TransformersBackendConfig, Tag("transformers")]
    | Annotated[VLLMBackendConfig, Tag("vllm")],
    Discriminator(_kind_or("openai")),
]


def config_file() -> Path | None:
    """The TOML file to read: `$AUTOFORMAL_CONFIG`, else `./autoformal.toml` if it exists."""
    named = os.environ.get(CONFIG_FILE_ENV)
    if named:
        return Path(named).expanduser()
    return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None


class FormalizerConfig(BaseSettings):
    """Settings of the whole pipeline. Sensible defaults: 8 samples, Lean on, back-translation on, cache on."""

    model_config = SettingsConfigDict(
        env_prefix="AUTOFORMAL_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    backend: BackendSettings = Field(default_factory=OpenAIBackendConfig)
    samples: int = Field(default=8, ge=1, description="Candidates sampled per input (k).")
    temperature: float = Field(default=1.0, ge=0.0)
    top_p: float = Field(default=0.95, gt=0.0, le=1.0)
    max_tokens: int = Field(default=4096, ge=16, description="Per completion (reasoning models need room).")
    reasoning_effort: str | None = None
    grammar_constrained: bool = Field(
        default=False,
        description="Send grammars/lean4_statement_generation.gbnf as vLLM structured outputs so every sample "
        "has the shape of one statement (the server must support grammar-constrained decoding).",
    )
    seed: int | None = Field(default=None, description="Sampling seed (fixed seed: reproducible samples).")
    prompt_budget: PromptBudget = Field(default_factory=PromptBudget)

    lean: bool = Field(default=True, description="Elaborate candidates with Lean (False: unchecked output).")
    checker: CheckerConfig = Field(default_factory=ReplCheckerConfig)
    header: str = Field(default=DEFAULT_HEADER, description="Imports/opens every candidate is checked under.")
    semantic: SemanticConfig = Field(
        default_factory=SemanticConfig,
        description="Lean as a semantic judge (needs Lean): probes and proven-equivalence clusters.",
    )

    names: Path | Literal["auto"] | None = Field(
        default="auto",
        description="Known Mathlib names for the static name check: a names file (`NameTable.save`), a "
        "retrieval index directory or a declaration JSONL(.gz); auto: the names file of the retrieval index "
        "(`retrieval_config.index_dir`) when there is one; None: no name check.",
    )
    names_filter: Literal["drop", "annotate"] = Field(
        default="drop",
        description="drop: candidates referencing a name that certainly does not exist are not sent to Lean "
        "(they cannot elaborate; `errors` says which and why); annotate: they go on, scored by `names`.",
    )

    retrieval: Literal["auto", "on", "off"] = Field(
        default="auto", description="Mathlib declarations in the prompt; auto: when the index exists."
    )
    retrieval_config: RetrievalConfig = Field(default_factory=RetrievalConfig)
    examples: int = Field(default=4, ge=0, description="Few-shot examples retrieved into the prompt.")
    embedder: EmbedderConfig = Field(default_factory=EmbedderConfig)

    backtranslation: bool = Field(default=True, description="Back-translate and score by similarity.")
    backtranslation_max_tokens: int = Field(
        default=1024, ge=16, description="Per back-translation and per judge verdict."
    )
    judge: bool = Field(
        default=False,
        description="Also ask an LLM judge whether each back-translated candidate is equivalent to, weaker or "
        "stronger than, or unrelated to the input; the verdict is averaged into the back_translation score "
        "(needs backtranslation).",
    )
    judge_model: str | None = Field(
        default=None,
        description="Model id of the judge on the configured (openai) backend; None: the generation model. "
        "Setting it turns the judge on (like --judge-model) unless judge is explicitly false, which is an error. "
        "Not for the in-process vllm/transformers backends: a second model in one process does not fit.",
    )
    ranker: RankerConfig = Field(default_factory=RankerConfig)

    repair_rounds: int = Field(
        default=1,
        ge=0,
        description="Refinement rounds: failed candidates (Lean errors, unknown names) go back to the model with "
        "the errors, one request per distinct failure, and the corrections are checked like first samples; "
        "0: off.",
    )
    min_elaborated: int = Field(
        default=1, ge=1, description="Repair stops once this many candidates of the input elaborate."
    )
    repair_max_requests: int = Field(
        default=8,
        ge=0,
        description="Extra LLM requests (repairs and revisions) allowed per input; failures beyond it are reported "
        "in the result's errors.",
    )
    judge_revision: bool = Field(
        default=False,
        description="When the judge finds the top candidate weaker, stronger or unrelated, send its reason back "
        "for one revised statement, which competes in the ranking (needs judge).",
    )

    cache: bool = Field(default=True, description="Cache LLM completions and Lean results in SQLite.")
    cache_path: Path | None = Field(default=None, description="Default: $AUTOFORMAL_CACHE_DIR/cache.sqlite.")
    concurrency: int = Field(
        default=256,
        ge=1,
        description="Inputs in flight in formalize_many. High on purpose: the LLM backend's max_concurrency and "
        "the Lean pool bound the real load; fewer inputs in flight leave LLM slots idle while inputs sit in "
        "Lean or scoring (benchmarks/pipeline_overhead.py, 2 s latency, 64 LLM slots: 32 → ratio 1.41, "
        "64 → 1.11, 256 → 1.01).",
    )
    limits: Limits = Field(
        default_factory=Limits,
        description="Inputs in flight, LLM requests in flight, Lean workers, in one place; a value set here "
        "wins over `concurrency`, `backend.max_concurrency` and the checker's worker setting.",
    )

    @field_validator("names", "judge_model", mode="before")
    @classmethod
    def _unset(cls, value: object, info: ValidationInfo) -> object:
        # An environment variable cannot be None: an empty `AUTOFORMAL_NAMES=` / `AUTOFORMAL_JUDGE_MODEL=` means
        # unset, and `names` (a path, not a model id) also takes none/off.
        spellings = ("", "none", "off") if info.field_name == "names" else ("",)
        if isinstance(value, str) and value.strip().lower() in spellings:
            return None
        return value

    @model_validator(mode="before")
    @classmethod
    def _judge_model_implies_judge(cls, data: object) -> object:
        # Naming a judge model asks for a judge, as `--judge-model` does; only an explicit judge=false (checked
        # below) says otherwise.
        if isinstance(data, dict) and data.get("judge_model") and "judge" not in data:
            return {**data, "judge": True}
        return data

    @model_validator(mode="after")
    def _judge_needs_backtranslation(self) -> FormalizerConfig:
        # A judge setting that would silently do nothing is a configuration mistake; say so.
        if self.judge and not self.backtranslation:
            implied = " (on because judge_model is set)" if self.judge_model is not None else ""
            raise ValueError(f"judge=true{implied} needs backtranslation=true: the judge reads the back-translations")
        if self.judge_revision and not self.judge:
            raise ValueError("judge_revision=true needs judge=true: the revision answers the judge's verdict")
        if self.judge_model is not None and not self.judge:
            raise ValueError(
                "judge_model is set but judge is false; drop judge=false (AUTOFORMAL_JUDGE) to use the judge, "
                "or unset judge_model (AUTOFORMAL_JUDGE_MODEL)"
            )
        if self.judge_model is not None and self.backend.kind != "openai":
            raise ValueError(
                f"judge_model is not supported with the in-process {self.backend.kind} backend: it would load a "
                "second model into this process (a second vLLM engine on the same GPU runs out of memory). "
                "Unset judge_model to let the generation model judge, or serve both models with an "
                "OpenAI-compatible server (e.g. `vllm serve`) and use backend kind openai"
            )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = config_file()
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)
