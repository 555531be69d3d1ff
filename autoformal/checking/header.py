"""The header every statement is elaborated under: `import`s, `open`s, `universe`s and `set_option`s from a
fixed allow-list. A header is elaborated once per worker and reused, so it must not be able to run code or
change what "elaborates" means (no `#eval`, no `macro`, no option that turns errors off)."""

from __future__ import annotations

import re

from autoformal.checking.errors import UnsafeHeaderError

# Options that only bound resources or tune elaboration; none of them can hide an error.
ALLOWED_OPTIONS: frozenset[str] = frozenset(
    {
        "maxHeartbeats",
        "maxRecDepth",
        "synthInstance.maxHeartbeats",
        "synthInstance.maxSize",
        "autoImplicit",
        "relaxedAutoImplicit",
        "pp.proofs",
        "pp.funBinderTypes",
        "linter.unusedVariables",
    }
)

DEFAULT_HEADER = "import Mathlib\nopen BigOperators Real Nat Topology"

_NAME = r"[A-Za-z_\u00c0-\u024f\u0370-\u03ff\u2100-\u214f][\w.'\u00c0-\u024f\u0370-\u03ff\u2100-\u214f!?₀-₉]*"
_IMPORT = re.compile(rf"import(\s+{_NAME})+")
_OPEN = re.compile(rf"open(\s+scoped)?(\s+{_NAME})+")
_UNIVERSE = re.compile(rf"universe(\s+{_NAME})+")
_SET_OPTION = re.compile(rf"set_option\s+(?P<name>{_NAME})\s+(?P<value>true|false|\d+)")


def validate_header(header: str) -> str:
    """Return `header` normalised (stripped lines, comments and blank lines dropped) or raise
    `UnsafeHeaderError` naming the first offending line. Imports must come before everything else, as Lean
    requires."""
    kept: list[str] = []
    seen_non_import = False
    for number, raw in enumerate(header.splitlines(), start=1):
        line = raw.split("--", 1)[0].strip()
        if not line:
            continue
        if _IMPORT.fullmatch(line):
            if seen_non_import:
                raise UnsafeHeaderError(
                    f"header line {number}: `import` after other commands ({raw.strip()!r}); "
                    "move every import to the top of the header"
                )
        elif _OPEN.fullmatch(line) or _UNIVERSE.fullmatch(line):
            seen_non_import = True
        elif m := _SET_OPTION.fullmatch(line):
            if m["name"] not in ALLOWED_OPTIONS:
                raise UnsafeHeaderError(
                    f"header line {number}: option {m['name']!r} is not allow-listed; "
                    f"allowed: {', '.join(sorted(ALLOWED_OPTIONS))}"
                )
            seen_non_import = True
        else:
            raise UnsafeHeaderError(
                f"header line {number}: {raw.strip()!r} is not allowed in a header; use only `import M`, "
                "`open A B`, `universe u` and allow-listed `set_option name value` lines"
            )
        kept.append(line)
    return "\n".join(kept)
