"""Synthesize the declarations that Mathlib's ``@[to_additive]`` generates at compile time.

A source-parsed corpus has ``Finset.prod_range_succ`` but not ``Finset.sum_range_succ``: the additive
twin exists only in the compiled environment. About 16k Mathlib declarations carry the attribute, and the
sum/add lemmas they generate are the ones competition problems need. We translate names like Mathlib's
``ToAdditive.GuessName`` (word by word, camelCase and snake_case, honouring an explicit name given to the
attribute and translating namespaces that are themselves ``to_additive`` declarations) and the statement
with the usual operator pairs. The statement translation is for retrieval (embedding and BM25 text), not
for elaboration.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence

from autoformal.corpus.models import Declaration

# Mathlib.Tactic.ToAdditive.GuessName's dictionary, keyed by the lower-cased word.
_WORDS: dict[str, str] = {
    "one": "zero",
    "mul": "add",
    "smul": "vadd",
    "inv": "neg",
    "div": "sub",
    "prod": "sum",
    "hmul": "hadd",
    "hsmul": "hvadd",
    "hdiv": "hsub",
    "hpow": "hsmul",
    "finprod": "finsum",
    "tprod": "tsum",
    "pow": "nsmul",
    "npow": "nsmul",
    "zpow": "zsmul",
    "mabs": "abs",
    "monoid": "addMonoid",
    "submonoid": "addSubmonoid",
    "group": "addGroup",
    "subgroup": "addSubgroup",
    "semigroup": "addSemigroup",
    "magma": "addMagma",
    "haar": "addHaar",
    "prehaar": "addPrehaar",
    "unit": "addUnit",
    "units": "addUnits",
    "cyclic": "addCyclic",
    "rootable": "divisible",
    "semiconj": "addSemiconj",
    "commute": "addCommute",
    "zpowers": "zmultiples",
    "powers": "multiples",
    "multipliable": "summable",
    "gpfree": "apfree",
    "quantale": "addQuantale",
    "square": "even",
    "mconv": "conv",
    "irreducible": "addIrreducible",
    "mlconvolution": "lconvolution",
}
# Whole-name exceptions and the word-order fixes of GuessName's ``fixAbbreviation``.
_BEFORE: tuple[tuple[str, str], ...] = (
    ("mulIndicator", "indicator"),
    ("MulIndicator", "Indicator"),
    ("mulSupport", "support"),
    ("MulSupport", "Support"),
    ("mulSingle", "single"),
    ("MulSingle", "Single"),
    ("IsSquare", "Even"),
    ("isSquare", "even"),
    ("MulOpposite", "AddOpposite"),
    ("MulAction", "AddAction"),
    ("MulEquiv", "AddEquiv"),
    ("MulAut", "AddAut"),
    ("MulHom", "AddHom"),
)
_AFTER: tuple[tuple[str, str], ...] = (
    ("LeftCancelAdd", "AddLeftCancel"),
    ("RightCancelAdd", "AddRightCancel"),
    ("leftCancelAdd", "addLeftCancel"),
    ("rightCancelAdd", "addRightCancel"),
    ("CancelCommAdd", "AddCancelComm"),
    ("cancelCommAdd", "addCancelComm"),
    ("CancelAdd", "AddCancel"),
    ("cancelAdd", "addCancel"),
    ("CommAdd", "AddComm"),
    ("commAdd", "addComm"),
    ("IsAddUnit", "IsAddUnit"),
)
_DOC_WORDS: dict[str, str] = {
    "product": "sum",
    "products": "sums",
    "multiplicative": "additive",
    "multiplication": "addition",
    "multiply": "add",
    "multiplied": "added",
    "inverse": "negation",
    "inverses": "negations",
    "division": "subtraction",
    "monoid": "additive monoid",
    "group": "additive group",
    "power": "multiple",
    "powers": "multiples",
}
_WORD_PIECE = re.compile(r"[A-Za-z][a-z0-9]*|[^A-Za-z]+")
_IDENTIFIER = re.compile(r"(?<![\w.'])[A-Za-z_][\w'.]*[\w']|(?<![\w.'])[A-Za-z_]")
_OPTION = re.compile(r"\((?:[^()]|\([^()]*\))*\)")
_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')


def translate_component(component: str) -> str:
    """One name component, e.g. ``prod_range_succ`` → ``sum_range_succ``, ``IsUnit`` → ``IsAddUnit``."""
    for old, new in _BEFORE:
        component = component.replace(old, new)
    pieces = []
    for piece in _WORD_PIECE.findall(component):
        translated = _WORDS.get(piece.lower())
        if translated is None:
            pieces.append(piece)
        elif piece[0].isupper():
            pieces.append(translated[0].upper() + translated[1:])
        else:
            pieces.append(translated)
    result = "".join(pieces)
    for old, new in _AFTER:
        result = result.replace(old, new)
    return result


class ToAdditiveSpec:
    """What one ``to_additive`` attribute asks for: an explicit name, a docstring, or no new declaration."""

    def __init__(self, attribute: str) -> None:
        body = attribute.strip()[len("to_additive") :].lstrip("?").strip()
        strings = _STRING.findall(body)
        body = _STRING.sub(" ", body)
        body = _OPTION.sub(" ", body)
        words = body.split()
        self.skip = bool({"existing", "self"} & set(words))
        self.name = next((word for word in words if word not in {"existing", "self"}), None)
        self.docstring = strings[-1].replace('\\"', '"').replace("\\n", "\n") if strings else None


def to_additive_spec(declaration: Declaration) -> ToAdditiveSpec | None:
    for attribute in declaration.attributes:
        head = attribute.strip().split(maxsplit=1)[0] if attribute.strip() else ""
        if head in {"to_additive", "to_additive?"}:
            return ToAdditiveSpec(attribute)
    return None


def additive_names(declarations: Iterable[Declaration]) -> dict[str, str]:
    """Map each ``@[to_additive]`` declaration's name to its twin's name (``existing``/``self`` excluded)."""
    specs = [(d, spec) for d in declarations if (spec := to_additive_spec(d)) is not None and not spec.skip]
    renames: dict[str, str] = {}
    # Shorter names first, so a namespace (a structure like `Monoid`) is translated before its members.
    for declaration, spec in sorted(specs, key=lambda pair: pair[0].name.count(".")):
        prefix, _, last = declaration.name.rpartition(".")
        new_prefix = _translate_prefix(prefix, renames)
        if spec.name:
            explicit = spec.name.removeprefix("_root_.")
            if "." in explicit or spec.name.startswith("_root_."):
                renames[declaration.name] = explicit
                continue
            last_new = explicit
        else:
            last_new = translate_component(last)
        renames[declaration.name] = f"{new_prefix}.{last_new}" if new_prefix else last_new
    return {old: new for old, new in renames.items() if old != new}


def _translate_prefix(prefix: str, renames: dict[str, str]) -> str:
    """Replace the longest renamed head of ``prefix`` (``Monoid.Foo`` → ``AddMonoid.Foo``)."""
    parts = prefix.split(".") if prefix else []
    for cut in range(len(parts), 0, -1):
        head = ".".join(parts[:cut])
        if head in renames:
            return ".".join([renames[head], *parts[cut:]])
    return prefix


def translate_statement(signature: str, namespace: str | None, renames: dict[str, str]) -> str:
    """Translate identifiers through ``renames`` and the multiplicative operators to additive ones."""

    def rename(match: re.Match[str]) -> str:
        word = match.group(0)
        candidates = [f"{namespace}.{word}", word] if namespace else [word]
        for candidate in candidates:
            if candidate in renames:
                new = renames[candidate]
                return new.removeprefix(f"{namespace}.") if candidate != word else new
        return word

    text = _IDENTIFIER.sub(rename, signature)
    text = re.sub(r"(?<=[*/] )1\b|\b1(?= [*/])", "0", text)
    text = re.sub(r"\(1 :", "(0 :", text)
    previous = None
    while previous != text:  # `a⁻¹⁻¹` needs two passes
        previous, text = text, re.sub(r"([\w')]+)⁻¹", r"-\1", text)
    text = re.sub(r"([\w']+) \^ ([\w'.]+)", r"\2 • \1", text)
    return text.replace("∏", "∑").replace("*", "+").replace("/", "-")


def _translate_doc(docstring: str, namespace: str | None, renames: dict[str, str]) -> str:
    """Prose words through `_DOC_WORDS`; code between backticks like a statement."""

    def swap(match: re.Match[str]) -> str:
        word = match.group(0)
        new = _DOC_WORDS.get(word.lower())
        if new is None:
            return word
        return new[0].upper() + new[1:] if word[0].isupper() else new

    pieces = docstring.split("`")
    return "`".join(
        translate_statement(piece, namespace, renames) if odd else re.sub(r"[A-Za-z]+", swap, piece)
        for piece, odd in zip(pieces, itertools.cycle((False, True)), strict=False)
    )


def synthesize_additive_twins(declarations: Sequence[Declaration]) -> list[Declaration]:
    """The additive declarations that ``@[to_additive]`` on ``declarations`` would generate."""
    renames = additive_names(declarations)
    twins: list[Declaration] = []
    for declaration in declarations:
        new_name = renames.get(declaration.name)
        if new_name is None:
            continue
        spec = to_additive_spec(declaration)
        docstring = spec.docstring if spec and spec.docstring else declaration.docstring
        if docstring and not (spec and spec.docstring):
            docstring = _translate_doc(docstring, declaration.namespace, renames)
        namespace = new_name.rpartition(".")[0] or None
        twins.append(
            declaration.model_copy(
                update={
                    "name": new_name,
                    "namespace": namespace,
                    "signature": translate_statement(declaration.signature, declaration.namespace, renames),
                    "docstring": docstring,
                    "attributes": tuple(a for a in declaration.attributes if not a.startswith("to_additive")),
                    "derived_from": declaration.name,
                }
            )
        )
    return twins
