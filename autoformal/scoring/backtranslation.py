"""Back-translation: the LLM renders the candidate in English, and the rendering is compared with the input
by sentence-embedding cosine similarity (the retrieval embedder). Optionally an LLM judge also says whether
the candidate is equivalent to, weaker or stronger than, or unrelated to the input (`scoring.judge`)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from autoformal.llm.base import LLMBackend
from autoformal.llm.models import GenerationRequest, GenerationResult
from autoformal.prompts import (
    PromptBudget,
    TokenCounter,
    build_backtranslation_messages,
    build_judge_messages,
    token_counter_for,
)
from autoformal.scoring.base import Score, ScoringCandidate
from autoformal.scoring.judge import JUDGE_WEIGHT, VERDICT_SCORES, Judgement, judged_score, parse_judgement

if TYPE_CHECKING:
    from autoformal.retrieval.embedder import Embedder


class BackTranslationScorer:
    """Score = cosine similarity (clipped to [0, 1]) between the input and the candidate's back-translation;
    with a `judge` backend, the mean of that similarity and the judge's verdict (`scoring.judge.judged_score`).

    `translate` and `judge` are separate from `score` so the pipeline can run them as their own stage, show
    the translations and verdicts, and ask once per canonical-form cluster.
    """

    name = "back_translation"

    def __init__(
        self,
        backend: LLMBackend,
        embedder: Embedder | None = None,
        *,
        max_tokens: int = 1024,
        judge: LLMBackend | None = None,
        judge_budget: PromptBudget | None = None,
        count_tokens: TokenCounter | None = None,
    ) -> None:
        """`judge`: the backend asked for verdicts (may be `backend` itself); None = similarity only.
        `max_tokens` bounds translations and verdicts alike (a reasoning judge needs room to think).
        `judge_budget`: the judge prompt's budget, its context length minus `max_tokens`
        (`PromptBudget.for_answer`; default `PromptBudget()`); `count_tokens` counts its tokens (default: the
        judge backend's tokenizer when it has one, else the approximation)."""
        self.backend = backend
        self._embedder = embedder
        self.max_tokens = max_tokens
        self.judge_backend = judge
        self.judge_budget = judge_budget or PromptBudget()
        self._count_tokens = count_tokens or token_counter_for(judge)

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            from autoformal.retrieval.embedder import Embedder

            self._embedder = Embedder()
        return self._embedder

    def request(self, statement: str) -> GenerationRequest:
        """Greedy, one sample: a back-translation should be the model's single best reading."""
        return GenerationRequest(
            messages=build_backtranslation_messages(statement), n=1, temperature=0.0, max_tokens=self.max_tokens
        )

    def judge_request(self, informal: str, statement: str, translation: str) -> GenerationRequest:
        """Greedy as well: the same texts get the same verdict, so re-runs are answered from the cache."""
        return GenerationRequest(
            messages=build_judge_messages(
                informal, statement, translation, self.judge_budget, count_tokens=self._count_tokens
            ),
            n=1,
            temperature=0.0,
            max_tokens=self.max_tokens,
        )

    async def translate(self, statements: Sequence[str]) -> list[str | None]:
        """English renderings, one per statement (None where the model returned nothing usable)."""
        if not statements:
            return []
        results = await self.backend.agenerate([self.request(s) for s in statements])
        out: list[str | None] = []
        for result in results:
            text = result.completions[0].text.strip() if result.completions else ""
            out.append(text or None)
        return out

    async def similarities(self, informal: str, translations: Sequence[str]) -> list[float]:
        """Cosine similarity of each translation to `informal` (embedding runs in a worker thread)."""
        if not translations:
            return []
        vectors = await asyncio.to_thread(self.embedder.encode, [informal, *translations])
        return [float(v) for v in np.clip(vectors[1:] @ vectors[0], 0.0, 1.0)]

    async def judge(
        self, informal: str, statements: Sequence[str], translations: Sequence[str | None]
    ) -> list[Judgement | None]:
        """The judge's verdict on each statement's translation, in one batch; None where there is no judge or
        no translation to judge. The judge is optional, so a failed request (HTTP error, context too long,
        timeout) costs that statement its verdict (`Judgement.failed`, with the reason), never the input."""
        asked = [i for i, t in enumerate(translations) if t] if self.judge_backend is not None else []
        out: list[Judgement | None] = [None] * len(statements)
        if not asked:
            return out
        requests = [self.judge_request(informal, statements[i], translations[i] or "") for i in asked]
        for i, result in zip(asked, await self._ask_judge(requests), strict=True):
            if isinstance(result, Exception):
                out[i] = Judgement.failed(result)
            else:
                out[i] = parse_judgement(result.completions[0].text if result.completions else "")
        return out

    async def _ask_judge(self, requests: list[GenerationRequest]) -> list[GenerationResult | Exception]:
        """The judge's answers, or the error each request raised. One batch first (in-process engines schedule
        a batch together); a backend fails a whole batch for one bad request, so when the batch fails each
        request is asked again on its own to find which ones fail."""
        assert self.judge_backend is not None
        backend = self.judge_backend
        try:
            return list(await backend.agenerate(requests))
        except Exception as error:  # any failure: the verdicts are optional, the input must go on
            if len(requests) == 1:
                return [error]
        alone = await asyncio.gather(*(backend.agenerate([r]) for r in requests), return_exceptions=True)
        out: list[GenerationResult | Exception] = []
        for result in alone:
            if isinstance(result, BaseException) and not isinstance(result, Exception):
                raise result  # cancellation and interrupts are not judge failures
            out.append(result if isinstance(result, Exception) else result[0])
        return out

    async def score(self, informal: str, candidates: Sequence[ScoringCandidate]) -> list[Score]:
        missing = [i for i, c in enumerate(candidates) if c.back_translation is None]
        translations = [c.back_translation for c in candidates]
        for i, text in zip(missing, await self.translate([candidates[i].statement for i in missing]), strict=True):
            translations[i] = text
        judgements = [c.judgement for c in candidates]
        unjudged = [i for i, c in enumerate(candidates) if c.judgement is None]
        statements = [candidates[i].statement for i in unjudged]
        found = await self.judge(informal, statements, [translations[i] for i in unjudged])
        for i, judgement in zip(unjudged, found, strict=True):
            judgements[i] = judgement
        present = [i for i, t in enumerate(translations) if t]
        sims = await self.similarities(informal, [translations[i] or "" for i in present])
        by_index = dict(zip(present, sims, strict=True))
        out = []
        for i in range(len(candidates)):
            if i not in by_index:
                out.append(Score(value=0.0, explanation="the model returned no back-translation"))
            else:
                similarity, judgement = by_index[i], judgements[i]
                out.append(
                    Score(value=judged_score(similarity, judgement), explanation=_explain(similarity, judgement))
                )
        return out


def _explain(similarity: float, judgement: Judgement | None) -> str:
    text = f"cosine similarity {similarity:.2f} to the input"
    if judgement is None:
        return text
    if judgement.error is not None:
        return f"{text}; the judge request failed ({judgement.error}), so the similarity alone counts"
    if judgement.verdict is None:
        return f"{text}; the judge gave no parseable verdict, so the similarity alone counts"
    reason = f" ({judgement.reason})" if judgement.reason else ""
    combination = f"{1 - JUDGE_WEIGHT:g}·similarity + {JUDGE_WEIGHT:g}·{VERDICT_SCORES[judgement.verdict]:g}"
    return f"{text}; judge: {judgement.verdict}{reason}; score = {combination}"
