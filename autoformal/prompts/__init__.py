"""Prompt construction (formalization, back-translation, judge, repair, judge
revision): Jinja2 templates shipped as package data
(user-overridable) and builders that fit retrieved context into a token budget."""

from autoformal.prompts.builder import (
    FormalizationPrompt,
    PromptBudget,
    build_backtranslation_messages,
    build_formalization_messages,
    build_formalization_prompt,
    build_judge_messages,
    build_repair_messages,
    build_revision_messages,
    format_check_errors,
)
from autoformal.prompts.templates import PROMPTS_DIR_ENV, TEMPLATE_NAMES, PromptTemplates
from autoformal.prompts.tokens import TokenCounter, approximate_token_count, token_counter_for

__all__ = [
    "PROMPTS_DIR_ENV",
    "TEMPLATE_NAMES",
    "FormalizationPrompt",
    "PromptBudget",
    "PromptTemplates",
    "TokenCounter",
    "approximate_token_count",
    "build_backtranslation_messages",
    "build_formalization_messages",
    "build_formalization_prompt",
    "build_judge_messages",
    "build_repair_messages",
    "build_revision_messages",
    "format_check_errors",
    "token_counter_for",
]
