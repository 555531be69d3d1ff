"""Prompt templates: Jinja2 files shipped in the package, overridable file by file from a user directory."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import jinja2

PROMPTS_DIR_ENV = "AUTOFORMAL_PROMPTS_DIR"

#: Template files every prompt directory may override (missing files fall back to the packaged ones).
TEMPLATE_NAMES = (
    "formalization_system.j2",
    "formalization_user.j2",
    "backtranslation_system.j2",
    "backtranslation_user.j2",
    "judge_system.j2",
    "judge_user.j2",
    "repair_system.j2",
    "repair_user.j2",
    "revision_system.j2",
    "revision_user.j2",
)


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


class PromptTemplates:
    """Loads and renders prompt templates.

    Lookup order: `directory` (or `$AUTOFORMAL_PROMPTS_DIR`), then the defaults in
    `autoformal/prompts/templates/`. Copy a default file into your directory and edit it to change one prompt.
    Templates are rendered with `StrictUndefined`, so a typo in a variable name fails loudly.
    """

    def __init__(self, directory: str | Path | None = None) -> None:
        directory = directory if directory is not None else os.environ.get(PROMPTS_DIR_ENV)
        self.directory = Path(directory) if directory else None
        if self.directory is not None and not self.directory.is_dir():
            from autoformal.errors import ConfigurationError

            raise ConfigurationError(
                f"prompt directory {self.directory} does not exist; create it with your overrides of "
                f"{', '.join(TEMPLATE_NAMES)} or unset {PROMPTS_DIR_ENV}."
            )
        loaders: list[jinja2.BaseLoader] = []
        if self.directory is not None:
            loaders.append(jinja2.FileSystemLoader(self.directory))
        loaders.append(jinja2.PackageLoader("autoformal.prompts", "templates"))
        self.environment = jinja2.Environment(
            loader=jinja2.ChoiceLoader(loaders),
            undefined=jinja2.StrictUndefined,
            autoescape=False,  # prompts are plain text, not HTML
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        self.environment.filters["first_line"] = _first_line

    def render(self, name: str, **context: object) -> str:
        return self.environment.get_template(name).render(**context).strip()


def default_templates() -> PromptTemplates:
    """The templates for `$AUTOFORMAL_PROMPTS_DIR` (or the packaged ones), built once per directory: a Jinja
    environment caches compiled templates, so reusing it saves recompiling them for every prompt."""
    return _templates_for(os.environ.get(PROMPTS_DIR_ENV) or None)


@functools.lru_cache(maxsize=8)
def _templates_for(directory: str | None) -> PromptTemplates:
    return PromptTemplates(directory)
