"""What every retriever returns (`Hit`) and the one interface later stages depend on (`Retriever`)."""

from __future__ import annotations

from typing import Generic, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from autoformal.errors import InvalidQueryError

T = TypeVar("T")

#: Longest query accepted. Informal statements are a few hundred characters; anything near this limit is a
#: whole document pasted by mistake, and the encoder would only see its first ``max_seq_length`` tokens.
MAX_QUERY_CHARS = 20_000


class Hit(BaseModel, Generic[T]):
    """One retrieved item. ``rank`` is 1-based; ``score`` is only comparable within one ``source``."""

    model_config = ConfigDict(frozen=True)

    item: T
    score: float
    rank: int = Field(ge=1)
    source: str = Field(description='Which retriever produced the hit: "dense", "bm25", "hybrid", ...')


@runtime_checkable
class Retriever(Protocol[T]):
    """Anything that maps a query to ranked items (declarations, examples, ...)."""

    def search(self, query: str, k: int = 10) -> list[Hit[T]]: ...


def validate_query(query: str, k: int) -> str:
    """Return the stripped query, or raise `InvalidQueryError` naming the problem."""
    if not isinstance(query, str):
        raise InvalidQueryError(f"query must be a string, got {type(query).__name__}")
    stripped = query.strip()
    if not stripped:
        raise InvalidQueryError("empty query: pass the informal statement (or keywords) to search for")
    if len(stripped) > MAX_QUERY_CHARS:
        raise InvalidQueryError(
            f"query is {len(stripped):,} characters, more than the {MAX_QUERY_CHARS:,} allowed; "
            "pass one statement, not a whole document"
        )
    if k < 1:
        raise InvalidQueryError(f"k must be at least 1, got {k}")
    return stripped
