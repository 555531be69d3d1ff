"""Cost of `docstrings --translate --run-python` on real Lean: kernel-checked examples per second on a warm pool,
and the wall time per function of k translations × N differential examples. The model is the loopback test
server (8 distinct translations of `sum_list`, two of them off by one), so the figures are Lean's and the
sandboxed Python's, not an LLM's. Needs real Lean (`eval "$(../shared/lean/install-core-lean)"`); the last
line is a JSON object of the headline figures.

    PYTHONPATH=. python benchmarks/docstring_translation.py [--k 8] [--n 50] [--workers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

from _shared import REPO_ROOT, load_average

from autoformal.checking import ReplChecker, ReplCheckerConfig
from autoformal.checking.config import find_lake
from autoformal.checking.semantic import SemanticChecker
from autoformal.docstrings import TypeOptions, plan_docstrings
from autoformal.docstrings.differential import draw_inputs, run_python
from autoformal.docstrings.evidence import check_candidates, printable_examples
from autoformal.docstrings.modelling import DifferentialConfig, TranslationConfig, model_function
from autoformal.docstrings.translate import extract_def, lean_signature
from autoformal.llm import OpenAIBackendConfig
from autoformal.llm.openai_backend import OpenAICompatibleBackend
from autoformal.testing.openai_server import OpenAIStubServer

SMALL = REPO_ROOT / "examples" / "translate" / "small.py"
SUM_LIST = [
    "def small.sum_list (xs : List Int) : Int := match xs with | [] => 0 | x :: rest => x + sum_list rest",
    "def small.sum_list (xs : List Int) : Int := xs.foldl (fun a b => a + b) 0",
    "def small.sum_list (xs : List Int) : Int := xs.foldr (fun a b => a + b) 0",
    "def small.sum_list (xs : List Int) : Int := xs.foldl (fun a b => b + a) 0",
    "def small.sum_list (xs : List Int) : Int := match xs with | [] => 0 | x :: rest => sum_list rest + x",
    "def small.sum_list (xs : List Int) : Int := xs.foldr (fun a b => b + a) 0",
    "def small.sum_list (xs : List Int) : Int := xs.foldl (fun a b => a + b) 1",  # off by one
    "def small.sum_list (xs : List Int) : Int := match xs with | [] => 1 | x :: rest => x + sum_list rest",  # too
]


def _responder(request: dict[str, Any]) -> list[str]:
    return [SUM_LIST[i % len(SUM_LIST)] for i in range(int(request.get("n") or 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=8, help="translations per function")
    parser.add_argument("--n", type=int, default=50, help="differential examples per function")
    parser.add_argument("--workers", type=int, default=2, help="Lean REPL workers")
    args = parser.parse_args()
    lake, project = find_lake(), os.environ.get("AUTOFORMAL_LEAN_PROJECT")
    if lake is None or not project:
        print(json.dumps({"skipped": 'no real Lean: eval "$(../shared/lean/install-core-lean)"'}))
        return
    options = TypeOptions(declaration_keyword="constant")
    report = plan_docstrings(SMALL, header="", options=options)
    function = next(f for f in report.functions if f.qualname == "sum_list")
    assert function.python is not None and function.declaration is not None
    signature = lean_signature(function.python, function.declaration, [], options)
    config = ReplCheckerConfig(project_dir=Path(project), lake_path=lake, num_workers=args.workers, timeout_s=300)
    with ReplChecker(config) as checker, OpenAIStubServer(_responder) as server:
        semantic = SemanticChecker(checker)
        asyncio.run(semantic.available(""))  # warm: workers started, tactic witnesses run
        inputs = draw_inputs(function.python, args.n)
        started = time.perf_counter()
        outputs = run_python(function.python, inputs, DifferentialConfig().sandbox)
        python_s = time.perf_counter() - started
        pairs = [(a, o) for a, o in zip(inputs, outputs.outputs, strict=True) if o is not None]
        examples, _ = printable_examples(signature, pairs, "differential")
        candidate = extract_def(SUM_LIST[0], signature.name)
        assert not isinstance(candidate, str)
        started = time.perf_counter()
        (verdict,) = asyncio.run(check_candidates(semantic, "", signature, [(0, candidate)], examples))
        examples_s = time.perf_counter() - started
        assert verdict.passed == len(examples), verdict
        backend = OpenAICompatibleBackend(OpenAIBackendConfig(base_url=server.base_url, model=server.model))
        started = time.perf_counter()
        model = asyncio.run(
            model_function(
                function.python,
                function.declaration,
                [],
                backend=backend,
                semantic=semantic,
                header="",
                options=options,
                config=TranslationConfig(samples=args.k),
                differential=DifferentialConfig(examples=args.n),
            )
        )
        function_s = time.perf_counter() - started
    rejected = sum(not c.acceptable for c in model.candidates)
    figures = {
        "examples_checked": len(examples),
        "examples_per_s_warm": round(len(examples) / examples_s, 1),
        "python_sandbox_s_for_n": round(python_s, 3),
        "k": args.k,
        "n": args.n,
        "workers": args.workers,
        "function_s_k_by_n": round(function_s, 2),
        "candidates_checked": len(model.candidates),
        "candidates_rejected": rejected,
        "counterexample": model.counterexample.python if model.counterexample else None,
        "network_isolated": model.network_isolated,
        "load_1min": load_average(),
    }
    print(f"{len(examples)} examples in {examples_s:.2f} s; k={args.k} x N={args.n}: {function_s:.2f} s")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
