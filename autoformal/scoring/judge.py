"""The LLM judge's verdict on a back-translation: equivalent / weaker / stronger / unrelated to the input.

The judge prompt (`prompts/templates/judge_*.j2`) asks for a short reasoning ending in two lines,
`REASON: ...` and `VERDICT: <word>`. `parse_judgement` reads them leniently (case, markdown emphasis,
punctuation, reasoning blocks) but never guesses: an answer without one clear verdict has `verdict=None`.
"""

from __future__ import annotations

import re
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from autoformal.llm.reasoning import split_reasoning

Verdict = Literal["equivalent", "weaker", "stronger", "unrelated"]
VERDICTS: tuple[Verdict, ...] = get_args(Verdict)

#: What each verdict is worth as a score. Weaker and stronger statements are both misformalizations (one
#: loses content, the other may be unprovable), so they score alike: low, but above a different claim.
VERDICT_SCORES: dict[Verdict, float] = {"equivalent": 1.0, "weaker": 0.25, "stronger": 0.25, "unrelated": 0.0}

#: The verdict's share of the back-translation score; the embedding similarity has the rest. An equal mean
#: rather than a product: "equivalent" must lift a correct rendering that embeddings score low (notation,
#: paraphrase), and "unrelated" must sink one that shares the input's words but not its meaning.
JUDGE_WEIGHT = 0.5

_MAX_REASON_CHARS = 300
_MAX_ERROR_CHARS = 500
#: Markdown decoration models put around the verdict line or word (`**VERDICT:** *weaker*`, `### Verdict`).
_DECORATION = str.maketrans("", "", "*_`#>\"'")
#: List markers and emphasis before a `REASON:` label (`- **Reason**: ...`).
_LINE_DECORATION = " *_`#>-•"
#: `VERDICT` then a separator, the end of the line or a verdict word; a line merely starting with the word
#: ("Verdict rationale: ...") is not a verdict line, so it cannot erase the verdict above it.
_VERDICT_LINE = re.compile(
    r"^(?:final\s+)?verdict(?:\s*[:=\-–—]+|\s*$|\s+(?=(?:" + "|".join(VERDICTS) + r")\b))\W*(.*)$", re.IGNORECASE
)
_REASON_LINE = re.compile(r"^(?:reason|reasoning|justification)[\s*_]*[:=\-–—][\s*_]*(.+)$", re.IGNORECASE)
_VERDICT_WORDS = re.compile(r"\b(" + "|".join(VERDICTS) + r")\b", re.IGNORECASE)


class Judgement(BaseModel):
    """What the judge said about one back-translation."""

    model_config = ConfigDict(frozen=True)

    verdict: Verdict | None = Field(
        description="None when the judge's answer held no clear verdict or the judge request failed."
    )
    reason: str = Field(default="", description="The judge's one-line reason (empty when it gave none).")
    error: str | None = Field(
        default=None,
        description="Why the judge request failed (HTTP error, context too long, timeout); None when it did not.",
    )

    @classmethod
    def failed(cls, error: BaseException) -> Judgement:
        """No verdict, because asking the judge raised `error`."""
        return cls(verdict=None, error=f"{type(error).__name__}: {error}"[:_MAX_ERROR_CHARS])

    @property
    def summary(self) -> str:
        """One line for tables: the verdict and the reason."""
        if self.error is not None:
            return f"no verdict (judge request failed: {self.error})"
        verdict = self.verdict or "no verdict (unparseable answer)"
        return f"{verdict}: {self.reason}" if self.reason else verdict


def _plain(line: str) -> str:
    """`line` without markdown decoration, for matching the verdict (never for quoting)."""
    return line.translate(_DECORATION).strip().lstrip("-•").strip()


def _verdict_of(rest: str) -> Verdict | None:
    """The verdict when `rest` (the text after `VERDICT:`) names exactly one, first; None otherwise
    ("not equivalent", "weaker or unrelated", an echoed "equivalent|weaker|stronger|unrelated")."""
    words = [w.lower() for w in _VERDICT_WORDS.findall(rest)]
    if len(words) != 1 or not re.match(r"^\W*" + words[0], rest, re.IGNORECASE):
        return None
    return next(v for v in VERDICTS if v == words[0])


def parse_judgement(text: str) -> Judgement:
    """Read the judge's answer. The last `VERDICT:` line decides (reasoning may mention verdicts before it;
    the word may also stand alone on the next line); an answer that is a single verdict word is accepted too.
    Reasoning blocks (`<think>…</think>`) are dropped first; a cut-off reasoning block leaves no answer and so
    no verdict. The reason is the last `REASON:` line, else the line just before the verdict."""
    answer, _ = split_reasoning(text)
    lines = [line.strip() for line in answer.splitlines() if line.strip()]
    plain = [_plain(line) for line in lines]
    verdict: Verdict | None = None
    verdict_line = 0
    for index in range(len(plain) - 1, -1, -1):
        match = _VERDICT_LINE.match(plain[index])
        if match:
            rest = match.group(1) or (plain[index + 1] if index + 1 < len(plain) else "")
            verdict, verdict_line = _verdict_of(rest), index
            break
    else:
        if len(plain) == 1 and re.fullmatch(r"\w+\W*", plain[0]):
            verdict = _verdict_of(plain[0])
    reasons = [m.group(1) for line in lines if (m := _REASON_LINE.match(line.lstrip(_LINE_DECORATION)))]
    # Without a REASON line, the sentence just before the verdict is the likeliest summary.
    before = lines[verdict_line - 1] if verdict and verdict_line > 0 else ""
    reason = reasons[-1] if reasons else ("" if _VERDICT_LINE.match(_plain(before)) else before)
    return Judgement(verdict=verdict, reason=reason.strip(" *")[:_MAX_REASON_CHARS])


def judged_score(similarity: float, judgement: Judgement | None) -> float:
    """The back-translation score: `similarity` alone without a verdict, else its mean with the verdict's
    `VERDICT_SCORES` value, weighted by `JUDGE_WEIGHT`."""
    if judgement is None or judgement.verdict is None:
        return similarity
    return (1.0 - JUDGE_WEIGHT) * similarity + JUDGE_WEIGHT * VERDICT_SCORES[judgement.verdict]
