"""Docstrings → Lean specs: reading source with `ast`, type mapping, claims, and the whole workflow with the real
Formalizer against the loopback OpenAI stub server and the stand-in Lean REPL, on `examples/docstrings/`."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from test_bulk_support import cli_environment, formalizer_config
from typer.testing import CliRunner

from autoformal.checking import DEFAULT_HEADER
from autoformal.docstrings import (
    DocstringReport,
    TypeOptions,
    UntypableError,
    formalize_docstrings,
    lean_type,
    plan_docstrings,
    render_lean,
    scan_python,
    split_claims,
)
from autoformal.pipeline import Formalizer
from autoformal.syntax import check_safe, parse_statement
from autoformal.testing.openai_server import OpenAIStubServer
from autoformal.testing.standin_repl import StandinInstall, install_standin, read_log

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "docstrings"
NOT_DECLARED = {
    "clamp": "parameter `x` has no type annotation",
    "log_event": "`None` alone is not a value type",
    "Rectangle.__init__": "special method",
    "Rectangle.scaled": "returns its own class",
}


@pytest.fixture
def standin(tmp_path: Path) -> StandinInstall:
    return install_standin(tmp_path / "proj", log_path=tmp_path / "lean.jsonl")


def spec_responder(request: dict[str, Any]) -> list[str]:
    """A model that reads the declaration from the prompt and answers with statements about it: a well-typed
    one, one using an undefined helper (the stand-in rejects it) and one running IO (the gate rejects it)."""
    prompt = request["messages"][-1]["content"]
    match = re.search(r"^opaque (\S+) : (.+)$", prompt, re.M)
    assert match, "the prompt must show the Lean declaration"
    name, type_text = match.groups()
    parts = [p.strip() for p in re.split(r"\s→\s(?![^(]*\))", type_text)]
    args = [f"(x{i} : {t})" for i, t in enumerate(parts[:-1])]
    call = " ".join([name, *(f"x{i}" for i in range(len(parts) - 1))])
    if "Lean `example`" in prompt:
        good = f"example {' '.join(args)} : {call} = {call} := by sorry"
    else:
        good = f"theorem {name}_spec {' '.join(args)} : {call} = {call} := by sorry"
    samples = [
        f"```lean\n{good}\n```",
        f"theorem {name}_wrong {' '.join(args)} : undefined_helper ({call}) := by sorry",
        f'theorem {name}_io {" ".join(args)} : IO.println "x" = IO.println "x" := by sorry',
    ]
    return [samples[i % len(samples)] for i in range(int(request.get("n") or 1))]


def lean_blocks(text: str) -> list[str]:
    """The declarations of a rendered file: blank-line-separated blocks with comment lines removed."""
    blocks = []
    for block in re.split(r"\n\s*\n", text):
        code = "\n".join(line for line in block.splitlines() if not line.lstrip().startswith(("--", "/-!")))
        if code.strip():
            blocks.append(code.strip())
    return blocks


# ------------------------------------------------------------------------------------------- reading


def test_source_is_read_not_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    module = tmp_path / "effects.py"
    module.write_text(
        f"open({str(marker)!r}, 'w').write('x')\n\n"
        "def double(n: int) -> int:\n    '''Return twice ``n``.'''\n    return 2 * n\n\n"
        "def undocumented(n: int) -> int:\n    return n\n",
        encoding="utf-8",
    )
    scan = scan_python(module)
    assert not marker.exists()
    assert [f.signature for f in scan.functions] == ["double(n: int) -> int"]
    assert (scan.functions[0].line, scan.functions[0].docstring_line, scan.undocumented) == (3, 4, 1)


def test_package_scan_reports_the_syntax_error_and_keeps_the_rest() -> None:
    scan = scan_python(EXAMPLES)
    assert [(e.file.name, e.line) for e in scan.errors] == [("broken.py", 9)]
    assert "syntax error" in scan.errors[0].message
    names = [f.qualname for f in scan.functions]
    assert "insertion_sort" in names and "Rectangle.area" in names and "add" not in names
    area = next(f for f in scan.functions if f.qualname == "Rectangle.area")
    assert (area.kind, area.module, area.class_name) == ("method", "algorithms", "Rectangle")


def test_class_fields_become_accessors_of_the_opaque_class(tmp_path: Path) -> None:
    module = tmp_path / "shapes.py"
    module.write_text(
        "from dataclasses import dataclass\n\n"
        "@dataclass\nclass Box:\n    side: float\n    tags: list[str]\n    cache: object\n\n"
        '    def volume(self) -> float:\n        """Return ``side ** 3``."""\n        return self.side ** 3\n',
        encoding="utf-8",
    )
    report = plan_docstrings(module, header=DEFAULT_HEADER, options=TypeOptions(float_as_real=True))
    assert [d.text for d in report.declarations] == [
        "opaque shapes.Box : Type",
        "opaque shapes.Box.side : shapes.Box → ℝ",
        "opaque shapes.Box.tags : shapes.Box → List String",
        "opaque shapes.Box.volume : shapes.Box → ℝ",
    ]
    assert len(report.skipped_fields) == 1 and "Box.cache: object" in report.skipped_fields[0]
    assert "-- not declared: field `Box.cache: object`" in render_lean(report).text


@pytest.mark.parametrize(
    "annotation, expected",
    [
        ("int", "Int"),
        ("bool", "Bool"),
        ("str", "String"),
        ("float", "Float"),
        ("list[int]", "List Int"),
        ("list[list[str]]", "List (List String)"),
        ("Optional[int]", "Option Int"),
        ("int | None", "Option Int"),
        ("typing.Union[None, str]", "Option String"),
        ("dict[str, list[int]]", "List (String × List Int)"),
        ("set[int]", "Finset Int"),
        ("tuple[int, str]", "Int × String"),
        ("tuple[int, ...]", "List Int"),
        ("tuple[()]", "Unit"),
        ("tuple[tuple[int, int], bool]", "(Int × Int) × Bool"),
        ("Callable[[int, int], bool]", "Int → Int → Bool"),
        ("'Stack'", "mod.Stack"),
        ("Optional[Stack]", "Option mod.Stack"),
    ],
)
def test_python_types_map_to_lean(annotation: str, expected: str) -> None:
    assert lean_type(annotation, ["Stack"], module="mod", options=TypeOptions()) == expected


def test_float_as_real_and_unmodelled_types_say_why() -> None:
    assert lean_type("list[float]", options=TypeOptions(float_as_real=True)) == "List ℝ"
    for annotation, reason in [
        ("Any", "`Any` has no Lean counterpart"),
        ("int | str", "union `int | str` is not modelled"),
        ("list", "without type parameters"),
        ("Iterator[int]", "iterators are lazy"),
        ("numpy.ndarray", "not modelled"),
    ]:
        with pytest.raises(UntypableError, match=re.escape(reason)):
            lean_type(annotation, options=TypeOptions())


def test_claims_from_sections_fields_and_doctests() -> None:
    doc = (
        "Return the index of ``x`` in ``xs``.\n\n"
        "Args:\n    xs: a list.\n    x: the value.\n\n"
        "Returns:\n    The first index ``i`` with\n    ``xs[i] == x``.\n\n"
        "Raises:\n    ValueError: if ``x`` is not in ``xs``.\n\n"
        ":raises TypeError: if ``xs`` is not a list\n\n"
        ">>> index([5, 7], 7)\n1\n>>> index([], 1)\nTraceback (most recent call last):\nValueError: not found"
    )
    claims = [(c.kind, c.text, c.lines) for c in split_claims(doc)]
    assert claims == [
        ("postcondition", "Return the index of ``x`` in ``xs``.", [0]),
        ("returns", "The first index ``i`` with ``xs[i] == x``.", [7, 8]),
        ("raises", "ValueError: if ``x`` is not in ``xs``.", [11]),
        ("raises", "Raises TypeError: if ``xs`` is not a list", [13]),
        ("example", "`index([5, 7], 7)` evaluates to `1`", [15, 16]),
        ("example", "`index([], 1)` raises ValueError: not found", [17, 18, 19]),
    ]


def test_plan_declares_typed_functions_and_lists_the_others_with_reasons() -> None:
    report = plan_docstrings(EXAMPLES, header=DEFAULT_HEADER)
    declared = {d.name: d.type for d in report.declarations}
    assert declared["algorithms.Rectangle"] == "Type"
    assert declared["algorithms.insertion_sort"] == "List Int → List Int"
    assert declared["algorithms.binary_search"] == "List Int → Int → Option Int"
    assert declared["algorithms.Rectangle.contains"] == "algorithms.Rectangle → Float → Float → Bool"
    assert declared["algorithms.Rectangle.square_area"] == "Float → Float"  # a staticmethod takes no instance
    assert declared["algorithms.Rectangle.width"] == "algorithms.Rectangle → Float"  # from `self.width = width`
    reasons = {f.qualname: f.not_declared for f in report.functions if f.not_declared}
    assert set(reasons) == set(NOT_DECLARED)
    for name, fragment in NOT_DECLARED.items():
        assert fragment in (reasons[name] or "")
    for declaration in report.declarations:  # our declarations are grammatical and name no forbidden construct
        statement = parse_statement(declaration.text)
        assert (statement.keyword, statement.name, statement.conclusion_text) == (
            "opaque",
            declaration.name,
            declaration.type,
        )
        assert check_safe(f"theorem {declaration.name} : {declaration.type} := sorry").ok


# ------------------------------------------------------------------------------------------- workflow


async def test_specs_are_formalized_checked_and_rendered_safely(tmp_path: Path, standin: StandinInstall) -> None:
    report = plan_docstrings(EXAMPLES, header=DEFAULT_HEADER)
    claims = report.pending_claims()
    with OpenAIStubServer(spec_responder) as server:
        async with Formalizer(formalizer_config(server, standin)) as formalizer:
            await formalize_docstrings(report, formalizer, concurrency=4)
        prompts = [r["messages"][-1]["content"] for r in server.chat_requests]
    assert len(prompts) == len(claims) == 18
    assert report.lean_checked is True and report.model == "stub-model"
    assert all(c.result is not None and c.error is None for _, c in claims)
    # Lean saw our declarations before every candidate, and never the IO candidate (the gate stopped it)
    sent = [e["request"]["cmd"] for e in read_log(standin.log_path or "") if "env" in e.get("request", {})]
    assert sent and all(cmd.startswith(report.context + "\n\n") for cmd in sent)
    assert not any("IO." in cmd for cmd in sent)
    counts = [c.result.stage_counts for _, c in claims if c.result is not None]
    assert all((n["generated"], n["safe"], n["elaborated"]) == (3, 2, 1) for n in counts), counts

    rendered = render_lean(report, top=2)
    text = rendered.text
    assert text.startswith("-- Generated by `autoformal docstrings`")
    assert "-- Lean checked: yes" in text and report.context in text
    theorems = [b for b in lean_blocks(text) if re.match(r"(theorem|lemma|example)\b", b)]
    # one per claim: the ranker keeps only elaborating candidates when Lean checked them
    assert len(theorems) == len(rendered.theorems) == 18 and not rendered.omitted
    for theorem in theorems:
        verdict = check_safe(theorem)
        assert verdict.ok, (theorem, verdict.reason)
    names = [t.name for t in rendered.theorems if t.name is not None]
    assert len(names) == len(set(names))
    # each theorem follows the quoted docstring lines it formalizes
    gcd_example = text.split("--   >>> gcd(12, 18)\n--   6\n", 1)[1]
    assert gcd_example.startswith("-- rank 1, score")
    call = "algorithms.gcd x0 x1"
    assert f"elaborates\nexample (x0 : Int) (x1 : Int) : {call} = {call} := sorry" in gcd_example
    for function, claim in claims:
        assert "\n".join(f"--   {line}" for line in claim.quoted) in text, (function.qualname, claim.text)
    for name in NOT_DECLARED:
        assert f"-- not declared: {name} (" in text
    assert "-- skipped " in text and "broken.py:9: syntax error" in text
    # the report round-trips through JSON
    again = DocstringReport.model_validate_json(report.model_dump_json())
    assert again.functions[0].claims[0].result == report.functions[0].claims[0].result


def test_cli_writes_lean_file_and_report(
    tmp_path: Path, standin: StandinInstall, monkeypatch: pytest.MonkeyPatch
) -> None:
    from autoformal.cli import app

    out, report_path = tmp_path / "specs.lean", tmp_path / "report.json"
    with OpenAIStubServer(spec_responder) as server:
        for key, value in cli_environment(server, standin, tmp_path / "cache").items():
            monkeypatch.setenv(key, value)
        result = CliRunner().invoke(
            app,
            [
                "docstrings",
                str(EXAMPLES / "algorithms.py"),
                "-o",
                str(out),
                "--report",
                str(report_path),
                "--samples",
                "3",
                "--real",
            ],
        )
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert "opaque algorithms.mean : List ℝ → ℝ" in text
    report = json.loads(report_path.read_text(encoding="utf-8"))
    assert report["lean_checked"] is True
    assert {f["qualname"] for f in report["functions"] if f["not_declared"]} == set(NOT_DECLARED)
    for block in lean_blocks(text):
        if re.match(r"(theorem|lemma|example)\b", block):
            assert check_safe(block).ok, block


def test_cli_dry_run_calls_no_model(tmp_path: Path) -> None:
    from autoformal.cli import app

    result = CliRunner().invoke(app, ["docstrings", str(EXAMPLES), "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout[result.stdout.index("{") :])
    assert report["lean_checked"] is None
    assert len(report["declarations"]) == 12
    assert all(c["result"] is None for f in report["functions"] for c in f["claims"])
