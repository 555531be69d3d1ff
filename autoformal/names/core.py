"""Names a Mathlib statement can use that a Mathlib declaration corpus does not contain.

Lean core (`Init`) and Batteries define the basic types, logic and classes (`Nat`, `Fin`, `List`, `True`,
`Nonempty`, `HAdd`, `max`, `ite`, ...) and many members of namespaces Mathlib extends (`Nat.gcd`,
`Function.Injective`, `List.sum`). The root-level names were collected by running the name checker over
every gold statement in ../shared/data/benchmarks against the Mathlib corpus and reading each miss, then
completed with their obvious siblings (`Function.Surjective` next to `Function.Injective`). A namespace
listed in `EXTERNAL_NAMESPACES` is populated outside Mathlib too, so a missing member of it is never
reported as unknown: we cannot list all of core's `Nat` lemmas, so we do not pretend to.
"""

from __future__ import annotations

_TYPES = """
Nat Int Fin List Array Bool String Char Option Prod Sum Sigma PSigma Subtype Unit PUnit Empty PEmpty ULift PLift
Float Float32 Rat UInt8 UInt16 UInt32 UInt64 USize Int8 Int16 Int32 Int64 BitVec Vector ByteArray Thunk Except
IO Id Task Substring Ordering
"""
_LOGIC = """
True False Eq Ne HEq Iff And Or Not Exists Xor Decidable DecidableEq DecidablePred DecidableRel Inhabited
Nonempty Subsingleton Setoid Quot Quotient WellFounded Acc WellFoundedRelation propext funext congrArg congrFun
rfl trivial absurd cast id ite dite cond not and or xor true false some none default inferInstance
inferInstanceAs decide sizeOf toString repr pure bind flip compare max min Classical
"""
_CLASSES = """
Add Sub Mul Div Mod Neg Pow Dvd LT LE Max Min HAdd HSub HMul HDiv HMod HPow HAppend HOr HAnd HXor HShiftLeft
HShiftRight HSMul SMul Inv Zero One NeZero NatCast IntCast NatPow HomogeneousPow OfNat OfScientific Membership
Append Functor Monad Applicative Pure Bind Seq Hashable BEq LawfulBEq Ord Repr ToString SizeOf GetElem
Std Lean Batteries
"""
#: Root-level constants of Lean core (and Batteries) that Mathlib statements use.
CORE_NAMES: frozenset[str] = frozenset((_TYPES + _LOGIC + _CLASSES).split())

#: Namespaces that Lean core or Batteries populate besides Mathlib: a missing member is not evidence.
EXTERNAL_NAMESPACES: frozenset[str] = frozenset(
    (
        _TYPES
        + """
Function Classical Decidable Eq Ne HEq Iff And Or Not Exists Subtype Quot Quotient Setoid WellFounded Acc
Nonempty Inhabited Subsingleton True False Std Lean Batteries Max Min LT LE Dvd Membership GetElem Xor
"""
    ).split()
)

#: Notation that reads like an identifier (scoped notation: `open ComplexConjugate` gives `conj`,
#: `MeasureTheory` gives `μH[d]`). Unicode-symbol notation (`ℝ`, `𝓝`) is recognised by its characters.
NOTATIONS: frozenset[str] = frozenset({"conj", "μH", "ᵀ"})

#: Declarations Lean generates for structures and classes (`@[ext]` adds `ext`/`ext_iff`).
GENERATED_MEMBERS: frozenset[str] = frozenset(
    {
        "mk", "rec", "recOn", "casesOn", "noConfusion", "noConfusionType", "ctorIdx", "brecOn", "below",
        "binductionOn", "ibelow", "eta", "ext", "ext_iff", "mk.injEq", "mk.inj", "mk.sizeOf_spec", "injEq", "inj",
    }
)

#: Members of core namespaces that Mathlib statements use and a Mathlib corpus lacks (found among the gold
#: identifiers of miniF2F and ProofNet that did not resolve, plus their obvious siblings). Used only to
#: suggest names written in these namespaces (`List.lenght` → `List.length`): a missing member of a core
#: namespace stays unverified, never unknown.
_MEMBERS = """
Nat.gcd Nat.lcm Nat.sqrt Nat.Coprime Nat.succ Nat.pred Nat.pow Nat.mod Nat.div Nat.log2 Nat.min Nat.max
Nat.add Nat.sub Nat.mul Nat.le Nat.lt Nat.zero Nat.repr Nat.toFloat Nat.fold Nat.all Nat.any Nat.repeat
Int.natAbs Int.toNat Int.emod Int.ediv Int.fmod Int.fdiv Int.tmod Int.tdiv Int.gcd Int.lcm Int.sign Int.neg
Int.ofNat Int.negSucc Int.floor Int.ceil
List.length List.map List.filter List.foldl List.foldr List.sum List.prod List.range List.reverse List.head
List.tail List.get List.getLast List.append List.join List.flatten List.zip List.take List.drop List.replicate
List.Pairwise List.Nodup List.Sorted List.count List.contains List.elem List.all List.any List.maximum
List.minimum List.iota List.enum List.lookup List.insert List.erase List.find? List.sortedBy List.mergeSort
Array.size Array.push Array.get Array.map Array.foldl Array.toList String.length String.append String.toList
Option.get Option.getD Option.some Option.none Option.isSome Option.isNone Option.map
Prod.fst Prod.snd Prod.mk Subtype.val Subtype.property Subtype.mk Fin.val Fin.last Fin.succ Fin.castSucc
Fin.mk Function.Injective Function.Surjective Function.comp Function.const Function.swap
Bool.true Bool.false Bool.not Bool.and Bool.or Char.toNat Char.ofNat
"""
CORE_MEMBERS: frozenset[str] = frozenset(_MEMBERS.split())
