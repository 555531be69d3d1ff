"""The `Stage` interface, the `Job` (one input on its way through the stages) and `run_stages`.

A stage takes the job and the candidates so far and returns the candidates that go on. Its `name` is the key
of everything the run records about it: its entry in `FormalizationResult.stage_counts` (candidates
surviving it, when it counts), in `timings` (seconds spent), and the prefix of the `errors` lines it reports.

How to add a stage
------------------
1. Write a class in a module of its own under `autoformal/stages/`, deriving from `Stage`:

       class ProbeStage(Stage):
           name = "probed"                       # count, timing and error key; never rename once released

           def __init__(self, checker: LeanChecker) -> None:
               self.checker = checker

           @classmethod
           def build(cls, parts: Components) -> ProbeStage | None:
               # None = the stage is off under this configuration (it then records nothing)
               return cls(parts.checker) if parts.checker is not None else None

           async def run(self, job: Job, candidates: list[Candidate]) -> list[Candidate]:
               ...
               return [c.annotated(vacuous=flag) for c, flag in zip(candidates, flags)]

2. Register it by putting the class at its place in `autoformal.pipeline.STAGES` (the one definition of the
   order; results, bulk summaries and the README read it from there).
3. Components: `build` receives the `autoformal.assembly.Components` (backend, judge backend, checker, safety
   gate, names checker, embedder, retrievers, ranker, scorers, config). It never constructs a backend,
   checker or model itself; if it needs a component that does not exist yet, add it to `assembly`, which is
   the only place components are built.
4. Counts, timings, errors: `run_stages` times `run` and records `count(job, output)` under `name` (the
   default counts the candidates returned; return None from `count` for a stage that does not filter).
   Report problems with `job.report(self.name, "what happened")`; they become `"{name}: what happened"`
   lines in `errors`. Raise only for what must cost the whole input (the batch runner then records it).
5. Adding candidates: `await job.admit(raw_texts, origin="repair")` runs the admission stages (extract →
   parse → safety → names → lean, `pipeline.ADMISSION`) on new raw model texts and returns the candidates
   that came out, each annotated with `origin`; append them to the list the stage returns. They pass the
   same safety gate as the first samples: nothing from model text reaches Lean any other way.
6. Per-candidate data: `candidate.annotated(key=value)` (JSON-serialisable values) attaches probe flags or
   provenance; `RankedCandidate.annotations` carries them into the results.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from autoformal.scoring.base import ScoringCandidate

if TYPE_CHECKING:
    from autoformal.assembly import Components
    from autoformal.corpus.models import Declaration, Example
    from autoformal.provenance import RepairRound
    from autoformal.results import RankedCandidate

#: A candidate statement on its way through the stages: its text, its parsed `document` (parsed once, at
#: extraction), and whatever the stages so far attached (Lean verdict, name check, back-translation, ...).
Candidate = ScoringCandidate

#: Runs the admission stages on new raw model texts (see `Job.admit`).
Admit = Callable[["Job", Sequence[str], str], Awaitable[list[Candidate]]]


@dataclass
class Job:
    """One input and what the stages learned about it so far."""

    text: str
    header: str
    context: str | None = None
    declarations: list[Declaration] = field(default_factory=list)
    examples: list[Example] = field(default_factory=list)
    #: Raw model texts the extract stage has yet to read.
    outputs: list[str] = field(default_factory=list)
    model: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    #: Set by the ranking stage: the candidates as the result lists them, best first.
    ranked: list[RankedCandidate] = field(default_factory=list)
    admitter: Admit | None = None
    #: Candidates the name check kept from Lean (`names_filter="drop"`), verdicts attached: the repair stage
    #: sends their unknown names back to the model. Shared with forks, like `errors`.
    refused: list[Candidate] = field(default_factory=list)
    #: What each repair round did, and the LLM requests beyond the first generation (repairs, revisions).
    repair_rounds: list[RepairRound] = field(default_factory=list)
    extra_requests: int = 0

    def report(self, stage: str, message: str) -> None:
        """Record a problem that did not stop the input, under the stage that met it."""
        self.errors.append(f"{stage}: {message}")

    def fork(self, outputs: Sequence[str]) -> Job:
        """A job for new raw texts of the same input: same text, header, context and error list; counts and
        timings of its own (so a re-entry does not overwrite the first pass's)."""
        return Job(
            text=self.text,
            header=self.header,
            context=self.context,
            declarations=self.declarations,
            examples=self.examples,
            outputs=list(outputs),
            model=self.model,
            errors=self.errors,
            admitter=self.admitter,
            refused=self.refused,
        )

    async def admit(self, outputs: Sequence[str], origin: str) -> list[Candidate]:
        """Candidates from new raw model texts, through the admission stages (extract → … → lean), each
        annotated with `origin` (which stage asked)."""
        if self.admitter is None:
            raise RuntimeError("this job was not started by a Formalizer: no admission stages to run")
        return await self.admitter(self, outputs, origin)


class Stage(ABC):
    """One step of the pipeline. Subclasses set `name` and implement `build` and `run`."""

    #: The key of this stage's count, timing and error lines.
    name: ClassVar[str]

    @classmethod
    @abstractmethod
    def build(cls, parts: Components) -> Stage | None:
        """The stage over the assembled components, or None when the configuration turns it off."""

    @abstractmethod
    async def run(self, job: Job, candidates: list[Candidate]) -> list[Candidate]:
        """The candidates that go on (possibly with more attached, possibly new ones)."""

    def count(self, job: Job, candidates: list[Candidate]) -> int | None:
        """What `stage_counts[name]` records after `run`: by default the candidates that went on."""
        return len(candidates)


async def run_stages(stages: Sequence[Stage], job: Job, candidates: list[Candidate]) -> list[Candidate]:
    """Run `stages` in order on `job`, recording each one's timing and count under its name."""
    for stage in stages:
        mark = time.perf_counter()
        candidates = await stage.run(job, candidates)
        job.timings[stage.name] = job.timings.get(stage.name, 0.0) + time.perf_counter() - mark
        counted = stage.count(job, candidates)
        if counted is not None:
            job.counts[stage.name] = counted
    return candidates
