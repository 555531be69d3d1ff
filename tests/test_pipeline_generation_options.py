"""Generation options reach the server: the structured-outputs grammar when asked for, never otherwise."""

from __future__ import annotations

from pathlib import Path

from autoformal.config import FormalizerConfig
from autoformal.llm import OpenAIBackendConfig
from autoformal.llm.grammar import generation_grammar
from autoformal.pipeline import Formalizer
from autoformal.testing.openai_server import OpenAIStubServer

SAMPLE = "```lean\ntheorem t (n : ℕ) : n + 0 = n := by sorry\n```"


def _run(tmp_path: Path, **overrides: object) -> OpenAIStubServer:
    with OpenAIStubServer(lambda request: [SAMPLE] * int(request.get("n") or 1)) as server:
        config = FormalizerConfig(
            backend=OpenAIBackendConfig(base_url=server.base_url, model=server.model),
            lean=False,
            backtranslation=False,
            retrieval="off",
            examples=0,
            samples=2,
            cache_path=tmp_path / "cache.sqlite",
            **overrides,  # type: ignore[arg-type]
        )
        with Formalizer(config) as formalizer:
            result = formalizer.formalize("Adding zero to a natural number gives the number.")
        assert result.best is not None and result.best.statement.endswith(":= sorry")
        return server


def test_grammar_constrained_generation_sends_the_generation_grammar(tmp_path: Path) -> None:
    server = _run(tmp_path, grammar_constrained=True)
    [request] = [r for r in server.requests if r.path.endswith("/chat/completions")]
    assert request.grammar == generation_grammar()


def test_no_grammar_by_default(tmp_path: Path) -> None:
    server = _run(tmp_path)
    [request] = [r for r in server.requests if r.path.endswith("/chat/completions")]
    assert request.grammar is None


def test_text_that_is_not_valid_unicode_is_a_clear_error(tmp_path: Path) -> None:
    import pytest

    from autoformal.errors import InvalidInputError

    config = FormalizerConfig(
        backend=OpenAIBackendConfig(base_url="http://127.0.0.1:9/v1", model="m"),
        lean=False,
        cache_path=tmp_path / "cache.sqlite",
    )
    with Formalizer(config) as formalizer:
        for bad in ["\udcff\udcfe undecodable bytes", "   ", 3]:
            with pytest.raises(InvalidInputError):
                formalizer.formalize(bad)  # type: ignore[arg-type]
