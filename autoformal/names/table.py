"""`NameTable`: the constants a Lean + Mathlib environment knows, for checking names without Lean.

The table holds every declaration name of a corpus (with a coarse kind, which name resolution needs), every
namespace those names live in, and Lean core's names that Mathlib statements use (`autoformal.names.core`).
It loads from a declaration JSONL(.gz) (as `autoformal index build --corpus` takes), from a retrieval index
directory (its `declarations.jsonl`), or from a names file written by `NameTable.save` (fastest).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from autoformal.corpus.errors import CorpusError
from autoformal.corpus.jsonl import iter_json_records
from autoformal.corpus.models import Declaration
from autoformal.names.core import CORE_NAMES, EXTERNAL_NAMESPACES


class NameKind(str, Enum):
    """What name resolution needs to know about a constant.

    STRUCTURE: a structure; its fields and generated members (`mk`, `ext`, `toParent`) are not in a
    source-parsed corpus (field names Mathlib projects are in `NameTable.fields`).
    CLASS: a class, whose fields (`Fintype.elems`, `Semigroup.mul_assoc`) are not in the corpus either and
    look like any other member: a missing member may be one.
    INDUCTIVE: an inductive type, whose constructors are not in the corpus: a missing member may be one.
    FUNCTION: a definition with explicit arguments; `f.foo` is generalized field notation into `Function`.
    VALUE: any other constant (theorems, constants such as `Real.pi`); `c.foo` is field notation whose
    namespace depends on c's type, which we do not know.
    """

    STRUCTURE = "S"
    CLASS = "C"
    INDUCTIVE = "I"
    FUNCTION = "F"
    VALUE = "V"


_CLASS_KINDS = frozenset({"class", "class abbrev"})
_INDUCTIVE_KINDS = frozenset({"inductive", "class inductive"})
_DEFINITION_KINDS = frozenset({"def", "abbrev", "irreducible_def", "opaque", "instance"})
NAMES_FILE_HEADER = "# autoformal names v1"
#: The names file `autoformal index build` writes into every index directory.
INDEX_NAMES_FILE = "names.tsv"
MENTIONED, FIELD = "M", "P"  # names-file kinds of `NameTable.mentioned` and `NameTable.fields` entries
#: Declarations every Mathlib has (number theory, analysis, big operators, measure theory): a table missing
#: one is a fragment (a test's or a benchmark's subset index), in which real Mathlib names look unknown.
MATHLIB_SENTINELS: frozenset[str] = frozenset(
    {"Nat.Prime", "Real.sqrt", "Finset.sum_range_succ", "MeasureTheory.Measure"}
)
_DECLARATIONS_LINE, _COMPLETE_LINE = "# declarations ", "# looks_complete "


@dataclass(frozen=True)
class NamesFileInfo:
    """What a names file's header says about its table, read without loading it. `None`: a file written
    before names files carried the field (load it and ask `NameTable.looks_complete`)."""

    declarations: int | None
    looks_complete: bool | None


def read_names_info(path: str | Path) -> NamesFileInfo:
    """The header of a names file (or of an index directory's), e.g. to skip a fragment before loading it."""
    source = Path(path).expanduser()
    if source.is_dir():
        source = source / INDEX_NAMES_FILE
    declarations: int | None = None
    complete: bool | None = None
    try:
        with source.open(encoding="utf-8") as handle:
            if not handle.readline().startswith(NAMES_FILE_HEADER):
                raise CorpusError(f"{source} is not an autoformal names file (no {NAMES_FILE_HEADER!r} line)")
            for line in handle:
                if not line.startswith("#"):
                    break
                if line.startswith(_DECLARATIONS_LINE):
                    declarations = int(line.removeprefix(_DECLARATIONS_LINE))
                elif line.startswith(_COMPLETE_LINE):
                    complete = line.removeprefix(_COMPLETE_LINE).strip() == "true"
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise CorpusError(f"cannot read names file {source}: {exc}") from exc
    return NamesFileInfo(declarations=declarations, looks_complete=complete)


def kind_of(kind: str, signature: str) -> NameKind:
    """The `NameKind` of a corpus record (`kind` as in decls.jsonl, `signature` its binders and type)."""
    if kind == "structure":
        return NameKind.STRUCTURE
    if kind in _CLASS_KINDS:
        return NameKind.CLASS
    if kind in _INDUCTIVE_KINDS:
        return NameKind.INDUCTIVE
    if kind in _DEFINITION_KINDS and signature.lstrip().startswith("("):
        return NameKind.FUNCTION
    return NameKind.VALUE


def _namespaces_of(name: str) -> Iterator[str]:
    parts = name.split(".")
    for i in range(1, len(parts)):
        yield ".".join(parts[:i])


class NameTable:
    """Known constant names with their kinds, the namespaces they populate, and close-match suggestions."""

    def __init__(
        self,
        names: dict[str, NameKind],
        *,
        mentioned: Iterable[str] = (),
        fields: Iterable[str] = (),
        source: str = "",
    ) -> None:
        self.source = source
        self._kinds = dict(names)
        #: Names Mathlib writes in signatures that no declaration explains from where they are written:
        #: exported class fields (`dist`, `sSup`, `volume`), generated declarations (`IsGreatest`, the
        #: `@[to_dual]` twin of `IsLeast`), names from `open`ed namespaces. Each is recorded under every
        #: prefix of the writing declaration's namespace. They probably exist; we do not know where.
        self.mentioned: frozenset[str] = frozenset(mentioned)
        #: Field names Mathlib projects out of bound variables (`s.carrier`): a structure's missing member
        #: with one of these names may be a field.
        self.fields: frozenset[str] = frozenset(fields)
        for name in CORE_NAMES:
            # Core types and classes (`Nat`, `HAdd`) have members we do not list; lower-case names are values.
            self._kinds.setdefault(name, NameKind.CLASS if name[:1].isupper() else NameKind.VALUE)
        self.namespaces: frozenset[str] = frozenset(
            ns for name in self._kinds for ns in _namespaces_of(name)
        ) | EXTERNAL_NAMESPACES
        self._words: frozenset[str] | None = None

    @classmethod
    def from_names(cls, names: Iterable[str | tuple[str, NameKind]], *, source: str = "") -> NameTable:
        """From bare names (kind VALUE) or `(name, kind)` pairs — e.g. a test's tiny environment."""
        kinds: dict[str, NameKind] = {}
        for item in names:
            name, kind = (item, NameKind.VALUE) if isinstance(item, str) else item
            kinds[name] = kind
        return cls(kinds, source=source)

    @classmethod
    def load(cls, path: str | Path) -> NameTable:
        """From a names file (`save`), a retrieval index directory, or a declaration JSONL(.gz) corpus.

        A JSONL corpus also gets its synthesized `@[to_additive]` twins (`Finset.sum` from `Finset.prod`),
        exactly as `autoformal index build` adds them; an index already holds them, and its names file.
        """
        source = Path(path).expanduser()
        if source.is_dir() and (source / INDEX_NAMES_FILE).is_file():
            source = source / INDEX_NAMES_FILE
        if source.is_dir():  # an index built before indexes carried a names file
            declarations = source / "declarations.jsonl"
            if not declarations.is_file():
                raise CorpusError(f"{source} is not a retrieval index (no declarations.jsonl); build one first")
            records = (
                (r["name"], r.get("kind") or "", r.get("signature") or "", r.get("variables") or (), r.get("namespace"))
                for _, r in iter_json_records(declarations)
                if r.get("name")
            )
            return cls.from_records(records, source=str(source))
        if not source.is_file():
            raise CorpusError(f"names source not found: {source} (a names file, index directory or decls JSONL)")
        with source.open("rb") as handle:
            first = handle.readline()
        if first.startswith(NAMES_FILE_HEADER.encode()):
            kinds: dict[str, NameKind] = {}
            extra: dict[str, list[str]] = {MENTIONED: [], FIELD: []}
            for name, kind in _read_names_file(source):
                if kind in extra:
                    extra[kind].append(name)
                else:
                    kinds[name] = NameKind(kind)
            return cls(kinds, mentioned=extra[MENTIONED], fields=extra[FIELD], source=str(source))
        from autoformal.corpus import load_declarations

        return cls.from_declarations(load_declarations(source).declarations, source=str(source))

    @classmethod
    def from_declarations(cls, declarations: Iterable[Declaration], *, source: str = "") -> NameTable:
        """From corpus `Declaration`s (what an index or `load_declarations` holds)."""
        records = ((d.name, d.kind, d.signature, d.variables, d.namespace) for d in declarations)
        return cls.from_records(records, source=source)

    @classmethod
    def from_records(
        cls, records: Iterable[tuple[str, str, str, Sequence[str], str | None]], *, source: str = ""
    ) -> NameTable:
        """From `(name, kind, signature, variables, namespace)` declaration records (kinds as in decls.jsonl)."""
        kinds: dict[str, NameKind] = {}
        texts: list[tuple[str, str]] = []
        for name, kind, signature, variables, namespace in records:
            kinds[name] = kind_of(kind, signature)
            texts.append((namespace or "", " ".join([signature, *variables])))
        mentioned, fields = _unexplained_mentions(texts, kinds)
        return cls(kinds, mentioned=mentioned, fields=fields, source=source)

    def save(self, path: str | Path) -> None:
        """Write a compact names file (`name<TAB>kind` lines) that `load` reads in a fraction of a second. Its
        header records `declarations` and `looks_complete` (`read_names_info` reads them alone)."""
        core = set(CORE_NAMES)
        header = [
            NAMES_FILE_HEADER,
            f"{_DECLARATIONS_LINE}{self.declarations}",
            f"{_COMPLETE_LINE}{str(self.looks_complete).lower()}",
        ]
        lines = [f"{name}\t{kind.value}" for name, kind in sorted(self._kinds.items()) if name not in core]
        lines += [f"{name}\t{MENTIONED}" for name in sorted(self.mentioned)]
        lines += [f"{name}\t{FIELD}" for name in sorted(self.fields)]
        Path(path).write_text("\n".join([*header, *lines]) + "\n", encoding="utf-8")

    @property
    def declarations(self) -> int:
        """How many declarations the table holds besides Lean core's names (those it always has)."""
        return sum(name not in CORE_NAMES for name in self._kinds)

    @property
    def looks_complete(self) -> bool:
        """Whether this looks like a whole Mathlib (it has every `MATHLIB_SENTINELS` declaration) rather than
        a fragment, against which real Mathlib names would look unknown."""
        return all(name in self._kinds for name in MATHLIB_SENTINELS)

    def __len__(self) -> int:
        return len(self._kinds)

    def __contains__(self, name: object) -> bool:
        return name in self._kinds

    def kind(self, name: str) -> NameKind | None:
        return self._kinds.get(name)

    def is_namespace(self, name: str) -> bool:
        return name in self.namespaces

    def names(self) -> Iterable[str]:
        """Every known constant name (Lean core's root names included)."""
        return self._kinds.keys()

    def uses_known_words(self, short: str) -> bool:
        """Whether every `_`-separated word of `short` (`succ_le_of_lt` → succ, le, of, lt) is a word of some
        known or mentioned name: the test for a plausible member of a namespace we cannot list (Lean core's
        `Nat`), whose names are built from the same words. `sqrtt` or `sqroot` is built from none."""
        if self._words is None:  # built on first use: most checks never need it
            self._words = frozenset(
                word
                for names in (self._kinds, self.mentioned)
                for name in names
                for part in name.split(".")
                for word in part.split("_")
            )
        return all(word in self._words for word in short.split("_") if word)


_TOKEN = re.compile(r"(?<![\w.'!?])[^\W\d][\w'!?₀-₉]*(?:\.[^\W\d][\w'!?₀-₉]*)*")
#: The names a binder group (`(x y : α)`, `{n : ℕ}`, `[h : P]`) introduces: group 1, space-separated.
BINDER_NAMES = re.compile(r"[({\[⦃]\s*([^:(){}\[\]⦃⦄]+?)\s*:")
_QUANTIFIED = re.compile(r"(?:∀|∃!?|fun|λ|∑|∏|⋃|⋂)\s+([^,:↦]+?)\s*(?:[,:↦]|=>|∈)")


def _unexplained_mentions(records: Iterable[tuple[str, str]], kinds: dict[str, NameKind]) -> tuple[set[str], set[str]]:
    """What the corpus is missing, from `(namespace, signature text)` records: identifiers a signature uses
    that are not bound in it and that no declaration answers to from the signature's namespace (each
    recorded under every prefix of that namespace, as Lean would resolve it there), and the field names
    of projections of bound variables (`s.carrier` → `carrier`) that name no declaration."""
    mentioned: set[str] = set()
    fields: set[str] = set()
    for namespace, text in records:
        parts = namespace.split(".") if namespace else []
        prefixes = [".".join(parts[:i]) + "." for i in range(len(parts), 0, -1)] + [""]
        bound = {n for group in BINDER_NAMES.findall(text) + _QUANTIFIED.findall(text) for n in group.split()}
        for token in set(_TOKEN.findall(text)):
            head, _, rest = token.partition(".")
            if head in bound:
                if rest and "." not in rest and rest not in kinds:
                    fields.add(rest)
            elif not any(p + token in kinds for p in prefixes):
                mentioned.update(p + token for p in prefixes)
    return mentioned, fields


def _read_names_file(path: Path) -> Iterator[tuple[str, str]]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("#") or not line.strip():
                continue
            name, _, kind = line.rstrip("\n").partition("\t")
            yield name, kind or NameKind.VALUE.value
