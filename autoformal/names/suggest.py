"""Suggestions for an unknown identifier: the real declarations it most likely meant.

Three kinds of near miss, tried in this order (the first tiers are the more certain):

1. the same name in another case (`Nat.prime` → `Nat.Prime`), as written or under an opened namespace;
2. the same last component in another namespace, i.e. a missing `open` (`sqrt` → `Real.sqrt`);
3. a small edit (Damerau–Levenshtein, so a swap of two letters is one edit: `List.lenght` → `List.length`),
   case-insensitive, among the members of the namespace as written and of the opened ones.

Within a tier, definitions, structures and classes come before other constants (theorems), then names
that many declarations are named after (`Real.sqrt_nonneg`, `Real.sqrt_lt` ... make `Real.sqrt` more
likely than `NNReal.sqrt`), then shorter names. `NameChecker` attaches these to unknown names; a repair
prompt can call `suggest_names` directly.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field

from autoformal.names.core import CORE_MEMBERS
from autoformal.names.table import NameKind, NameTable

#: Kinds a statement is likely to mean (not lemmas or constants).
_PREFERRED = frozenset({NameKind.FUNCTION, NameKind.STRUCTURE, NameKind.CLASS, NameKind.INDUCTIVE})


def edit_distance(a: str, b: str, limit: int) -> int:
    """Damerau–Levenshtein distance (adjacent swaps cost 1), or ``limit + 1`` once it must exceed ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            cost = ca != cb
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def allowed_edits(short: str) -> int:
    """Edits tolerated for a last component of this length: none below 4 letters (`lt` vs `le` are both
    real and different), one up to 6, two beyond."""
    return 0 if len(short) < 4 else 1 if len(short) <= 6 else 2


@dataclass
class _Indexes:
    """Look-up structures over a table's names, built on the first suggestion."""

    lower: dict[str, list[str]] = field(default_factory=dict)
    by_short: dict[str, list[str]] = field(default_factory=dict)
    children: dict[str, list[str]] = field(default_factory=dict)
    sorted_names: list[str] = field(default_factory=list)


class NameSuggester:
    """Ranked suggestions from one `NameTable` (indexes are built lazily, once)."""

    def __init__(self, table: NameTable) -> None:
        self.table = table
        self._indexes: _Indexes | None = None

    def _build(self) -> _Indexes:
        if self._indexes is None:
            indexes = _Indexes()
            for name in self.table.names():
                indexes.lower.setdefault(name.lower(), []).append(name)
                namespace, _, short = name.rpartition(".")
                indexes.by_short.setdefault(short.lower(), []).append(name)
                indexes.children.setdefault(namespace, []).append(short)
            for name in CORE_MEMBERS:
                if self.table.kind(name) is None:
                    indexes.lower.setdefault(name.lower(), []).append(name)
            indexes.sorted_names = sorted(self.table.names())
            self._indexes = indexes
        return self._indexes

    def _popularity(self, name: str) -> int:
        """How many declarations are named after ``name`` (``name_...`` or ``name.…``), capped."""
        names = self._build().sorted_names
        count = 0
        for separator in ("_", "."):
            start = bisect.bisect_left(names, name + separator)
            end = bisect.bisect_left(names, name + chr(ord(separator) + 1))
            count += min(end - start, 1000)
        return count

    def _rank_key(self, name: str) -> tuple[int, int, int]:
        kind = self.table.kind(name)
        return (0 if kind in _PREFERRED else 1, -self._popularity(name), len(name))

    def case_variants(self, name: str, opens: Sequence[str] = ()) -> list[str]:
        """Known names that differ from ``name`` only in case, as written or under an opened namespace."""
        indexes = self._build()
        bare = name.removeprefix("_root_.")
        spaces = [bare] if name.startswith("_root_.") else [bare, *(f"{ns}.{bare}" for ns in opens)]
        found = [hit for space in spaces for hit in indexes.lower.get(space.lower(), []) if hit != space]
        return sorted(dict.fromkeys(found), key=self._rank_key)

    def suggest(self, name: str, opens: Sequence[str] = (), n: int = 3) -> list[str]:
        """Up to ``n`` known names ``name`` probably meant, best first ([] if nothing is close)."""
        indexes = self._build()
        root = name.startswith("_root_.")
        bare = name.removeprefix("_root_.")
        namespace, _, short = bare.rpartition(".")
        spaces = (
            [namespace] if root else list(dict.fromkeys([namespace, *(f"{ns}.{namespace}".strip(".") for ns in opens)]))
        )
        chosen: dict[str, None] = {}

        def take(candidates: list[str]) -> None:
            for candidate in sorted(dict.fromkeys(candidates), key=self._rank_key):
                if candidate != bare and len(chosen) < n:
                    chosen.setdefault(candidate, None)

        # 1. Another case, as written or under an opened namespace.
        take(self.case_variants(name, opens))
        # 2. The same last component elsewhere: a missing `open` or a wrong namespace.
        if len(chosen) < n and len(short) >= 3:
            take(indexes.by_short.get(short.lower(), []))
        # 3. A small edit within the namespaces in scope (core members only where written: `List.lenght`).
        limit = allowed_edits(short)
        if len(chosen) < n and limit:
            lowered = short.lower()
            scored: list[tuple[int, str]] = []
            for space in spaces:
                members = list(indexes.children.get(space, []))
                if space == namespace:
                    members += [m.rpartition(".")[2] for m in CORE_MEMBERS if m.rpartition(".")[0] == space]
                for member in members:
                    distance = edit_distance(lowered, member.lower(), limit)
                    if distance <= limit:
                        scored.append((distance, f"{space}.{member}".strip(".")))
            for distance in sorted({d for d, _ in scored}):
                take([candidate for d, candidate in scored if d == distance])
        return list(chosen)


def suggest_names(table: NameTable, name: str, opens: Sequence[str] = (), n: int = 3) -> list[str]:
    """The known names ``name`` most likely meant, best first (a one-off; reuse a `NameSuggester` for many)."""
    return NameSuggester(table).suggest(name, opens, n)
