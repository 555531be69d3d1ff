"""ONNX Runtime backend for sentence-transformers models of the plain shape Transformer → Pooling.

sentence-transformers' own ONNX backend needs ``optimum-onnx``, which pins ``transformers<4.58``; this
project uses transformers 5, so we export the transformer ourselves (``torch.onnx.export``, once, cached)
and reproduce the pooling in numpy. On 2 CPU cores ONNX Runtime runs MiniLM about 1.7x faster than torch
at the same sequence length, and its int8 dynamic quantization about 1.4x faster again.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import uuid
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from autoformal.errors import ConfigurationError

_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
_SUPPORTED_POOLING = {"pooling_mode_mean_tokens": "mean", "pooling_mode_cls_token": "cls"}


def _pooling_mode(model_dir: Path) -> str:
    modules_file = model_dir / "modules.json"
    if not modules_file.is_file():
        raise ConfigurationError(
            f"{model_dir} has no modules.json, so it is not a sentence-transformers model directory; "
            "use backend='torch' or point --model at a sentence-transformers model"
        )
    modules = json.loads(modules_file.read_text(encoding="utf-8"))
    kinds = [module["type"].rsplit(".", 1)[-1] for module in modules]
    if kinds[:2] != ["Transformer", "Pooling"] or any(kind != "Normalize" for kind in kinds[2:]):
        raise ConfigurationError(
            f"the ONNX backend supports Transformer → Pooling (→ Normalize) models, {model_dir} has "
            f"{kinds}; use backend='torch'"
        )
    pooling_dir = model_dir / modules[1]["path"]
    pooling = json.loads((pooling_dir / "config.json").read_text(encoding="utf-8"))
    if isinstance(pooling.get("pooling_mode"), str):  # sentence-transformers >= 6 writes one string
        others = [pooling["pooling_mode"]]
        modes = [mode for mode in others if mode in _SUPPORTED_POOLING.values()]
    else:  # older releases: one boolean flag per mode
        modes = [mode for key, mode in _SUPPORTED_POOLING.items() if pooling.get(key)]
        others = [key for key, value in pooling.items() if key.startswith("pooling_mode") and value]
    if len(modes) != 1 or len(others) != 1:
        raise ConfigurationError(
            f"the ONNX backend supports mean or CLS pooling, {pooling_dir} asks for {others}; use backend='torch'"
        )
    return modes[0]


def model_fingerprint(model_dir: Path) -> str:
    """Identifies a model directory (path, file names, sizes, times): the key of its cached derivatives."""
    digest = hashlib.sha256(str(model_dir.resolve()).encode())
    for path in sorted(model_dir.rglob("*")):
        if path.is_file():
            stat = path.stat()
            digest.update(f"{path.name}:{stat.st_size}:{int(stat.st_mtime)}".encode())
    return digest.hexdigest()[:16]


def _export(model_dir: Path, target: Path, quantize: bool) -> None:
    """Export the transformer to ONNX (dynamic batch and sequence axes), optionally int8-quantized."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    model = AutoModel.from_pretrained(str(model_dir)).eval()

    class LastHiddenState(torch.nn.Module):
        # Keyword arguments: transformers 5 reordered forward()'s positional parameters.
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    sample = tokenizer(["export sample", "a longer export sample text"], padding=True, return_tensors="pt")
    if "token_type_ids" not in sample:
        sample["token_type_ids"] = torch.zeros_like(sample["input_ids"])
    staging = target.parent / f".{target.name}.tmp-{uuid.uuid4().hex[:8]}"
    staging.mkdir(parents=True)
    try:
        fp32 = staging / "model.onnx"
        axes = {name: {0: "batch", 1: "sequence"} for name in (*_INPUTS, "last_hidden_state")}
        # The tracer warns about Python-level branches in transformers' masking code; they are constant for
        # an encoder-only model, and the warnings would only alarm users on first use.
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                LastHiddenState(model),
                tuple(sample[name] for name in _INPUTS),
                str(fp32),
                input_names=list(_INPUTS),
                output_names=["last_hidden_state"],
                dynamic_axes=axes,
                opset_version=17,
                dynamo=False,
            )
        if quantize:
            from onnxruntime.quantization import QuantType, quantize_dynamic

            quantize_dynamic(str(fp32), str(staging / "model.int8.onnx"), weight_type=QuantType.QInt8)
            fp32.unlink()
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():  # another process exported concurrently; keep theirs
            shutil.rmtree(staging)
        else:
            staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


class OnnxSentenceEncoder:
    """Tokenize → ONNX transformer → pooling, matching the sentence-transformers pipeline."""

    def __init__(self, model_dir: Path, *, max_seq_length: int | None, quantize: bool, cache_dir: Path) -> None:
        import onnxruntime as ort

        from autoformal.retrieval.tokenizer import load_tokenizer

        self.pooling = _pooling_mode(model_dir)
        config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
        self.dimension = int(config["hidden_size"])
        st_config_file = model_dir / "sentence_bert_config.json"
        st_config = json.loads(st_config_file.read_text(encoding="utf-8")) if st_config_file.is_file() else {}
        model_limit = int(st_config.get("max_seq_length") or config.get("max_position_embeddings", 512))
        self.max_seq_length = min(max_seq_length or model_limit, model_limit)
        self.tokenizer = load_tokenizer(model_dir)
        fingerprint = model_fingerprint(model_dir)
        export_dir = cache_dir / "onnx" / f"{fingerprint}{'-int8' if quantize else ''}"
        if not export_dir.is_dir():
            _export(model_dir, export_dir, quantize)
        onnx_file = export_dir / ("model.int8.onnx" if quantize else "model.onnx")
        options = ort.SessionOptions()
        options.log_severity_level = 3
        # ONNX Runtime's worker threads otherwise spin on a core for a while after every run, waiting for the
        # next: on 2 cores they take it from the Python thread (a one-shot `formalize` spent 0.15-0.2 s more
        # CPU), and bulk encoding was no faster for it (600 texts: 5.0-7.4 s vs 9.3-10.8 s at load 3;
        # benchmarks/retrieval_speed.py, fp32 and int8 alike). How work is split is unchanged: same vectors.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"])
        import tokenizers

        export = onnx_file.stat()
        #: Everything besides the texts that the vectors depend on: the model files, this export of them (a
        #: re-export may differ in the last bits), the runtimes' versions, pooling and token limit.
        self.identity = (
            f"onnx {ort.__version__}; model {fingerprint}; export {export.st_size}:{export.st_mtime_ns}; "
            f"{'int8' if quantize else 'fp32'}; {self.pooling} pooling; max_seq_length {self.max_seq_length}; "
            f"{type(self.tokenizer).__name__} on tokenizers {tokenizers.__version__}"
        )

    def encode_batch(self, texts: Sequence[str]) -> np.ndarray:
        """Pooled (not yet normalised) embeddings of one batch, float32."""
        encoded = self.tokenizer(
            list(texts), padding=True, truncation=True, max_length=self.max_seq_length, return_tensors="np"
        )
        mask = encoded["attention_mask"].astype(np.int64)
        feeds = {
            "input_ids": encoded["input_ids"].astype(np.int64),
            "attention_mask": mask,
            "token_type_ids": encoded.get("token_type_ids", np.zeros_like(mask)).astype(np.int64),
        }
        hidden = self.session.run(None, feeds)[0]
        if self.pooling == "cls":
            return hidden[:, 0].astype(np.float32)
        weights = mask[..., None].astype(np.float32)
        return ((hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)).astype(np.float32)
