"""Solved (informal, formal) examples for few-shot prompting.

Reads the benchmark JSONL format of ``../shared/data/benchmarks/`` (fields ``id``, ``informal``, ``formal``,
optional ``header`` and ``source``; other fields are ignored), so users can bring their own sets. The
package ships a small hand-written set (``corpora/examples.jsonl``), the default few-shot corpus.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from autoformal.corpus.errors import CorpusError, CorpusFormatError
from autoformal.corpus.jsonl import iter_json_records
from autoformal.corpus.models import Example

EXAMPLES_FILE = "examples.jsonl"


def default_examples_path() -> Path:
    """The shipped examples: inside the installed wheel, or ``corpora/`` of a source checkout."""
    package_root = Path(__file__).resolve().parents[1]
    for candidate in (
        package_root / "_corpora" / EXAMPLES_FILE,
        package_root.parent / "corpora" / EXAMPLES_FILE,
    ):
        if candidate.is_file():
            return candidate
    raise CorpusError(
        f"the shipped examples corpus ({EXAMPLES_FILE}) is missing from this installation; reinstall "
        "autoformal or pass your own examples file"
    )


def load_examples(path: str | Path | None = None) -> list[Example]:
    """Examples from a JSONL file in the benchmark format; ``None`` loads the shipped set."""
    source = Path(path) if path is not None else default_examples_path()
    examples: list[Example] = []
    seen: set[str] = set()
    for line_number, record in iter_json_records(source):
        where = f"{source}:{line_number}"
        try:
            example = Example(
                id=str(record.get("id") or f"{source.stem}:{line_number}"),
                informal=record["informal"],
                formal=record["formal"],
                header=record.get("header"),
                source=record.get("source"),
            )
        except (KeyError, ValidationError) as exc:
            raise CorpusFormatError(
                f"{where}: not an example record ({exc!r}); required fields: informal, formal (strings)"
            ) from None
        if not example.informal.strip() or not example.formal.strip():
            raise CorpusFormatError(f"{where}: empty informal or formal text")
        if example.id in seen:
            raise CorpusFormatError(f"{where}: duplicate example id {example.id!r}; ids must be unique")
        seen.add(example.id)
        examples.append(example)
    if not examples:
        raise CorpusError(f"{source}: no examples found; check the path")
    return examples
