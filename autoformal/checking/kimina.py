"""`KiminaChecker`: the same protocol, served by a running Kimina Lean Server
(project-numina/kimina-lean-server, PyPI `kimina-ast-server`), the engine for checking at cluster scale.

Wire format (`POST /api/check`): request `{"snippets": [{"id", "code"}], "timeout", "debug", "reuse"}`; reply
`{"results": [{"id", "time", "error"?, "response"?}]}` where `response` is the REPL's own command reply (or a
`{"message"}` REPL error) and `error` a server-side failure ("... timed out ..." for timeouts).

What the server does with a snippet (`server/split.py`, `server/repl.py` in 2.1.3), and why the client shapes
snippets as it does:
- it splits the snippet into the leading `import` lines (the header, which keys its warm REPLs; any
  `import Mathlib.*` becomes `import Mathlib`) and the body, dropping those lines and the blank lines after
  them. Positions in the reply count from the body's first line, so the client maps them back through the
  lines the server dropped (`snippet_code`);
- a fresh REPL runs the header as its first command (env 0) and every body with `env: 0`; with no import
  there is no header command, so the FIRST BODY becomes env 0 and every later snippet on that REPL sees its
  declarations. The client therefore always sends at least one import (`import Init`, which every Lean 4
  has), keeping statements independent of each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import weakref
from collections.abc import AsyncIterator

import httpx

from autoformal.checking.config import KiminaCheckerConfig
from autoformal.checking.errors import KiminaServerError
from autoformal.checking.models import CheckResult, CheckStatus, messages_from_repl, sorries_from_repl
from autoformal.checking.protocol import BaseChecker, SafetyGate
from autoformal.checking.trusted import (
    AttemptOutcome,
    JobOutcome,
    ProofJob,
    attempt_outcome,
    failed_setup,
    skipped,
)

# Every Lean 4 has the module `Init` (the prelude), so importing it changes nothing but gives the server a
# header command to build env 0 from.
FALLBACK_IMPORT = "import Init"


def _server_header_line_count(lines: list[str]) -> int:
    """How many leading lines the server's `split_snippet` takes as header (imports and blank lines)."""
    count = 0
    while count < len(lines) and (not lines[count].strip() or lines[count].strip().startswith("import ")):
        count += 1
    return count


def snippet_code(header: str, statement: str) -> tuple[str, int]:
    """The code sent for one statement, and the line offset to subtract from the server's positions.

    The header's `import` lines go first (Lean wants them there anyway; a comment before them would make the
    server send them as body) and `import Init` stands in when there is none. The offset is the number of
    lines between the end of what the server strips and the statement's first line."""
    lines = header.splitlines()
    imports = [line.strip() for line in lines if line.strip().startswith("import ")]
    rest = [line for line in lines if not line.strip().startswith("import ")]
    prefix = "\n".join([*(imports or [FALLBACK_IMPORT]), *rest]) + "\n\n"
    code = prefix + statement
    return code, len(prefix.splitlines()) - _server_header_line_count(code.splitlines())


def server_repl_key(header: str) -> str:
    """The header the server keeps warm REPLs under for our snippets (`split.py`): the imports, with any
    `import Mathlib.*` as `import Mathlib`. Headers differing only in `open`s share REPLs."""
    imports = [line.strip() for line in header.splitlines() if line.strip().startswith("import ")]
    mathlib = any(line.startswith("import Mathlib") for line in imports)
    rest = dict.fromkeys(line for line in imports if not line.startswith("import Mathlib"))
    return "\n".join((["import Mathlib"] if mathlib else []) + list(rest)) or FALLBACK_IMPORT


class HeaderTurns:
    """Request slots shared by every `check` call on one event loop, granted one server header at a time.

    The server keeps REPLs warm per header and, when all are taken, evicts one to start a REPL for another
    header (re-importing Mathlib costs seconds and GBs). So the header in flight keeps its turn, its waiting
    requests going ahead of other headers' for up to `TURN_REQUESTS_PER_SLOT` requests per slot; then, or
    when it has no request waiting, its requests drain and the header that has waited longest takes over."""

    TURN_REQUESTS_PER_SLOT = 4

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._in_flight = 0
        self._active: str | None = None
        self._turn_grants = 0
        self._queue: list[tuple[str, asyncio.Future[None]]] = []

    @contextlib.asynccontextmanager
    async def slot(self, key: str) -> AsyncIterator[None]:
        granted = asyncio.get_running_loop().create_future()
        self._queue.append((key, granted))
        self._grant()
        try:
            await granted
        except asyncio.CancelledError:
            if granted.done() and not granted.cancelled():  # granted just before the cancel landed
                self._release()
            else:
                self._grant()  # it may have been the request holding the next turn back
            raise
        try:
            yield
        finally:
            self._release()

    def _next(self) -> int | None:
        """Index in the queue of the request to start now, if any."""
        self._queue = [(k, f) for k, f in self._queue if not f.cancelled()]
        if self._turn_grants < self.TURN_REQUESTS_PER_SLOT * self.limit:
            same = next((i for i, (key, _) in enumerate(self._queue) if key == self._active), None)
            if same is not None:
                return same
        # the turn is over: once its requests have drained, the longest-waiting request starts the next one
        return 0 if self._queue and self._in_flight == 0 else None

    def _grant(self) -> None:
        while self._in_flight < self.limit and (i := self._next()) is not None:
            key, granted = self._queue.pop(i)
            if key != self._active or self._turn_grants >= self.TURN_REQUESTS_PER_SLOT * self.limit:
                self._active, self._turn_grants = key, 0
            self._in_flight += 1
            self._turn_grants += 1
            granted.set_result(None)

    def _release(self) -> None:
        self._in_flight -= 1
        self._grant()


class KiminaChecker(BaseChecker):
    """Checks statements through a Kimina Lean Server's `POST /api/check`."""

    def __init__(
        self,
        config: KiminaCheckerConfig | None = None,
        *,
        safety_gate: SafetyGate | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(safety_gate)
        self.config = config or KiminaCheckerConfig()
        self._transport = transport
        self._slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, HeaderTurns] = weakref.WeakKeyDictionary()
        self._closed = False

    def _client(self) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {self.config.api_key}"} if self.config.api_key else {}
        # A client per `check` call: an AsyncClient is bound to the event loop that first used it, and
        # `check_sync` runs each call on its own loop.
        return httpx.AsyncClient(
            base_url=str(self.config.url),
            headers=headers,
            timeout=httpx.Timeout(self.config.http_timeout_s, connect=10.0),
            transport=self._transport,
        )

    def _request_slots(self) -> HeaderTurns:
        """The slots of this event loop: the pipeline checks many inputs at once, and together they should
        keep the server's REPLs busy without queueing past its timeouts or evicting each other's headers."""
        loop = asyncio.get_running_loop()
        slots = self._slots.get(loop)
        if slots is None:
            slots = self._slots[loop] = HeaderTurns(self.config.max_concurrent_requests)
        return slots

    async def _check_safe_statements(self, statements: list[str], header: str) -> list[CheckResult]:
        if self._closed:
            raise KiminaServerError("the checker is closed; create a new KiminaChecker")
        size = self.config.batch_size
        batches = [list(range(i, min(i + size, len(statements)))) for i in range(0, len(statements), size)]
        slots, key = self._request_slots(), server_repl_key(header)
        async with self._client() as client:

            async def run(batch: list[int]) -> list[CheckResult]:
                async with slots.slot(key):
                    return await self._check_batch(client, [statements[i] for i in batch], header)

            done = await asyncio.gather(*(run(b) for b in batches))
        return [result for batch in done for result in batch]

    async def _check_batch(self, client: httpx.AsyncClient, statements: list[str], header: str) -> list[CheckResult]:
        codes = [snippet_code(header, s) for s in statements]
        payload = {
            "snippets": [{"id": str(i), "code": code} for i, (code, _) in enumerate(codes)],
            "timeout": math.ceil(self.config.timeout_s),
            "debug": False,
            "reuse": True,
        }
        try:
            response = await client.post("/api/check", json=payload)
        except httpx.HTTPError as exc:
            raise KiminaServerError(
                f"cannot reach the Kimina Lean Server at {self.config.url} ({exc!r}); start it "
                "(`python -m server` in kimina-lean-server) or set AUTOFORMAL_KIMINA_URL"
            ) from exc
        if response.status_code != 200:
            raise KiminaServerError(
                f"Kimina Lean Server answered HTTP {response.status_code} to POST /api/check: "
                f"{response.text[:300]!r}" + (" (set AUTOFORMAL_KIMINA_API_KEY)" if response.status_code == 401 else "")
            )
        try:
            by_id = {str(r["id"]): r for r in response.json()["results"]}
        except (ValueError, KeyError, TypeError) as exc:
            raise KiminaServerError(
                f"Kimina Lean Server reply is not a CheckResponse: {response.text[:300]!r}"
            ) from exc
        return [
            _result(statement, by_id.get(str(i)), offset)
            for i, (statement, (_, offset)) in enumerate(zip(statements, codes, strict=True))
        ]

    async def _run_trusted_jobs(self, jobs: list[ProofJob], header: str) -> list[JobOutcome]:
        limit = asyncio.Semaphore(self.config.max_concurrent_requests)  # jobs, like batches, share the bound

        async def run(job: ProofJob) -> JobOutcome:
            async with limit:
                return await self._run_job(job, header)

        return list(await asyncio.gather(*(run(job) for job in jobs)))

    async def _run_job(self, job: ProofJob, header: str) -> JobOutcome:
        """A trusted proof job as snippets: the server keeps no environment between snippets, so each carries
        the assumption before its own command, and only messages after the assumption's lines count. The
        scripts go in one batch; after the first proof the rest are reported `skipped` (with `stop_at_first`)."""
        context = job.context_command()
        prefix = f"{context}\n" if context else ""
        context_lines = prefix.count("\n")
        (setup,) = await self._check_safe_statements([prefix + job.goal_check_command()], header)
        if not setup.ok:
            in_context = any(m.is_error and m.line <= context_lines for m in setup.messages)
            return failed_setup("assumption" if in_context else "goal", setup)
        results = await self._check_safe_statements([prefix + job.attempt_command(s) for s in job.scripts], header)
        attempts: list[AttemptOutcome] = []
        for script, result in zip(job.scripts, results, strict=True):
            if job.stop_at_first and any(a.proved for a in attempts):
                attempts.append(skipped(script))
                continue
            if result.status in (CheckStatus.OK, CheckStatus.ERROR):
                result = CheckResult.from_messages(
                    result.statement,
                    [m for m in result.messages if m.line > context_lines],
                    [s for s in result.sorries if s.line is None or s.line > context_lines],
                    result.elapsed_s,
                )
            attempts.append(attempt_outcome(script, result))
        return JobOutcome(context_ok=True, goal_ok=True, attempts=attempts)

    def close(self) -> None:
        self._closed = True


def _result(statement: str, entry: dict[str, object] | None, offset: int) -> CheckResult:
    if entry is None:
        return CheckResult.failure(statement, CheckStatus.CRASHED, "the server returned no result for this snippet")
    elapsed = float(entry.get("time") or 0.0)  # type: ignore[arg-type]
    error = entry.get("error")
    if error:
        status = CheckStatus.TIMEOUT if "timed out" in str(error) else CheckStatus.CRASHED
        return CheckResult.failure(statement, status, str(error), elapsed)
    reply = entry.get("response")
    if not isinstance(reply, dict):
        return CheckResult.failure(statement, CheckStatus.CRASHED, f"malformed result: {entry!r}"[:300], elapsed)
    if "message" in reply and "env" not in reply:
        return CheckResult.failure(
            statement, CheckStatus.CRASHED, f"REPL refused the request: {reply['message']}", elapsed
        )
    return CheckResult.from_messages(
        statement,
        messages_from_repl(reply.get("messages"), offset),
        sorries_from_repl(reply.get("sorries"), offset),
        elapsed,
    )
