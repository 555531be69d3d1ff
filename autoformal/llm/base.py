"""The `LLMBackend` protocol and the plumbing shared by its implementations."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Awaitable, Coroutine, Iterable, Sequence
from typing import Any, Protocol, TypeVar, runtime_checkable

from autoformal.llm.models import GenerationRequest, GenerationResult

T = TypeVar("T")


@runtime_checkable
class LLMBackend(Protocol):
    """Generates completions for batches of chat requests. Async first; `generate` is the sync wrapper.

    Implementations keep the order of `requests` in the returned list and sample all `n` completions of a
    request together (one server request, so the prompt's KV cache is reused).
    """

    @property
    def model_name(self) -> str: ...

    async def agenerate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]: ...

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]: ...

    async def aclose(self) -> None: ...

    def close(self) -> None: ...


@runtime_checkable
class SupportsTokenCount(Protocol):
    """Backends that hold the model's tokenizer and can count tokens exactly (used by prompt budgets)."""

    def count_tokens(self, text: str) -> int: ...


@runtime_checkable
class SupportsWarmUp(Protocol):
    """Backends with one-off start-up work they would otherwise do inside the first request (importing an HTTP client).
    `Formalizer.warm_up` calls it, so a batch's first requests are not held up by it."""

    def warm_up(self) -> None: ...


def refuse_inside_event_loop() -> None:
    """Blocking on a coroutine from inside a running loop would deadlock it; say what to do instead."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RuntimeError(
        "generate()/close() were called from inside a running event loop; "
        "use `await backend.agenerate(...)` / `await backend.aclose()` there instead."
    )


class BackgroundLoop:
    """An event loop on a daemon thread, so sync callers can drive async clients.

    Async HTTP clients are bound to the loop that opened their connections; running every sync call on the
    same long-lived loop (instead of a fresh `asyncio.run` per call) keeps connection pools reusable.
    """

    def __init__(self, name: str) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def submit(self, coroutine: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedule `coroutine` on the background loop from any thread (including other event loops)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop)

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run `coroutine` to completion from synchronous code."""
        try:
            refuse_inside_event_loop()
        except RuntimeError:
            coroutine.close()
            raise
        return self.submit(coroutine).result()

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()


class ThreadedSyncBackend:
    """Mixin for backends whose work is synchronous compute (local models): `agenerate` runs `generate` in a
    worker thread so it does not block the caller's event loop."""

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        raise NotImplementedError

    async def agenerate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        return await asyncio.to_thread(self.generate, requests)

    def close(self) -> None:
        """Local backends hold no connections; the model is freed with the object."""

    async def aclose(self) -> None:
        self.close()


async def gather_or_cancel(coroutines: Iterable[Awaitable[T]]) -> list[T]:
    """All results in order; when one fails, the others are cancelled and awaited before the error is raised
    (one failed request, e.g. a context too long, must not leave the rest running unobserved)."""
    tasks = [asyncio.ensure_future(c) for c in coroutines]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
