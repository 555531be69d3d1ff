"""Every exception autoformal raises on purpose, in one tree. Every error names the problem *and* the fix,
because users meet them in batch logs far from the code that raised them.

    AutoformalError                          fatal  final
    ├── ConfigurationError                     ●             a setting is missing or inconsistent
    │   ├── LeanNotFoundError                  ●
    │   ├── EndpointNotConfiguredError (LLM)   ●
    │   ├── ModelNotFoundError (LLM)           ●
    │   └── BackendUnavailableError (LLM)      ●
    ├── InvalidInputError                             ●      an input text no stage can take
    ├── StatementSyntaxError                                 Lean text outside the statement grammar
    ├── OperatorError                                        an operator sequence no precedence resolves
    ├── LLMError
    │   ├── ServerUnreachableError             ●
    │   ├── GenerationTimeoutError
    │   ├── ContextLengthExceededError                ●
    │   └── LLMRequestError
    ├── UnsafeHeaderError                             ●      a header line that is not allowed
    ├── HeaderElaborationError                        ●      Lean rejects the header itself
    ├── LeanWorkerError                                      a REPL worker cannot be restarted
    ├── KiminaServerError
    ├── UntrustedStatementError                       ●      a statement a proof job cannot be built from
    ├── CorpusError ── CorpusFormatError
    ├── RetrievalError
    │   ├── InvalidQueryError
    │   ├── EmbedderError
    │   └── IndexStateError ── IndexNotFoundError, IndexCorruptError, IndexMismatchError
    ├── ScoringError
    ├── EvaluationError
    ├── UntypableError                                       a Python type with no Lean counterpart
    │   └── UnprintableValueError                            a Python value with no Lean literal we print
    ├── BulkOutputError
    ├── BulkAborted
    ├── ExportError                                          a line of bulk output export cannot read
    └── ReviewDataError                                      a bulk output or labels file that cannot be read

`fatal`: every other input of a batch would fail the same way, so `autoformal.batch` stops the batch (and
bulk exits, telling the fix; rerun with `--resume`). Otherwise the error costs the one input it happened on.
Final (`transient = False`): retrying the input cannot help, so bulk writes its line with the error; every
other non-fatal error may pass on a later attempt (timeouts, server errors, a crashed worker), so bulk writes
nothing and `--resume` retries the input. Exceptions that are not `AutoformalError`s (bugs) cost their input
and count as transient.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

#: The recipe for serving Leanstral with vLLM; quoted in errors so users can copy it.
VLLM_SERVE_COMMAND = (
    "vllm serve mistralai/Leanstral-2603 --max-model-len 200000 --tensor-parallel-size 4 "
    "--attention-backend FLASH_ATTN_MLA --tool-call-parser mistral --enable-auto-tool-choice "
    "--reasoning-parser mistral"
)


class AutoformalError(Exception):
    """Base class for every error autoformal raises on purpose."""

    #: True: every other input of a batch would fail the same way (no endpoint, no Lean), so a batch stops.
    #: False: the error costs the input it happened on; the batch goes on.
    fatal: ClassVar[bool] = False
    #: For a non-fatal error: True when a later attempt may succeed (timeouts, server errors), so bulk writes
    #: nothing and `--resume` retries the input; False when retrying cannot help, so the error is recorded.
    transient: ClassVar[bool] = True


def is_fatal(error: BaseException) -> bool:
    """Whether `error` must stop a whole batch (see `AutoformalError.fatal`)."""
    return isinstance(error, AutoformalError) and error.fatal


def is_transient(error: BaseException) -> bool:
    """Whether retrying the input later may succeed; unexpected (non-autoformal) errors are assumed to be."""
    return not isinstance(error, AutoformalError) or error.transient


# -- configuration and input ---------------------------------------------------------------------------------


class ConfigurationError(AutoformalError):
    """A setting is missing or inconsistent (message says which setting and how to set it)."""

    fatal = True


class InvalidInputError(AutoformalError, ValueError):
    """An input text the pipeline cannot take (empty, not valid Unicode); the message says which."""

    transient = False


# -- Lean text ----------------------------------------------------------------------------------------------


class StatementSyntaxError(AutoformalError, ValueError):
    """A Lean statement does not parse under the statement grammar.

    ``line``/``column`` are 1-based positions in the text that was parsed; ``excerpt`` is the offending
    line with a caret under the column.
    """

    def __init__(self, message: str, *, line: int, column: int, excerpt: str) -> None:
        self.reason = message
        self.line = line
        self.column = column
        self.excerpt = excerpt
        super().__init__(f"{message} at line {line}, column {column}:\n{excerpt}")


class OperatorError(AutoformalError, ValueError):
    """An operator sequence that no precedence resolution can make a term of (e.g. `[MOD n]` without `≡`)."""


# -- the language model -------------------------------------------------------------------------------------


class LLMError(AutoformalError):
    """Base class for errors talking to a language model."""


class EndpointNotConfiguredError(LLMError, ConfigurationError):
    """No OpenAI-compatible endpoint is configured."""

    def __init__(self) -> None:
        super().__init__(
            "no LLM endpoint configured. Start a server, e.g.\n"
            f"    {VLLM_SERVE_COMMAND}\n"
            "and point autoformal at it:\n"
            "    export AUTOFORMAL_BASE_URL=http://localhost:8000/v1\n"
            "    export AUTOFORMAL_MODEL=mistralai/Leanstral-2603  # optional if the server has one model\n"
            "    export AUTOFORMAL_API_KEY=...                     # only if the server requires a key\n"
            "(or pass base_url/model/api_key in OpenAIBackendConfig, or use the transformers/vllm backend)."
        )


class ServerUnreachableError(LLMError):
    """The endpoint refused or dropped the connection."""

    fatal = True

    def __init__(self, base_url: str, detail: str) -> None:
        self.base_url = base_url
        super().__init__(
            f"cannot reach the LLM server at {base_url} ({detail}). Check that the server is running "
            f"(e.g. `{VLLM_SERVE_COMMAND}`) and that AUTOFORMAL_BASE_URL points at it, including `/v1`."
        )


class GenerationTimeoutError(LLMError):
    """The server did not answer within the configured timeout (after retries)."""

    def __init__(self, base_url: str, timeout_s: float, attempts: int | None) -> None:
        tries = f" ({attempts} attempt(s))" if attempts is not None else " (retries included)"
        super().__init__(
            f"the LLM server at {base_url} did not answer within {timeout_s:g} s{tries}. If it is hung, restart "
            "it; if it is only slow (long reasoning traces), raise timeout_s (--timeout, "
            "AUTOFORMAL_BACKEND__TIMEOUT_S; "
            "per attempt) and deadline_s (--deadline, AUTOFORMAL_BACKEND__DEADLINE_S; per request), or lower "
            "max_tokens or max_concurrency."
        )


class ModelNotFoundError(LLMError, ConfigurationError):
    """The server does not serve the requested model (or no model is set and the server serves several)."""

    def __init__(self, model: str | None, served: Sequence[str], base_url: str) -> None:
        self.model = model
        self.served = list(served)
        listing = ", ".join(f"`{name}`" for name in served) if served else "(none reported)"
        problem = (
            f"model `{model}` is not served by {base_url}"
            if model is not None
            else f"no model configured and {base_url} does not serve exactly one"
        )
        super().__init__(
            f"{problem}; it serves: {listing}. Set AUTOFORMAL_MODEL (or OpenAIBackendConfig.model) to one of these."
        )


class ContextLengthExceededError(LLMError):
    """The prompt plus `max_tokens` does not fit in the model's context window."""

    transient = False

    def __init__(self, detail: str) -> None:
        super().__init__(
            f"prompt too long for the model's context window: {detail} Lower the prompt token budget "
            "(PromptBudget.max_prompt_tokens) or `max_tokens`, or serve the model with a larger "
            "`--max-model-len`."
        )


class LLMRequestError(LLMError):
    """The server rejected a request for another reason (message quotes the server)."""

    def __init__(self, status_code: int | None, message: str) -> None:
        self.status_code = status_code
        status = f"HTTP {status_code}" if status_code is not None else "error"
        super().__init__(f"the LLM server rejected the request ({status}): {message}")


class BackendUnavailableError(LLMError, ConfigurationError):
    """An optional backend's dependency is not installed."""

    def __init__(self, backend: str, install_command: str, cause: str) -> None:
        super().__init__(
            f"the {backend} backend needs an optional dependency that is not installed ({cause}). "
            f"Install it with `{install_command}`, or use the OpenAI-compatible backend against a running "
            "server."
        )


# -- Lean ---------------------------------------------------------------------------------------------------


class LeanNotFoundError(ConfigurationError):
    """No Lean toolchain / project was found to check statements with."""


class UnsafeHeaderError(AutoformalError, ValueError):
    """A header line is not an `import`, `open`, `universe` or allow-listed `set_option`."""

    transient = False


class HeaderElaborationError(AutoformalError):
    """Lean reported errors while elaborating the header, so no statement under it can be checked."""

    transient = False


class LeanWorkerError(AutoformalError):
    """A REPL worker could not be (re)started within its restart budget."""


class KiminaServerError(AutoformalError):
    """The Kimina Lean Server could not be reached or answered outside its protocol."""


class UntrustedStatementError(AutoformalError):
    """A statement cannot be used in a trusted proof command (unsafe, unparsable, carries a tactic block or
    `sorry`), or something other than a portfolio script was offered as a proof. Not a ValueError on purpose:
    pydantic validators let it through unwrapped."""

    transient = False


# -- data: corpora, retrieval, labelled sets ----------------------------------------------------------------


class CorpusError(AutoformalError):
    """A corpus file or directory cannot be read as declarations or examples."""


class CorpusFormatError(CorpusError, ValueError):
    """One record of a corpus is malformed; the message names the file, the line and the fix."""


class RetrievalError(AutoformalError):
    """Retrieval cannot run (bad query, missing or unusable index)."""


class InvalidQueryError(RetrievalError, ValueError):
    """The query is empty or too long."""


class EmbedderError(RetrievalError):
    """The embedding model cannot be loaded or used."""


class IndexStateError(RetrievalError):
    """An index directory is missing, corrupt, or was built for another model."""


class IndexNotFoundError(IndexStateError, FileNotFoundError):
    """No index in the directory (the message says how to build one)."""


class IndexCorruptError(IndexStateError):
    """The index files do not match their manifest (rebuild the index)."""


class IndexMismatchError(IndexStateError):
    """The index was built for another embedding model or settings (rebuild it, or configure that model)."""


class ScoringError(AutoformalError):
    """A scorer cannot run (missing model, endpoint, ...)."""


class EvaluationError(AutoformalError):
    """A labelled file is missing or malformed."""


# -- docstrings and bulk ------------------------------------------------------------------------------------


class UntypableError(AutoformalError):
    """A signature part has no Lean type (the message says which and why)."""


class UnprintableValueError(UntypableError):
    """A Python value has no Lean literal we print faithfully for its annotation (the example is skipped)."""


class BulkOutputError(AutoformalError):
    """The output file cannot be used as it is (message says why and what to do)."""


class BulkAborted(AutoformalError):
    """The run stopped early; the output holds every problem finished before (resume continues it)."""


class ExportError(AutoformalError):
    """`autoformal export` cannot read a line of bulk output (the message names the line and what to do)."""


class ReviewDataError(AutoformalError):
    """The bulk output or labels file cannot be read (message names the file and line)."""
