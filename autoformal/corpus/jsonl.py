"""Line-oriented readers for declaration and example corpora (JSONL, optionally gzip-compressed).

The declaration format is the one of ``../shared/data/mathlib/decls.jsonl.gz`` (and of the records the
shipped ``ExportDecls.lean`` prints): one JSON object per line with at least ``name``, ``kind`` and
``signature``.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from autoformal.corpus.errors import CorpusError, CorpusFormatError
from autoformal.corpus.models import Declaration


def describe_json_error(exc: json.JSONDecodeError) -> str:
    """`exc` in words, with its position once: json's own messages end in "at" ("Unterminated string starting
    at") and leave the position to the caller, so appending "at column N" naively reads "at at column N"."""
    what = exc.msg[: -len(" at")] if exc.msg.endswith(" at") else exc.msg
    where = f"line {exc.lineno}, column {exc.colno}" if exc.lineno > 1 else f"column {exc.colno}"
    return f"{what} at {where}"


def iter_json_records(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, record)`` for each non-blank line of a ``.jsonl`` or ``.jsonl.gz`` file."""
    if not path.is_file():
        raise CorpusError(f"corpus file not found: {path} (pass an existing .jsonl/.jsonl.gz file)")
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            for line_number, raw in enumerate(handle, start=1):
                if not raw.strip():
                    continue
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise CorpusFormatError(
                        f"{path}:{line_number}: line is not valid UTF-8 ({exc.reason} at byte {exc.start}); "
                        "re-encode the corpus as UTF-8 (e.g. `iconv -f latin1 -t utf-8`)"
                    ) from None
                try:
                    record = json.loads(text)
                except json.JSONDecodeError as exc:
                    raise CorpusFormatError(
                        f"{path}:{line_number}: not a JSON object ({describe_json_error(exc)}); each line must be one "
                        "JSON object"
                    ) from None
                if not isinstance(record, dict):
                    raise CorpusFormatError(
                        f"{path}:{line_number}: expected a JSON object, got {type(record).__name__}"
                    )
                yield line_number, record
    except (OSError, EOFError) as exc:  # gzip raises these on truncated or non-gzip input
        raise CorpusError(f"cannot read {path}: {exc}; check the file is complete (re-download it)") from exc


def declaration_from_record(record: dict[str, Any], *, where: str) -> Declaration | None:
    """Turn one corpus record into a `Declaration`; ``None`` for anonymous declarations (no name)."""
    if not record.get("name"):
        return None
    try:
        return Declaration(
            name=record["name"],
            kind=record.get("kind") or "",
            signature=record.get("signature") or "",
            docstring=record.get("docstring"),
            module=record.get("module"),
            path=record.get("path"),
            line=record.get("line"),
            namespace=record.get("namespace"),
            attributes=tuple(record.get("attributes") or ()),
            modifiers=tuple(record.get("modifiers") or ()),
            variables=tuple(record.get("variables") or ()),
            derived_from=record.get("derived_from"),
        )
    except (ValidationError, TypeError) as exc:
        raise CorpusFormatError(
            f"{where}: not a declaration record ({exc}); required fields: name, kind, signature (strings)"
        ) from None


def write_declarations_jsonl(declarations: list[Declaration], path: Path) -> None:
    """Write declarations in the corpus format (readable by `load_declarations`)."""
    with path.open("w", encoding="utf-8") as handle:
        for declaration in declarations:
            handle.write(declaration.model_dump_json(exclude_none=True) + "\n")
