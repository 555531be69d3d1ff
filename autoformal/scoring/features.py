"""What the deterministic scorers compare: facts read off the informal text (LaTeX-aware regexes) and off a
candidate's term tree (numbers, relations, quantifiers, number domains). Kept separate from the scorers so
each fact is computed once and can be tested on its own."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction

from autoformal.syntax import Document, Term

# ---------------------------------------------------------------------------------------------- informal

_LATEX_SUBSTITUTIONS = (
    (re.compile(r"\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}"), r"(\1)/(\2)"),
    (re.compile(r"\\(?:leq?|leqslant)(?![A-Za-z])"), "≤"),
    (re.compile(r"\\(?:geq?|geqslant)(?![A-Za-z])"), "≥"),
    (re.compile(r"\\(?:neq?)(?![A-Za-z])"), "≠"),
    (re.compile(r"\\lt(?![A-Za-z])"), "<"),
    (re.compile(r"\\gt(?![A-Za-z])"), ">"),
    (re.compile(r"\\mid(?![A-Za-z])"), "∣"),
    (re.compile(r"\\(?:exists)(?![A-Za-z])"), "∃"),
    (re.compile(r"\\(?:forall)(?![A-Za-z])"), "∀"),
    (re.compile(r"\\mathbb\s*\{?\s*([NZQRC])\s*\}?"), r"<\1>"),
)
_BLACKBOARD = {"<N>": "ℕ", "<Z>": "ℤ", "<Q>": "ℚ", "<R>": "ℝ", "<C>": "ℂ"}
_UNICODE_FRACTIONS = {"½": "1/2", "⅓": "1/3", "⅔": "2/3", "¼": "1/4", "¾": "3/4", "⅕": "1/5", "⅙": "1/6", "⅛": "1/8"}
_NUMBER_WORDS: dict[str, int | Fraction] = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "twice": 2, "thrice": 3, "half": Fraction(1, 2),
}  # fmt: skip
# A number not glued to a subscript (`z_1`, `a_{12}` are names, not constants) or to a word.
_NUMBER = re.compile(r"(?<![_\w.])(?<!_\{)(\d+(?:\.\d+)?)(?:\s*\)?\s*/\s*\(?\s*(\d+(?:\.\d+)?))?(?![\w.]*\})?")
_WORD = re.compile(r"[A-Za-z]+")

_RELATION_WORDS = (
    (re.compile(r"\bat most\b|\bless than or equal|\bno (?:more|greater) than\b|\bnot exceed", re.I), "≤"),
    (re.compile(r"\bat least\b|\bgreater than or equal|\bno (?:less|fewer|smaller) than\b", re.I), "≤"),
    (re.compile(r"\b(?:strictly )?(?:less|smaller|greater|larger|bigger) than\b(?! or equal)", re.I), "<"),
    (re.compile(r"\bnon-?zero\b|\bdistinct\b|\bnot equal\b|\bdifferent\b|\bunequal\b", re.I), "≠"),
    (re.compile(r"\bdivides\b|\bdivisible\b|\bdivisor", re.I), "∣"),
)
_EXISTS_WORDS = re.compile(
    r"\bthere (?:exist|exists|is|are)\b|\bexists?\b|\bcan be (?:found|chosen|written)\b|\bfind\b|∃|\bsome\b", re.I
)
_UNIQUE_WORDS = re.compile(r"\bunique(?:ly)?\b|\bexactly one\b|∃!", re.I)
_FORALL_WORDS = re.compile(r"\bfor (?:all|every|each|any)\b|\bevery\b|\bany\b|\ball\b|∀", re.I)
_INFINITE_WORDS = re.compile(r"\binfinitely many\b|\binfinite\b", re.I)

_DOMAIN_WORDS = (
    (re.compile(r"\bnatural numbers?\b|\bpositive integers?\b|\bnon-?negative integers?\b", re.I), "ℕ"),
    (re.compile(r"\bintegers?\b|\bintegral\b", re.I), "ℤ"),
    (re.compile(r"\brationals?\b(?! function)|\brational numbers?\b", re.I), "ℚ"),
    (re.compile(r"\breals?\b|\breal numbers?\b|\breal-valued\b", re.I), "ℝ"),
    (re.compile(r"\bcomplex\b", re.I), "ℂ"),
)
_ANSWER = re.compile(
    r"(?:show|prove|verify)\s+that\s+(?:it|this|the (?:answer|value|sum|result|number|product|remainder)"
    r"[^.]{0,40}?)\s+(?:is|equals)\s+(?P<answer>[^\n]+?)\s*\.?\s*$",
    re.I,
)


def normalize_informal(text: str) -> str:
    """The informal text with LaTeX relations, fractions and blackboard letters turned into symbols."""
    for pattern, replacement in _LATEX_SUBSTITUTIONS:
        text = pattern.sub(replacement, text)
    for marker, symbol in _BLACKBOARD.items():
        text = text.replace(marker, symbol)
    for char, fraction in _UNICODE_FRACTIONS.items():
        text = text.replace(char, f" {fraction} ")
    return text


def numbers_in_text(text: str, *, words: bool = True) -> set[Fraction]:
    """Numeric constants written in the text: digits, decimals, fractions (`1/2`, `\\frac{1}{2}`, `½`)
    and (with `words`) number words. Subscript indices are not constants and are skipped."""
    text = normalize_informal(text)
    found: set[Fraction] = set()
    for match in _NUMBER.finditer(text):
        numerator, denominator = match.group(1), match.group(2)
        try:
            value = Fraction(numerator) / Fraction(denominator) if denominator else Fraction(numerator)
        except ZeroDivisionError:
            continue
        found.add(value)
        if denominator:  # `1/2` also means its parts in many statements (`n/2` style)
            found.update((Fraction(numerator), Fraction(denominator)))
    if words:
        for word in _WORD.findall(text):
            spelled = _NUMBER_WORDS.get(word.lower())
            if spelled is not None:
                found.add(Fraction(spelled))
    return found


@dataclass(frozen=True)
class InformalFacts:
    """What the informal statement says, as far as regexes can tell."""

    numbers: frozenset[Fraction]
    relations: frozenset[str]  # direction-free: ≤ covers ≥, < covers >
    mentions_exists: bool
    mentions_unique: bool
    mentions_forall: bool
    mentions_infinite: bool
    domains: frozenset[str]
    answer: str | None
    answer_numbers: frozenset[Fraction]


def informal_facts(text: str) -> InformalFacts:
    normalized = normalize_informal(text)
    relations: set[str] = set()
    for symbol, relation in (("≤", "≤"), ("≥", "≤"), ("<", "<"), (">", "<"), ("≠", "≠"), ("∣", "∣")):
        if symbol in normalized:
            relations.add(relation)
    if re.search(r"(?<![<>!≤≥:=])=(?!=)", normalized):
        relations.add("=")
    for pattern, relation in _RELATION_WORDS:
        if pattern.search(normalized):
            relations.add(relation)
    domains = {symbol for symbol in "ℕℤℚℝℂ" if symbol in normalized}
    for pattern, domain in _DOMAIN_WORDS:
        if pattern.search(normalized):
            domains.add(domain)
    answer_match = _ANSWER.search(normalized)
    answer = answer_match.group("answer").strip(" $") if answer_match else None
    return InformalFacts(
        numbers=frozenset(numbers_in_text(normalized)),
        relations=frozenset(relations),
        mentions_exists=bool(_EXISTS_WORDS.search(normalized)),
        mentions_unique=bool(_UNIQUE_WORDS.search(normalized)),
        mentions_forall=bool(_FORALL_WORDS.search(normalized)),
        mentions_infinite=bool(_INFINITE_WORDS.search(normalized)),
        domains=frozenset(domains),
        answer=answer or None,
        answer_numbers=frozenset(numbers_in_text(answer, words=False)) if answer else frozenset(),
    )


# ---------------------------------------------------------------------------------------------- formal

_DOMAIN_IDENTS = {
    "ℕ": "ℕ", "Nat": "ℕ", "ℤ": "ℤ", "Int": "ℤ", "ℚ": "ℚ", "Rat": "ℚ", "ℝ": "ℝ", "Real": "ℝ", "ℂ": "ℂ",
    "Complex": "ℂ", "ℕ+": "ℕ", "PNat": "ℕ", "NNReal": "ℝ", "ℝ≥0": "ℝ", "ENNReal": "ℝ", "EReal": "ℝ",
}  # fmt: skip
_RELATION_OPS = {"≤": "≤", "≥": "≤", "<": "<", ">": "<", "=": "=", "≠": "≠", "∣": "∣"}
_EXISTS_IDENTS = frozenset({"Exists", "ExistsUnique", "Set.Nonempty", "Nonempty"})
_INFINITE_IDENTS = frozenset({"Set.Infinite", "Infinite", "Filter.Frequently", "Nat.card", "Set.infinite_of"})


@dataclass(frozen=True)
class FormalFacts:
    """What a candidate statement says, read off its term tree (theorem binders, conclusion, preamble)."""

    numbers: frozenset[Fraction]
    relations: Counter[str] = field(hash=False)
    exists: int
    unique: int
    forall: int
    domains: frozenset[str]
    hypotheses: int
    variables: int
    identifiers: frozenset[str]
    mentions_infinite: bool
    answer_slots: frozenset[Fraction] = frozenset()  # numbers a relation compares against, preamble values


def _num(term: Term) -> Fraction | None:
    if term.kind == "num":
        try:
            return Fraction(term.value)
        except ValueError:
            return None
    if term.kind == "ascription" and term.args:  # `(2 : ℝ)` is the number 2
        return _num(term.args[0])
    if term.kind == "bracket" and len(term.args) == 1:
        return _num(term.args[0])
    return None


def _value(term: Term) -> Fraction | None:
    """A number, also when written as a quotient of numbers (`1 / 2`, `(1 : ℝ) / 2`)."""
    if term.kind == "binop" and term.value == "/" and len(term.args) == 2:
        left, right = _value(term.args[0]), _value(term.args[1])
        return left / right if left is not None and right else None
    if term.kind in ("bracket", "ascription") and term.args:
        inner = _value(term.args[0])
        if inner is not None:
            return inner
    return _num(term)


def _terms(document: Document) -> list[Term]:
    """Root terms of the theorem's binders and conclusion, and of the preamble's types and bodies."""
    roots: list[Term] = []
    theorem = document.theorem
    for declaration in [*document.preamble, theorem]:
        roots.extend(b.type for b in declaration.bound if b.type is not None)
        if declaration.conclusion is not None:
            roots.append(declaration.conclusion)
        if declaration is not theorem and declaration.body is not None:
            roots.append(declaration.body)
    return roots


def formal_facts(document: Document) -> FormalFacts:
    numbers: set[Fraction] = set()
    relations: Counter[str] = Counter()
    exists = unique = forall = 0
    domains: set[str] = set()
    idents: set[str] = set()
    slots: set[Fraction] = set()
    for declaration in document.preamble:  # an answer abbrev's value is the answer
        if declaration.body is not None and (value := _value(declaration.body)) is not None:
            slots.add(value)
    for root in _terms(document):
        for node in root.walk():
            value = _num(node)
            if value is not None:
                numbers.add(value)
            if node.kind == "binop":
                if node.value == "/" and len(node.args) == 2:
                    left, right = _num(node.args[0]), _num(node.args[1])
                    if left is not None and right not in (None, 0):
                        assert right is not None
                        numbers.add(left / right)
                if node.value in _RELATION_OPS:
                    relations[_RELATION_OPS[node.value]] += 1
                    slots.update(v for v in map(_value, node.args) if v is not None)
            elif node.kind == "modeq":
                relations["≡"] += 1
            elif node.kind == "quant":
                count = max(len(node.binders), 1)
                if node.value == "∃!":
                    unique += count
                elif node.value.startswith("∃"):
                    exists += count
                elif node.value.startswith("∀"):
                    forall += count
            elif node.kind in ("ident", "dot_ident"):
                idents.add(node.value)
                if node.value in _DOMAIN_IDENTS:
                    domains.add(_DOMAIN_IDENTS[node.value])
                elif node.value in _EXISTS_IDENTS:
                    exists += 1
    theorem = document.theorem
    hypotheses = sum(1 for b in theorem.bound if b.type is not None and _is_proposition(b.type))
    variables = sum(1 for b in theorem.bound if b.kind != "instance") - hypotheses
    return FormalFacts(
        numbers=frozenset(numbers),
        relations=relations,
        exists=exists,
        unique=unique,
        forall=forall + variables,
        domains=frozenset(domains),
        hypotheses=hypotheses,
        variables=variables,
        identifiers=frozenset(idents),
        mentions_infinite=any(i in _INFINITE_IDENTS or i.endswith(".Infinite") for i in idents),
        answer_slots=frozenset(slots),
    )


_PROP_BINOPS = frozenset({"≤", "≥", "<", ">", "=", "≠", "∣", "∧", "∨", "↔", "→", "∈", "∉", "⊆", "⊂", "⊇", "⊃"})


def _is_proposition(term: Term) -> bool:
    """Heuristic: does a binder type state a hypothesis (a Prop) rather than introduce a variable?"""
    if term.kind == "binop":
        return term.value in _PROP_BINOPS and not (term.value == "→" and _is_type_arrow(term))
    if term.kind in ("quant", "modeq", "rel_idx"):
        return True
    if term.kind == "unop":
        return term.value == "¬"
    if term.kind == "app" and term.args and term.args[0].kind == "ident":
        head = term.args[0].value
        # `Continuous f`, `Nat.Prime p`, `IsOpen s`: predicates start with a capital or contain `Is`/`.`;
        # type formers like `Fin n`, `Set α`, `Matrix m n R` are listed.
        return head not in _TYPE_FORMERS and (head[:1].isupper() or "." in head)
    return False


_TYPE_FORMERS = frozenset(
    {"Fin", "Set", "Finset", "List", "Multiset", "Matrix", "Polynomial", "EuclideanSpace", "Subgroup", "Ideal",
     "Submodule", "Option", "Sym2", "ZMod", "GaussianInt", "MvPolynomial", "PowerSeries", "Filter", "Module.End",
     "LinearMap", "Equiv", "Perm", "Equiv.Perm", "Units", "Quotient", "Subfield", "IntermediateField", "Sylow"}
)


def _is_type_arrow(term: Term) -> bool:
    """`ℕ → ℝ` is a function type, `p → q` an implication; decide by the leaves."""
    return all(node.kind != "binop" or node.value == "→" for node in term.walk()) and any(
        node.kind == "ident" and node.value in _DOMAIN_IDENTS for node in term.walk()
    )
