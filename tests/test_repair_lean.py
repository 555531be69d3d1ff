"""The refinement loop on real Lean (the core-only Lean of /work/shared/lean, or any Lean project): first answers
that Lean rejects (a type error, an unknown constant, a missing instance), repairs that elaborate, an unsafe
repair that must never reach Lean. Core-Lean statements only (Nat, List, String), `:= sorry` terms; verdicts
are read from severity and position, never from message wording. Skipped with the reason without real Lean."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from autoformal.checking import ReplChecker, ReplCheckerConfig
from autoformal.checking.models import CheckResult
from autoformal.config import FormalizerConfig
from autoformal.llm import OpenAIBackendConfig
from autoformal.pipeline import Formalizer
from autoformal.testing.openai_server import OpenAIStubServer, RepairResponder, RepairScript

pytestmark = pytest.mark.lean

#: (informal, first answer Lean rejects, repair that elaborates)
SCENARIOS = [
    (
        "Adding zero to a natural number gives it back.",
        'theorem nat_add_zero (n : Nat) : n + "0" = n := sorry',
        "theorem nat_add_zero (n : Nat) : n + 0 = n := sorry",
    ),
    (
        "Appending the empty list to a list gives the list.",
        "theorem list_append_nil (l : List Nat) : List.undefined_append l [] = l := sorry",
        "theorem list_append_nil (l : List Nat) : l ++ [] = l := sorry",
    ),
    (
        "Appending the empty string to a string gives the string.",
        "theorem string_append_empty (s : String) : s ++ 0 = s := sorry",
        'theorem string_append_empty (s : String) : s ++ "" = s := sorry',
    ),
]
UNSAFE_INFORMAL = "Reversing a list twice gives the list."
UNSAFE_FIRST = "theorem list_rev_rev (l : List Nat) : l.reverse.reverse = l.undefined_self := sorry"
UNSAFE_REPAIR = 'def f : Nat := dbgTrace "pwned" fun _ => 0\ntheorem list_rev_rev (l : List Nat) : f = f := sorry'


class RecordingChecker:
    """The real checker, recording every statement sent to it."""

    def __init__(self, inner: ReplChecker) -> None:
        self.inner = inner
        self.sent: list[str] = []

    async def check(self, statements: Sequence[str], header: str) -> list[CheckResult]:
        self.sent += statements
        return await self.inner.check(statements, header)

    def check_sync(self, statements: Sequence[str], header: str) -> list[CheckResult]:
        self.sent += statements
        return self.inner.check_sync(statements, header)

    def close(self) -> None:
        self.inner.close()

    async def aclose(self) -> None:
        await self.inner.aclose()


def test_loop_repairs_core_statements_on_real_lean(real_lean: ReplCheckerConfig, tmp_path: Path) -> None:
    scripts = [RepairScript(informal, (first, fixed)) for informal, first, fixed in SCENARIOS]
    scripts.append(RepairScript(UNSAFE_INFORMAL, (UNSAFE_FIRST, UNSAFE_REPAIR)))
    responder = RepairResponder(scripts)
    checker = RecordingChecker(ReplChecker(real_lean))
    with OpenAIStubServer(responder) as server:
        config = FormalizerConfig(
            backend=OpenAIBackendConfig(base_url=server.base_url, model=server.model),
            checker=real_lean,
            header="",
            cache_path=tmp_path / "cache.sqlite",
            samples=2,
            retrieval="off",
            examples=0,
            backtranslation=False,
            names=None,
        )
        with Formalizer(config, checker=checker) as formalizer:
            texts = [informal for informal, _, _ in SCENARIOS] + [UNSAFE_INFORMAL]
            results = formalizer.formalize_many(texts)
    for (_, first, fixed), result in zip(SCENARIOS, results, strict=False):
        assert result.stage_counts["elaborated"] == 0, result.errors  # Lean rejected every first answer
        best = result.best
        assert best is not None and best.statement == fixed and best.elaborated
        parent = best.provenance.parent
        assert best.provenance.origin == "repair" and parent is not None and parent.statement == first
        errors = parent.cause.messages
        assert errors and all(m.severity == "error" and m.line == 1 and m.column > 0 for m in errors)
    # The repair prompt quoted the source line each error points at.
    assert all(any(first in prompt for prompt in responder.repair_prompts) for _, first, _ in SCENARIOS)
    unsafe = results[-1]
    assert unsafe.best is None and unsafe.extra_requests == 1
    assert any(UNSAFE_FIRST in s for s in checker.sent)
    assert not any("dbgTrace" in s for s in checker.sent)
