"""What a Lean check returns: one `CheckResult` per statement, with Lean's own messages and sorries, positions
relative to the statement text (line 1 is the statement's first line, whatever header preceded it)."""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, ConfigDict, Field


class CheckStatus(str, Enum):
    """How a check ended. Only `ok` means Lean elaborated the statement without an error message."""

    OK = "ok"
    ERROR = "error"  # Lean answered, with at least one error-severity message
    TIMEOUT = "timeout"  # no answer within the per-statement timeout; the worker was killed
    CRASHED = "crashed"  # the worker died, printed garbage, or refused the request
    REJECTED_UNSAFE = "rejected_unsafe"  # failed the safety gate; never sent to Lean


class LeanMessage(BaseModel):
    """One Lean message. Lines count from 1 and columns from 0, as Lean reports them, but relative to the
    statement: the header (and any preamble sent before it) is subtracted out."""

    model_config = ConfigDict(frozen=True)

    severity: str = Field(description="error, warning, info or trace")
    line: int
    column: int
    end_line: int | None = None
    end_column: int | None = None
    text: str

    @property
    def is_error(self) -> bool:
        return self.severity == "error"


class LeanSorry(BaseModel):
    """A `sorry` Lean reported with its goal (term-mode sorries may give none)."""

    model_config = ConfigDict(frozen=True)

    goal: str
    line: int | None = None
    column: int | None = None
    end_line: int | None = None
    end_column: int | None = None


class CheckResult(BaseModel):
    """The outcome of checking one statement."""

    model_config = ConfigDict(frozen=True)

    statement: str
    status: CheckStatus
    ok: bool = Field(description="True iff Lean answered and no message has severity `error`.")
    messages: list[LeanMessage] = Field(default_factory=list)
    sorries: list[LeanSorry] = Field(default_factory=list)
    elapsed_s: float = Field(default=0.0, description="Wall time Lean (or the server) spent on this statement.")
    detail: str | None = Field(
        default=None,
        description="Why the check ended without a Lean verdict (safety-gate reason, timeout, crash cause).",
    )

    @classmethod
    def from_messages(
        cls,
        statement: str,
        messages: list[LeanMessage],
        sorries: list[LeanSorry],
        elapsed_s: float,
    ) -> CheckResult:
        """A result for a statement Lean answered: `ok` exactly when no message is an error."""
        ok = not any(m.is_error for m in messages)
        return cls(
            statement=statement,
            status=CheckStatus.OK if ok else CheckStatus.ERROR,
            ok=ok,
            messages=messages,
            sorries=sorries,
            elapsed_s=elapsed_s,
        )

    @classmethod
    def failure(cls, statement: str, status: CheckStatus, detail: str, elapsed_s: float = 0.0) -> CheckResult:
        """A result without a Lean verdict (rejected, timed out, crashed)."""
        return cls(statement=statement, status=status, ok=False, detail=detail, elapsed_s=elapsed_s)


def messages_from_repl(raw: list[dict[str, object]] | None, line_offset: int = 0) -> list[LeanMessage]:
    """Convert REPL-protocol messages (`severity`/`pos`/`endPos`/`data`) into `LeanMessage`s, subtracting
    `line_offset` lines (the header lines that preceded the statement in the same command)."""
    out = []
    for m in raw or []:
        pos = m.get("pos") or {}
        end = m.get("endPos") or None
        assert isinstance(pos, dict)
        out.append(
            LeanMessage(
                severity=str(m.get("severity", "error")),
                line=int(pos.get("line", 1)) - line_offset,
                column=int(pos.get("column", 0)),
                end_line=int(end["line"]) - line_offset if isinstance(end, dict) else None,
                end_column=int(end["column"]) if isinstance(end, dict) else None,
                text=str(m.get("data", "")),
            )
        )
    return out


def sorries_from_repl(raw: list[dict[str, object]] | None, line_offset: int = 0) -> list[LeanSorry]:
    """Convert REPL-protocol sorries (`goal`/`pos`/`endPos`) into `LeanSorry`s (see `messages_from_repl`)."""
    out = []
    for s in raw or []:
        pos = s.get("pos") if isinstance(s.get("pos"), dict) else None
        end = s.get("endPos") if isinstance(s.get("endPos"), dict) else None
        out.append(
            LeanSorry(
                goal=str(s.get("goal", "")),
                line=int(pos["line"]) - line_offset if pos else None,  # type: ignore[index]
                column=int(pos["column"]) if pos else None,  # type: ignore[index]
                end_line=int(end["line"]) - line_offset if end else None,  # type: ignore[index]
                end_column=int(end["column"]) if end else None,  # type: ignore[index]
            )
        )
    return out
