"""The statement parser's on-disk cache: written on a miss, read on a hit, rebuilt when corrupt, safe with
concurrent writers; and the streamlined parse table gives the same results as lark's own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from lark import Lark

from autoformal.syntax import parser_build
from autoformal.syntax.parser import preprocess

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLES = [
    "theorem t (x : ℝ) (h : 0 < x) : Real.sqrt (x ^ 2) = |x| := by sorry",
    "abbrev answer : ℕ := 3\ntheorem u : ∑ i ∈ Finset.range answer, i = 3 := sorry",
    "open Nat in\ntheorem v : ∀ n : ℕ, ∃ m > n, m.Prime := sorry",
    "example {G : Type*} [Group G] (a b : G) : (a * b)⁻¹ = b⁻¹ * a⁻¹ := by simp",
]
BROKEN = ["theorem t : (1 + := sorry", "theorem t : x ∈ {y | := sorry", "lemma ( : Prop"]


def _outcome(parser: Lark, text: str) -> str:
    try:
        return repr(parser.parse(preprocess(text)))
    except Exception as exc:  # the error's kind and position must agree too
        return repr((type(exc).__name__, getattr(exc, "line", None), getattr(exc, "column", None),
                     sorted(getattr(exc, "expected", None) or ())))


def _cache_files(cache_dir: Path) -> list[Path]:
    return sorted((cache_dir / "grammar").glob("*.pickle"))


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AUTOFORMAL_CACHE_DIR", str(tmp_path))
    return tmp_path


def test_miss_writes_the_cache_and_a_hit_parses_the_same(cache_dir: Path) -> None:
    built = parser_build.build_parser()
    files = _cache_files(cache_dir)
    assert len(files) == 1 and files[0].stat().st_size > 10_000
    loaded = parser_build.build_parser()
    assert _cache_files(cache_dir) == files  # read, not rewritten under another name
    for text in SAMPLES + BROKEN:
        assert _outcome(loaded, text) == _outcome(built, text)


def test_streamlined_table_parses_like_lark(cache_dir: Path) -> None:
    plain = Lark(
        parser_build.grammar_text(),
        transformer=parser_build.TermBuilder(),
        **parser_build._OPTIONS,
        **parser_build._plugins(),
    )
    streamlined = parser_build.build_parser()
    assert type(streamlined.parser.parser.parser) is type(plain.parser.parser.parser)
    for text in SAMPLES + BROKEN:
        assert _outcome(streamlined, text) == _outcome(plain, text)


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty", "other-digest"])
def test_corrupt_cache_is_rebuilt(cache_dir: Path, damage: str) -> None:
    parser_build.build_parser()
    (path,) = _cache_files(cache_dir)
    data = path.read_bytes()
    header, _, payload = data.partition(b"\n")
    damaged = {
        "truncate": data[: len(data) // 2],
        "garbage": header + b"\n" + os.urandom(2000),
        "empty": b"",
        "other-digest": b"0" * len(header) + b"\n" + payload,
    }[damage]
    path.write_bytes(damaged)
    parser = parser_build.build_parser()
    assert _outcome(parser, SAMPLES[0]).startswith("[RawDeclaration(")
    # replaced by a good file again
    assert parser_build._load(path, header.decode("ascii"), parser_build._plugins()) is not None


def test_unwritable_cache_directory_still_parses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the cache directory would go", encoding="utf-8")
    monkeypatch.setenv("AUTOFORMAL_CACHE_DIR", str(blocker))
    parser = parser_build.build_parser()
    assert _outcome(parser, SAMPLES[1]).startswith("[RawDeclaration(")


def test_concurrent_writers_leave_one_valid_file(cache_dir: Path) -> None:
    code = (
        "from autoformal.syntax.parser import parse_commands\n"
        "print(len(parse_commands(" + repr(SAMPLES[1]) + ")))\n"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), AUTOFORMAL_CACHE_DIR=str(cache_dir))
    procs = [
        subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    outputs = [proc.communicate(timeout=300)[0].strip() for proc in procs]
    assert all(proc.returncode == 0 for proc in procs)
    assert outputs == ["2"] * 4
    files = _cache_files(cache_dir)
    assert len(files) == 1
    assert not [p for p in (cache_dir / "grammar").iterdir() if p.suffix == ".tmp"]
    header = files[0].read_bytes().partition(b"\n")[0].decode("ascii")
    assert parser_build._load(files[0], header, parser_build._plugins()) is not None  # complete, not torn
    assert _outcome(parser_build.build_parser(), SAMPLES[1]).startswith("[RawDeclaration(")
