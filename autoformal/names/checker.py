"""`NameChecker`: which constants a statement references that its Lean environment does not have.

Resolution follows Lean's rules, statically and conservatively: a name is *unknown* only when we are sure no
declaration answers to it, because a false "unknown identifier" would throw away a good candidate.

- Bound variables (declaration binders, quantifiers, `fun`, set-builder, big operators, `let`, patterns) and
  projections of them (`h.le`, `s.card`) are never constants (`autoformal.syntax.scope.free_identifiers`).
- A single letter, optionally with digits, subscripts or primes (`α`, `n₁`, `x'`), may be an auto-bound
  implicit; notation (`ℝ`, `𝓝`, `ℝ≥0∞`, `conj`) is not a constant: neither is checked.
- `n` resolves to `ns.n` for each namespace the header or the statement opens (`open Real Nat` → `sqrt` is
  `Real.sqrt`), each enclosing `namespace`, and the root; `_root_.n` only to `n`. Names declared by the
  header (`def`, `abbrev`, `variable` binders, notation) and by the answer preamble are known.
- If the full name is missing but a prefix is a constant, the rest is field notation: on a theorem or a
  constant (`Real.pi.foo`) it depends on a type we do not know, so the name is *unverified*, not unknown;
  on a function it must name a `Function` declaration.
- A missing member of a structure, class or inductive may be a field, constructor or generated declaration
  (absent from source-parsed corpora), and a missing member of a namespace that Lean core or Batteries
  also populate (`Nat`, `List`, ...) may be a core declaration: both are *unverified*. Reached through
  `open Nat` rather than written `Nat.x`, a core member must also look like one (a generated name such as
  `rec`, or built from words known names use, as `succ_le_of_lt` is): else every misspelt name under the
  default header's `open ... Nat` would be unverified instead of auto-bound.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field

from autoformal.names.core import EXTERNAL_NAMESPACES, GENERATED_MEMBERS, NOTATIONS
from autoformal.names.suggest import NameSuggester
from autoformal.names.table import BINDER_NAMES, NameKind, NameTable
from autoformal.syntax import Document, parse_document


class UnknownName(BaseModel):
    """A name no declaration answers to, with the closest names that do."""

    model_config = ConfigDict(frozen=True)

    name: str
    suggestions: list[str] = Field(default_factory=list, description="Closest known names, best first.")

    def describe(self) -> str:
        hint = f" (did you mean {', '.join(self.suggestions)}?)" if self.suggestions else ""
        return f"{self.name}{hint}"


class NameCheckResult(BaseModel):
    """The verdict on one statement. `parsed=False`: the grammar did not read it, so nothing was checked."""

    model_config = ConfigDict(frozen=True)

    parsed: bool
    unknown: list[UnknownName] = Field(default_factory=list, description="Names Lean will reject.")
    auto_bound: list[UnknownName] = Field(
        default_factory=list,
        description="Undotted unknown names that Lean's default `autoImplicit` turns into implicit variables: "
        "the statement elaborates, but quantifies over them (`sqrt x` with `sqrt` an arbitrary function).",
    )
    unverified: list[str] = Field(
        default_factory=list, description="Names that could not be checked statically (fields, core members)."
    )
    unverified_suggestions: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Close known names for unverified names that do not look like core members (`List.lenght`).",
    )

    @property
    def ok(self) -> bool:
        """No name is certainly unknown (unparsed statements are not judged)."""
        return not self.unknown

    def describe(self) -> str:
        if not self.parsed:
            return "names not checked: the statement does not parse"
        parts = []
        if self.unknown:
            parts.append("unknown identifier(s): " + "; ".join(u.describe() for u in self.unknown))
        if self.auto_bound:
            parts.append("auto-bound as variables: " + "; ".join(u.describe() for u in self.auto_bound))
        if self.unverified:
            # Not evidence either way: say so, so "no unknown names" is not read as "every name exists".
            verdict = "" if parts else "no unknown names; "
            described = [
                UnknownName(name=n, suggestions=self.unverified_suggestions.get(n, [])).describe()
                for n in self.unverified
            ]
            parts.append(f"{verdict}not checkable without Lean (may exist): " + ", ".join(described))
        return ". ".join(parts) or "all names resolve"


# A single letter (Lean's auto-bound implicit names), optionally followed by digits, subscripts, primes.
_AUTO_BOUND = re.compile(r"^[^\W\d_][\d₀-₉ₐ-ₜᵢ-ᵪ'!?]*$")
_AUTO_IMPLICIT_OFF = re.compile(r"set_option\s+autoImplicit\s+false")
_IDENT_CHAR = re.compile(r"^[\w'!?.«»]+$")
_DECLARED = re.compile(
    r"^\s*(?:@\[[^\]]*\]\s*)?(?:(?:private|protected|noncomputable|nonrec|partial|unsafe|local|scoped|public)\s+)*"
    r"(def|abbrev|theorem|lemma|instance|structure|class(?:\s+inductive|\s+abbrev)?|inductive|opaque|axiom"
    r"|irreducible_def)\s+([^\s:({\[⦃]+)",
    re.MULTILINE,
)
_NOTATION = re.compile(r"\b(?:notation|infix[lr]?|prefix|postfix|macro|syntax)\b[^\n]*", re.MULTILINE)
_QUOTED = re.compile(r'"([^"]+)"')
_VARIABLE = re.compile(r"^\s*variable\b([^\n]*)", re.MULTILINE)
_KEYWORD_KINDS = {"structure": NameKind.STRUCTURE, "class": NameKind.CLASS, "inductive": NameKind.INDUCTIVE}
# Kinds whose missing direct members may be fields or constructors the corpus does not list.
_OPAQUE_MEMBERS = frozenset({NameKind.CLASS, NameKind.INDUCTIVE})


def _maybe_member(short: str, table: NameTable) -> bool:
    """Whether `short` could be a field or generated member of a structure: a field name Mathlib projects
    somewhere, a parent projection (`toMonoid`), or a name Lean generates for every structure."""
    return short in table.fields or short in GENERATED_MEMBERS or (short.startswith("to") and short[2:3].isupper())


def _is_notation(name: str) -> bool:
    """Notation the grammar reads as an identifier (`ℝ`, `𝓝`, `ℝ≥0∞`): anything outside identifier
    characters, or in the letter-like and mathematical alphanumeric blocks Mathlib's notations use."""
    if name in NOTATIONS or (name.startswith("_") and not name.startswith("_root_.")) or not _IDENT_CHAR.match(name):
        return True
    return any("\u2100" <= ch <= "\u214f" or "\U0001d400" <= ch <= "\U0001d7ff" for ch in name)


@dataclass
class Scope:
    """What a statement's header and preamble bring into scope."""

    opens: list[str] = field(default_factory=list)
    declared: dict[str, NameKind] = field(default_factory=dict)
    locals: set[str] = field(default_factory=set)

    def add_commands(self, text: str) -> None:
        """`open`/`namespace` lines, declarations, `variable` binders and notation tokens of source text."""
        for line in text.splitlines():
            words = line.split()
            if not words:
                continue
            if words[0] == "open":
                # `open scoped X` brings only notation, `open X (a b)` only a and b; opening all of X
                # is the superset that can only make fewer names unknown.
                skip = {"scoped", "hiding", "renaming", "in", "→", "=>"}
                self.opens += [w.strip("()") for w in words[1:] if w.strip("()") and w not in skip]
            elif words[0] == "namespace" and len(words) > 1:
                parts = words[1].split(".")
                self.opens += [".".join(parts[: i + 1]) for i in range(len(parts))]
        for match in _DECLARED.finditer(text):
            keyword, name = match.group(1).split()[0], match.group(2)
            self.declare(name, _KEYWORD_KINDS.get(keyword, NameKind.VALUE))
        for match in _VARIABLE.finditer(text):
            for group in BINDER_NAMES.findall(match.group(1)):
                self.locals.update(group.split())
        for match in _NOTATION.finditer(text):
            self.locals.update(_QUOTED.findall(match.group(0)))

    def declare(self, name: str, kind: NameKind) -> None:
        self.declared[name] = kind
        for ns in self.opens:  # a declaration inside `namespace X` is X.name
            self.declared.setdefault(f"{ns}.{name}", kind)


class NameChecker:
    """Checks that every constant a statement references exists in `table` (see the module docstring for
    the resolution rules). Thread-safe: it only reads the table."""

    def __init__(self, table: NameTable, *, max_suggestions: int = 3) -> None:
        self.table = table
        self.max_suggestions = max_suggestions
        self.suggester = NameSuggester(table)

    def check(self, statement: str, header: str = "") -> NameCheckResult:
        """Check `statement` (answer preamble + theorem, or one declaration) under `header`'s opens and
        declarations. Statements the grammar cannot read are returned with `parsed=False`."""
        try:
            document = parse_document(statement)
        except Exception:  # a syntax error, or a grammar bug: neither may fail a candidate's name check
            return NameCheckResult(parsed=False)
        return self.check_document(document, header)

    def check_document(self, document: Document, header: str = "") -> NameCheckResult:
        scope = Scope()
        scope.add_commands(header)
        for command in document.commands:
            scope.add_commands(command.text)
        for decl in document.declarations:
            if decl.name:
                scope.declare(decl.name, _KEYWORD_KINDS.get(decl.keyword, NameKind.VALUE))
        verdicts: dict[str, str] = {}
        for decl in document.declarations:
            for name in decl.identifiers:
                verdicts.setdefault(name, self._resolve(name, scope))
        for name, verdict in verdicts.items():
            # Lean is case-sensitive, and no core member differs from a Mathlib name only in case: a qualified
            # `Nat.prime` (for `Nat.Prime`) is certainly unknown, though `Nat` is a core namespace. Undotted
            # names reached through `open` (`norm` beside the class `Norm`) may be exported fields: unverified.
            if (
                verdict == "unverified"
                and "." in name
                and name not in self.table.mentioned
                and self.suggester.case_variants(name)
            ):
                verdicts[name] = "unknown"
        # Lean's default `autoImplicit`/`relaxedAutoImplicit` bind any undotted unknown name in a signature.
        auto_implicit = _AUTO_IMPLICIT_OFF.search(header) is None
        for name, verdict in verdicts.items():
            if verdict == "unknown" and auto_implicit and "." not in name:
                verdicts[name] = "auto_bound"
        return NameCheckResult(
            parsed=True,
            unknown=[
                UnknownName(name=n, suggestions=self._suggest(n, scope)) for n, v in verdicts.items() if v == "unknown"
            ],
            auto_bound=[
                UnknownName(name=n, suggestions=self._suggest(n, scope))
                for n, v in verdicts.items()
                if v == "auto_bound"
            ],
            unverified=[n for n, v in verdicts.items() if v == "unverified"],
            unverified_suggestions={
                n: found
                for n, v in verdicts.items()
                if v == "unverified"
                and not self.table.uses_known_words(n.rpartition(".")[2])
                and (found := self._suggest(n, scope))
            },
        )

    # -- resolution ---------------------------------------------------------------------------------------

    def _known(self, name: str, scope: Scope) -> NameKind | None:
        return scope.declared.get(name) or self.table.kind(name)

    def _candidates(self, name: str, scope: Scope) -> list[str]:
        if name.startswith("_root_."):
            return [name.removeprefix("_root_.")]
        return [name, *(f"{ns}.{name}" for ns in scope.opens)]

    def _resolve(self, name: str, scope: Scope) -> str:
        """ "known", "unknown" or "unverified" (the caller decides which unknown names are auto-bound)."""
        if _is_notation(name) or name in scope.locals or _AUTO_BOUND.match(name.split(".", 1)[0]):
            return "known"
        candidates = self._candidates(name, scope)
        if any(self._known(c, scope) is not None for c in candidates):
            return "known"
        written = candidates[0]
        return "unverified" if any(self._unverifiable(c, scope, c == written) for c in candidates) else "unknown"

    def _unverifiable(self, full: str, scope: Scope, written: bool) -> bool:
        """Whether the missing name `full` could still exist: field notation on a constant of unknown type,
        a member of a type (fields, constructors) or of a namespace that Lean core populates. A class's or
        inductive's unlisted members count only when written qualified (`Fintype.elems`): through
        `open TopologicalSpace`, every misspelt name would otherwise be a possible field."""
        if full in self.table.mentioned:
            return True
        parts = full.split(".")
        for i in range(1, len(parts)):
            prefix, rest = ".".join(parts[:i]), ".".join(parts[i:])
            kind = self._known(prefix, scope)
            if kind is NameKind.VALUE or (written and kind in _OPAQUE_MEMBERS and i == len(parts) - 1):
                return True
            if kind is NameKind.FUNCTION and self._known(f"Function.{rest}", scope) is not None:
                return True
            if kind is NameKind.STRUCTURE and i == len(parts) - 1 and _maybe_member(rest, self.table):
                return True
        namespace = full.rpartition(".")[0]
        if not any(namespace == ns or namespace.startswith(f"{ns}.") for ns in EXTERNAL_NAMESPACES):
            return False
        if written:
            return True
        # Through `open Nat`, `Finset.foo` is also tried as `Nat.Finset.foo`: only a namespace that exists
        # can hide a core declaration, and only a name that could be one (not `sqrtt`).
        short = parts[-1]
        return (namespace in EXTERNAL_NAMESPACES or self.table.is_namespace(namespace)) and (
            short in GENERATED_MEMBERS or self.table.uses_known_words(short)
        )

    def _suggest(self, name: str, scope: Scope) -> list[str]:
        return self.suggester.suggest(name, scope.opens, self.max_suggestions)

    def suggest(self, name: str, header: str = "") -> list[str]:
        """The known names an unknown ``name`` most likely meant, under ``header``'s opens (best first)."""
        scope = Scope()
        scope.add_commands(header)
        return self._suggest(name, scope)
