"""Back-translation: the LLM renders the candidate in English, and the rendering is compared with the input
by sentence-embedding cosine similarity (the retrieval embedder)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from autoformal.llm.base import LLMBackend
from autoformal.llm.models import GenerationRequest
from autoformal.prompts import build_backtranslation_messages
from autoformal.scoring.base import Score, ScoringCandidate

if TYPE_CHECKING:
    from autoformal.retrieval.embedder import Embedder


class BackTranslationScorer:
    """Score = cosine similarity (clipped to [0, 1]) between the input and the candidate's back-translation.

    `translate` is separate from `score` so the pipeline can run it as its own stage, show the translations
    and translate one representative per canonical-form cluster.
    """

    name = "back_translation"

    def __init__(
        self, backend: LLMBackend, embedder: Embedder | None = None, *, max_tokens: int = 1024
    ) -> None:
        self.backend = backend
        self._embedder = embedder
        self.max_tokens = max_tokens

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

    async def score(self, informal: str, candidates: Sequence[ScoringCandidate]) -> list[Score]:
        missing = [i for i, c in enumerate(candidates) if c.back_translation is None]
        translations = [c.back_translation for c in candidates]
        for i, text in zip(missing, await self.translate([candidates[i].statement for i in missing]), strict=True):
            translations[i] = text
        present = [i for i, t in enumerate(translations) if t]
        sims = await self.similarities(informal, [translations[i] or "" for i in present])
        by_index = dict(zip(present, sims, strict=True))
        out = []
        for i in range(len(candidates)):
            if i not in by_index:
                out.append(Score(value=0.0, explanation="the model returned no back-translation"))
            else:
                out.append(
                    Score(value=by_index[i], explanation=f"cosine similarity {by_index[i]:.2f} to the input")
                )
        return out
