"""The one bounded-concurrency batch runner, behind `Formalizer.formalize_many`, `bulk` and `docstrings`.

At most `limit` inputs are in flight. The inputs' embeddings are computed in batches while the first inputs
already generate (retrieval and back-translation scoring then find them in the memo), and each error class's
`fatal` flag decides: a fatal error (no endpoint, no Lean) stops the batch by propagating; any other failure
costs its input only and is handed back in that input's `Outcome`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from autoformal.errors import AutoformalError, is_fatal
from autoformal.results import FormalizationResult

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BatchInput:
    """One input of a batch: the informal text, its Lean header (None = the configured one) and trusted
    context."""

    text: str
    header: str | None = None
    context: str | None = None


@dataclass(frozen=True)
class Outcome:
    """What became of one input: its `result`, or the non-fatal `error` that cost it."""

    index: int
    result: FormalizationResult | None
    error: Exception | None
    elapsed_s: float


class RunsBatches(Protocol):
    """What bulk and docstrings need from a `Formalizer`: its batch runner (`Formalizer.run_batch`)."""

    def run_batch(self, inputs: Sequence[BatchInput], *, limit: int | None = None) -> AsyncIterator[Outcome]: ...


class Primes(Protocol):
    """An embedder memo the runner fills with the inputs' vectors ahead of the stages that encode them."""

    def prime(self, texts: Sequence[str]) -> None: ...


def growing_chunks(total: int, *, largest: int) -> list[tuple[int, int]]:
    """`(start, end)` of consecutive chunks covering `range(total)`, of 1, 2, 4, … items, then `largest` each."""
    chunks: list[tuple[int, int]] = []
    start, size = 0, 1
    while start < total:
        end = min(start + size, total)
        chunks.append((start, end))
        start, size = end, min(size * 2, largest)
    return chunks


async def run_batch(
    run_one: Callable[[BatchInput], Awaitable[FormalizationResult]],
    inputs: Sequence[BatchInput],
    *,
    limit: int,
    memo: Primes | None = None,
) -> AsyncIterator[Outcome]:
    """Yield one `Outcome` per input as inputs finish, at most `limit` in flight. A fatal error propagates
    (the in-flight inputs are cancelled); every other exception is that input's `Outcome.error`."""
    # Inputs are encoded in batches, in input order, while earlier inputs already generate: one batched
    # encode per chunk instead of one small encode per input competing for the thread pool. Chunks grow
    # from one input, so the first request waits for one text's encoding rather than a full batch's.
    chunks = growing_chunks(len(inputs), largest=16)
    primed = [asyncio.Event() for _ in chunks]
    chunk_of = [n for n, (start, end) in enumerate(chunks) for _ in range(start, end)]

    async def prime() -> None:
        try:
            for n, (start, end) in enumerate(chunks):
                if memo is not None:
                    await asyncio.to_thread(memo.prime, [item.text.strip() for item in inputs[start:end]])
                primed[n].set()
        except Exception:  # each input then encodes on its own and, if that fails too, fails on its own
            logger.warning("batch encoding of the inputs failed; encoding them one by one", exc_info=True)
        finally:  # a worker waiting on an event nobody sets would hang the batch
            for event in primed:
                event.set()

    queue: asyncio.Queue[Outcome | _Fatal] = asyncio.Queue()
    next_index = iter(range(len(inputs)))

    async def worker() -> None:
        for i in next_index:  # a shared iterator: each input goes to exactly one worker
            await primed[chunk_of[i]].wait()
            start = time.perf_counter()
            try:
                result = await run_one(inputs[i])
            except Exception as exc:
                if is_fatal(exc):
                    await queue.put(_Fatal(exc))
                    return
                if not isinstance(exc, AutoformalError):
                    logger.exception("input %d failed with an unexpected error", i)
                await queue.put(Outcome(i, None, exc, time.perf_counter() - start))
            else:
                await queue.put(Outcome(i, result, None, time.perf_counter() - start))

    tasks = [asyncio.create_task(prime())]
    tasks += [asyncio.create_task(worker()) for _ in range(min(limit, len(inputs)))]
    try:
        for _ in range(len(inputs)):
            item = await queue.get()
            if isinstance(item, _Fatal):
                raise item.error
            yield item
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


@dataclass(frozen=True)
class _Fatal:
    error: Exception
