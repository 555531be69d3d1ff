"""Bulk formalization on a Ray cluster: `autoformal bulk IN -o OUT --ray [ADDRESS]`.

The shape: one driver, a pool of Ray actors, each holding a built `Formalizer` (its own warm Lean REPL workers,
sized to the CPUs the actor reserves, and its own LLM client; with several `AUTOFORMAL_BASE_URL` endpoints each
client spreads requests over all of them). The driver alone writes the output, with the same append-only
`JsonlAppender` and resume logic as local bulk, so exactly-once holds whatever dies.

Fault handling is Ray's own, not a scheduler of ours: actors are created with `max_restarts=-1` (a dead actor —
OOM, a Lean segfault that took the process, a lost node — is restarted) and `max_task_retries=N` (its in-flight
problems are retried on the restarted actor). A problem that still kills its actor after N retries (a poison
problem) is written out as failed, with the reason, instead of being retried for ever. The driver only keeps
`actors × per_actor` problems in flight, sends each to the actor with the fewest in flight, and waits with
`ray.wait`. Ctrl-C cancels what is in flight; everything written stays, and `--resume` continues.
"""

from __future__ import annotations

import collections
import os
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from autoformal.bulk.inputs import Problem
from autoformal.bulk.output import JsonlAppender
from autoformal.config import FormalizerConfig
from autoformal.errors import AutoformalError, ConfigurationError, is_fatal

if TYPE_CHECKING:
    from autoformal.bulk.runner import BulkSummary, Formalizes, ProblemDone

#: Builds the formalizer inside an actor. Module-level (picklable by reference); tests pass their own.
FormalizerFactory = Callable[[FormalizerConfig], "Formalizes"]


class RayOptions(BaseModel):
    """How the run uses the cluster."""

    address: str | None = Field(
        default=None,
        description="`auto` (a running cluster), `ray://host:port` or `host:port`; None starts a local one.",
    )
    actors: int = Field(default=2, ge=1, description="Formalizer actors (each with its own Lean pool).")
    cpus_per_actor: float = Field(default=1.0, gt=0, description="CPUs each actor reserves = its Lean workers.")
    per_actor_concurrency: int = Field(default=16, ge=1, description="Problems in flight per actor.")
    max_task_retries: int = Field(
        default=2, ge=0, description="Retries of a problem whose actor died, before it is retried alone."
    )
    local_cpus: int | None = Field(default=None, description="CPUs of a local cluster started for the run.")


class ClusterInfo(BaseModel):
    run: str = Field(description="Prefix of the run's actor names (`<run>-<i>`).")
    nodes: int
    actors: int
    cpus: float
    endpoints: list[str]
    address: str


def require_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigurationError(
            "--ray needs Ray: pip install 'autoformal[ray]' (local bulk works without it)"
        ) from None
    return ray


def default_factory(config: FormalizerConfig) -> Formalizes:
    from autoformal.pipeline import Formalizer

    return Formalizer(config)


class _FormalizerActor:
    """One actor: a formalizer built once, many problems at once (an async actor)."""

    def __init__(self, config: FormalizerConfig, factory: FormalizerFactory) -> None:
        self.formalizer = factory(config)

    async def formalize(self, problem: Problem, default_header: str | None) -> dict[str, Any]:
        from autoformal.bulk.runner import problem_record

        return await problem_record(self.formalizer, problem, default_header)

    def where(self) -> dict[str, Any]:
        return {"pid": os.getpid(), "node": _node_id()}


def _node_id() -> str:
    import ray

    return ray.get_runtime_context().get_node_id()


class _Dispatch:
    """Which problem goes to which actor next. Problems go to the actor with the fewest in flight, up to
    `per_actor` each. When an actor dies, every problem it was running dies with it, so one death proves nothing
    about any of them: each is retried, and one that has died more than `limit` times becomes a *suspect*,
    retried alone on an actor drained for it. A suspect that kills its actor while alone is a poison problem; a
    bystander of one survives its isolated run."""

    def __init__(self, actors: int, per_actor: int, todo: Iterator[Problem]) -> None:
        self.load = [0] * actors
        self.per_actor = per_actor
        self.todo = todo
        self.retries: collections.deque[Problem] = collections.deque()
        self.suspects: collections.deque[Problem] = collections.deque()
        self.deaths: collections.Counter[str] = collections.Counter()
        self.isolated: dict[int, str] = {}  # actor slot -> the suspect running alone on it
        self.draining: int | None = None  # a slot taking no new work until it is empty, for the next suspect
        self.recovering: set[int] = set()  # slots whose actor died: no work until a ping comes back

    def next_batch(self) -> list[tuple[Problem, int]]:
        batch: list[tuple[Problem, int]] = []
        if self.suspects and self.draining is None:
            free = [s for s in range(len(self.load)) if s not in self.isolated]
            if free:
                self.draining = min(free, key=self.load.__getitem__)
        if (
            self.draining is not None
            and self.load[self.draining] == 0
            and self.draining not in self.recovering
            and self.suspects
        ):
            suspect = self.suspects.popleft()
            self.isolated[self.draining] = suspect.id
            self.load[self.draining] += 1
            batch.append((suspect, self.draining))
            self.draining = None
        while True:
            open_slots = [
                s for s in range(len(self.load))
                if s not in self.isolated and s != self.draining and s not in self.recovering
                and self.load[s] < self.per_actor
            ]  # fmt: skip
            if not open_slots:
                return batch
            problem = self.retries.popleft() if self.retries else next(self.todo, None)
            if problem is None:
                return batch
            slot = min(open_slots, key=self.load.__getitem__)
            self.load[slot] += 1
            batch.append((problem, slot))

    def recovered(self, slot: int) -> None:
        self.recovering.discard(slot)

    def done(self, slot: int) -> None:
        self.load[slot] -= 1
        self.isolated.pop(slot, None)

    def actor_died(self, problem: Problem, slot: int, *, limit: int) -> bool:
        """Account for `problem` dying with its actor; True when it is a poison problem (give up on it)."""
        alone = self.isolated.get(slot) == problem.id
        self.done(slot)
        self.recovering.add(slot)
        self.deaths[problem.id] += 1
        if alone and self.deaths[problem.id] > limit:
            return True
        (self.suspects if self.deaths[problem.id] > limit else self.retries).append(problem)
        return False


def connect(options: RayOptions) -> Any:
    """Connect to (or start) the cluster; returns the `ray` module."""
    ray = require_ray()
    if not ray.is_initialized():
        kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "logging_level": "ERROR"}
        if options.address is None:
            kwargs["num_cpus"] = options.local_cpus
        try:
            ray.init(address=options.address, **kwargs)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise ConfigurationError(
                f"could not connect to the Ray cluster at {options.address or 'a new local cluster'} ({exc}); start "
                "one with `ray start --head` and pass --ray auto, or omit the address to start a local one"
            ) from None
    return ray


def cluster_info(ray: Any, run: str, options: RayOptions, config: FormalizerConfig) -> ClusterInfo:
    from autoformal.llm.config import OpenAIBackendConfig
    from autoformal.llm.endpoints import split_base_urls

    nodes = [n for n in ray.nodes() if n.get("Alive")]
    endpoints: list[str] = []
    if isinstance(config.backend, OpenAIBackendConfig):
        try:
            endpoints = split_base_urls(config.backend.require_base_url())
        except AutoformalError:
            endpoints = []
    return ClusterInfo(
        run=run,
        nodes=len(nodes),
        actors=options.actors,
        cpus=float(ray.cluster_resources().get("CPU", 0.0)),
        endpoints=endpoints,
        address=str(ray.get_runtime_context().gcs_address),
    )


def run_bulk_on_ray(
    problems: Sequence[Problem],
    config: FormalizerConfig,
    writer: JsonlAppender,
    summary: BulkSummary,
    options: RayOptions,
    *,
    default_header: str | None = None,
    on_done: Callable[[ProblemDone], None] | None = None,
    on_tick: Callable[[dict[str, int]], None] | None = None,
    on_start: Callable[[ClusterInfo], None] | None = None,
    factory: FormalizerFactory = default_factory,
) -> ClusterInfo:
    """Formalize `problems` on a pool of actors, appending each record as it arrives. Returns what ran it."""
    from autoformal.bulk.runner import ProblemDone, failure_record

    ray = connect(options)
    # Each actor's Lean pool gets the CPUs the actor reserved.
    actor_config = config.model_copy(
        update={"checker": config.checker.model_copy(update={"num_workers": max(1, int(options.cpus_per_actor))})}
    )
    actor_class = ray.remote(_FormalizerActor)
    run = f"autoformal-bulk-{os.getpid()}-{int(time.time())}"
    # Named, so operators (and tests) can find a run's actors: `ray.get_actor(f"{run}-{i}")`.
    actors = [
        actor_class.options(
            name=f"{run}-{i}",
            num_cpus=options.cpus_per_actor,
            max_restarts=-1,
            max_task_retries=0,  # retried by `_Dispatch`, which tells a poison problem from its bystanders
            max_concurrency=options.per_actor_concurrency,
        ).remote(actor_config, factory)
        for i in range(options.actors)
    ]
    try:  # a formalizer that cannot be built (bad settings) is fatal, not a failure per problem
        ray.get([actor.where.remote() for actor in actors])
    except ray.exceptions.RayActorError as exc:
        for actor in actors:
            ray.kill(actor, no_restart=True)
        raise ConfigurationError(f"the formalizer actors could not start: {exc}") from None
    info = cluster_info(ray, run, options, config)
    if on_start is not None:
        on_start(info)
    dispatch = _Dispatch(len(actors), options.per_actor_concurrency, iter(problems))
    in_flight: dict[Any, tuple[Problem, int, float]] = {}
    probes: dict[Any, int] = {}  # pings of restarting actors -> their slot
    counts = {"done": 0}
    started = time.perf_counter()

    def finish(problem: Problem, record: dict[str, Any]) -> None:
        writer.append(record)
        summary.written += 1
        summary.add_record(record)
        counts["done"] += 1
        if on_done is not None:
            on_done(ProblemDone(problem, record, None))

    try:
        while True:
            for problem, slot in dispatch.next_batch():
                ref = actors[slot].formalize.remote(problem, default_header)
                in_flight[ref] = (problem, slot, time.perf_counter())
            if not in_flight and not probes:
                break
            ready, _ = ray.wait([*in_flight, *probes], num_returns=1, timeout=0.5)
            for ref in ready:
                if ref in probes:
                    slot = probes.pop(ref)
                    try:
                        ray.get(ref)
                        dispatch.recovered(slot)
                    except ray.exceptions.RayActorError:  # still restarting: ask again shortly
                        time.sleep(0.2)
                        probes[actors[slot].where.remote()] = slot
                    continue
                problem, slot, t0 = in_flight.pop(ref)
                try:
                    record = ray.get(ref)
                except ray.exceptions.RayActorError as exc:
                    if slot not in probes.values():  # send it nothing until a call returns from the restarted actor
                        probes[actors[slot].where.remote()] = slot
                    if dispatch.actor_died(problem, slot, limit=options.max_task_retries):
                        reason = (
                            f"its formalizer actor died {dispatch.deaths[problem.id]} times on this problem, the "
                            f"last time with nothing else running ({type(exc).__name__}); not retried again"
                        )
                        finish(problem, failure_record(problem, reason, time.perf_counter() - t0))
                    continue
                except ray.exceptions.RayTaskError as exc:
                    dispatch.done(slot)
                    cause = exc.as_instanceof_cause()
                    if is_fatal(cause):  # every other problem would fail the same way
                        raise cause from None
                    # retryable (a timeout, a server error): nothing written, so --resume retries it
                    message = f"{problem.id}: {type(exc.cause).__name__}: {exc.cause}"
                    summary.failed += 1
                    if len(summary.failures) < 20:
                        summary.failures.append(message)
                    if on_done is not None:
                        on_done(ProblemDone(problem, None, message))
                    continue
                dispatch.done(slot)
                finish(problem, record)
            if on_tick is not None:
                on_tick({"in_flight": len(in_flight), "actors": len(actors), "failed": summary.failed, **counts})
    finally:
        for ref in in_flight:
            ray.cancel(ref, force=False)
        for actor in actors:
            ray.kill(actor, no_restart=True)
        summary.wall_s = time.perf_counter() - started
        writer.sync()
    return info

