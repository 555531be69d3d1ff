"""Environment variables: the short names of component settings, read by pydantic-settings, and the check
that warns about an `AUTOFORMAL_*` variable that nothing reads (a misspelling is otherwise silent).

Component configurations (`OpenAIBackendConfig`, `ReplCheckerConfig`, `KiminaCheckerConfig`) derive from
`EnvAliasedSettings` and list their short names in `env_aliases`, e.g. `AUTOFORMAL_BASE_URL` for
`OpenAIBackendConfig.base_url`. An explicit value (an argument, `AUTOFORMAL_BACKEND__BASE_URL`) wins over
the short name; `FormalizerConfig` lets the short name win over its TOML file, like every other variable.
An empty variable counts as unset.
"""

from __future__ import annotations

import difflib
import os
import types
import typing
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

PREFIX = "AUTOFORMAL_"

#: Variables read outside the configuration models (name → what it sets).
OTHER_VARIABLES: Mapping[str, str] = {
    "AUTOFORMAL_CONFIG": "the TOML configuration file (must exist when set)",
    "AUTOFORMAL_CACHE_DIR": "where the completion/Lean cache and exported encoders live (default ~/.cache/autoformal)",
    "AUTOFORMAL_PROMPTS_DIR": "a directory of prompt templates overriding the shipped ones",
    "AUTOFORMAL_DEBUG": "1: let tracebacks through the command line's error boundary",
    "AUTOFORMAL_SHARED_DIR": "the shared benchmark data for tests and benchmarks",
    "AUTOFORMAL_STANDIN_TRANSCRIPTS": "the stand-in REPL's recorded transcripts (test double)",
    "AUTOFORMAL_STANDIN_LOG": "the stand-in REPL's request log (test double)",
    "AUTOFORMAL_STANDIN_FAULT": "a fault the stand-in REPL injects (test double)",
    "AUTOFORMAL_STANDIN_OOM_MB": "the stand-in REPL's simulated memory cap (test double)",
}


class ShortEnvSource(PydanticBaseSettingsSource):
    """Field values from explicitly named environment variables (first non-empty name wins)."""

    def __init__(self, settings_cls: type[BaseSettings], aliases: Mapping[str, tuple[str, ...]]) -> None:
        super().__init__(settings_cls)
        self.aliases = aliases

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # __call__ does the work; this abstract method is unused

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for field, names in self.aliases.items():
            value = next((os.environ[name] for name in names if os.environ.get(name, "").strip()), None)
            if value is not None:
                values[field] = value
        return values


class EnvAliasedSettings(BaseSettings):
    """A component configuration: arguments first, then its short environment names (`env_aliases`), then
    defaults. It reads no other variable (nested `AUTOFORMAL_X__Y` names are `FormalizerConfig`'s)."""

    env_aliases: ClassVar[Mapping[str, tuple[str, ...]]] = {}

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, ShortEnvSource(settings_cls, cls.env_aliases)


def short_names(root: type[BaseModel]) -> dict[str, str]:
    """Every short variable name → the setting of `root` (the `FormalizerConfig`) it fills, e.g.
    `AUTOFORMAL_BASE_URL` → `backend.base_url`."""
    found: dict[str, str] = {}
    for field_name, model in _nested_models(root):
        if issubclass(model, EnvAliasedSettings):
            for attribute, names in model.env_aliases.items():
                for name in names:
                    found.setdefault(name, f"{field_name}.{attribute}")
    return found


def known_variables(root: type[BaseModel]) -> set[str]:
    """Every `AUTOFORMAL_*` name something reads: `root`'s fields and nested fields, the short names, and
    `OTHER_VARIABLES`."""
    names = {name for name in short_names(root) if name.startswith(PREFIX)} | set(OTHER_VARIABLES)
    names |= {PREFIX + path.upper() for path, _ in _field_paths(root, "")}
    return names


def _free_form_prefixes(root: type[BaseModel]) -> tuple[str, ...]:
    return tuple(PREFIX + path.upper() + "__" for path, free_form in _field_paths(root, "") if free_form)


#: The generated list of known names (`known_variables_source`), which the command line reads instead of
#: importing the configuration models.
KNOWN_VARIABLES_FILE = Path(__file__).with_name("_known_variables.py")


def known_variables_source(root: type[BaseModel]) -> str:
    """The text of `KNOWN_VARIABLES_FILE` for `root` (the `FormalizerConfig`): `known_variables` and the
    free-form prefixes, sorted, as Python literals."""
    names = "".join(f"        \"{name}\",\n" for name in sorted(known_variables(root)))
    prefixes = "".join(f"    \"{prefix}\",\n" for prefix in sorted(_free_form_prefixes(root)))
    return (
        '"""Every `AUTOFORMAL_*` variable autoformal reads, and the prefixes of free-form nested settings: the\n'
        "command line's misspelled-variable check reads these instead of importing the configuration models (0.4 s\n"
        "of start-up) whenever a variable is set; only a name missing here sends it to the models themselves.\n\n"
        "GENERATED from the configuration models by `autoformal.envvars.write_known_variables` (`make\n"
        'known-variables`); tests/test_envvars.py fails when it is out of date. Do not edit by hand.\n"""\n\n'
        f"KNOWN_VARIABLES = frozenset(\n    {{\n{names}    }}\n)\nFREE_FORM_PREFIXES = (\n{prefixes})\n"
    )


def write_known_variables(root: type[BaseModel]) -> None:
    """Regenerate `KNOWN_VARIABLES_FILE` from `root` (after adding or renaming a setting)."""
    KNOWN_VARIABLES_FILE.write_text(known_variables_source(root), encoding="utf-8")


def unknown_variables(root: type[BaseModel], environ: Mapping[str, str] | None = None) -> list[tuple[str, str | None]]:
    """`(variable, closest known name or None)` for each set `AUTOFORMAL_*` variable nothing reads, `root` being
    the whole configuration (`FormalizerConfig`; passed in, since this module sits below it). Free-form nested
    settings (dict fields such as `AUTOFORMAL_BACKEND__EXTRA_BODY__X`) are accepted."""
    environ = os.environ if environ is None else environ
    known = known_variables(root)
    free_form = _free_form_prefixes(root)
    unknown = []
    for name in sorted(environ):
        upper = name.upper()
        if not upper.startswith(PREFIX) or upper in known or upper.startswith(free_form):
            continue
        close = difflib.get_close_matches(upper, sorted(known), n=1, cutoff=0.6)
        unknown.append((name, close[0] if close else None))
    return unknown


def _models_in(annotation: Any) -> Iterator[type[BaseModel]]:
    """The pydantic models an annotation may hold (through Optional, unions and Annotated)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        return
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        yield from _models_in(typing.get_args(annotation)[0])
    elif origin is typing.Union or origin is types.UnionType:
        for argument in typing.get_args(annotation):
            yield from _models_in(argument)


def _is_dict(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _is_dict(typing.get_args(annotation)[0])
    return origin is dict or annotation is dict


def _nested_models(model: type[BaseModel]) -> Iterator[tuple[str, type[BaseModel]]]:
    for name, field in model.model_fields.items():
        for nested in _models_in(field.annotation):
            yield name, nested


def _field_paths(model: type[BaseModel], prefix: str) -> Iterator[tuple[str, bool]]:
    """`(path, free_form)` for every field, nested ones joined with `__`; free-form fields are dicts."""
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        yield path, _is_dict(field.annotation)
        for nested in _models_in(field.annotation):
            yield from _field_paths(nested, path + "__")
