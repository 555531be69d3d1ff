"""The fixed portfolio of proof scripts autoformal sends to Lean: the only tactic text that ever reaches Lean.

Every script here is written by us. Model output can only contribute *statements* (gated, re-printed from
their parse tree, see `autoformal.checking.trusted`), never a tactic. `ProofScript`s can only be obtained from
this module (`DIRECTION_SCRIPTS`, `TRIVIAL_SCRIPTS`, …, `solver_script`); `is_portfolio_script` is what the
checkers verify before sending one.

Scripts name the tactics they need (`requires`). Which tactics a Lean has is found out by a *witness*: a goal
the tactic surely closes where it exists (`WITNESSES`). A tactic whose witness fails is unavailable (a core or
older Lean has no `omega`, `linarith`, `norm_num`, `aesop`, `simpa`, `convert`), and every script needing it is
*inconclusive* rather than failed, and is not sent. No Lean message is ever read for its wording.
"""

from __future__ import annotations

from dataclasses import dataclass

# The placeholder a script uses for the assumed statement (the other side of an equivalence).
HYP = "{hyp}"


@dataclass(frozen=True)
class ProofScript:
    """One tactic block (lines, indented by the renderer) and the tactics it needs."""

    name: str
    lines: tuple[str, ...]
    requires: frozenset[str]

    def render(self, hyp: str | None) -> str:
        body = "\n".join(f"  {line}" for line in self.lines)
        if HYP in body:
            if hyp is None:
                raise ValueError(f"script {self.name!r} needs an assumption but the job has none")
            body = body.replace(HYP, hyp)
        return body

    @property
    def text(self) -> str:
        """One-line form for reports (`intros; apply H <;> assumption`)."""
        return "; ".join(self.lines).replace(HYP, "H")


_REGISTRY: dict[tuple[str, tuple[str, ...]], ProofScript] = {}


def _script(name: str, *lines: str, requires: tuple[str, ...]) -> ProofScript:
    script = ProofScript(name, tuple(lines), frozenset(requires))
    return _REGISTRY.setdefault((name, script.lines), script)


def is_portfolio_script(script: object) -> bool:
    """True only for scripts this module made (checkers refuse anything else)."""
    return isinstance(script, ProofScript) and _REGISTRY.get((script.name, script.lines)) == script


# Finishing tactics tried, in order, on the goals `apply H` leaves (only the available ones are put in).
SOLVERS: tuple[str, ...] = ("assumption", "rfl", "decide", "simp_all", "omega", "linarith", "norm_num", "aesop")

# Proving one statement from the other (`H` is the other statement, assumed).
DIRECTION_SCRIPTS: tuple[ProofScript, ...] = (
    _script("exact", f"exact {HYP}", requires=("exact",)),
    _script("intros_apply_assumption", "intros", f"apply {HYP} <;> assumption", requires=("intros", "apply", "<;>")),
    _script("simpa_using", f"simpa using {HYP}", requires=("simpa",)),
    _script("intros_simp_using", "intros", f"simp [{HYP}] at *", requires=("intros", "simp_at")),
    _script("convert_using_1", f"convert {HYP} using 1", requires=("convert",)),
    _script("convert_using_2", f"convert {HYP} using 2", requires=("convert",)),
    _script("convert_using_3", f"convert {HYP} using 3", requires=("convert",)),
    _script("intros_have_omega", "intros", f"have := @{HYP}", "omega", requires=("intros", "omega")),
    _script("intros_have_linarith", "intros", f"have := @{HYP}", "linarith", requires=("intros", "linarith")),
    _script("intros_have_aesop", "intros", f"have := @{HYP}", "aesop", requires=("intros", "aesop")),
)

# `trivial`: the statement closes by one cheap tactic alone.
TRIVIAL_SCRIPTS: tuple[ProofScript, ...] = (
    _script("rfl", "intros", "rfl", requires=("intros", "rfl")),
    _script("decide", "intros", "decide", requires=("intros", "decide")),
    _script("simp", "simp", requires=("simp",)),
    _script("norm_num", "norm_num", requires=("norm_num",)),
)

# `refuted`: the negation closes by one cheap tactic.
REFUTATION_SCRIPTS: tuple[ProofScript, ...] = (
    _script("decide", "decide", requires=("decide",)),
    _script("norm_num", "norm_num", requires=("norm_num",)),
    _script("simp", "simp", requires=("simp",)),
)

# `vacuous`: `False` follows from the hypotheses.
VACUITY_SCRIPTS: tuple[ProofScript, ...] = (
    _script("contradiction", "intros", "contradiction", requires=("intros", "contradiction")),
    _script("simp_all", "intros", "simp_all", requires=("intros", "simp_all")),
    _script("simp_at", "intros", "simp at *", requires=("intros", "simp_at")),
    _script("omega", "intros", "omega", requires=("intros", "omega")),
    _script("linarith", "intros", "linarith", requires=("intros", "linarith")),
    _script("norm_num_at", "intros", "norm_num at *", requires=("intros", "norm_num")),
    _script("aesop", "intros", "aesop", requires=("intros", "aesop")),
)


def solver_script(available: frozenset[str]) -> ProofScript | None:
    """`intros; apply H <;> first | s₁ | s₂ …` over the available finishing tactics (None when `first` or
    `<;>` is missing). Built from `SOLVERS` only, so it is still our text."""
    solvers = [s for s in SOLVERS if s in available]
    if not solvers or not {"intros", "apply", "<;>", "first"} <= available:
        return None
    return _script(
        "intros_apply_solvers",
        "intros",
        f"apply {HYP} <;> first | " + " | ".join(solvers),
        requires=("intros", "apply", "<;>", "first", *solvers),
    )


@dataclass(frozen=True)
class Witness:
    """A goal the tactic closes wherever it exists: the witness failing means the tactic is missing."""

    tactic: str
    goal: str
    script: ProofScript


def _witness(tactic: str, goal: str, *lines: str) -> Witness:
    return Witness(tactic, goal, _script(f"witness_{tactic}", *lines, requires=()))


WITNESSES: tuple[Witness, ...] = (
    _witness("exact", "True", "exact True.intro"),
    _witness("intros", "True → True", "intros", "exact True.intro"),
    _witness("apply", "True", "apply True.intro"),
    _witness("assumption", "True → True", "intro", "assumption"),
    _witness("<;>", "True ∧ True", "constructor <;> exact True.intro"),
    _witness("first", "True", "first | exact True.intro | exact True.intro"),
    _witness("rfl", "(1 : Nat) = 1", "rfl"),
    _witness("decide", "(2 : Nat) + 2 = 4", "decide"),
    _witness("simp", "(2 : Nat) + 2 = 4", "simp"),
    _witness("simp_at", "False → False", "intro h", "simp at h"),
    _witness("simp_all", "False → False", "intro", "simp_all"),
    _witness("contradiction", "False → False", "intro", "contradiction"),
    _witness("simpa", "True", "simpa using True.intro"),
    _witness("convert", "True", "convert True.intro using 1"),
    _witness("omega", "(2 : Nat) + 2 = 4", "omega"),
    _witness("linarith", "(2 : Nat) ≤ 4", "linarith"),
    _witness("norm_num", "(2 : Nat) + 2 = 4", "norm_num"),
    _witness("aesop", "True", "aesop"),
)

ALL_TACTICS: frozenset[str] = frozenset(w.tactic for w in WITNESSES)


def usable(scripts: tuple[ProofScript, ...], available: frozenset[str]) -> tuple[list[ProofScript], list[ProofScript]]:
    """(scripts whose tactics all exist, scripts that need a missing one)."""
    ok = [s for s in scripts if s.requires <= available]
    missing = [s for s in scripts if not s.requires <= available]
    return ok, missing
