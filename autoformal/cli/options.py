"""Options shared by the commands that run the Formalizer (`formalize`, `bulk`, `docstrings`,
`eval-benchmark`; `eval` takes the judge and time limits), declared once here, and the one function that
turns them into a `FormalizerConfig`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from autoformal.config import FormalizerConfig

SamplesOption = Annotated[
    int | None, typer.Option("-k", "--samples", min=1, help="Candidates sampled per input (default 8).")
]
RepairRoundsOption = Annotated[
    int | None,
    typer.Option(
        "--repair-rounds",
        min=0,
        help="Rounds in which failed candidates (with --translate, failed defs) go back to the model with Lean's "
        "errors (default 1; 0: off; AUTOFORMAL_REPAIR_ROUNDS).",
    ),
]
NoLeanOption = Annotated[
    bool, typer.Option("--no-lean", help="Skip Lean elaboration: output is UNCHECKED and labelled as such.")
]
BackendOption = Annotated[
    str | None, typer.Option("--backend", help="openai (an OpenAI-compatible server, default), transformers, vllm.")
]
ModelOption = Annotated[str | None, typer.Option("--model", help="Model id (server model, hub id or directory).")]
BaseUrlOption = Annotated[
    str | None,
    typer.Option("--base-url", help="OpenAI-compatible endpoint, e.g. http://localhost:8000/v1 (AUTOFORMAL_BASE_URL)."),
]
JudgeOption = Annotated[
    bool,
    typer.Option(
        "--judge",
        help="Also ask an LLM judge whether each back-translation is equivalent to, weaker or stronger than, "
        "or unrelated to the input; the verdict is averaged into the back_translation score.",
    ),
]
JudgeModelOption = Annotated[
    str | None,
    typer.Option("--judge-model", help="Model id of the judge (implies --judge); default: the generation model."),
]
TimeoutOption = Annotated[
    float | None,
    typer.Option(
        "--timeout",
        min=0.1,
        help="Seconds to wait for one answer from the model server, per attempt "
        "(default 300; AUTOFORMAL_BACKEND__TIMEOUT_S).",
    ),
]
RetriesOption = Annotated[
    int | None,
    typer.Option(
        "--retries",
        min=0,
        help="Retries of a failed or timed-out request (default 2; AUTOFORMAL_BACKEND__MAX_RETRIES).",
    ),
]
DeadlineOption = Annotated[
    float | None,
    typer.Option(
        "--deadline",
        min=0.1,
        help="Give up on one request after this many seconds, retries included "
        "(default 600; AUTOFORMAL_BACKEND__DEADLINE_S).",
    ),
]
LeanProjectOption = Annotated[
    Path | None,
    typer.Option(
        "--lean-project",
        file_okay=False,
        help="Lean project to check statements in (AUTOFORMAL_LEAN_PROJECT).",
    ),
]
HeaderOption = Annotated[
    Path | None, typer.Option("--header", exists=True, dir_okay=False, help="Lean header file (imports, opens).")
]
SaveConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--save-config",
        dir_okay=False,
        help="Write the resolved configuration as TOML; AUTOFORMAL_CONFIG=FILE reproduces the run.",
    ),
]


def build_config(
    *,
    samples: int | None = None,
    repair_rounds: int | None = None,
    no_lean: bool = False,
    backend: str | None = None,
    model: str | None = None,
    base_url: str | None = None,
    judge: bool = False,
    judge_model: str | None = None,
    timeout: float | None = None,
    retries: int | None = None,
    deadline: float | None = None,
    lean_project: Path | None = None,
) -> FormalizerConfig:
    """`FormalizerConfig` from the environment and the TOML file, with the command-line options applied."""
    from pydantic import ValidationError

    from autoformal.checking.config import ReplCheckerConfig
    from autoformal.config import FormalizerConfig, config_file
    from autoformal.errors import ConfigurationError
    from autoformal.llm.config import OpenAIBackendConfig, TransformersBackendConfig, VLLMBackendConfig

    try:
        config = FormalizerConfig()
    except ValidationError as exc:
        source = config_file()
        where = f"AUTOFORMAL_* variables or {source}" if source else "AUTOFORMAL_* variables"
        raise ConfigurationError(f"invalid configuration in {where}:\n{exc}") from None
    updates: dict[str, object] = {}
    if samples is not None:
        updates["samples"] = samples
    if repair_rounds is not None:
        updates["repair_rounds"] = repair_rounds
    if no_lean:
        updates["lean"] = False
    if judge or judge_model is not None:
        if not config.backtranslation:
            raise typer.BadParameter("the judge reads back-translations, which the configuration switches off")
        updates["judge"] = True
    if judge_model is not None:
        updates["judge_model"] = judge_model
    kind = backend or config.backend.kind
    if kind not in ("openai", "transformers", "vllm"):
        raise typer.BadParameter(f"unknown backend {kind!r}; use openai, transformers or vllm", param_hint="--backend")
    limits = {
        name: value
        for name, value in (("timeout_s", timeout), ("max_retries", retries), ("deadline_s", deadline))
        if value is not None
    }
    if limits and kind != "openai":
        raise typer.BadParameter(f"--timeout, --retries and --deadline are for the openai backend, not {kind}")
    if backend is not None or model is not None or base_url is not None or limits:
        if kind == "openai":
            current = config.backend if isinstance(config.backend, OpenAIBackendConfig) else OpenAIBackendConfig()
            changes = {k: v for k, v in (("model", model), ("base_url", base_url)) if v is not None}
            updates["backend"] = current.model_copy(update={**changes, **limits})
        elif kind == "transformers":
            if model is None:
                raise typer.BadParameter("the transformers backend needs --model (hub id or local directory)")
            updates["backend"] = TransformersBackendConfig(model=model)
        else:
            updates["backend"] = VLLMBackendConfig(model=model) if model else VLLMBackendConfig()
    if lean_project is not None:
        current_checker = config.checker if isinstance(config.checker, ReplCheckerConfig) else ReplCheckerConfig()
        updates["checker"] = current_checker.model_copy(update={"project_dir": lean_project.expanduser()})
    return config.model_copy(update=updates) if updates else config


#: The shared options `build_config` reads, by parameter name.
_CONFIG_OPTIONS = frozenset(
    {"samples", "repair_rounds", "no_lean", "backend", "model", "base_url", "judge", "judge_model", "timeout"}
    | {"retries", "deadline", "lean_project"}
)


def config_from_options(ctx: typer.Context, **overrides: Any) -> FormalizerConfig:
    """`build_config` with the values of the shared options the running command declares."""
    values = {name: value for name, value in ctx.params.items() if name in _CONFIG_OPTIONS}
    return build_config(**{**values, **overrides})


def reproducible_config(config: FormalizerConfig) -> dict[str, Any]:
    """The resolved settings as plain data a TOML file can hold (no secrets: an API key is left out)."""
    data = config.model_dump(mode="json", exclude_none=True)
    backend = data.get("backend", {})
    backend.pop("api_key", None)
    if isinstance(data.get("checker"), dict):
        data["checker"].pop("api_key", None)
    return data


def save_config(config: FormalizerConfig, path: Path) -> None:
    """`reproducible_config` as TOML at `path`."""
    import tomli_w

    from autoformal.errors import InvalidInputError

    text = "# written by autoformal --save-config; run again with AUTOFORMAL_CONFIG=this-file\n"
    text += tomli_w.dumps(reproducible_config(config))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InvalidInputError(f"--save-config {path}: cannot write it ({exc.strerror or exc})") from None
