"""`autoformal mcp`: autoformal's tools for agents, on the official MCP Python SDK (`mcp` 2.x `MCPServer`).

Tools (typed inputs, pydantic outputs that the SDK publishes as output schemas):

- `formalize(text, k?, header?)` — ranked candidates with scores, Lean verdicts and back-translations;
- `check(statement, header?)` — the safety gate's verdict, then Lean's verdict and messages;
- `search_mathlib(query, k?)` — declarations with signatures and docstrings from the retrieval index;
- `parse(statement)` — binders, conclusion, identifiers and canonical form;
- `equivalent(a, b, header?)` — Lean's verdict on whether two statements are equivalent (`autoformal equiv`).

Components are built once per server process, on first use (so `parse` answers without an LLM endpoint or
Lean, and a missing index only fails `search_mathlib`): the Lean pool, the index and the LLM client then
stay warm across calls. Every failure a user can fix comes back as a *tool error* whose text says what to
do; an unexpected exception costs that call, never the server. Over stdio, stdout carries only the protocol:
logging goes to stderr.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from autoformal.checking.equivalence import Equivalence
from autoformal.checking.models import CheckResult
from autoformal.errors import AutoformalError
from autoformal.results import FormalizationResult

if TYPE_CHECKING:
    from autoformal.checking.protocol import LeanChecker
    from autoformal.checking.semantic import SemanticChecker
    from autoformal.config import FormalizerConfig
    from autoformal.corpus.models import Declaration
    from autoformal.pipeline import Formalizer
    from autoformal.retrieval.base import Retriever

logger = logging.getLogger(__name__)
_T = TypeVar("_T")

#: Seconds between progress notifications while a long call runs (keeps hosts from timing the call out).
PROGRESS_INTERVAL_S = 1.0
MAX_K = 64


class SafetyOutput(BaseModel):
    ok: bool = Field(description="True when the statement may be sent to Lean.")
    reason: str = Field(description="Why the gate accepted or rejected it.")


class CheckOutput(BaseModel):
    """The safety gate's verdict and, when it passed and Lean is configured, Lean's."""

    statement: str
    safety: SafetyOutput
    lean: CheckResult | None = Field(
        default=None, description="Lean's verdict with its messages; None when the gate rejected the statement."
    )


class BinderOutput(BaseModel):
    name: str
    type: str | None
    kind: str


class DeclarationOutput(BaseModel):
    keyword: str
    name: str | None
    binders: list[BinderOutput]
    conclusion: str | None
    identifiers: list[str]


class ParseOutput(BaseModel):
    declarations: list[DeclarationOutput]
    canonical_form: str | None = Field(description="Same for statements equal up to names, spacing and sugar.")
    safety: SafetyOutput


class MathlibHit(BaseModel):
    name: str
    kind: str
    signature: str
    docstring: str | None
    module: str | None
    score: float


class SearchOutput(BaseModel):
    query: str
    hits: list[MathlibHit]


class EquivalentOutput(BaseModel):
    """Lean's verdict on whether two statements say the same thing, with the tactic that proved each direction."""

    a: str
    b: str
    equivalence: Equivalence


class AutoformalTools:
    """The tools' implementations over components built once, on first use, from one `FormalizerConfig`."""

    def __init__(self, config: FormalizerConfig) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._formalizer: Formalizer | None = None
        self._variants: dict[int, Formalizer] = {}
        self._semantic: SemanticChecker | None = None
        self._checker: LeanChecker | None = None
        self._retriever: Retriever[Declaration] | None = None

    # -- components ----------------------------------------------------------------------------------------

    def formalizer(self) -> Formalizer:
        with self._lock:
            if self._formalizer is None:
                from autoformal.pipeline import Formalizer

                self._formalizer = Formalizer(self.config)
                self._formalizer.warm_up()
            return self._formalizer

    def formalizer_for(self, k: int | None) -> Formalizer:
        """The formalizer sampling `k` candidates: the main one, or a variant sharing its components (LLM client,
        Lean pool, cache, retrievers), so a call with another k starts nothing new."""
        main = self.formalizer()
        if k is None or k == main.config.samples:
            return main
        with self._lock:
            if k not in self._variants:
                self._variants[k] = main.variant(samples=k)
            return self._variants[k]

    def checker(self) -> LeanChecker:
        """The formalizer's Lean pool when it exists (one warm pool per process), else one of our own."""
        if not self.config.lean:
            raise AutoformalError("Lean checking is off in this server's configuration (AUTOFORMAL_LEAN=false)")
        with self._lock:
            if self._formalizer is not None and self._formalizer.checker is not None:
                return self._formalizer.checker
            if self._checker is None:
                from autoformal.checking.factory import build_checker

                self._checker = build_checker(self.config.checker)
            return self._checker

    def semantic(self) -> SemanticChecker:
        """Lean as a semantic judge on the shared pool (the formalizer's, with its verdict cache, when built)."""
        from autoformal.assembly import runs_proof_jobs
        from autoformal.checking.semantic import SemanticChecker

        if self._formalizer is not None and self._formalizer.parts.semantic is not None:
            return self._formalizer.parts.semantic
        checker = self.checker()
        if not runs_proof_jobs(checker):
            raise AutoformalError("this Lean checker cannot run proof jobs (equivalence needs the REPL or Kimina)")
        with self._lock:
            if self._semantic is None:
                self._semantic = SemanticChecker(checker, config=self.config.semantic)  # type: ignore[arg-type]
            return self._semantic

    def retriever(self) -> Retriever[Declaration]:
        with self._lock:
            if self._retriever is None:
                from autoformal.retrieval.config import build_retriever

                index_dir = self.config.retrieval_config.index_dir
                if not (index_dir / "manifest.json").is_file():
                    raise AutoformalError(
                        f"no retrieval index at {index_dir}: build one with `autoformal index build --corpus "
                        "DECLS.jsonl.gz` or set AUTOFORMAL_RETRIEVAL_CONFIG__INDEX_DIR"
                    )
                self._retriever = build_retriever(self.config.retrieval_config)
            return self._retriever

    def close(self) -> None:
        with self._lock:
            if self._formalizer is not None:
                self._formalizer.close()
            if self._checker is not None:
                self._checker.close()

    # -- tools ---------------------------------------------------------------------------------------------

    async def formalize(self, text: str, k: int | None, header: str | None) -> FormalizationResult:
        if k is not None and not 1 <= k <= MAX_K:
            raise AutoformalError(f"k must be between 1 and {MAX_K}, got {k}")
        formalizer = await asyncio.to_thread(self.formalizer_for, k)
        return await formalizer.aformalize(text, header=header)

    async def check(self, statement: str, header: str | None) -> CheckOutput:
        from autoformal.syntax import check_safe

        verdict = await asyncio.to_thread(check_safe, statement)
        safety = SafetyOutput(ok=verdict.ok, reason=verdict.reason)
        if not verdict.ok:
            return CheckOutput(statement=statement, safety=safety)
        checker = await asyncio.to_thread(self.checker)
        (result,) = await checker.check([statement], header if header is not None else self.config.header)
        return CheckOutput(statement=statement, safety=safety, lean=result)

    async def equivalent(self, a: str, b: str, header: str | None) -> EquivalentOutput:
        from autoformal.checking.equivalence import equivalent_many

        semantic = await asyncio.to_thread(self.semantic)
        (verdict,) = await equivalent_many(semantic, [(a, b)], header if header is not None else self.config.header)
        return EquivalentOutput(a=a, b=b, equivalence=verdict)

    async def search_mathlib(self, query: str, k: int) -> SearchOutput:
        if not 1 <= k <= 100:
            raise AutoformalError(f"k must be between 1 and 100, got {k}")
        retriever = await asyncio.to_thread(self.retriever)
        hits = await asyncio.to_thread(retriever.search, query, k)
        return SearchOutput(
            query=query,
            hits=[
                MathlibHit(
                    name=h.item.name,
                    kind=h.item.kind,
                    signature=h.item.signature,
                    docstring=h.item.docstring,
                    module=h.item.module,
                    score=float(h.score),
                )
                for h in hits
            ],
        )

    async def parse(self, statement: str) -> ParseOutput:
        return await asyncio.to_thread(parse_statement_output, statement)


def parse_statement_output(statement: str) -> ParseOutput:
    from autoformal.syntax import canonical_form, check_safe, parse_document

    doc = parse_document(statement)  # StatementSyntaxError (an AutoformalError) names line and column
    verdict = check_safe(statement)
    declarations = [
        DeclarationOutput(
            keyword=d.keyword,
            name=d.name,
            binders=[BinderOutput(name=b.name, type=b.type, kind=b.kind) for b in d.binders],
            conclusion=d.conclusion_text,
            identifiers=list(d.identifiers),
        )
        for d in doc.declarations
    ]
    canonical = canonical_form(doc) if any(d.is_theorem for d in doc.declarations) else None
    return ParseOutput(
        declarations=declarations,
        canonical_form=canonical,
        safety=SafetyOutput(ok=verdict.ok, reason=verdict.reason),
    )


async def _as_tool_call(name: str, ctx: Context | None, work: Callable[[], Awaitable[_T]]) -> _T:
    """Run one tool call: progress notifications while it runs, user-fixable failures as tool errors with
    their message, anything else as a tool error that names the internal error (logged with its traceback)."""
    task = asyncio.ensure_future(work())
    start = time.monotonic()
    try:
        if ctx is not None:
            await ctx.report_progress(0.0, None, f"{name}: started")
        while True:
            done, _ = await asyncio.wait({task}, timeout=PROGRESS_INTERVAL_S)
            if done:
                result = task.result()
                if ctx is not None:
                    elapsed = time.monotonic() - start
                    await ctx.report_progress(elapsed, elapsed, f"{name}: done in {elapsed:.1f} s")
                return result
            if ctx is not None:  # progress is elapsed seconds: hosts see the call is alive
                await ctx.report_progress(time.monotonic() - start, None, f"{name}: running")
    except AutoformalError as exc:
        raise ToolError(str(exc)) from exc
    except (ValueError, TypeError) as exc:  # bad argument values that pydantic's schema could not rule out
        raise ToolError(f"invalid argument: {exc}") from exc
    except Exception as exc:
        logger.exception("tool %s failed", name)
        raise ToolError(f"internal error in {name} ({type(exc).__name__}: {exc}); please report it") from exc
    finally:
        task.cancel()


def build_server(config: FormalizerConfig, *, tools: AutoformalTools | None = None) -> MCPServer[Any]:
    """The MCP server exposing `tools` (built from `config` when not given)."""
    impl = tools or AutoformalTools(config)
    server: MCPServer[Any] = MCPServer(
        name="autoformal",
        instructions=(
            "Turns informal mathematics into Lean 4 theorem statements. Use `formalize` for a ranked list of "
            "candidate statements, `check` to elaborate a statement with Lean, `equivalent` to have Lean prove "
            "two statements equivalent, `search_mathlib` to find Mathlib declarations, and `parse` to see how a "
            "statement reads."
        ),
        log_level="WARNING",
    )

    @server.tool()
    async def formalize(
        text: str, k: int | None = None, header: str | None = None, ctx: Context | None = None
    ) -> FormalizationResult:
        """Formalize informal text: k candidate Lean 4 statements, elaborated and ranked best first, with every
        score, Lean's messages and the back-translation. `header`: imports/opens (default: the server's)."""
        return await _as_tool_call("formalize", ctx, lambda: impl.formalize(text, k, header))

    @server.tool()
    async def check(statement: str, header: str | None = None, ctx: Context | None = None) -> CheckOutput:
        """Check one Lean statement: the safety gate first (one theorem/lemma/example, `sorry` proof), then
        Lean's elaboration verdict and messages (line/column relative to the statement)."""
        return await _as_tool_call("check", ctx, lambda: impl.check(statement, header))

    @server.tool()
    async def equivalent(a: str, b: str, header: str | None = None, ctx: Context | None = None) -> EquivalentOutput:
        """Whether two Lean statements are equivalent, proven by Lean: each is assumed in turn and the other
        attempted with a fixed tactic portfolio. Verdict equivalent / a⇒b only / b⇒a only / unknown / error."""
        return await _as_tool_call("equivalent", ctx, lambda: impl.equivalent(a, b, header))

    @server.tool()
    async def search_mathlib(query: str, k: int = 10, ctx: Context | None = None) -> SearchOutput:
        """Mathlib declarations relevant to `query` (natural language or Lean), best first, with signatures
        and docstrings."""
        return await _as_tool_call("search_mathlib", ctx, lambda: impl.search_mathlib(query, k))

    @server.tool()
    async def parse(statement: str, ctx: Context | None = None) -> ParseOutput:
        """How autoformal's grammar reads a Lean statement: binders, conclusion, identifiers, canonical form
        and the safety gate's verdict."""
        return await _as_tool_call("parse", ctx, lambda: impl.parse(statement))

    return server
