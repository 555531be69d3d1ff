"""`autoformal review`: a local web page for reviewing bulk output, one problem at a time.

Server-rendered HTML (Jinja2 with autoescaping: every text from the JSONL is escaped, and page data travels in
escaped `data-` attributes, never inside a `<script>`), one inline script for the keyboard, no build step and no
network. Security: binds to 127.0.0.1 by default, and every request needs the random token printed at start
(in the URL for pages, in the `X-Review-Token` header for writes), compared in constant time. The only file
written is the labels file. An edited statement is re-checked by the safety gate, and by Lean when a checker
is configured, before its decision is recorded.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from jinja2 import Environment, PackageLoader, select_autoescape
from pydantic import BaseModel, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from autoformal.review.store import Decision, LabelStore, ReviewProblem, Verdict

if TYPE_CHECKING:
    from autoformal.checking.protocol import LeanChecker

Filter = Literal["all", "unreviewed", "disagreements", "failed"]
FILTERS: tuple[Filter, ...] = ("all", "unreviewed", "disagreements", "failed")
TOKEN_HEADER = "X-Review-Token"


class DecisionRequest(BaseModel):
    problem_id: str
    rank: int
    verdict: Verdict
    note: str = ""
    edited_statement: str | None = None


@dataclass
class ReviewState:
    problems: list[ReviewProblem]
    labels: LabelStore
    token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    reviewer: str = "reviewer"
    checker: LeanChecker | None = None
    header: str = ""

    def problem(self, problem_id: str) -> ReviewProblem | None:
        return next((p for p in self.problems if p.id == problem_id), None)

    def reviewed(self, problem: ReviewProblem) -> bool:
        decisions = self.labels.decisions
        return any(f"{problem.id}#{c.rank}" in decisions for c in problem.candidates)

    def disagrees(self, problem: ReviewProblem) -> bool:
        """The reviewer and the ranker disagree: the ranker's best was rejected, or another candidate accepted."""
        decisions = self.labels.decisions
        for c in problem.candidates:
            decision = decisions.get(f"{problem.id}#{c.rank}")
            if decision is not None and decision.label != (c.rank == 1):
                return True
        return False

    def select(self, which: Filter) -> list[ReviewProblem]:
        if which == "unreviewed":
            return [p for p in self.problems if p.candidates and not self.reviewed(p)]
        if which == "disagreements":
            return [p for p in self.problems if self.disagrees(p)]
        if which == "failed":
            return [p for p in self.problems if p.failed]
        return list(self.problems)


_templates = Environment(
    loader=PackageLoader("autoformal.review", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _authorised(state: ReviewState, supplied: str | None) -> bool:
    return supplied is not None and secrets.compare_digest(supplied.encode(), state.token.encode())


def build_app(state: ReviewState) -> Starlette:
    async def index(request: Request) -> Response:
        if not _authorised(state, request.query_params.get("token")):
            return _forbidden()
        return RedirectResponse(f"/p/0?token={state.token}", status_code=303)

    async def page(request: Request) -> Response:
        if not _authorised(state, request.query_params.get("token")):
            return _forbidden()
        which_raw = request.query_params.get("filter", "all")
        which: Filter = which_raw if which_raw in FILTERS else "all"  # type: ignore[assignment]
        selected = state.select(which)
        index = int(request.path_params["index"])
        problem = selected[min(index, len(selected) - 1)] if selected else None
        decisions = state.labels.decisions
        nonce = secrets.token_urlsafe(16)
        html = _templates.get_template("review.html").render(
            nonce=nonce,
            problem=problem,
            index=min(index, max(len(selected) - 1, 0)),
            count=len(selected),
            total=len(state.problems),
            reviewed=sum(1 for p in state.problems if state.reviewed(p)),
            decisions={k: d for k, d in decisions.items() if problem is not None and d.id == problem.id},
            filter=which,
            filters=FILTERS,
            token=state.token,
        )
        csp = _CSP.format(nonce=nonce)
        return HTMLResponse(html, headers={"Content-Security-Policy": csp, "Cache-Control": "no-store"})

    async def decide(request: Request) -> Response:
        if not _authorised(state, request.headers.get(TOKEN_HEADER)):
            return _forbidden()
        try:
            body = DecisionRequest.model_validate(await request.json())
        except (ValidationError, ValueError) as exc:
            return JSONResponse({"error": f"invalid decision: {exc}"}, status_code=400)
        problem = state.problem(body.problem_id)
        candidate = next((c for c in problem.candidates if c.rank == body.rank), None) if problem else None
        if problem is None or candidate is None:
            return JSONResponse({"error": f"no candidate {body.rank} for problem {body.problem_id!r}"}, status_code=404)
        lean: dict[str, Any] | None = None
        if body.edited_statement is not None and body.edited_statement.strip() != candidate.statement.strip():
            refusal, lean = await _check_edit(state, body.edited_statement, problem.header)
            if refusal is not None:
                return JSONResponse({"error": refusal, "lean": lean}, status_code=422)
        decision = await asyncio.to_thread(
            state.labels.record,
            problem,
            candidate,
            verdict=body.verdict,
            reviewer=state.reviewer,
            note=body.note,
            edited_statement=body.edited_statement,
        )
        return JSONResponse({"decision": decision.model_dump(mode="json"), "lean": lean})

    async def decisions(request: Request) -> Response:
        if not _authorised(state, request.headers.get(TOKEN_HEADER) or request.query_params.get("token")):
            return _forbidden()
        return JSONResponse({k: d.model_dump(mode="json") for k, d in state.labels.decisions.items()})

    return Starlette(
        routes=[
            Route("/", index),
            Route("/p/{index:int}", page),
            Route("/api/decision", decide, methods=["POST"]),
            Route("/api/decisions", decisions),
        ]
    )


async def _check_edit(
    state: ReviewState, statement: str, header: str | None
) -> tuple[str | None, dict[str, Any] | None]:
    """Why an edit is refused (None: accepted) and Lean's verdict on it when Lean is configured."""
    from autoformal.syntax import check_safe

    verdict = await asyncio.to_thread(check_safe, statement)
    if not verdict.ok:
        return f"the edit does not pass the safety gate: {verdict.reason}", None
    if state.checker is None:
        return None, None
    (result,) = await state.checker.check([statement], header if header is not None else state.header)
    lean = result.model_dump(mode="json")
    if not result.ok:
        first = next((m for m in result.messages if m.is_error), None)
        where = f" (line {first.line}, column {first.column}: {first.text})" if first is not None else ""
        return f"the edit does not elaborate in Lean: {result.status.value}{where}", lean
    return None, lean


def _forbidden() -> Response:
    return JSONResponse(
        {"error": "missing or wrong token: open the URL `autoformal review` printed (it carries ?token=...)"},
        status_code=403,
    )


# Only our own script runs (it carries the response's nonce; a script smuggled into the page's text would not,
# were escaping ever to fail); nothing loads from elsewhere.
_CSP = "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'unsafe-inline'; connect-src 'self'"

__all__ = ["Decision", "ReviewState", "build_app"]
