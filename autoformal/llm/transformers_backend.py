"""`TransformersBackend`: a local Hugging Face causal LM sampled with `model.generate`.

Meant for small models, CPU runs and tests; large provers belong behind vLLM. Each request is one `generate`
call with `num_return_sequences=n` (the prompt is encoded once). Grammars are enforced with llguidance (the
engine behind vLLM's `guidance` structured-output backend, `pip install llguidance`), which masks each step's
logits to the tokens the grammar allows. `Completion.logprob` is the sum of the
sampled tokens' log-probabilities under the model's raw distribution (before temperature/top-p), like vLLM's
default, so scores are comparable across sampling settings.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from autoformal.llm.base import ThreadedSyncBackend
from autoformal.llm.config import TransformersBackendConfig
from autoformal.llm.errors import BackendUnavailableError, LLMRequestError
from autoformal.llm.models import ChatMessage, Completion, GenerationRequest, GenerationResult
from autoformal.llm.reasoning import split_reasoning

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

#: Used when the request leaves `max_tokens` unset; `generate`'s own default (20) is far too short.
DEFAULT_MAX_NEW_TOKENS = 512


class TransformersBackend(ThreadedSyncBackend):
    """`LLMBackend` over an in-memory `transformers` model and tokenizer."""

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        *,
        model_name: str | None = None,
        use_chat_template: bool = True,
    ) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.use_chat_template = use_chat_template
        self._model_name = model_name or getattr(model.config, "name_or_path", "") or type(model).__name__
        # Seeding uses torch's global RNG; serialise generate calls so a seed fixes the samples.
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, config: TransformersBackendConfig) -> TransformersBackend:
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as error:  # transformers is a core dependency; torch may be missing
            raise BackendUnavailableError("transformers", "pip install torch transformers", str(error)) from error
        device = config.device or ("cuda" if torch.cuda.is_available() else "cpu")
        dtype: Any = config.dtype if config.dtype == "auto" else getattr(torch, config.dtype)
        tokenizer = AutoTokenizer.from_pretrained(config.model)
        model: Any = AutoModelForCausalLM.from_pretrained(config.model, dtype=dtype)
        model = model.to(device)
        return cls(model, tokenizer, model_name=config.model, use_chat_template=config.use_chat_template)

    @property
    def model_name(self) -> str:
        return self._model_name

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        return [self._generate_one(request) for request in requests]

    def prompt_text(self, messages: Sequence[ChatMessage], reasoning_effort: str | None = None) -> str:
        """The prompt as the model sees it: the tokenizer's chat template, else `role: content` lines."""
        if self.use_chat_template and getattr(self.tokenizer, "chat_template", None):
            # Extra keyword arguments reach the template (e.g. Magistral/Leanstral's reasoning switch).
            extra: dict[str, Any] = {"reasoning_effort": reasoning_effort} if reasoning_effort else {}
            rendered = self.tokenizer.apply_chat_template(
                [message.model_dump() for message in messages],
                tokenize=False,
                add_generation_prompt=True,
                **extra,
            )
            return str(rendered)
        return "".join(f"{message.role}: {message.content}\n" for message in messages) + "assistant:"

    def _generate_one(self, request: GenerationRequest) -> GenerationResult:
        import torch

        prompt = self.prompt_text(request.messages, request.reasoning_effort)
        encoded = self.tokenizer(prompt, return_tensors="pt", add_special_tokens=False).to(self.model.device)
        prompt_length = int(encoded["input_ids"].shape[1])
        max_new_tokens = request.max_tokens or DEFAULT_MAX_NEW_TOKENS
        sampling = request.temperature > 0
        # Greedy decoding has one answer: decode it once and repeat it n times, as servers do (transformers
        # refuses several return sequences without sampling).
        rows = request.n if sampling else 1
        options: dict[str, Any] = {
            "max_new_tokens": max_new_tokens,
            "num_return_sequences": rows,
            "do_sample": sampling,
            "return_dict_in_generate": True,
            "output_logits": True,
            "pad_token_id": self.tokenizer.pad_token_id
            if self.tokenizer.pad_token_id is not None
            else self.tokenizer.eos_token_id,
        }
        if sampling:
            options.update(temperature=request.temperature, top_p=request.top_p, top_k=0)
        if request.stop:
            options.update(stop_strings=list(request.stop), tokenizer=self.tokenizer)
        if request.grammar is not None:
            constraint = GrammarConstraint(self.tokenizer, request.grammar, rows=rows, prompt_length=prompt_length)
            options["logits_processor"] = [constraint]
        with self._lock, torch.inference_mode():
            if request.seed is not None:
                torch.manual_seed(request.seed)
            output = self.model.generate(**encoded, **options)
        generated = output.sequences[:, prompt_length:]
        token_logprobs = _sampled_token_logprobs(output.logits, generated)
        completions = [
            self._completion(generated[row], token_logprobs[row], request, prompt_length, max_new_tokens)
            for row in range(generated.shape[0])
        ]
        return GenerationResult(completions=completions * (request.n // rows), model=self.model_name)

    def _completion(
        self,
        tokens: torch.Tensor,
        logprobs: torch.Tensor,
        request: GenerationRequest,
        prompt_length: int,
        max_new_tokens: int,
    ) -> Completion:
        # Rows that finish early are padded to the longest row: a row ends at its first EOS (which is part
        # of the sample and scored) or its first padding token (which is not).
        eos_ids = self.model.generation_config.eos_token_id
        eos_set = set(eos_ids if isinstance(eos_ids, list) else [] if eos_ids is None else [eos_ids])
        ids = tokens.tolist()
        length, finished = len(ids), False
        for index, token in enumerate(ids):
            if token in eos_set or token == self.tokenizer.pad_token_id:
                length, finished = index + (token in eos_set), True
                break
        text = str(self.tokenizer.decode(ids[:length], skip_special_tokens=True))
        stop_positions = [text.find(stop) for stop in request.stop if stop in text]
        if stop_positions:
            text = text[: min(stop_positions)]  # servers exclude the stop string; match them
            finished = True
        answer, reasoning = split_reasoning(text)
        return Completion(
            text=answer,
            reasoning=reasoning,
            finish_reason="stop" if finished or length < max_new_tokens else "length",
            prompt_tokens=prompt_length,
            completion_tokens=length,
            logprob=float(logprobs[:length].sum()),
        )


def _sampled_token_logprobs(logits: Sequence[torch.Tensor], generated: torch.Tensor) -> torch.Tensor:
    """`[rows, steps]` log-probabilities of the generated tokens under the raw (unwarped) logits."""
    import torch

    stacked = torch.stack(list(logits), dim=1).float()  # [rows, steps, vocab]
    log_probs = torch.log_softmax(stacked, dim=-1)
    return log_probs.gather(-1, generated[:, : stacked.shape[1]].unsqueeze(-1)).squeeze(-1)


class GrammarConstraint:
    """A `generate` logits processor that masks every row to the tokens its grammar matcher allows.

    One llguidance matcher per returned sequence; each step feeds the row's previous token to its matcher, then
    applies the matcher's allowed-token bitmask. Needs a tokenizer llguidance can map to bytes (byte-level BPE
    or SentencePiece, i.e. real LLM tokenizers).
    """

    def __init__(self, tokenizer: PreTrainedTokenizerBase, grammar: str, *, rows: int, prompt_length: int) -> None:
        try:
            import llguidance
            import llguidance.hf
            import llguidance.torch
        except ImportError as error:
            raise BackendUnavailableError(
                "transformers (grammar-constrained)", "pip install llguidance", str(error)
            ) from error
        self._fill_bitmask = llguidance.torch.fill_next_token_bitmask
        ll_tokenizer = llguidance.hf.from_tokenizer(cast(Any, tokenizer))
        try:
            compiled = llguidance.grammar_from("grammar", grammar)
        except ValueError as error:  # GBNF that does not even convert
            raise LLMRequestError(None, f"the grammar does not compile: {error}") from error
        problem = llguidance.LLMatcher.validate_grammar(compiled, ll_tokenizer)
        if problem:
            raise LLMRequestError(None, f"the grammar does not compile: {problem}")
        self.matchers = [llguidance.LLMatcher(ll_tokenizer, compiled, log_level=0) for _ in range(rows)]
        self.prompt_length = prompt_length
        self._bitmask = llguidance.torch.allocate_token_bitmask(rows, ll_tokenizer.vocab_size)

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        import torch

        for row, matcher in enumerate(self.matchers):
            if input_ids.shape[1] > self.prompt_length and not matcher.is_stopped():
                matcher.consume_token(int(input_ids[row, -1]))
            self._fill_bitmask(matcher, self._bitmask, row)
        # Unpack 32 allowed-token bits per int32 word. (llguidance's own helper goes through torch.compile,
        # which needs a C compiler on CPU.) Ids beyond the tokenizer's vocabulary (model padding) stay masked.
        bits = (self._bitmask.unsqueeze(-1) >> torch.arange(32, dtype=torch.int32)) & 1
        allowed = bits.flatten(1).bool().to(scores.device)
        width = min(allowed.shape[1], scores.shape[-1])
        scores[:, :width] = scores[:, :width].masked_fill(~allowed[:, :width], float("-inf"))
        scores[:, width:] = float("-inf")
        return scores
