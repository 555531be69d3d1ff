"""`KiminaChecker`: the same protocol, served by a running Kimina Lean Server
(project-numina/kimina-lean-server), the engine for checking at cluster scale.

Wire format (`POST /api/check`): request `{"snippets": [{"id", "code"}], "timeout", "debug", "reuse"}`; reply
`{"results": [{"id", "time", "error"?, "response"?}]}` where `response` is the REPL's own command reply (or a
`{"message"}` REPL error) and `error` a server-side failure ("... timed out ..." for timeouts). The server
splits each snippet into header and body itself, keeps REPLs warm per header (`reuse`), and reports positions
relative to the whole snippet; we send `header + blank line + statement` and subtract the header's lines.
"""

from __future__ import annotations

import asyncio
import math

import httpx

from autoformal.checking.config import KiminaCheckerConfig
from autoformal.checking.errors import KiminaServerError
from autoformal.checking.models import CheckResult, CheckStatus, messages_from_repl, sorries_from_repl
from autoformal.checking.protocol import BaseChecker, SafetyGate
from autoformal.checking.trusted import JobOutcome, ProofJob, attempt_outcome, failed_setup, skipped


def snippet_code(header: str, statement: str) -> tuple[str, int]:
    """The code sent for one statement and how many lines precede the statement in it."""
    if not header:
        return statement, 0
    return f"{header}\n\n{statement}", header.count("\n") + 2


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

    async def _check_safe_statements(self, statements: list[str], header: str) -> list[CheckResult]:
        if self._closed:
            raise KiminaServerError("the checker is closed; create a new KiminaChecker")
        size = self.config.batch_size
        batches = [list(range(i, min(i + size, len(statements)))) for i in range(0, len(statements), size)]
        limit = asyncio.Semaphore(self.config.max_concurrent_requests)
        async with self._client() as client:

            async def run(batch: list[int]) -> list[CheckResult]:
                async with limit:
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
        attempts = []
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
