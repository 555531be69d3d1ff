"""`TrustedContextGate`: the safety gate for statements preceded by *trusted* context (declarations our own
code generated, e.g. `opaque` stand-ins for Python functions)."""

from __future__ import annotations

import threading

from autoformal.syntax import SafetyVerdict, check_safe

#: Separates trusted context from the candidate in the text sent to Lean.
CONTEXT_SEPARATOR = "\n\n"


class TrustedContextGate:
    """Registered contexts are stripped before `check_safe` judges the candidate; everything else goes
    through `check_safe` unchanged, so model output can never smuggle a command in."""

    def __init__(self) -> None:
        self._contexts: set[str] = set()
        self._lock = threading.Lock()

    def register(self, context: str) -> None:
        with self._lock:
            self._contexts.add(context)

    def __call__(self, text: str) -> SafetyVerdict:
        with self._lock:
            contexts = sorted(self._contexts, key=len, reverse=True)
        for context in contexts:
            prefix = context + CONTEXT_SEPARATOR
            if text.startswith(prefix):
                return check_safe(text[len(prefix) :])
        return check_safe(text)


def with_context(context: str | None, statement: str) -> str:
    """The text sent to Lean: the trusted context (if any), then the candidate."""
    return f"{context}{CONTEXT_SEPARATOR}{statement}" if context else statement
