"""Shared by the translation tests: a scripted model for `examples/translate/small.py` (correct defs, an
off-by-one, gate-refused answers) and spec theorems about whatever models each function."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from autoformal.checking import ReplChecker, ReplCheckerConfig
from autoformal.checking.semantic import SemanticChecker
from autoformal.docstrings import DocstringReport, TypeOptions, plan_docstrings
from autoformal.docstrings.modelling import DifferentialConfig, TranslationConfig
from autoformal.docstrings.spec import translate_docstrings
from autoformal.llm import OpenAIBackendConfig
from autoformal.llm.openai_backend import OpenAICompatibleBackend
from autoformal.testing.openai_server import OpenAIStubServer

SMALL = Path(__file__).resolve().parents[1] / "examples" / "translate" / "small.py"

CORRECT = {
    "sum_list": (
        "def small.sum_list (xs : List Int) : Int :=\n  match xs with\n  | [] => 0\n  | x :: rest => x + sum_list rest"
    ),
    "max_of_two": "def small.max_of_two (a : Int) (b : Int) : Int := if a ≥ b then a else b",
    "reverse_list": "def small.reverse_list (xs : List Int) : List Int := xs.reverse",
    "count_evens": (
        "def small.count_evens (xs : List Int) : Int := Int.ofNat (xs.filter (fun (x : Int) => x % 2 == 0)).length"
    ),
    # `max(low, min(x, high))` also when low > high (outside the docstring's assumption, but hypothesis draws
    # such inputs: the plainer `if x < low then low else if high < x then high else x` disagrees there).
    "clamp": (
        "def small.clamp (x : Int) (low : Int) (high : Int) : Int := "
        "if high < x then (if high < low then low else high) else (if x < low then low else x)"
    ),
}
#: Deliberately wrong: off by one (the fold starts at 1; the clamp's upper bound is high + 1).
OFF_BY_ONE = {
    "sum_list": "def small.sum_list (xs : List Int) : Int := xs.foldl (fun a b => a + b) 1",
    "clamp": (
        "def small.clamp (x : Int) (low : Int) (high : Int) : Int := "
        "if x < low then low else if high < x then high + 1 else x"
    ),
}
#: Answers the gate must refuse before Lean sees them.
REFUSED = {
    "partial": "partial def small.{name} (xs : List Int) : Int := 0",
    "attribute": "@[simp] def small.{name} (xs : List Int) : Int := 0",
}

#: What the scripted model answers per function (cycled over the k samples).
PLAN = {
    "sum_list": ["off_by_one", "partial", "correct"],
    "clamp": ["attribute", "off_by_one"],  # nothing survives: clamp falls back to the opaque declaration
    "max_of_two": ["correct"],
    "reverse_list": ["correct"],
    "count_evens": ["correct"],
}

#: What the scripted model answers to repair requests, per function (cycled over the requests): the repair flow
#: fixes clamp's off-by-one once Lean's failing examples and the counterexample come back.
REPAIRS = {"clamp": ["correct"]}

#: The differential run of the translation tests (hypothesis draws are seeded, so the flow is reproducible).
DIFFERENTIAL = DifferentialConfig(examples=10)


class TranslationResponder:
    """Translation prompts: per function, the answers of `plan[name]` (by kind), cycled over n. Repair requests
    (the translation conversation continued after the model's own answer): the answers of `repairs[name]`, one
    per request, cycled. Spec prompts: a theorem about the function the prompt names (so it refers to whatever
    the context declares)."""

    def __init__(self, plan: dict[str, list[str]], repairs: dict[str, list[str]] | None = None) -> None:
        self.plan = plan
        self.repairs = repairs or {}
        self.translation_prompts: list[str] = []
        self.repair_requests: list[list[dict[str, Any]]] = []

    def __call__(self, request: dict[str, Any]) -> list[str]:
        n = int(request.get("n") or 1)
        messages = request["messages"]
        text = messages[-1]["content"]
        if len(messages) > 2 and messages[-2]["role"] == "assistant":
            return [self._repair(messages)] * n
        name = _named(text)
        if "Translate this Python function" in text:
            self.translation_prompts.append(text)
            answers = [self._answer(kind, name) for kind in self.plan.get(name, ["correct"])]
            return [f"```lean\n{answers[i % len(answers)]}\n```" for i in range(n)]
        arity = CORRECT[name].split(":=")[0].count("(")
        args = " ".join(f"x{i}" for i in range(arity))
        binders = " ".join(
            f"(x{i} : {'List Int' if 'xs' in CORRECT[name].split(':=')[0] else 'Int'})" for i in range(arity)
        )
        statement = f"theorem spec {binders} : small.{name} {args} = small.{name} {args} := sorry"
        return [statement] * n

    def _repair(self, messages: list[dict[str, Any]]) -> str:
        name = _named(messages[-1]["content"])
        answers = self.repairs.get(name, ["correct"])
        self.repair_requests.append(messages)
        sent = sum(1 for m in self.repair_requests if _named(m[-1]["content"]) == name)
        return f"```lean\n{self._answer(answers[(sent - 1) % len(answers)], name)}\n```"

    @staticmethod
    def _answer(kind: str, name: str) -> str:
        if kind == "correct":
            return CORRECT[name]
        if kind == "off_by_one":
            return OFF_BY_ONE[name]
        return REFUSED[kind].format(name=name)


def _named(text: str) -> str:
    """The function a prompt is about (its Lean name appears in it)."""
    return next((f for f in CORRECT if f"small.{f} " in text or f"small.{f}`" in text), "sum_list")


TRANSCRIPT = Path(__file__).resolve().parent / "fixtures" / "translation_core_lean.jsonl"


def record_transcript(requests: list[dict[str, Any]], project: Path, lake: Path, out: Path) -> None:
    """Send `requests` (as a stand-in session logged them) to the real REPL of `project`, in order, and write
    each with the real reply as `{"request", "response"}` lines (the stand-in replays them by command)."""
    import json
    import subprocess

    repl = project / ".lake" / "build" / "bin" / "repl"
    with subprocess.Popen(
        [str(lake), "env", str(repl)], cwd=project, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as process:
        assert process.stdin is not None and process.stdout is not None
        lines = []
        for request in requests:
            process.stdin.write(json.dumps(request, ensure_ascii=False) + "\n\n")
            process.stdin.flush()
            reply: list[str] = []
            while (line := process.stdout.readline()).strip() or not reply:
                if line == "":
                    break
                reply.append(line)
            lines.append(json.dumps({"request": request, "response": json.loads("".join(reply))}, ensure_ascii=False))
        process.stdin.close()
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")


def assert_differential(models: dict[str, Any]) -> None:
    """With DIFFERENTIAL: correct defs agree with Python on every drawn input; the off-by-ones are caught with a
    counterexample shrunk to a minimal input, in Python and Lean syntax."""
    for name in ("max_of_two", "reverse_list", "count_evens"):
        model = models[name]
        assert model.examples_tried == model.examples_agreed == DIFFERENTIAL.examples, name
    assert models["sum_list"].network_isolated in (True, False) and models["sum_list"].python_error is None
    found = models["sum_list"].counterexample
    assert found is not None and found.sample == 0  # the foldl from 1, not the accepted def
    assert (found.python, found.lean) == ("sum_list([]) == 0", "small.sum_list [] = 0")
    clamp = models["clamp"].counterexample
    assert clamp is not None and clamp.sample == 1
    assert (clamp.python, clamp.lean) == ("clamp(1, 0, 0) == 0", "small.clamp 1 0 0 = 0")


def translate_small(
    checker_config: ReplCheckerConfig, repairs: dict[str, list[str]] | None = None
) -> tuple[DocstringReport, TranslationResponder]:
    """The flow the stand-in replays: `small.py` planned for core Lean, translated (k = 3, DIFFERENTIAL) with
    the scripted model on `checker_config`'s Lean; without `repairs`, no repair round (clamp stays opaque)."""
    import asyncio

    options = TypeOptions(declaration_keyword="constant")
    report = plan_docstrings(SMALL, header="", options=options)
    responder = TranslationResponder(PLAN, repairs)
    with OpenAIStubServer(responder) as server, ReplChecker(checker_config) as checker:
        backend = OpenAICompatibleBackend(OpenAIBackendConfig(base_url=server.base_url, model=server.model))
        translation = TranslationConfig(samples=3, repair_rounds=1 if repairs is not None else 0)
        semantic = SemanticChecker(checker)
        run = translate_docstrings(
            report, backend, semantic, options=options, config=translation, differential=DIFFERENTIAL
        )
        asyncio.run(run)
    return report, responder
