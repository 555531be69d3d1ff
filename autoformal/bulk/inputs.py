"""Reading bulk input: JSONL problems with an id and an informal statement, validated line by line.

A bad line never stops a run: it becomes an `InvalidLine` with its 1-based line number and the reason, and the
caller reports it. Field names are configurable so benchmark files are read as they are
(`../shared/data/benchmarks/*.jsonl` use `id`, `informal` and, for some, `header`)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from autoformal.corpus.jsonl import describe_json_error
from autoformal.errors import ConfigurationError

#: Tried in order when no text field is configured: the names used by common benchmark files.
TEXT_FIELD_CANDIDATES = ("informal", "informal_statement", "informal_prefix", "nl_statement", "problem", "statement")


class InputFields(BaseModel):
    """Which JSON fields hold what. `text=None` picks the first of `TEXT_FIELD_CANDIDATES` present on each line."""

    model_config = ConfigDict(frozen=True)

    id: str = "id"
    text: str | None = None
    header: str | None = Field(
        default="header", description="Per-problem Lean header, used when present; None: always the default."
    )


class Problem(BaseModel):
    """One valid input line."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(description="The input id as a string (numbers are converted), the key for resume and shards.")
    text: str
    header: str | None = None
    line: int = Field(description="1-based line number in the input file.")


class InvalidLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    line: int
    reason: str


class Shard(BaseModel):
    """`index`/`count` (0-based, `0/4` … `3/4`): a problem belongs to the shard its id hashes to, so the split is
    stable whatever the input order, file or machine."""

    model_config = ConfigDict(frozen=True)

    index: int = Field(ge=0)
    count: int = Field(ge=1)

    @model_validator(mode="after")
    def _index_below_count(self) -> Shard:
        if self.index >= self.count:
            raise ValueError(f"shard index {self.index} must be below the shard count {self.count} (0-based)")
        return self

    @classmethod
    def parse(cls, spec: str) -> Shard:
        """`"i/n"` → `Shard(index=i, count=n)`, with an error naming the expected form."""
        left, sep, right = spec.partition("/")
        try:
            if not sep:
                raise ValueError
            return cls(index=int(left), count=int(right))
        except ValidationError as exc:
            detail = f": {exc.errors()[0]['msg']}"
        except ValueError:
            detail = ""
        raise ConfigurationError(
            f"invalid shard {spec!r}{detail}; use i/n with 0 <= i < n, e.g. --shard 0/4 … --shard 3/4"
        )

    def contains(self, problem_id: str) -> bool:
        digest = hashlib.sha256(problem_id.encode("utf-8")).digest()
        return int.from_bytes(digest[:8], "big") % self.count == self.index


def read_problems(path: str | Path, fields: InputFields | None = None) -> Iterator[Problem | InvalidLine]:
    """Every non-blank line of `path` as a `Problem`, or an `InvalidLine` saying what is wrong with it.
    A repeated id is invalid from its second occurrence on (the output has one line per id)."""
    fields = fields or InputFields()
    seen: dict[str, int] = {}
    with Path(path).open("rb") as stream:
        for number, raw in enumerate(stream, start=1):
            if not raw.strip():
                continue
            item = _parse_line(raw, number, fields)
            if isinstance(item, Problem):
                first = seen.setdefault(item.id, number)
                if first != number:
                    item = InvalidLine(line=number, reason=f"duplicate id {item.id!r} (first on line {first})")
            yield item


def _parse_line(raw: bytes, number: int, fields: InputFields) -> Problem | InvalidLine:
    try:
        record = json.loads(raw)
    except UnicodeDecodeError as exc:
        return InvalidLine(line=number, reason=f"not UTF-8 ({exc.reason} at byte {exc.start})")
    except json.JSONDecodeError as exc:
        return InvalidLine(line=number, reason=f"not JSON: {describe_json_error(exc)}")
    if not isinstance(record, dict):
        return InvalidLine(line=number, reason=f"expected a JSON object, got {type(record).__name__}")
    raw_id = record.get(fields.id)
    if isinstance(raw_id, bool) or not isinstance(raw_id, str | int) or str(raw_id).strip() == "":
        present = ", ".join(sorted(record)) or "none"
        return InvalidLine(
            line=number, reason=f"no usable id in field {fields.id!r} (fields: {present}); set --id-field"
        )
    text_field = fields.text or next((f for f in TEXT_FIELD_CANDIDATES if f in record), None)
    text = record.get(text_field) if text_field is not None else None
    if not isinstance(text, str) or not text.strip():
        wanted = repr(fields.text) if fields.text else f"any of {', '.join(TEXT_FIELD_CANDIDATES)}"
        return InvalidLine(line=number, reason=f"no non-empty text in {wanted}; set --text-field")
    header = record.get(fields.header) if fields.header else None
    if header is not None and not isinstance(header, str):
        return InvalidLine(line=number, reason=f"field {fields.header!r} must be a string (a Lean header)")
    return Problem(id=str(raw_id), text=text, header=header or None, line=number)
