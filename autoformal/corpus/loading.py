"""One entry point for every declaration source: a JSONL corpus file or a Lean source tree."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from autoformal.corpus.errors import CorpusError
from autoformal.corpus.jsonl import declaration_from_record, iter_json_records
from autoformal.corpus.models import Declaration

logger = logging.getLogger(__name__)

DuplicatePolicy = Literal["keep_first", "error"]


class DeclarationCorpus(BaseModel):
    """Declarations read from one source, with what was dropped and what was synthesized."""

    source: str
    declarations: list[Declaration]
    records: int = Field(description="Records read from the source (before dropping anything).")
    anonymous: int = Field(default=0, description="Records without a name (e.g. anonymous instances), dropped.")
    duplicate_names: list[str] = Field(
        default_factory=list, description="Names seen more than once; only the first occurrence is kept."
    )
    additive_twins: int = Field(default=0, description="Declarations synthesized from `@[to_additive]`.")

    def __len__(self) -> int:
        return len(self.declarations)


def _deduplicate(
    declarations: list[Declaration], on_duplicate: DuplicatePolicy, source: str
) -> tuple[list[Declaration], list[str]]:
    seen: set[str] = set()
    kept: list[Declaration] = []
    duplicates: list[str] = []
    for declaration in declarations:
        if declaration.name in seen:
            duplicates.append(declaration.name)
            continue
        seen.add(declaration.name)
        kept.append(declaration)
    if duplicates and on_duplicate == "error":
        shown = ", ".join(duplicates[:5])
        raise CorpusError(
            f"{source}: {len(duplicates)} duplicate declaration name(s) ({shown}); remove them or load with "
            "on_duplicate='keep_first' (CLI: --on-duplicate keep-first)"
        )
    if duplicates:
        logger.warning("%s: kept the first of %d duplicated names (%s)", source, len(duplicates), duplicates[:5])
    return kept, duplicates


def load_declarations(
    path: str | Path,
    *,
    on_duplicate: DuplicatePolicy = "keep_first",
    additive_twins: bool = True,
) -> DeclarationCorpus:
    """Read declarations from ``path``.

    ``path`` is either a ``.jsonl``/``.jsonl.gz`` corpus (the ``decls.jsonl.gz`` format, or the output of the
    shipped ``ExportDecls.lean``) or a directory of Lean sources (e.g. ``.lake/packages/mathlib``), parsed
    without Lean. With ``additive_twins`` the `@[to_additive]` twins that Mathlib generates at compile time
    are synthesized (they are absent from source-parsed corpora); a synthesized twin never replaces a real
    declaration of the same name.
    """
    source = Path(path)
    raw: list[Declaration]
    anonymous = 0
    if source.is_dir():
        from autoformal.corpus.lean_source import read_lean_tree

        raw, anonymous = read_lean_tree(source)
        records = len(raw) + anonymous
    else:
        raw = []
        records = 0
        for line_number, record in iter_json_records(source):
            records += 1
            declaration = declaration_from_record(record, where=f"{source}:{line_number}")
            if declaration is None:
                anonymous += 1
            else:
                raw.append(declaration)
    if records == 0:
        raise CorpusError(f"{source}: the corpus is empty (no declarations); check the path")
    declarations, duplicates = _deduplicate(raw, on_duplicate, str(source))
    twins = 0
    if additive_twins:
        from autoformal.corpus.to_additive import synthesize_additive_twins

        known = {declaration.name for declaration in declarations}
        for twin in synthesize_additive_twins(declarations):
            if twin.name not in known:
                known.add(twin.name)
                declarations.append(twin)
                twins += 1
    return DeclarationCorpus(
        source=str(source),
        declarations=declarations,
        records=records,
        anonymous=anonymous,
        duplicate_names=duplicates,
        additive_twins=twins,
    )
