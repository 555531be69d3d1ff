"""A stand-in for the Lean REPL (leanprover-community/repl) and for `lean --json`, for machines without Lean.

It speaks the REPL's exact protocol: one JSON command per request, requests and replies separated by a blank
line, `{"cmd": ..., "env": n}` answered by `{"env": m, "messages": [...], "sorries": [...]}` (empty lists left
out, as current REPL versions do), messages with `severity`/`pos`/`endPos`/`data`, `{"message": "Unknown
environment."}` for env ids it never handed out, and EOF or an empty request ends it. Answers come from
recorded real transcripts (`{"request", "response"}` JSONL, matched on the command text) when given, else
from a small rule set: imports only in the first command, unbalanced brackets, an operator with no operand
after it, duplicate declarations, missing `:=` (parse errors); arithmetic on a string literal and identifiers
named `undefined_*` (elaboration errors, followed like in Lean by the sorry warning); and the "declaration
uses 'sorry'" warning, with the goal for tactic-mode `by sorry`.

Faults are injected by magic names in the command (they pass the statement grammar as theorem names):
`standin_fault_hang` (never answers), `standin_fault_crash` (dies), `standin_fault_garbage` (prints a non-JSON
reply and keeps running), `standin_fault_partial` (prints half a JSON reply and dies), `standin_fault_oom`
(allocates and touches memory until RLIMIT_AS stops it, then dies like Lean does), `standin_fault_bloat`
(keeps ~64 MB resident and answers normally). `AUTOFORMAL_STANDIN_FAULT=crash_on_start` makes every process
die at start.

This file is stdlib-only and runs as a script (`install_standin` writes shims that exec it), so the process
starts fast and needs nothing from the venv.
"""

from __future__ import annotations

import json
import mmap
import os
import re
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENV_TRANSCRIPTS = "AUTOFORMAL_STANDIN_TRANSCRIPTS"
ENV_LOG = "AUTOFORMAL_STANDIN_LOG"
ENV_FAULT = "AUTOFORMAL_STANDIN_FAULT"
ENV_OOM_MB = "AUTOFORMAL_STANDIN_OOM_MB"

FAULT_MARKERS = ("hang", "crash", "garbage", "partial", "oom", "bloat")
_BLOAT_MB = 64

Json = dict[str, Any]

# ---------------------------------------------------------------------------------------------- logging


def _log(event: Json) -> None:
    path = os.environ.get(ENV_LOG)
    if not path:
        return
    line = json.dumps({"pid": os.getpid(), "time": time.time(), **event}, ensure_ascii=False) + "\n"
    # One O_APPEND write per line keeps lines whole when several worker processes log to the same file.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode("utf-8"))
    finally:
        os.close(fd)


def read_log(path: str | os.PathLike[str]) -> list[Json]:
    """The events a stand-in logged: `{"pid", "event": "start"}` and `{"pid", "request": {...}}` entries."""
    p = Path(path)
    if not p.exists():
        return []
    return [json.loads(line) for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]


# ---------------------------------------------------------------------------------------------- rules

_OPENERS = {"(": ")", "[": "]", "{": "}", "⟨": "⟩"}
_CLOSERS = {v: k for k, v in _OPENERS.items()}
_DECL = re.compile(
    r"^(?:(?:private|protected|noncomputable)\s+)*(theorem|lemma|def|abbrev|example)\b\s*([^\s:({\[⦃]*)", re.M
)
_DANGLING_OP = re.compile(r"(?:[+*/∧∨→↔≤≥<>]|(?<![:<>!≠-])=|-(?!>))[ \t]*(?==(?!=)|\)|\]|:=|$)", re.M)
_SORRY = re.compile(r"(?<![\w.'])sorry(?![\w'])")
# Elaboration errors the rules can see without types: arithmetic on a string literal (as in the recorded
# `n + "a"` answer) and identifiers named `undefined_*` (the stand-in's way to spell "not in scope").
_STRING_ARITH = re.compile(r"([\w.'₀-₉]+)[ \t]*([+*/-])[ \t]*\"s*\"")
_ARITH_CLASS = {"+": "HAdd", "-": "HSub", "*": "HMul", "/": "HDiv"}
_UNDEFINED = re.compile(r"(?<![\w.'])undefined_[\w.']*")


def _pos(text: str, index: int) -> Json:
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1)
    return {"line": line, "column": column}


def _message(text: str, severity: str, start: int, end: int | None, data: str) -> Json:
    return {
        "severity": severity,
        "pos": _pos(text, start),
        "endPos": _pos(text, end) if end is not None else None,
        "data": data,
    }


def _code_mask(text: str) -> str:
    """`text` with comments blanked and string literals neutralised (same length), so rules see only code."""
    out = list(text)
    i = 0
    while i < len(text):
        if text.startswith("--", i):
            j = text.find("\n", i)
            j = len(text) if j < 0 else j
        elif text.startswith("/-", i):
            j = text.find("-/", i + 2)
            j = len(text) if j < 0 else j + 2
        elif text[i] == '"':
            j = i + 1
            while j < len(text) and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, len(text))
        else:
            i += 1
            continue
        # Comments become blanks; a string literal stays a term (quotes kept, contents neutralised).
        fill = "s" if text[i] == '"' else " "
        for k in range(i + (fill == "s"), j - (fill == "s")):
            if out[k] != "\n":
                out[k] = fill
        i = j
    return "".join(out)


def _bracket_error(text: str, code: str) -> Json | None:
    stack: list[tuple[str, int]] = []
    for i, ch in enumerate(code):
        if ch in _OPENERS:
            stack.append((ch, i))
        elif ch in _CLOSERS:
            if not stack or stack[-1][0] != _CLOSERS[ch]:
                return _message(text, "error", i, None, f"unexpected token '{ch}'; expected command")
            stack.pop()
    if stack:
        opener, _ = stack[-1]
        end = len(text.rstrip())
        return _message(text, "error", end, None, f"unexpected end of input; expected '{_OPENERS[opener]}'")
    return None


def elaborate(
    text: str, known_names: frozenset[str], first_command: bool, props: dict[str, str] | None = None
) -> tuple[list[Json], list[Json], set[str]]:
    """The rule set: (messages, sorries, names declared) for one command. `props` holds the statements of the
    theorems in the environment (for the proof rules); declared theorems' statements are added to it."""
    props = {} if props is None else props
    code = re.sub(r"\bat \*", "at _", _code_mask(text))  # `simp at *`: a location, not a dangling operator
    messages: list[Json] = []
    for m in re.finditer(r"^import\b", code, re.M):
        if not first_command or (code[: m.start()].strip(" \n") and not _only_imports(code[: m.start()])):
            messages.append(
                _message(
                    text,
                    "error",
                    m.start(),
                    None,
                    "invalid 'import' command, it must be used in the beginning of the file",
                )
            )
            return messages, [], set()
    if (err := _bracket_error(text, code)) is not None:
        return [err], [], set()
    if (dangling := _DANGLING_OP.search(code)) is not None:
        return [_message(text, "error", dangling.end(), None, "expected term")], [], set()

    sorries: list[Json] = []
    declared: set[str] = set()
    decls = list(_DECL.finditer(code))
    for k, d in enumerate(decls):
        body_end = decls[k + 1].start() if k + 1 < len(decls) else len(code)
        body = code[d.start() : body_end]
        kind, name = d.group(1), d.group(2)
        if kind != "example" and name and (name in known_names or name in declared):
            messages.append(_message(text, "error", d.start(2), d.end(2), f"'{name}' has already been declared"))
            continue
        if ":=" not in body and "|" not in body and " where" not in body:
            end = d.start() + len(body.rstrip())
            messages.append(_message(text, "error", end, None, "unexpected end of input; expected ':='"))
            continue
        for m in _STRING_ARITH.finditer(body):
            cls = _ARITH_CLASS[m.group(2)]
            data = f"failed to synthesize instance\n  {cls} ?α String ?β"
            messages.append(_message(text, "error", d.start() + m.start(), d.start() + m.end(), data))
        for m in _UNDEFINED.finditer(body):
            data = f"unknown identifier '{m.group()}'"
            messages.append(_message(text, "error", d.start() + m.start(), d.start() + m.end(), data))
        proof = re.search(r":=\s*by\b", body)
        if proof is not None and _SORRY.search(body) is None and not any(m["severity"] == "error" for m in messages):
            messages.extend(_prove(text, d.start(), body, proof, props))
        failed = any(m["severity"] == "error" for m in messages)
        sorry = _SORRY.search(body)
        if sorry is not None:
            start = d.start() + sorry.start()
            messages.append(_message(text, "warning", start, start + 5, "declaration uses 'sorry'"))
            tactic = re.search(r":=\s*by\b", body[: sorry.start()]) is not None
            if tactic:  # tactic-mode sorries come with their goal; term-mode ones give no entry
                conclusion = body[: body.find(":=")]
                goal_text = conclusion.rsplit(" : ", 1)[-1].strip() if " : " in conclusion else conclusion.strip()
                sorries.append(
                    {
                        "pos": _pos(text, start),
                        "endPos": _pos(text, start + 5),
                        "goal": f"⊢ {goal_text}",
                        "proofState": len(sorries),
                    }
                )
        if kind != "example" and name and not failed:
            declared.add(name)
            statement = _statement_of(body)
            if statement is not None:
                props[_namespace_at(code, d.start()) + name] = statement
    return messages, sorries, declared


# ---------------------------------------------------------------------------------------------- proofs
# A few proof rules, enough for the semantic probes' flows without Lean: the stand-in knows core Lean 4's
# tactics (others are "unknown tactic" parse errors, as in a core-only Lean) and proves a goal when one of these
# holds (statements are compared as printed; canonical forms make alpha-renamed/regrouped ones equal):
# - `exact H` / `apply H`-style scripts: H states the goal, or (with `intros`) H has the same binders and
#   conclusion and its hypotheses are among the goal's;
# - `rfl`/`decide`/`simp`/`trivial`: the conclusion is closed arithmetic that evaluates to true (`¬`, `∧`,
#   `∨`, `=`, `≠`, `<`, `≤`, `+`, `-`, `*`, `/`, `%` on numerals) or `True`;
# - `contradiction`/`simp_all`/`simp at`: the conclusion is `False` and a hypothesis is `False`, closed
#   arithmetic that evaluates to false, or the negation of another hypothesis.

CORE_TACTICS = frozenset(
    {"intro", "intros", "exact", "apply", "assumption", "rfl", "decide", "simp", "simp_all", "constructor",
     "cases", "induction", "rw", "contradiction", "trivial", "first", "skip", "have", "show", "refine"}
)
_CLOSING = frozenset({"rfl", "decide", "simp", "trivial"})
_REFUTING = frozenset({"contradiction", "simp_all", "simp"})


def _namespace_at(code: str, index: int) -> str:
    stack: list[str] = []
    for m in re.finditer(r"^(namespace|end)[ \t]+(\S+)", code[:index], re.M):
        if m.group(1) == "namespace":
            stack.append(m.group(2))
        elif stack and stack[-1] == m.group(2):
            stack.pop()
    return "".join(f"{n}." for n in stack)


def _statement_of(body: str) -> str | None:
    """`P` of `theorem name : P := …` (a declaration written the way the probes write them)."""
    m = re.match(r"(?:theorem|lemma)\s+\S+\s+:\s*(.*?)\s*:=", body, re.S)
    return " ".join(m.group(1).split()) if m else None


def _top_split(text: str, sep: str) -> list[str]:
    parts, depth, start, i = [], 0, 0, 0
    while i < len(text):
        ch = text[i]
        if ch in _OPENERS:
            depth += 1
        elif ch in _CLOSERS:
            depth -= 1
        elif depth == 0 and text.startswith(sep, i):
            parts.append(text[start:i].strip())
            i += len(sep)
            start = i
            continue
        i += 1
    parts.append(text[start:].strip())
    return parts


def _unparen(text: str) -> str:
    text = text.strip()
    while text.startswith("(") and _closing_index(text) == len(text) - 1:
        text = text[1:-1].strip()
    return text


def _closing_index(text: str) -> int:
    depth = 0
    for i, ch in enumerate(text):
        depth += ch in _OPENERS
        depth -= ch in _CLOSERS
        if depth == 0:
            return i
    return -1


def _telescope(prop: str) -> tuple[list[str], list[str], str]:
    """(∀-binders, hypotheses, conclusion) of a printed statement."""
    binders: list[str] = []
    hyps: list[str] = []
    prop = _unparen(prop)
    while True:
        if prop.startswith("∀ ") and len(parts := _top_split(prop[2:], ", ")) > 1:
            binders.append(parts[0])
            prop = _unparen(", ".join(parts[1:]))
            continue
        parts = _top_split(prop, " → ")
        if len(parts) == 1:
            break
        hyps.extend(_unparen(p) for p in parts[:-1])
        prop = _unparen(parts[-1])
    return binders, hyps, prop


_ARITH_TOKEN = re.compile(r"\s*(\d+|True|False|<=|>=|[-+*/%()<>=≠≤≥¬∧∨])")
_PY = {"=": "==", "≠": "!=", "≤": "<=", "≥": ">=", "¬": " not ", "∧": " and ", "∨": " or ", "/": "//"}


def _closed_value(prop: str) -> bool | None:
    """The truth value of closed arithmetic over numerals, else None. Only whitelisted tokens are evaluated."""
    text = re.sub(r"\((\d+)\s*:\s*Nat\)", r"\1", prop).strip()
    tokens: list[str] = []
    pos = 0
    while pos < len(text):
        m = _ARITH_TOKEN.match(text, pos)
        if m is None:
            return None
        tokens.append(_PY.get(m.group(1), m.group(1)))
        pos = m.end()
    if not tokens or not any(t in ("==", "!=", "<", ">", "<=", ">=", "True", "False") for t in tokens):
        return None
    try:
        value = eval(" ".join(tokens), {"__builtins__": {}}, {})
    except Exception:
        return None
    return value if isinstance(value, bool) else None


def _negates(a: str, b: str) -> bool:
    return a.startswith("¬") and _unparen(a[1:]) == _unparen(b)


def _contradictory(hyps: list[str]) -> bool:
    return any(
        h == "False" or _closed_value(h) is False or any(_negates(h, other) for other in hyps) for h in hyps
    )


def _holds(conclusion: str) -> bool:
    return conclusion == "True" or _closed_value(conclusion) is True or (
        len(parts := _top_split(conclusion, " = ")) == 2 and parts[0] == parts[1]
    )


def _implies(hyp: str, goal: str, *, intros: bool) -> bool:
    if " ".join(hyp.split()) == " ".join(goal.split()):
        return True
    if not intros:
        return False
    h_binders, h_hyps, h_concl = _telescope(hyp)
    g_binders, g_hyps, g_concl = _telescope(goal)
    return h_binders == g_binders and h_concl == g_concl and set(h_hyps) <= set(g_hyps)


def _prove(text: str, offset: int, body: str, proof: re.Match[str], props: dict[str, str]) -> list[Json]:
    """Messages for a tactic proof (empty when the rules prove it)."""
    script = body[proof.end() :]
    script = script[: m.start()] if (m := re.search(r"^end\b", script, re.M)) else script
    start = offset + proof.end()
    for m in re.finditer(r"(?:^|<;>|\||\bfirst\b)[ \t]*([A-Za-z_][\w?!]*)", script, re.M):
        word = m.group(1)
        if word not in CORE_TACTICS:
            where = start + m.start(1)
            return [
                _message(text, "error", where, None, "unknown tactic"),
                _message(text, "error", offset, start + len(script.rstrip()), "unsolved goals"),
            ]
    statement = _statement_of(body)
    if statement is None or _proves(script, statement, props):
        return []
    return [_message(text, "error", start, start + len(script.rstrip()), f"unsolved goals\n⊢ {statement}")]


def _proves(script: str, goal: str, props: dict[str, str]) -> bool:
    words = set(re.findall(r"[A-Za-z_][\w.?!]*", script))
    intros = bool(words & {"intro", "intros"})
    used = [props[w.lstrip("@")] for w in words if w.lstrip("@") in props]
    if any(_implies(h, goal, intros=intros or "apply" in words) for h in used):
        return True
    if "True.intro" in words:
        return goal in ("True", "True → True", "True ∧ True")
    binders, hyps, conclusion = _telescope(goal)
    if (binders or hyps) and not intros:
        return False
    if words & {"assumption"} and conclusion in hyps:
        return True
    if words & _REFUTING and conclusion == "False" and _contradictory(hyps):
        return True
    return bool(words & _CLOSING) and not hyps and _holds(conclusion)


def _only_imports(prefix: str) -> bool:
    return all(not line.strip() or line.lstrip().startswith("import") for line in prefix.splitlines())


# ---------------------------------------------------------------------------------------------- the REPL


@dataclass
class _Environment:
    names: frozenset[str]
    props: dict[str, str]


class StandinRepl:
    """The REPL state machine: env ids accumulate from 0, every environment is kept for the process's life."""

    def __init__(self, transcripts: dict[str, Json]) -> None:
        self.transcripts = transcripts
        self.envs: list[_Environment] = []
        self._held: list[mmap.mmap] = []

    def handle(self, request: Json) -> Json:
        cmd = request.get("cmd")
        if not isinstance(cmd, str):
            return {"message": "Could not parse as a valid JSON command: expected a `cmd` field"}
        env = request.get("env")
        if env is not None and not (isinstance(env, int) and 0 <= env < len(self.envs)):
            return {"message": "Unknown environment."}
        self._inject_faults(cmd)
        known = self.envs[env].names if env is not None else frozenset()
        props = dict(self.envs[env].props) if env is not None else {}
        recorded = self.transcripts.get(cmd)
        if recorded is not None:  # replay the real answer as recorded, under this session's env id
            failed = any(m.get("severity") == "error" for m in recorded.get("messages") or [])
            declared = set() if failed else elaborate(cmd, frozenset(), True, props)[2]
            self.envs.append(_Environment(known | declared, props))
            return {**recorded, "env": len(self.envs) - 1}
        messages, sorries, declared = elaborate(cmd, known, first_command=env is None, props=props)
        self.envs.append(_Environment(known | declared, props))
        reply: Json = {"env": len(self.envs) - 1}
        if messages:
            reply["messages"] = messages
        if sorries:
            reply["sorries"] = sorries
        return reply

    def _inject_faults(self, cmd: str) -> None:
        if "standin_fault_hang" in cmd:
            time.sleep(10**6)
        if "standin_fault_crash" in cmd:
            sys.stderr.write("INTERNAL PANIC: stand-in injected crash\n")
            sys.stderr.flush()
            os._exit(134)
        if "standin_fault_partial" in cmd:
            sys.stdout.write('{"env": 7, "messages": [{"severity": "err')
            sys.stdout.flush()
            os._exit(1)
        if "standin_fault_garbage" in cmd:
            sys.stdout.write("uncaught exception: <garbage from the stand-in>\n\n")
            sys.stdout.flush()
            raise _AlreadyAnswered
        if "standin_fault_oom" in cmd:
            _blow_up_memory(int(os.environ.get(ENV_OOM_MB, "1024")))
        if "standin_fault_bloat" in cmd:
            self._held.append(_touched_mapping(_BLOAT_MB))


class _AlreadyAnswered(Exception):
    """The fault wrote its own (bad) reply."""


def _touched_mapping(megabytes: int) -> mmap.mmap:
    block = mmap.mmap(-1, megabytes << 20)
    for offset in range(0, megabytes << 20, mmap.PAGESIZE):
        block[offset] = 1  # touch every page so it is resident, not just reserved
    return block


def _blow_up_memory(cap_mb: int) -> None:
    """Allocate and touch 64 MB blocks until the address-space limit refuses one (then die as Lean does on
    out-of-memory) or `cap_mb` is reached (no limit set: carry on, having really used that memory)."""
    held = []
    try:
        for _ in range(max(1, cap_mb // 64)):
            held.append(_touched_mapping(64))
    except (MemoryError, OSError) as exc:
        held.clear()
        sys.stderr.write(f"INTERNAL PANIC: out of memory ({exc})\n")
        sys.stderr.flush()
        os._exit(1)
    held.clear()


def load_transcripts(spec: str | None) -> dict[str, Json]:
    """`cmd` → recorded reply, from every `*.jsonl` under the `os.pathsep`-separated paths in `spec`.
    Bare `{"message"}` replies are skipped: those depend on the session, and the rules reproduce them."""
    table: dict[str, Json] = {}
    for part in (spec or "").split(os.pathsep):
        if not part:
            continue
        root = Path(part)
        files = sorted(root.glob("*.jsonl")) if root.is_dir() else [root] if root.is_file() else []
        for file in files:
            for line in file.read_text(encoding="utf-8").splitlines():
                if not line.strip():
                    continue
                entry = json.loads(line)
                request, response = entry.get("request"), entry.get("response")
                if isinstance(request, dict) and isinstance(response, dict) and "env" in response:
                    table.setdefault(request.get("cmd", ""), response)
    return table


def _read_request(stream: Any) -> str | None:
    """The next blank-line-terminated request, or None at EOF / on an empty request."""
    lines: list[str] = []
    for line in stream:
        if not line.strip():
            if lines:
                break
            return None
        lines.append(line)
    else:
        if not lines:
            return None
    return "".join(lines)


def serve_repl(stdin: Any, stdout: Any) -> None:
    repl = StandinRepl(load_transcripts(os.environ.get(ENV_TRANSCRIPTS)))
    while (raw := _read_request(stdin)) is not None:
        try:
            request = json.loads(raw)
        except json.JSONDecodeError as exc:
            reply: Json = {"message": f"Could not parse JSON:\n{exc}"}
        else:
            _log({"request": request})
            try:
                reply = repl.handle(request)
            except _AlreadyAnswered:
                continue
        stdout.write(json.dumps(reply, ensure_ascii=False, indent=1) + "\n\n")
        stdout.flush()


def lean_json(path: str, stdout: Any) -> int:
    """`lean --json FILE`: one JSON message per line, exit code 1 when there is an error."""
    text = Path(path).read_text(encoding="utf-8")
    _log({"request": {"path": path}})
    messages, _, _ = elaborate(text, frozenset(), first_command=True)
    for m in messages:
        stdout.write(
            json.dumps({**m, "fileName": path, "caption": "", "keepFullRange": False}, ensure_ascii=False) + "\n"
        )
    stdout.flush()
    return 1 if any(m["severity"] == "error" for m in messages) else 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    _log({"event": "start", "argv": args})
    if os.environ.get(ENV_FAULT) == "crash_on_start":
        sys.stderr.write("stand-in: injected start failure\n")
        return 1
    # The REPL speaks UTF-8 whatever the locale says.
    stdin = open(sys.stdin.fileno(), encoding="utf-8", closefd=False)  # noqa: SIM115
    stdout = open(sys.stdout.fileno(), "w", encoding="utf-8", closefd=False)  # noqa: SIM115
    if args and args[0] == "lean":
        files = [a for a in args[1:] if not a.startswith("-")]
        if not files:
            sys.stderr.write("usage: lean [--json] FILE\n")
            return 2
        return lean_json(files[0], stdout)
    serve_repl(stdin, stdout)
    return 0


# ---------------------------------------------------------------------------------------------- install


@dataclass(frozen=True)
class StandinInstall:
    """Paths of an installed stand-in: `directory` is both the Lean project and the REPL checkout."""

    directory: Path
    lake: Path
    repl: Path
    lean: Path
    log_path: Path | None


def install_standin(
    directory: str | os.PathLike[str],
    *,
    transcripts: str | os.PathLike[str] | None = None,
    log_path: str | os.PathLike[str] | None = None,
    fault: str | None = None,
    oom_cap_mb: int | None = None,
    lean_version: str = "v4.0.0",
) -> StandinInstall:
    """Lay out `directory` like a Lean project with a built REPL, so lean-interact launches the stand-in
    exactly as it launches the real one (`lake env <dir>/.lake/build/bin/repl`, cwd = project):

    - `lean-toolchain` (lean-interact reads the version from it),
    - `lake`: a shim for `lake env CMD...` (execs CMD with `<dir>/bin` on PATH) and `lake --version`,
    - `.lake/build/bin/repl` and `bin/lean`: exec this file with the settings baked in.
    """
    root = Path(directory).resolve()
    (root / ".lake" / "build" / "bin").mkdir(parents=True, exist_ok=True)
    (root / "bin").mkdir(exist_ok=True)
    (root / "lean-toolchain").write_text(f"leanprover/lean4:{lean_version}\n", encoding="utf-8")
    settings = {ENV_TRANSCRIPTS: transcripts, ENV_LOG: log_path, ENV_FAULT: fault, ENV_OOM_MB: oom_cap_mb}
    exports = "".join(f"export {k}={shlex.quote(str(v))}\n" for k, v in settings.items() if v is not None)
    # -S: skip site-packages (the stand-in is stdlib-only), so each process starts in a few ms.
    run = f"exec {shlex.quote(sys.executable)} -S {shlex.quote(str(Path(__file__).resolve()))}"
    repl = root / ".lake" / "build" / "bin" / "repl"
    lean = root / "bin" / "lean"
    lake = root / "lake"
    _write_script(repl, f'{exports}{run} "$@"\n')
    _write_script(lean, f'{exports}{run} lean "$@"\n')
    _write_script(
        lake,
        f'export PATH={shlex.quote(str(root / "bin"))}:"$PATH"\n'
        'case "$1" in\n'
        '  env) shift; exec "$@" ;;\n'
        '  --version) echo "Lake version 0.0.0 (autoformal stand-in)"; exit 0 ;;\n'
        '  *) echo "stand-in lake: only `lake env CMD...` and `lake --version` work" >&2; exit 2 ;;\n'
        "esac\n",
    )
    return StandinInstall(root, lake, repl, lean, Path(log_path) if log_path is not None else None)


def _write_script(path: Path, body: str) -> None:
    path.write_text("#!/bin/sh\n" + body, encoding="utf-8")
    path.chmod(0o755)


if __name__ == "__main__":
    sys.exit(main())
