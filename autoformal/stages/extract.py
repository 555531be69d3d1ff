"""Extract and parse: the distinct statements in the raw model texts (with how many samples produced each),
each carrying its parsed document and canonical form from here on."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from autoformal.provenance import Provenance
from autoformal.stages.base import Candidate, Job, Stage
from autoformal.syntax import Document, extract_documents

if TYPE_CHECKING:
    from autoformal.assembly import Components


def _extract(outputs: list[str]) -> list[Candidate]:
    multiplicity: dict[str, int] = {}
    documents: dict[str, Document] = {}
    first_sample: dict[str, int] = {}
    for index, output in enumerate(outputs):
        for statement, document in extract_documents(output).items():
            multiplicity[statement] = multiplicity.get(statement, 0) + 1
            documents.setdefault(statement, document)
            first_sample.setdefault(statement, index)
    return [
        Candidate(
            statement=s, document=documents[s], multiplicity=m, provenance=Provenance(sample=first_sample[s])
        )
        for s, m in multiplicity.items()
    ]


class ExtractStage(Stage):
    """Reads `job.outputs` (the generate stage's samples, or the raw texts `Job.admit` was given)."""

    name = "extracted"

    @classmethod
    def build(cls, parts: Components) -> ExtractStage:
        return cls()

    async def run(self, job: Job, candidates: list[Candidate]) -> list[Candidate]:
        outputs, job.outputs = job.outputs, []
        return [*candidates, *await asyncio.to_thread(_extract, outputs)]


class ParseStage(Stage):
    """Canonicalises the extracted statements (their parse came with extraction); one that does not
    canonicalise drops out here."""

    name = "parsed"

    @classmethod
    def build(cls, parts: Components) -> ParseStage:
        return cls()

    async def run(self, job: Job, candidates: list[Candidate]) -> list[Candidate]:
        return await asyncio.to_thread(_canonicalised, candidates)


def _canonicalised(candidates: list[Candidate]) -> list[Candidate]:
    out = []
    for c in candidates:
        if c.document is not None and c.canonical_form is None:
            c = Candidate.from_document(
                c.statement,
                c.document,
                multiplicity=c.multiplicity,
                annotations=c.annotations,
                provenance=c.provenance,
            )
        if c.document is not None:
            out.append(c)
    return out
