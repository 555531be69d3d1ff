"""Flywheel data from bulk output (`autoformal bulk` JSONL, one `FormalizationResult` per line with its `id`).

Three formats, one JSON object per line:

- `repairs`: one line per repair that elaborated: the failed statement, Lean's errors on it (and the name
  check's unknown names), the corrected statement, with the input text, the problem id and the round. These
  (attempt, error, correction) triples are the data that teaches a model to use Lean's feedback.
- `sft`: one (informal → accepted statement) pair per problem: the best-ranked candidate that Lean elaborated.
- `prover`: the same accepted statement in the JSONL shape prover evaluation harnesses read (miniF2F as
  DeepSeek-Prover ships it, Lean Workbook): `name`, `header`, `informal_prefix`, `formal_statement` ending in
  `:= by` and a newline (the prover writes the proof after it), plus `id` and `informal`.

Problems that were not checked by Lean (`lean_checked` false) give no line: nothing in them was accepted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from autoformal.bulk.output import complete_lines
from autoformal.checking.header import DEFAULT_HEADER
from autoformal.errors import ExportError
from autoformal.results import FormalizationResult, RankedCandidate

ExportFormat = Literal["repairs", "sft", "prover"]
EXPORT_FORMATS: tuple[ExportFormat, ...] = ("repairs", "sft", "prover")

_SORRY_PROOF = re.compile(r":=\s*(?:by\s+)?sorry\s*$")


class ExportSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    records: int
    lines: int


def read_bulk_records(path: str | Path) -> Iterator[tuple[str, FormalizationResult, dict[str, Any]]]:
    """`(id, result, raw record)` for each line of a bulk output file. A torn last line (a killed run that was
    not resumed) is skipped; any other line that is not a result names itself in an `ExportError`."""
    for number, line in complete_lines(Path(path).read_bytes()):
        try:
            record = json.loads(line)
            fields = {k: v for k, v in record.items() if k in FormalizationResult.model_fields}
            result = FormalizationResult.model_validate(fields)
        except (ValueError, ValidationError) as exc:
            raise ExportError(
                f"{path}, line {number}: not an `autoformal bulk` result ({str(exc).splitlines()[0]}); export reads "
                "the output of `autoformal bulk`"
            ) from None
        if "id" not in record:
            raise ExportError(f"{path}, line {number}: the record has no `id`; export reads `autoformal bulk` output")
        yield str(record["id"]), result, record


def accepted(result: FormalizationResult) -> RankedCandidate | None:
    """The best-ranked candidate Lean elaborated, or None."""
    if not result.lean_checked:
        return None
    return next((c for c in result.candidates if c.lean is not None and c.lean.ok), None)


def repair_rows(problem_id: str, result: FormalizationResult) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    if not result.lean_checked:
        return rows
    for candidate in result.candidates:
        parent = candidate.provenance.parent
        if candidate.provenance.origin != "repair" or parent is None or not candidate.elaborated:
            continue
        rows.append(
            {
                "id": problem_id,
                "input": result.input,
                "round": candidate.provenance.round,
                "failed_statement": parent.statement,
                "errors": [m.model_dump(mode="json") for m in parent.cause.messages],
                "unknown_names": parent.cause.unknown_names,
                "corrected_statement": candidate.statement,
                "rank": candidate.rank,
                "model": result.model,
            }
        )
    return rows


def sft_row(problem_id: str, result: FormalizationResult, header: str) -> dict[str, Any] | None:
    best = accepted(result)
    if best is None:
        return None
    return {"id": problem_id, "informal": result.input, "formal_statement": best.statement, "header": header}


def prover_row(problem_id: str, result: FormalizationResult, header: str) -> dict[str, Any] | None:
    best = accepted(result)
    if best is None:
        return None
    # The harness appends the proof after `:= by` (our statements end in `:= sorry`).
    statement = _SORRY_PROOF.sub(":= by\n", best.statement.rstrip())
    informal = result.input.strip().replace("-/", "- /")  # a doc comment must not close early
    return {
        "name": problem_id,
        "id": problem_id,
        "split": "autoformal",
        "informal": result.input,
        "informal_prefix": f"/-- {informal} -/\n",
        "header": header.rstrip("\n") + "\n\n",
        "formal_statement": statement,
    }


def export_rows(
    records: Iterable[tuple[str, FormalizationResult, dict[str, Any]]],
    fmt: ExportFormat,
    *,
    header: str = DEFAULT_HEADER,
) -> Iterator[dict[str, Any]]:
    """The `fmt` lines of `records` (`read_bulk_records`). `header`: the Lean header of records that do not
    carry their own (bulk writes none: pass the header the run used)."""
    for problem_id, result, raw in records:
        record_header = str(raw.get("header") or header)
        if fmt == "repairs":
            yield from repair_rows(problem_id, result)
            continue
        make_row = sft_row if fmt == "sft" else prover_row
        row = make_row(problem_id, result, record_header)
        if row is not None:
            yield row
