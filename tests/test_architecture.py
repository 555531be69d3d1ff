"""The centre's contracts: one exception tree with fatal/final flags that the batch runner obeys, one set of
limits applied by assembly, one weighted mean (the Ranker) that weight fitting scores through, and an import
graph without upward imports or cycles."""

from __future__ import annotations

import ast
import asyncio
import importlib
import inspect
import pkgutil
from pathlib import Path

import numpy as np
import pytest

import autoformal
from autoformal import errors
from autoformal.assembly import assemble
from autoformal.batch import BatchInput, run_batch
from autoformal.checking import KiminaCheckerConfig, ReplCheckerConfig
from autoformal.config import FormalizerConfig
from autoformal.evaluation import fit_weights, ranked_scores
from autoformal.limits import Limits
from autoformal.llm import OpenAIBackendConfig
from autoformal.ranking import Ranker, RankerConfig
from autoformal.results import FormalizationResult

PACKAGE = Path(autoformal.__file__).parent

# -- errors ---------------------------------------------------------------------------------------------------


def test_every_exception_class_lives_in_the_one_tree() -> None:
    defined_elsewhere = []
    for module in pkgutil.walk_packages(autoformal.__path__, "autoformal."):
        if module.name.startswith("autoformal.testing") or module.name == "autoformal.errors":
            continue  # protocol stand-ins model other programs' failures
        loaded = importlib.import_module(module.name)
        for name, value in vars(loaded).items():
            public = not name.startswith("_")  # a private signal that never leaves its module may stay there
            if inspect.isclass(value) and issubclass(value, BaseException) and value.__module__ == module.name:
                defined_elsewhere += [f"{module.name}.{name}"] if public else []
    assert defined_elsewhere == []
    tree = [v for v in vars(errors).values() if inspect.isclass(v) and issubclass(v, Exception)]
    assert all(issubclass(cls, errors.AutoformalError) for cls in tree)
    assert all(cls.__name__ in (errors.__doc__ or "") for cls in tree)  # the docstring draws every class


def test_fatal_and_final_flags() -> None:
    assert errors.is_fatal(errors.ServerUnreachableError("http://x", "refused"))
    assert errors.is_fatal(errors.LeanNotFoundError("no lake"))
    assert errors.is_fatal(errors.EndpointNotConfiguredError())
    assert not errors.is_fatal(errors.ContextLengthExceededError("too long."))
    assert not errors.is_fatal(ValueError("a bug"))
    assert not errors.is_transient(errors.UnsafeHeaderError("#eval"))  # retrying cannot help: recorded
    assert errors.is_transient(errors.GenerationTimeoutError("http://x", 1.0, 2))  # resume retries it
    assert errors.is_transient(RuntimeError("a bug"))


async def _outcomes(fail: dict[int, Exception], inputs: int = 20, limit: int = 4) -> list[object]:
    started: list[int] = []

    async def run_one(item: BatchInput) -> FormalizationResult:
        index = int(item.text)
        started.append(index)
        await asyncio.sleep(0.01)
        if index in fail:
            raise fail[index]
        return FormalizationResult(input=item.text, lean_checked=False)

    outcomes = [o async for o in run_batch(run_one, [BatchInput(str(i)) for i in range(inputs)], limit=limit)]
    return [outcomes, started]


def test_the_batch_runner_costs_one_input_for_a_non_fatal_error() -> None:
    outcomes, _ = asyncio.run(_outcomes({3: errors.LLMRequestError(500, "boom"), 5: KeyError("bug")}))
    assert sorted(o.index for o in outcomes) == list(range(20))
    failed = {o.index: o.error for o in outcomes if o.error is not None}
    assert set(failed) == {3, 5} and isinstance(failed[3], errors.LLMRequestError)
    assert all(o.result is not None for o in outcomes if o.index not in failed)


def test_the_batch_runner_stops_on_a_fatal_error() -> None:
    with pytest.raises(errors.ServerUnreachableError):
        asyncio.run(_outcomes({2: errors.ServerUnreachableError("http://x", "refused")}, inputs=200, limit=2))


# -- limits ---------------------------------------------------------------------------------------------------


def test_limits_are_applied_by_assembly_and_old_fields_keep_working(tmp_path: Path) -> None:
    backend = OpenAIBackendConfig(base_url="http://127.0.0.1:9/v1", model="m", max_concurrency=7)
    config = FormalizerConfig(backend=backend, lean=False, cache=False, retrieval="off", names=None)
    parts = assemble(config)
    assert parts.raw_backend.config.max_concurrency == 7  # type: ignore[attr-defined]  # the old field alone
    parts.close()
    limited = config.model_copy(update={"limits": Limits(llm_requests=3, inputs=5, lean_workers=6)})
    parts = assemble(limited)
    assert parts.raw_backend.config.max_concurrency == 3  # type: ignore[attr-defined]
    parts.close()
    assert limited.limits.batch(limited.concurrency) == 5 and config.limits.batch(config.concurrency) == 256
    assert Limits(lean_workers=6).checker(ReplCheckerConfig()).num_workers == 6
    assert Limits(lean_workers=6).checker(KiminaCheckerConfig()).max_concurrent_requests == 6
    assert Limits().checker(ReplCheckerConfig(num_workers=3)).num_workers == 3


# -- one weighted mean ----------------------------------------------------------------------------------------


def test_weight_fitting_scores_through_the_ranker() -> None:
    rng = np.random.default_rng(0)
    labels = rng.random(80) > 0.5
    scores = {
        "consistency": np.where(labels, 0.8, 0.3) + rng.normal(0, 0.2, 80).clip(-0.3, 0.2),
        "self_consistency": rng.random(80),
        "elaboration": np.where(rng.random(80) > 0.2, 1.0, 0.0),
    }
    weights = fit_weights(scores, labels)
    assert "elaboration" not in weights  # under the default filter, elaboration filters rather than weighs
    ranker = Ranker(RankerConfig(weights=weights))
    combined = ranked_scores(ranker, scores)
    for i in range(80):
        row = {name: float(values[i]) for name, values in scores.items()}
        kept = ranker.keep(bool(row["elaboration"]))
        assert combined[i] == (ranker.combine(row) if kept else 0.0)  # exactly what ranks, filter included
    scored = fit_weights(scores, labels, config=RankerConfig(elaboration="score"))
    assert set(scored) <= {"consistency", "self_consistency", "elaboration"}


# -- the import graph -----------------------------------------------------------------------------------------

#: Layers, lowest first: a module may import its own layer and those below, never one above.
LAYERS = [
    {"errors", "_version", "_lazy", "envvars", "_paths", "_known_variables"},
    {"syntax", "corpus", "cache", "names", "checking", "llm", "prompts", "retrieval", "ranking", "limits"},
    {"scoring", "config", "results", "testing", "provenance"},
    {"evaluation", "stages", "assembly", "batch", "repair"},
    {"pipeline"},
    {"bulk", "docstrings", "export", "review"},
    {"cli", "mcp"},
]
_LAYER = {name: n for n, names in enumerate(LAYERS) for name in names}


def _imports() -> dict[str, set[str]]:
    """Module → the autoformal modules it imports (module level and inside functions alike)."""
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("autoformal"):
                found.add(node.module)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names if a.name.startswith("autoformal"))
        graph[module] = found
    return graph


def _top(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_no_module_imports_a_higher_layer() -> None:
    upward = []
    for module, imported in _imports().items():
        if _top(module) == "__init__":
            continue  # the package's lazy public surface re-exports from every layer
        assert _top(module) in _LAYER, f"{module}: place its package in LAYERS"
        for target in imported:
            if _top(target) in _LAYER and _LAYER[_top(target)] > _LAYER[_top(module)]:
                upward.append(f"{module} → {target}")
    assert upward == []


def test_no_import_cycle_between_packages() -> None:
    edges: dict[str, set[str]] = {}
    for module, imported in _imports().items():
        if _top(module) != "__init__":
            edges.setdefault(_top(module), set()).update(_top(t) for t in imported if _top(t) not in ("__init__",))
    for package in edges:
        edges[package].discard(package)
    seen: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        if seen.get(node) == 1:
            raise AssertionError(f"import cycle: {' → '.join([*path, node])}")
        if seen.get(node) == 2:
            return
        seen[node] = 1
        for target in sorted(edges.get(node, ())):
            visit(target, [*path, node])
        seen[node] = 2

    for package in sorted(edges):
        visit(package, [])
