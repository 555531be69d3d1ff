"""Differential check of the parser's speed work: every gold statement, labelled candidate and benchmark header
in ../shared/data must parse to the same result as before it (parse tree and model, canonical form and its
re-canonicalisation, safety verdict, error position).

`EXPECTED_DIGEST` was computed with the code before the parser cache, the streamlined LALR table, the
inlined helper rules, the faster comment blanking and the printer's dispatch table (commit 481d11d); the
current code must reproduce it byte for byte. Error *wording* is left out on purpose so that a clearer
message does not count as a different parse. If the grammar is changed deliberately, recompute the digest
with `python tests/test_syntax_differential.py` and say why in the commit.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from autoformal import StatementSyntaxError
from autoformal.syntax import Document, canonical_form, check_safe, parse_document

pytestmark = [pytest.mark.shared_data, pytest.mark.slow]

EXPECTED_DIGEST = "b53fc41a024fa89a0ebc07fdfe324cd71116d843de70d934c17bc3bca2199a3a"
EXPECTED_TEXTS = 3975
_FIELDS = ("formal", "formal_theorem", "candidate", "header", "formal_statement")


def texts(data: Path) -> list[str]:
    """Each distinct statement-like field of every row, in file order."""
    seen: dict[str, None] = {}
    for path in sorted(data.glob("*/*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                for field in _FIELDS:
                    if isinstance(row.get(field), str):
                        seen.setdefault(row[field], None)
    return list(seen)


def _document(doc: Document) -> object:
    return [
        doc.model_dump_json(),
        [
            [
                d.conclusion.to_dict() if d.conclusion is not None else None,
                d.body.to_dict() if d.body is not None else None,
                [b.to_dict() for b in d.bound],
            ]
            for d in doc.declarations
        ],
    ]


def _canonical(text: str) -> object:
    try:
        canonical = canonical_form(text)
    except StatementSyntaxError as exc:
        return ["error", exc.line, exc.column]
    try:
        return [canonical, canonical_form(canonical)]
    except StatementSyntaxError as exc:
        return [canonical, "error", exc.line, exc.column]


def observations(all_texts: list[str]) -> Iterator[str]:
    for text in all_texts:
        try:
            parsed: object = _document(parse_document(text))
        except StatementSyntaxError as exc:
            parsed = ["error", exc.line, exc.column]
        record = [text, parsed, _canonical(text), check_safe(text).ok]
        yield json.dumps(record, ensure_ascii=False, sort_keys=True)


def digest(all_texts: list[str]) -> str:
    sha = hashlib.sha256()
    for line in observations(all_texts):
        sha.update(line.encode("utf-8") + b"\n")
    return sha.hexdigest()


def test_every_shared_text_parses_as_before(shared_data: Path) -> None:
    all_texts = texts(shared_data)
    if len(all_texts) != EXPECTED_TEXTS:
        pytest.skip(f"shared data changed ({len(all_texts)} texts, the digest covers {EXPECTED_TEXTS})")
    assert digest(all_texts) == EXPECTED_DIGEST


if __name__ == "__main__":
    shared = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "shared" / "data"
    found = texts(shared)
    print(len(found), digest(found))
