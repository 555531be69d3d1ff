"""Example-guided retrieval: the declarations that the formal statements of similar solved problems use.

For competition and textbook mathematics the vocabulary of constants is small and repeats across problems
(`Real.sqrt`, `Nat.Prime`, `Finset.range`, `Real.log`, ...), and the formal statement of a similar solved
problem names them exactly, where the informal query only paraphrases them. So: embed the query, take the
``neighbours`` most similar examples (informal side), and score each declaration their formal statements use
by the summed similarity of the examples that use it. The result fuses with dense and BM25 hits by the same
reciprocal-rank fusion (`HybridRetriever`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np

from autoformal.corpus.models import Declaration, Example
from autoformal.retrieval.base import Hit, validate_query
from autoformal.retrieval.embedder import Embedder
from autoformal.retrieval.vector_cache import encode_cached

# The defaults below were chosen on the valid splits of miniF2F and ProofNet (each problem's own example left
# out) by benchmarks/retrieval_recall.py, then measured on the test splits.
#: Examples read per query (8 / 16 / 32 / 64 compared).
DEFAULT_NEIGHBOURS = 32
#: Similarities are raised to this power before summing (1 / 4 compared): >1 lets the closest examples
#: dominate the vote.
DEFAULT_SHARPNESS = 1.0
#: Fusion weight against dense (1.0) and BM25 (`DEFAULT_BM25_WEIGHT`) (0.5 / 1 / 2 / 4 compared).
DEFAULT_GUIDED_WEIGHT = 2.0


def resolve_identifiers(formal: str, header: str | None, resolve: Callable[[str], str | None]) -> dict[str, str | None]:
    """Each identifier ``formal`` references → the full name it resolves to, or None.

    Resolution is Lean's for opened namespaces (``sqrt`` under ``open Real`` is ``Real.sqrt``): the name as
    written, then under each ``open``/``namespace`` of ``header`` and of the text. ``resolve`` maps a
    candidate full name to the name to use, or None if it names no known declaration. Statements the grammar
    cannot read give nothing.
    """
    from autoformal.names.checker import Scope
    from autoformal.syntax import parse_document

    try:
        document = parse_document(formal)
    except Exception:  # a syntax error or a grammar gap: a statement we cannot read contributes nothing
        return {}
    scope = Scope()
    scope.add_commands(header or "")
    for command in document.commands:
        scope.add_commands(command.text)
    found: dict[str, str | None] = {}
    for declaration in document.declarations:
        for identifier in declaration.identifiers:
            if identifier in found:
                continue
            bare = identifier.removeprefix("_root_.")
            opened = [] if identifier.startswith("_root_.") else [f"{ns}.{bare}" for ns in scope.opens]
            found[identifier] = next((name for name in map(resolve, [bare, *opened]) if name is not None), None)
    return found


def statement_constants(formal: str, header: str | None, resolve: Callable[[str], str | None]) -> list[str]:
    """The declarations ``formal`` uses, as full names, in order of first use (see `resolve_identifiers`)."""
    resolved = resolve_identifiers(formal, header, resolve).values()
    return list(dict.fromkeys(name for name in resolved if name is not None))


class ExampleGuidedRetriever:
    """Declarations used by the formal statements of the examples nearest to the query."""

    source = "examples"

    def __init__(
        self,
        declarations: Sequence[Declaration],
        examples: Iterable[Example],
        embedder: Embedder,
        *,
        neighbours: int = DEFAULT_NEIGHBOURS,
        sharpness: float = DEFAULT_SHARPNESS,
    ) -> None:
        if neighbours < 1 or sharpness <= 0:
            raise ValueError("neighbours must be >= 1 and sharpness > 0")
        self.embedder = embedder
        self.neighbours = neighbours
        self.sharpness = sharpness
        rows = {declaration.name: row for row, declaration in enumerate(declarations)}
        self.declarations = list(declarations)
        self.examples: list[Example] = []
        self._uses: list[np.ndarray] = []
        for example in examples:
            used = statement_constants(example.formal, example.header, lambda name: name if name in rows else None)
            if used:  # an example naming no indexed declaration has nothing to vote for
                self.examples.append(example)
                self._uses.append(np.array([rows[name] for name in used], dtype=np.int64))
        texts = [example.informal for example in self.examples]
        self._vectors = encode_cached(embedder, texts) if texts else np.zeros((0, embedder.dimension), np.float32)

    def __len__(self) -> int:
        return len(self.examples)

    def scores(self, query: str, *, exclude: frozenset[str] = frozenset()) -> dict[int, float]:
        """Declaration row → summed sharpened similarity of the nearest examples that use it.

        ``exclude``: example ids to ignore, e.g. the problem being evaluated (its own gold must not vote).
        """
        if not self.examples:
            return {}
        similarity = self._vectors @ self.embedder.encode_query(query)
        order = np.argsort(-similarity, kind="stable")
        nearest = [row for row in order[: self.neighbours + len(exclude)] if self.examples[row].id not in exclude]
        nearest = nearest[: self.neighbours]
        votes: dict[int, float] = {}
        for example in nearest:
            weight = float(max(similarity[example], 0.0)) ** self.sharpness
            for row in self._uses[example]:
                votes[int(row)] = votes.get(int(row), 0.0) + weight
        return votes

    def search(self, query: str, k: int = 10, *, exclude: frozenset[str] = frozenset()) -> list[Hit[Declaration]]:
        query = validate_query(query, k)
        ranked = sorted(self.scores(query, exclude=exclude).items(), key=lambda pair: (-pair[1], pair[0]))[:k]
        return [
            Hit(item=self.declarations[row], score=score, rank=rank, source=self.source)
            for rank, (row, score) in enumerate(ranked, start=1)
        ]
