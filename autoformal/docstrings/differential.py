"""`--run-python`: differential testing. Inputs are drawn by hypothesis strategies derived from the Python
signature (small sizes: the kernel evaluates every example), the real Python function computes the outputs in
a sandboxed subprocess, and each (input, output) pair becomes one more kernel-checked example.

The sandbox: a fresh `python -I` process (no user site, no environment variables read), `RLIMIT_AS` and
`RLIMIT_CPU` set before it starts, a wall-clock timeout, and no network (`unshare -rn`, a new user and network
namespace, when the kernel allows it; the report says whether it did). Values cross the boundary as Python
literals (`repr` in, `ast.literal_eval` out): nothing the function returns is ever executed by us.
"""

from __future__ import annotations

import ast
import functools
import json
import resource
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, PositiveInt

from autoformal.docstrings.source import PyFunction
from autoformal.errors import ConfigurationError

_CHILD = r"""
import ast, importlib.util, json, sys
request = json.loads(sys.stdin.read())
spec = importlib.util.spec_from_file_location("_autoformal_subject", request["file"])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
function = getattr(module, request["function"])
out = []
for text in request["inputs"]:
    try:
        value = function(*ast.literal_eval(text))
        out.append({"ok": repr(value)})
    except Exception as exc:
        out.append({"raised": type(exc).__name__})
print(json.dumps(out))
"""


class SandboxConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    timeout_s: PositiveFloat = Field(default=20.0, description="Wall clock for one batch of calls.")
    memory_mb: PositiveInt = Field(default=1024, description="RLIMIT_AS of the subprocess.")
    cpu_s: PositiveInt = Field(default=20, description="RLIMIT_CPU of the subprocess.")


class PythonRun(BaseModel):
    """The Python function's outputs on a batch of inputs (None where it raised or returned a non-literal)."""

    outputs: list[Any | None]
    network_isolated: bool
    error: str | None = Field(default=None, description="Why the batch produced nothing (timeout, crash).")


@functools.cache
def _unshare_prefix() -> tuple[str, ...]:
    """`unshare -rn` when this kernel lets an unprivileged process make a network namespace, else nothing."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return ()
    try:
        probe = subprocess.run([unshare, "-rn", "true"], capture_output=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return ()
    return (unshare, "-rn") if probe.returncode == 0 else ()


def run_python(function: PyFunction, inputs: Sequence[tuple[Any, ...]], config: SandboxConfig) -> PythonRun:
    """Call `function` (imported from its file in a sandboxed subprocess) on every input tuple."""
    prefix = _unshare_prefix()
    request = json.dumps(
        {"file": str(Path(function.file).resolve()), "function": function.name, "inputs": [repr(i) for i in inputs]}
    )

    def limits() -> None:
        memory = config.memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_CPU, (config.cpu_s, config.cpu_s))

    command = [*prefix, sys.executable, "-I", "-c", _CHILD]
    try:
        done = subprocess.run(
            command, input=request, capture_output=True, text=True, timeout=config.timeout_s, preexec_fn=limits
        )
    except subprocess.TimeoutExpired:
        return PythonRun(outputs=[None] * len(inputs), network_isolated=bool(prefix), error="timed out")
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return PythonRun(outputs=[None] * len(inputs), network_isolated=bool(prefix), error=f"crashed: {last[:300]}")
    outputs: list[Any | None] = []
    for entry in json.loads(done.stdout):
        try:
            outputs.append(ast.literal_eval(entry["ok"]) if "ok" in entry else None)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            outputs.append(None)
    return PythonRun(outputs=outputs, network_isolated=bool(prefix))


def draw_inputs(function: PyFunction, count: int, *, seed: int = 0) -> list[tuple[Any, ...]]:
    """`count` distinct argument tuples from strategies derived from the signature (empty when a parameter
    has no strategy). Deterministic for a seed."""
    try:
        from hypothesis import HealthCheck, Phase, given, settings
        from hypothesis import seed as hypothesis_seed
        from hypothesis import strategies as st
    except ImportError:
        raise ConfigurationError("--run-python needs hypothesis: pip install 'autoformal[differential]'") from None
    strategies = []
    for param in function.params:
        strategy = _strategy(ast.parse(param.annotation or "object", mode="eval").body, st)
        if strategy is None:
            return []
        strategies.append(strategy)
    drawn: list[tuple[Any, ...]] = []

    @hypothesis_seed(seed)
    @settings(
        max_examples=count * 3,
        database=None,
        phases=[Phase.generate],
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.tuples(*strategies))
    def collect(args: tuple[Any, ...]) -> None:
        if len(drawn) < count and args not in drawn:
            drawn.append(args)

    collect()
    return drawn


def _strategy(node: ast.expr, st: Any) -> Any | None:
    """Small values: ints in [-20, 20], strings of ≤ 4 letters, collections of ≤ 4 elements."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return _strategy(ast.parse(node.value, mode="eval").body, st)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        sides = [s for s in (node.left, node.right) if not (isinstance(s, ast.Constant) and s.value is None)]
        inner = _strategy(sides[0], st) if len(sides) == 1 else None
        return st.none() | inner if inner is not None else None
    if isinstance(node, ast.Subscript):
        head = ast.unparse(node.value).rsplit(".", 1)[-1]
        params = list(node.slice.elts) if isinstance(node.slice, ast.Tuple) else [node.slice]
        inner = [_strategy(p, st) for p in params if not (isinstance(p, ast.Constant) and p.value is Ellipsis)]
        if any(i is None for i in inner):
            return None
        if head in {"list", "List", "Sequence"} and len(inner) == 1:
            return st.lists(inner[0], max_size=4)
        if head in {"tuple", "Tuple"} and len(params) == 2 and isinstance(params[1], ast.Constant):
            return st.lists(inner[0], max_size=4).map(tuple)
        if head in {"tuple", "Tuple"} and len(inner) >= 2:
            return st.tuples(*inner)
        if head == "Optional" and len(inner) == 1:
            return st.none() | inner[0]
        if head in {"dict", "Dict", "Mapping"} and len(inner) == 2:
            return st.dictionaries(inner[0], inner[1], max_size=3)
        return None
    name = ast.unparse(node).rsplit(".", 1)[-1]
    return {
        "int": st.integers(-20, 20),
        "bool": st.booleans(),
        "str": st.text(alphabet="abcxyz", max_size=4),
    }.get(name)


def shrink_candidates(args: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    """One step smaller versions of an argument tuple: a list element dropped, an int moved toward 0, a string
    shortened (hypothesis-style shrinking, done here because each check is a Python run plus a Lean job)."""
    out: list[tuple[Any, ...]] = []
    for i, value in enumerate(args):
        for smaller in _smaller(value):
            out.append((*args[:i], smaller, *args[i + 1 :]))
    return out


def _smaller(value: Any) -> list[Any]:
    if isinstance(value, bool) or value is None:
        return [False] if value is True else []
    if isinstance(value, int):
        steps = dict.fromkeys([0, value // 2, value - 1 if value > 0 else value + 1])
        return [v for v in steps if abs(v) < abs(value)]
    if isinstance(value, str):
        return [value[:i] + value[i + 1 :] for i in range(len(value))]
    if isinstance(value, list | tuple):
        items = list(value)
        dropped = [items[:i] + items[i + 1 :] for i in range(len(items))]
        shrunk = [[*items[:i], s, *items[i + 1 :]] for i, v in enumerate(items) for s in _smaller(v)]
        return [type(value)(x) for x in [*dropped, *shrunk]]
    return []
