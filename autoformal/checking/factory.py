"""`build_checker`: one entry point from configuration to a `LeanChecker`."""

from __future__ import annotations

from autoformal.checking.config import KiminaCheckerConfig, ReplCheckerConfig
from autoformal.checking.protocol import BaseChecker, SafetyGate


def build_checker(
    config: ReplCheckerConfig | KiminaCheckerConfig | None = None, *, safety_gate: SafetyGate | None = None
) -> BaseChecker:
    """A `ReplChecker` (default; local Lean from AUTOFORMAL_LEAN_PROJECT) or a `KiminaChecker`."""
    if isinstance(config, KiminaCheckerConfig):
        from autoformal.checking.kimina import KiminaChecker

        return KiminaChecker(config, safety_gate=safety_gate)
    from autoformal.checking.repl import ReplChecker

    return ReplChecker(config or ReplCheckerConfig(), safety_gate=safety_gate)
