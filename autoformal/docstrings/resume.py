"""Resuming a docstrings run: results of an earlier report carried over to a fresh plan of the same source,
so only the claims without a result are sent to the model again."""

from __future__ import annotations

from pathlib import Path

from autoformal._paths import write_atomically
from autoformal.docstrings.spec import ClaimSpec, DocstringReport, FunctionSpec
from autoformal.errors import InvalidInputError


def _key(function: FunctionSpec, claim: ClaimSpec) -> tuple[str, ...]:
    # The declaration text is in the key: a changed signature changes what the model was asked.
    declaration = function.declaration.text if function.declaration else ""
    return (str(function.file), function.qualname, declaration, claim.kind, claim.text)


def load_report(path: Path) -> DocstringReport:
    """A report written by `autoformal docstrings --report`, or a one-line error saying why it cannot be."""
    try:
        return DocstringReport.model_validate_json(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise InvalidInputError(
            f"--resume: {path} is not a docstrings report ({str(exc).splitlines()[0]}); "
            "drop --resume to start over, or pass the --report file of the interrupted run"
        ) from None


def carry_over(previous: DocstringReport, fresh: DocstringReport) -> int:
    """Copy each result of `previous` into the same claim of `fresh` (in place); the number copied."""
    done = {
        _key(function, claim): claim.result
        for function in previous.functions
        for claim in function.claims
        if claim.result is not None
    }
    copied = 0
    for function in fresh.functions:
        for claim in function.claims:
            result = done.get(_key(function, claim))
            if result is not None and claim.result is None:
                claim.result = result
                copied += 1
    return copied


def write_report(report: DocstringReport, path: Path) -> None:
    """Write the report atomically (a kill mid-write leaves the previous version, never half a file)."""
    write_atomically(path, (report.model_dump_json(indent=2) + "\n").encode("utf-8"))
