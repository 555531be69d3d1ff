"""`autoformal docstrings --translate` without real Lean: Python values printed as Lean literals, examples read
from docstrings, the gate on translated defs, and the whole flow on the stand-in REPL replaying real core-Lean
replies (`tests/fixtures/translation_core_lean.jsonl`, recorded with `record_transcript` from the same flow)."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest
from docstrings_translation_support import (
    CORRECT,
    OFF_BY_ONE,
    PLAN,
    REPAIRS,
    SMALL,
    TRANSCRIPT,
    TranslationResponder,
    assert_differential,
    translate_small,
)
from typer.testing import CliRunner

from autoformal.checking import ReplCheckerConfig
from autoformal.cli import app
from autoformal.corpus.models import Declaration
from autoformal.docstrings import TypeOptions, plan_docstrings, render_lean
from autoformal.docstrings.differential import SandboxConfig, draw_inputs, run_python, shrink_candidates
from autoformal.docstrings.literals import doc_examples, lean_literal
from autoformal.docstrings.source import PyFunction, PyParam
from autoformal.docstrings.translate import extract_def, function_source, lean_signature, one_line, translation_messages
from autoformal.errors import UnprintableValueError
from autoformal.testing.openai_server import OpenAIStubServer
from autoformal.testing.standin_repl import StandinInstall, install_standin


@pytest.mark.parametrize(
    "value, annotation, expected",
    [
        (3, "int", "3"),
        (-3, "int", "(-3)"),
        (True, "bool", "true"),
        ('a "q"\n\\', "str", '"a \\"q\\"\\n\\\\"'),
        ([1, -2], "list[int]", "[1, (-2)]"),
        ([], "list[str]", "[]"),
        ((1, "x"), "tuple[int, str]", '(1, "x")'),
        ((1, 2), "tuple[int, ...]", "[1, 2]"),
        (None, "Optional[int]", "none"),
        (4, "int | None", "(some 4)"),
        ({"a": 1}, "dict[str, int]", '[("a", 1)]'),
    ],
)
def test_python_values_print_as_lean_literals(value: object, annotation: str, expected: str) -> None:
    assert lean_literal(value, annotation) == expected


@pytest.mark.parametrize(
    "value, annotation",
    [(1.5, "float"), ({1}, "set[int]"), (True, "int"), (1, "bool"), ("\x01", "str"), ([1, "a"], "list[int]")],
)
def test_values_without_a_faithful_literal_are_refused(value: object, annotation: str) -> None:
    with pytest.raises(UnprintableValueError):
        lean_literal(value, annotation)


def test_doctests_and_examples_lines_are_read() -> None:
    scan = plan_docstrings(SMALL, header="")
    examples = {f.qualname: doc_examples(f.python) for f in scan.functions if f.python is not None}
    assert [(e.args, e.expected) for e in examples["sum_list"][0]] == [(([3, 1, 2],), 6), (([],), 0)]
    assert [(e.args, e.expected) for e in examples["count_evens"][0]] == [(([1, 2, 4, 7],), 2), (([],), 0)]
    assert [e.args for e in examples["clamp"][0]] == [(5, 0, 3), (-1, 0, 3), (2, 0, 3)]
    assert all(unread == 0 for _, unread in examples.values())


@pytest.mark.parametrize(
    "answer",
    [
        "partial def m.f (x : Int) : Int := m.f x",
        "@[simp] def m.f (x : Int) : Int := x",
        "unsafe def m.f (x : Int) : Int := x",
        "@[implemented_by m.g] def m.f (x : Int) : Int := x",
        "def m.f (x : Int) : Int := x\n#eval m.f 1",
        "#eval IO.println 1\ndef m.f (x : Int) : Int := x",
        "set_option maxRecDepth 100 in\ndef m.f (x : Int) : Int := x",
        "def m.f (x : Int) : Int := by exact x",
        "def m.f : Int → Int\n  | 0 => 1\n  | n => n",
        "def m.f (x : Int) : Int := x\ntermination_by x",
    ],
)
def test_the_gate_refuses_unsafe_or_non_term_defs(answer: str) -> None:
    refused = extract_def(f"```lean\n{answer}\n```", "m.f")
    assert isinstance(refused, str) and refused.startswith("refused by the safety gate")


def test_a_def_with_helpers_comments_and_layout_is_one_lined_without_changing_meaning() -> None:
    answer = (
        "Here it is:\n```lean\ndef m.step (a : Int) (b : Int) : Int := a + b  -- helper\n"
        "/- the fold -/\ndef m.f (xs : List Int) : Int :=\n  xs.foldl m.step 0\n```"
    )
    candidate = extract_def(answer, "m.f")
    assert not isinstance(candidate, str)
    assert candidate.defs == (
        "def m.step (a : Int) (b : Int) : Int := a + b",
        "def m.f (xs : List Int) : Int := xs.foldl m.step 0",
    )
    assert extract_def(answer, "m.g") == "the last declaration is `def m.f`, not `def m.g`"


@pytest.fixture
def replayed_lean(tmp_path: Path) -> StandinInstall:
    return install_standin(tmp_path / "proj", transcripts=TRANSCRIPT)


def test_translation_flow_on_the_standin_replaying_core_lean(replayed_lean: StandinInstall) -> None:
    config = ReplCheckerConfig(project_dir=replayed_lean.directory, lake_path=replayed_lean.lake, num_workers=1)
    report, responder = translate_small(config)
    models = {f.qualname: f.model for f in report.functions if f.model is not None}
    for name in ("sum_list", "max_of_two", "reverse_list", "count_evens"):
        assert models[name].accepted == one_line(CORRECT[name]), models[name].why_none
        assert models[name].doctests_failed == 0 and models[name].doctests_passed >= 1
    wrong = next(c for c in models["sum_list"].candidates if c.sample == 0)
    assert wrong.elaborates and [v.example.prop for v in wrong.failed if v.example.origin == "docstring"] == [
        "small.sum_list [3, 1, 2] = 6",
        "small.sum_list [] = 0",
    ]
    assert models["clamp"].accepted is None and "small.clamp 5 0 3 = 3" in (models["clamp"].why_none or "")
    assert_differential(models)
    # The prompt carried the Python source and the derived signature.
    prompt = next(p for p in responder.translation_prompts if "small.sum_list" in p)
    assert "total += x" in prompt and "def small.sum_list (xs : List Int) : Int := ..." in prompt
    text = render_lean(report).text
    assert "-- FALLBACK to opaque for `small.clamp`" in text
    assert "example : small.count_evens [1, 2, 4, 7] = 2 := by decide" in text


def test_a_rejected_def_is_repaired_from_the_kernels_feedback(replayed_lean: StandinInstall) -> None:
    config = ReplCheckerConfig(project_dir=replayed_lean.directory, lake_path=replayed_lean.lake, num_workers=1)
    report, responder = translate_small(config, REPAIRS)
    models = {f.qualname: f.model for f in report.functions if f.model is not None}
    # Only clamp had no acceptable def after the first samples: one repair request, for its off-by-one (sample 1).
    assert [m[-1]["content"] for m in responder.repair_requests] and len(responder.repair_requests) == 1
    assert all(not models[name].repairs for name in ("sum_list", "max_of_two", "reverse_list", "count_evens"))
    clamp = models["clamp"]
    (repair,) = clamp.repairs
    assert (repair.round, repair.parent, repair.outcome) == (1, 1, "acceptable")
    assert clamp.accepted == one_line(CORRECT["clamp"]) and clamp.accepted_sample == repair.sample == 3
    accepted = next(c for c in clamp.candidates if c.sample == clamp.accepted_sample)
    assert (accepted.round, accepted.parent, accepted.failed) == (1, 1, [])
    assert clamp.doctests_passed == 3 and clamp.examples_agreed == clamp.examples_tried
    # The request continued the translation conversation: the failed def as the model's answer, then the
    # examples the kernel could not prove (smallest first, with Lean's messages) and the shrunk counterexample.
    messages = responder.repair_requests[0]
    assert "Translate this Python function" in messages[-3]["content"]
    assert messages[-2] == {"role": "assistant", "content": f"```lean\n{one_line(OFF_BY_ONE['clamp'])}\n```"}
    assert "small.clamp 5 0 3 = 3" in [v.example.prop for v in repair.cause.failed_examples]
    assert all(v.lean_message for v in repair.cause.failed_examples) and repair.cause.lean_message is None
    assert repair.cause.counterexample == clamp.counterexample  # shrunk once, shared by the prompt and the report
    assert clamp.counterexample is not None and clamp.counterexample.sample == 1
    for text in ("small.clamp 5 0 3 = 3", "clamp(1, 0, 0) == 0", "small.clamp 1 0 0 = 0"):
        assert text in messages[-1]["content"]
    rendered = render_lean(report).text
    assert "FALLBACK" not in rendered and "example : small.clamp 5 0 3 = 3 := by decide" in rendered


@pytest.mark.parametrize(
    "answer, outcome", [("attribute", "refused: refused by the safety gate"), ("off_by_one", "repeats a def")]
)
def test_a_repair_answer_that_is_refused_or_repeated_reaches_no_lean(
    replayed_lean: StandinInstall, answer: str, outcome: str
) -> None:
    config = ReplCheckerConfig(project_dir=replayed_lean.directory, lake_path=replayed_lean.lake, num_workers=1)
    report, _ = translate_small(config, {"clamp": [answer]})
    clamp = next(f.model for f in report.functions if f.qualname == "clamp")
    assert clamp is not None and clamp.accepted is None and "small.clamp 5 0 3 = 3" in (clamp.why_none or "")
    (repair,) = clamp.repairs
    assert repair.outcome.startswith(outcome) and repair.sample is None
    assert [c.sample for c in clamp.candidates] == [1]  # nothing new was checked
    assert "-- FALLBACK to opaque for `small.clamp`" in render_lean(report).text


@pytest.mark.parametrize(
    "variables, flags",
    [({}, []), ({"AUTOFORMAL_REPAIR_MAX_REQUESTS": "0"}, []), ({}, ["--repair-rounds", "0"])],
)
def test_cli_translate_reports_per_function(
    replayed_lean: StandinInstall,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    variables: dict[str, str],
    flags: list[str],
) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("COLUMNS", "400")  # the summary table's cells on one line each
    with OpenAIStubServer(TranslationResponder(PLAN, REPAIRS)) as server:
        monkeypatch.setenv("AUTOFORMAL_BASE_URL", server.base_url)
        monkeypatch.setenv("AUTOFORMAL_MODEL", server.model)
        monkeypatch.setenv("AUTOFORMAL_LEAN_PROJECT", str(replayed_lean.directory))
        monkeypatch.setenv("AUTOFORMAL_LEAN_REPL", str(replayed_lean.directory))
        monkeypatch.setenv("PATH", f"{replayed_lean.directory}{os.pathsep}{os.environ['PATH']}")
        monkeypatch.setenv("AUTOFORMAL_CACHE_PATH", str(tmp_path / "cache.sqlite"))
        monkeypatch.setenv("AUTOFORMAL_RETRIEVAL", "off")
        monkeypatch.setenv("AUTOFORMAL_CHECKER__NUM_WORKERS", "1")
        monkeypatch.delenv("AUTOFORMAL_CONFIG", raising=False)
        header = tmp_path / "empty.lean"
        header.write_text("", encoding="utf-8")
        result = CliRunner().invoke(
            app,
            [
                *("docstrings", str(SMALL), "--translate", "-k", "3", "--declare-with", "constant"),
                *("--header", str(header), "--json", "-o", str(tmp_path / "Specs.lean")),
                *flags,
            ],
        )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    models = {f["qualname"]: f["model"] for f in payload["functions"]}
    assert payload["translated"] is True
    assert models["reverse_list"]["accepted"] == CORRECT["reverse_list"]
    assert models["reverse_list"]["doctests_passed"] == 1
    assert "def small.reverse_list" in (tmp_path / "Specs.lean").read_text(encoding="utf-8")
    clamp = models["clamp"]
    if not variables and not flags:  # the repair settings of `formalize` apply: the off-by-one is repaired
        assert clamp["accepted"] == one_line(CORRECT["clamp"]) and clamp["repairs"][0]["outcome"] == "acceptable"
        assert "accepted the round-1 correction of sample 1" in result.stderr
    else:
        assert clamp["accepted"] is None and clamp["why_none"] and clamp["repairs"] == []
        assert clamp["repairs_unsent"] == (1 if "AUTOFORMAL_REPAIR_MAX_REQUESTS" in variables else 0)


def _subject(tmp_path: Path, body: str, params: list[tuple[str, str]], returns: str) -> PyFunction:
    file = tmp_path / "subject.py"
    file.write_text(body, encoding="utf-8")
    return PyFunction(
        file=file,
        module="subject",
        line=1,
        name="f",
        params=[PyParam(name=n, annotation=a) for n, a in params],
        returns=returns,
        docstring="",
        docstring_line=1,
    )


def test_inputs_are_drawn_small_and_reproducibly(tmp_path: Path) -> None:
    function = _subject(
        tmp_path, "def f(xs, s, o): return 0\n", [("xs", "list[int]"), ("s", "str"), ("o", "int | None")], "int"
    )
    drawn = draw_inputs(function, 15)
    assert drawn == draw_inputs(function, 15) and len(drawn) == len(set(map(repr, drawn))) == 15
    assert all(len(xs) <= 4 and all(-20 <= x <= 20 for x in xs) and len(s) <= 4 for xs, s, _ in drawn)
    assert any(o is None for *_, o in drawn) and any(isinstance(o, int) for *_, o in drawn)
    assert draw_inputs(_subject(tmp_path, "", [("x", "float")], "int"), 5) == []  # no strategy: no inputs


def test_shrinking_steps_toward_smaller_inputs() -> None:
    assert shrink_candidates(([3, -4], 5)) == [
        ([-4], 5),
        ([3], 5),
        ([0, -4], 5),
        ([1, -4], 5),
        ([2, -4], 5),
        ([3, 0], 5),
        ([3, -2], 5),
        ([3, -3], 5),
        ([3, -4], 0),
        ([3, -4], 2),
        ([3, -4], 4),
    ]
    assert shrink_candidates(((), 0)) == []


def test_python_runs_sandboxed(tmp_path: Path) -> None:
    body = (
        "import socket, time\n"
        "def f(mode: int) -> int:\n"
        "    if mode == 1:\n"
        "        socket.create_connection(('127.0.0.1', PORT), timeout=2).close()\n"
        "    if mode == 2:\n"
        "        return len(bytearray(4 * 1024 ** 3))\n"
        "    if mode == 3:\n"
        "        return [1]\n"
        "    if mode == 4:\n"
        "        time.sleep(60)\n"
        "    return mode * 10\n"
    )
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        function = _subject(tmp_path, body.replace("PORT", str(listener.getsockname()[1])), [("mode", "int")], "int")
        run = run_python(function, [(0,), (1,), (2,), (3,)], SandboxConfig(memory_mb=512))
    assert run.error is None and run.outputs[0] == 0 and run.outputs[2] is None  # 4 GB: MemoryError under RLIMIT_AS
    assert run.outputs[3] == [1]  # a literal of the wrong type comes back; printing it for `int` refuses it
    if run.network_isolated:
        assert run.outputs[1] is None  # loopback in a fresh network namespace: the connection fails
    slow = run_python(function, [(4,)], SandboxConfig(timeout_s=1.0))
    assert slow.error == "timed out" and slow.outputs == [None]


def test_the_prompt_carries_source_signature_and_retrieved_declarations() -> None:
    report = plan_docstrings(SMALL, header="")
    function = next(f for f in report.functions if f.qualname == "count_evens")
    assert function.python is not None and function.declaration is not None
    signature = lean_signature(function.python, function.declaration, [], TypeOptions())
    related = Declaration(name="List.countP", kind="def", signature="(p : α → Bool) (l : List α) : Nat")
    (system, user) = translation_messages(function.python, function_source(function.python), signature, [related])
    assert system.role == "system" and "sum(1 for x in xs if x % 2 == 0)" in user.content
    assert "def small.count_evens (xs : List Int) : Int := ..." in user.content
    assert "def List.countP (p : α → Bool) (l : List α) : Nat" in user.content
