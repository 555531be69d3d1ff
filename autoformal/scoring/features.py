"""What the deterministic scorers compare: facts read off the informal text (LaTeX-aware regexes) and off a
candidate's term tree (numbers, relations, quantifiers, number domains). Kept separate from the scorers so
each fact is computed once and can be tested on its own."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction

from autoformal.syntax import Document, Statement, Term

# ---------------------------------------------------------------------------------------------- informal

_LATEX_SUBSTITUTIONS = (
    # Blackboard letters first: `\mathbb{N}` carries braces that would stop the brace-free matches below.
    (re.compile(r"\\mathbb\s*\{?\s*([NZQRC])\s*\}?"), r"<\1>"),
    (re.compile(r"\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}"), r"(\1)/(\2)"),
    (re.compile(r"\\(?:leq?|leqslant)(?![A-Za-z])"), "≤"),
    (re.compile(r"\\(?:geq?|geqslant)(?![A-Za-z])"), "≥"),
    (re.compile(r"\\(?:neq?)(?![A-Za-z])"), "≠"),
    (re.compile(r"\\lt(?![A-Za-z])"), "<"),
    (re.compile(r"\\gt(?![A-Za-z])"), ">"),
    # `\{x \mid f(x) \leq g(x)\}` is set-builder notation, not divisibility.
    # One level of braces inside the set (`\{n \in S_{k} \mid ...\}`) is allowed.
    (re.compile(r"(\\\{(?:[^{}]|\{[^{}]*\}){0,60}?)\\mid(?![A-Za-z])"), r"\1:"),
    (re.compile(r"\\mid(?![A-Za-z])"), "∣"),
    (re.compile(r"\\(?:exists)(?![A-Za-z])"), "∃"),
    (re.compile(r"\\(?:forall)(?![A-Za-z])"), "∀"),
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
# Existence as the *claim* of a statement. "for some x" is left out: it mostly sits in a premise ("if x^2 = 1
# for some x"). "contains an element", "has a square root" are existence claims in everything but syntax.
# "Find all ..." asks for a characterisation (`P n ↔ n = 1`), not for a witness.
_EXISTS_WORDS = re.compile(
    r"\bthere (?:exist|exists|is|are|must be)\b|\bexists?\b|\bcan be (?:found|chosen|written)\b|\bfind\b(?!\s+all\b)|∃"
    r"|\b(?:contains?|has|have|admits?|possess(?:es)?) (?:an?|some|at least one)\b",
    re.I,
)
# A premise clause: from if/suppose/let/assume/given/where/such that to the next comma, "then", `.` or `;`.
# Existence words inside it ("if f has a continuous derivative") are assumptions, not the claim. "if" of
# "(only) if and only if" opens no premise. A comma inside the formula ends the clause early: less is dropped.
_PREMISE_CLAUSE = re.compile(
    r"(?:\b(?<!only )if\b(?!,? and only)|\b(?:suppose|let|assume|given|where|whenever|such that)\b)"
    r"[^,.;]*?(?=,|\bthen\b|[.;]|$)",
    re.I | re.M,
)
_UNIQUE_WORDS = re.compile(r"\bunique(?:ly)?\b|\bexactly one\b|∃!", re.I)
_FORALL_WORDS = re.compile(r"\bfor (?:all|every|each|any)\b|\bevery\b|\bany\b|\ball\b|∀", re.I)
_INFINITE_WORDS = re.compile(r"\binfinitely many\b|\binfinite\b", re.I)
_IFF_WORDS = re.compile(
    r"\bif,? and only if\b|\biff\b|\bnecessary and sufficient\b|\b(?:exactly|precisely) (?:when|if)\b"
    r"|\\(?:iff|[Ll]eftrightarrow|[Ll]ongleftrightarrow)(?![A-Za-z])|⟺|⇔|↔|\bare equivalent\b",
    re.I,
)
# "Find all n such that ...": the faithful answer is a characterisation `P n ↔ n = 1` (or `{n | P n} = S`).
_FIND_ALL = re.compile(r"\b(?:find|determine|characteri[sz]e|classify)\b(?:,? with proof,?)?\s+all\b", re.I)
# A limit as a variable approaches a finite point (`\lim_{t \to x}`, "as t approaches x"): the point itself is
# excluded, so the faithful Lean filter is a punctured neighbourhood `𝓝[≠] x`, not `𝓝 x`.
_POINT_LIMIT = re.compile(
    r"\\lim\s*_\s*\{?\s*[A-Za-z]\w*\s*(?:\\to|\\rightarrow|→)\s*(?!\\infty|∞|\+?\\infty)[A-Za-z0-9]"
    r"|\bas\s+[A-Za-z]\s+(?:approaches|tends to|goes to)\s+(?!infinity)[A-Za-z0-9]",
    re.I,
)
_FLOOR_WORDS = re.compile(r"\bfloor\b|\binteger part\b|\bquotient\b|⌊|\\lfloor|\bremainder\b|\bdiv\b", re.I)

# "integer(s)" with its qualifier: positive, non-negative and prime integers are naturals (ℕ, or ℤ, both
# faithful); a bare, negative or non-positive integer needs ℤ (ℕ has no negatives).
_INTEGER_WORDS = re.compile(
    r"\b(?:(?P<qualifier>non-?\s?negative|non-?\s?positive|positive|negative|prime)\s+)?integers?\b", re.I
)
_NATURAL_QUALIFIERS = frozenset({"positive", "nonnegative", "prime"})
_DOMAIN_WORDS = (
    (re.compile(r"\bnatural numbers?\b", re.I), "ℕ"),
    (re.compile(r"\bintegral\b", re.I), "ℤ"),
    # `Q[x]`, `Q(\sqrt 2)`: a capital Q written for ℚ without \mathbb.
    (
        re.compile(
            r"\brationals?\b(?! function)|\brational numbers?\b|(?-i:(?<![A-Za-z\\])Q\s*(?:\[|\(\s*\\?sqrt))", re.I
        ),
        "ℚ",
    ),
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
    mentions_iff: bool = False
    point_limit: bool = False  # a limit at a finite point ("\\lim_{t \\to x}")
    mentions_floor: bool = False  # floor / integer quotient / remainder: truncating division is intended
    asks_for_all: bool = False  # "find/determine all ...": the answer is a characterisation, ↔ is its form


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
    for match in _INTEGER_WORDS.finditer(normalized):
        qualifier = re.sub(r"[-\s]", "", match.group("qualifier") or "").lower()
        domains.add("ℕ" if qualifier in _NATURAL_QUALIFIERS else "ℤ")
    answer_match = _ANSWER.search(normalized)
    answer = answer_match.group("answer").strip(" $") if answer_match else None
    return InformalFacts(
        numbers=frozenset(numbers_in_text(normalized)),
        relations=frozenset(relations),
        mentions_exists=bool(_EXISTS_WORDS.search(_PREMISE_CLAUSE.sub(" ", normalized))),
        mentions_unique=bool(_UNIQUE_WORDS.search(normalized)),
        mentions_forall=bool(_FORALL_WORDS.search(normalized)),
        mentions_infinite=bool(_INFINITE_WORDS.search(normalized)),
        domains=frozenset(domains),
        answer=answer or None,
        answer_numbers=frozenset(numbers_in_text(answer, words=False)) if answer else frozenset(),
        mentions_iff=bool(_IFF_WORDS.search(normalized)),
        point_limit=bool(_POINT_LIMIT.search(text)),
        mentions_floor=bool(_FLOOR_WORDS.search(normalized)),
        asks_for_all=bool(_FIND_ALL.search(normalized)),
    )


# ---------------------------------------------------------------------------------------------- formal

_DOMAIN_IDENTS = {
    "ℕ": "ℕ", "Nat": "ℕ", "ℤ": "ℤ", "Int": "ℤ", "ℚ": "ℚ", "Rat": "ℚ", "ℝ": "ℝ", "Real": "ℝ", "ℂ": "ℂ",
    "Complex": "ℂ", "ZMod": "ℤ",
    "GaussianInt": "ℤ", "Zsqrtd": "ℤ", "ℕ+": "ℕ", "PNat": "ℕ", "NNReal": "ℝ", "ℝ≥0": "ℝ", "ENNReal": "ℝ", "EReal": "ℝ",
    "ℝ≥0∞": "ℝ",
}  # fmt: skip
# Extended reals are complete lattices: every set has a true supremum, so sSup/⨆ over them has no junk value.
_COMPLETE_REALS = frozenset({"ENNReal", "EReal", "ℝ≥0∞"})
_RELATION_OPS = {"≤": "≤", "≥": "≤", "<": "<", ">": "<", "=": "=", "≠": "≠", "∣": "∣", "↔": "↔"}
_EXISTS_IDENTS = frozenset({"Exists", "ExistsUnique", "Set.Nonempty", "Nonempty"})
_INFINITE_IDENTS = frozenset({"Set.Infinite", "Infinite", "Filter.Frequently", "Nat.card", "Set.infinite_of"})
# Suprema/infima that are junk (0) on an unbounded set of reals unless boundedness is assumed.
_SUPREMUM_IDENTS = frozenset({"sSup", "sInf", "iSup", "iInf", "Real.sSup", "Real.sInf", "Real.iSup", "Real.iInf"})
_BOUNDED_IDENTS = frozenset({"BddAbove", "BddBelow", "Bornology.IsBounded", "IsCompact", "Metric.Bounded"})
_NHDS_IDENTS = frozenset({"𝓝", "nhds"})
_TENDSTO_IDENTS = frozenset({"Tendsto", "Filter.Tendsto"})


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
    unbounded_supremum: bool = False  # sSup/⨆ over ℝ with no boundedness hypothesis anywhere
    full_nhds_limit: bool = False  # `Tendsto f (𝓝 x) _`: a limit that does not exclude the point itself
    integer_division: bool = False  # a truncating `/` (see `_may_truncate`) where the only number types are ℕ/ℤ
    claims_exists: bool = False  # the conclusion asserts existence (∃ under its ∀/→/∧ prefix), not a premise


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
    suprema = 0
    divisions = full_nhds = False
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
                elif node.value == "/":
                    divisions = divisions or _may_truncate(node)
            elif node.kind == "bigop" and node.value in ("⨆", "⨅"):
                suprema += 1
            elif node.kind == "app" and node.args and node.args[0].kind == "ident":
                full_nhds = full_nhds or _is_full_nhds_limit(node)
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
    hypotheses = sum(
        1 for b in theorem.bound if b.kind != "instance" and b.type is not None and _is_proposition(b.type)
    )
    variables = sum(1 for b in theorem.bound if b.kind != "instance") - hypotheses
    suprema += sum(1 for i in idents if i in _SUPREMUM_IDENTS)
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
        unbounded_supremum=bool(suprema) and _plain_reals(idents) and not (idents & _BOUNDED_IDENTS),
        full_nhds_limit=full_nhds,
        integer_division=divisions and bool(domains) and domains <= {"ℕ", "ℤ"} and not _has_type_variable(theorem),
        claims_exists=theorem.conclusion is not None and _claims_existence(theorem.conclusion),
    )


def _plain_reals(idents: set[str]) -> bool:
    """ℝ (or ℝ≥0) is used and no extended real is: a supremum is then most likely over ℝ, where it is junk on
    unbounded sets. With ENNReal/EReal around, the supremum is most likely theirs (measures, extended norms)
    and exact; a term-level type would tell which, the grammar's tree carries none."""
    extended = {i for i in idents if i.split(".")[0] in _COMPLETE_REALS}  # `ENNReal`, `ENNReal.ofReal`, ...
    return not extended and any(_DOMAIN_IDENTS.get(i) == "ℝ" for i in idents)


def _unbracketed(term: Term) -> Term:
    while term.kind == "bracket" and term.args:
        term = term.args[0]
    return term


def _claims_existence(term: Term) -> bool:
    """Whether the claim (not a premise) is existential: look through ∀ binders, the right of →, ∧ and ↔."""
    term = _unbracketed(term)
    if term.kind == "quant":
        if term.value.startswith("∃"):
            return True
        return term.value.startswith("∀") and bool(term.args) and _claims_existence(term.args[-1])
    if term.kind == "binop" and len(term.args) == 2:
        if term.value == "→":
            return _claims_existence(term.args[1])
        if term.value in ("∧", "↔"):
            return any(_claims_existence(a) for a in term.args)
    if term.kind == "app" and term.args and term.args[0].kind == "ident":
        return term.args[0].value in _EXISTS_IDENTS
    return False


def _is_full_nhds_limit(node: Term) -> bool:
    """`Tendsto f (𝓝 x) l`: the source filter is a plain neighbourhood (`𝓝[≠] x` parses as an `index`)."""
    if node.args[0].value not in _TENDSTO_IDENTS or len(node.args) < 3:
        return False
    source = _unbracketed(node.args[2])
    return source.kind == "app" and bool(source.args) and source.args[0].value in _NHDS_IDENTS


def _may_truncate(division: Term) -> bool:
    """Whether `a / b` on ℕ/ℤ is evidence of a truncation the text did not mean: the divisor is not a numeral
    (`a / b` transcribes a ratio of the text, exact only if b ∣ a, which a statement rarely assumes), or both
    sides are numerals whose quotient is no integer (`1 / 2` is 0). A numeral divisor under an expression is
    left alone: `n * (n + 1) / 2`, `(p - 1) / 2` for an odd prime are the standard exact closed forms, and
    whether the dividend is a multiple follows from hypotheses a syntactic check cannot weigh."""
    divisor = _value(division.args[1])
    if divisor is None:
        return True
    dividend = _value(division.args[0])
    return dividend is not None and divisor != 0 and (dividend / divisor).denominator != 1


def _has_type_variable(theorem: Statement) -> bool:
    """A binder ranging over types (`{F : Type*}`, `(R : Type u)`): `/` may then be a field's division."""
    return any(b.type is not None and b.type.kind in ("sort", "ident") and b.type.value.startswith(("Type", "Sort"))
               for b in theorem.bound)


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
