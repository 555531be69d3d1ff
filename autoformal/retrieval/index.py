"""`DeclarationIndex`: declarations + their embeddings + a FAISS index (+ BM25), saved as one directory.

Directory layout (all written to a temporary sibling directory, then renamed into place)::

    manifest.json        model, dimension, corpus hash, count, index type, build time, file checksums
    declarations.jsonl   the indexed declarations, in index order
    vectors.npy          float32 (count, dimension), unit rows; kept for incremental rebuilds
    faiss.index          the ANN structure (absent for "flat", which is rebuilt from vectors.npy at load)
    bm25/                the bm25s lexical index over the same declarations
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, Field, ValidationError

from autoformal.corpus.jsonl import declaration_from_record, iter_json_records, write_declarations_jsonl
from autoformal.corpus.models import Declaration
from autoformal.errors import (
    CorpusError,
    IndexCorruptError,
    IndexMismatchError,
    IndexNotFoundError,
    IndexStateError,
)
from autoformal.names.table import INDEX_NAMES_FILE, NameTable
from autoformal.retrieval.text import BM25_TOKENIZER_VERSION, declaration_text

if TYPE_CHECKING:
    from autoformal.retrieval.bm25 import BM25Index
    from autoformal.retrieval.embedder import Embedder

logger = logging.getLogger(__name__)

IndexType = Literal["flat", "hnsw", "ivf"]
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DECLARATIONS = "declarations.jsonl"
VECTORS = "vectors.npy"
FAISS_INDEX = "faiss.index"
BM25_DIR = "bm25"
#: Above this many declarations "auto" picks HNSW: exact search over all of Mathlib (254k x 384 floats)
#: costs tens of milliseconds per query on 2 cores, HNSW about one.
AUTO_FLAT_LIMIT = 50_000
HNSW_NEIGHBOURS = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 128
IVF_NPROBE = 16


class IndexManifest(BaseModel):
    """What an index directory holds and how it was built; checked on every load."""

    format_version: int = FORMAT_VERSION
    model: str
    dimension: int
    variant: str = Field(description='Encoder backend and precision, e.g. "onnx-fp32".')
    max_seq_length: int | None
    corpus_hash: str = Field(description="sha256 over the content hashes of the declarations, in order.")
    count: int
    index_type: IndexType
    bm25_tokenizer: int = Field(default=0, description="`BM25_TOKENIZER_VERSION` the bm25/ index was built with.")
    built_at: str
    build_seconds: float
    embedded: int = Field(description="Declarations embedded by the build that wrote this index.")
    reused: int = Field(description="Declarations whose vectors were reused from the previous index.")
    files: dict[str, str] = Field(description="sha256 of each file, relative to the index directory.")


class BuildStats(BaseModel):
    embedded: int
    reused: int
    seconds: float


def corpus_hash(declarations: Sequence[Declaration]) -> str:
    digest = hashlib.sha256()
    for declaration in declarations:
        digest.update(declaration.content_hash.encode("ascii"))
        digest.update(b"\n")
    return digest.hexdigest()


def choose_index_type(count: int, requested: IndexType | Literal["auto"]) -> IndexType:
    if requested != "auto":
        return requested
    return "flat" if count <= AUTO_FLAT_LIMIT else "hnsw"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def build_faiss_index(vectors: np.ndarray, index_type: IndexType) -> Any:
    import faiss

    dimension = vectors.shape[1]
    index: Any
    if index_type == "flat":
        index = faiss.IndexFlatIP(dimension)
    elif index_type == "hnsw":
        index = faiss.IndexHNSWFlat(dimension, HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
    else:
        # nlist ~ 4 sqrt(n) is FAISS's rule of thumb; at least 39 training points per centroid.
        nlist = max(1, min(int(4 * np.sqrt(len(vectors))), len(vectors) // 39))
        quantizer = faiss.IndexFlatIP(dimension)
        index = faiss.IndexIVFFlat(quantizer, dimension, nlist, faiss.METRIC_INNER_PRODUCT)
        index.train(vectors)
        index.nprobe = min(IVF_NPROBE, nlist)
    if len(vectors):
        index.add(vectors)
    return index


def _configure_loaded(index: Any, index_type: IndexType) -> None:
    if index_type == "hnsw":
        index.hnsw.efSearch = HNSW_EF_SEARCH
    elif index_type == "ivf":
        index.nprobe = min(IVF_NPROBE, index.nlist)


class DeclarationIndex:
    """Dense (FAISS) and lexical (BM25) search structures over one list of declarations."""

    def __init__(
        self,
        declarations: list[Declaration],
        vectors: np.ndarray,
        manifest: IndexManifest,
        faiss_index: Any,
        bm25: BM25Index | None = None,
    ) -> None:
        self.declarations = declarations
        self.vectors = vectors
        self.manifest = manifest
        self._faiss = faiss_index
        self._bm25 = bm25

    def __len__(self) -> int:
        return len(self.declarations)

    def __repr__(self) -> str:
        m = self.manifest
        return f"DeclarationIndex(count={m.count}, model={m.model!r}, index_type={m.index_type!r})"

    # -- building -------------------------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        declarations: Sequence[Declaration],
        embedder: Embedder,
        *,
        index_type: IndexType | Literal["auto"] = "auto",
        previous: DeclarationIndex | None = None,
        progress: bool = False,
    ) -> DeclarationIndex:
        """Embed ``declarations`` and build the FAISS and BM25 indexes.

        With ``previous`` (an index built with the same model and sequence length), only declarations whose
        content hash is not in ``previous`` are embedded; the others reuse their stored vectors.
        """
        declarations = list(declarations)
        if not declarations:
            raise CorpusError("cannot build an index from an empty corpus; check the --corpus path")
        names = [declaration.name for declaration in declarations]
        duplicates = sorted(name for name, count in Counter(names).items() if count > 1)
        if duplicates:
            raise CorpusError(
                f"duplicate declaration names {duplicates[:5]}: an index needs unique names; load the corpus "
                "with on_duplicate='keep_first' or remove them"
            )
        started = time.perf_counter()
        reusable: dict[str, np.ndarray] = {}
        if previous is not None:
            if previous.compatible_with(embedder):
                for declaration, row in zip(previous.declarations, previous.vectors, strict=True):
                    reusable[declaration.content_hash] = row
            else:
                logger.warning(
                    "previous index was built with %s (%s, max_seq_length %s); re-embedding everything",
                    previous.manifest.model,
                    previous.manifest.variant,
                    previous.manifest.max_seq_length,
                )
        vectors = np.empty((len(declarations), embedder.dimension), dtype=np.float32)
        missing = [i for i, declaration in enumerate(declarations) if declaration.content_hash not in reusable]
        for i, declaration in enumerate(declarations):
            row = reusable.get(declaration.content_hash)
            if row is not None:
                vectors[i] = row
        if missing:
            texts = [declaration_text(declarations[i]) for i in missing]
            vectors[missing] = embedder.encode(texts, progress=progress)
        chosen = choose_index_type(len(declarations), index_type)
        faiss_index = build_faiss_index(vectors, chosen)
        from autoformal.retrieval.bm25 import BM25Index

        bm25 = BM25Index.build(declarations)
        elapsed = time.perf_counter() - started
        manifest = IndexManifest(
            model=embedder.model_name,
            dimension=embedder.dimension,
            variant=embedder.variant,
            max_seq_length=embedder.max_seq_length,
            corpus_hash=corpus_hash(declarations),
            count=len(declarations),
            index_type=chosen,
            bm25_tokenizer=BM25_TOKENIZER_VERSION,
            built_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            build_seconds=round(elapsed, 3),
            embedded=len(missing),
            reused=len(declarations) - len(missing),
            files={},
        )
        return cls(declarations, vectors, manifest, faiss_index, bm25)

    @property
    def build_stats(self) -> BuildStats:
        m = self.manifest
        return BuildStats(embedded=m.embedded, reused=m.reused, seconds=m.build_seconds)

    def compatible_with(self, embedder: Embedder) -> bool:
        return (
            self.manifest.model == embedder.model_name
            and self.manifest.dimension == embedder.dimension
            and self.manifest.variant == embedder.variant
            and self.manifest.max_seq_length == embedder.max_seq_length
        )

    def check_embedder(self, embedder: Embedder) -> None:
        """Raise `IndexMismatchError` unless ``embedder``'s query vectors are comparable with this index."""
        m = self.manifest
        if m.model != embedder.model_name or m.dimension != embedder.dimension:
            raise IndexMismatchError(
                f"index was built with model {m.model!r} (dimension {m.dimension}) but the query embedder is "
                f"{embedder.model_name!r} (dimension {embedder.dimension}); search with --model {m.model} or "
                "rebuild the index with `autoformal index build --model ...`"
            )

    # -- search ---------------------------------------------------------------------------------------

    @property
    def bm25(self) -> BM25Index:
        if self._bm25 is None:
            from autoformal.retrieval.bm25 import BM25Index

            self._bm25 = BM25Index.build(self.declarations)
        return self._bm25

    def search_vectors(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """FAISS search: ``(scores, ids)``, both ``(len(queries), min(k, len(self)))``; ids are rows."""
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        if queries.shape[1] != self.manifest.dimension:
            raise IndexMismatchError(
                f"query vectors have dimension {queries.shape[1]}, the index {self.manifest.dimension}"
            )
        scores, ids = self._faiss.search(queries, min(k, len(self)))
        return scores, ids

    # -- persistence ----------------------------------------------------------------------------------

    def save(self, directory: str | Path) -> Path:
        """Write the index to ``directory`` atomically: a temp sibling directory renamed into place."""
        target = Path(directory).resolve()
        if target.exists() and not (target / MANIFEST).is_file() and any(target.iterdir()):
            raise IndexStateError(
                f"{target} exists and is not an autoformal index; choose an empty or new --out directory"
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = target.parent / f".{target.name}.tmp-{uuid.uuid4().hex[:8]}"
        staging.mkdir()
        try:
            write_declarations_jsonl(self.declarations, staging / DECLARATIONS)
            # The static name check (autoformal.names) reads this instead of re-deriving it from 250k records.
            NameTable.from_declarations(self.declarations, source=str(target)).save(staging / INDEX_NAMES_FILE)
            np.save(staging / VECTORS, np.ascontiguousarray(self.vectors, dtype=np.float32))
            if self.manifest.index_type != "flat":
                import faiss

                faiss.write_index(self._faiss, str(staging / FAISS_INDEX))
            self.bm25.save(staging / BM25_DIR)
            files = {
                str(path.relative_to(staging)): _sha256(path) for path in sorted(staging.rglob("*")) if path.is_file()
            }
            self.manifest = self.manifest.model_copy(update={"files": files})
            (staging / MANIFEST).write_text(self.manifest.model_dump_json(indent=2) + "\n", encoding="utf-8")
            if target.exists():
                retired = target.parent / f".{target.name}.old-{uuid.uuid4().hex[:8]}"
                target.rename(retired)
                staging.rename(target)
                shutil.rmtree(retired, ignore_errors=True)
            else:
                staging.rename(target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return target

    @staticmethod
    def read_manifest(directory: str | Path) -> IndexManifest:
        root = Path(directory)
        path = root / MANIFEST
        if not path.is_file():
            if not root.exists():
                raise IndexNotFoundError(
                    f"no index at {root}; build one with `autoformal index build --corpus PATH --out {root}`"
                )
            raise IndexCorruptError(
                f"{root} has no {MANIFEST}, so it is not a (complete) autoformal index; rebuild it with "
                f"`autoformal index build --corpus PATH --out {root}`"
            )
        try:
            manifest = IndexManifest.model_validate_json(path.read_text(encoding="utf-8"))
        except (ValidationError, UnicodeDecodeError) as exc:
            raise IndexCorruptError(f"{path} is unreadable ({exc}); rebuild the index") from None
        if manifest.format_version != FORMAT_VERSION:
            raise IndexMismatchError(
                f"{root} has index format {manifest.format_version}, this autoformal reads "
                f"{FORMAT_VERSION}; rebuild it with `autoformal index build`"
            )
        return manifest

    @classmethod
    def load(cls, directory: str | Path, *, embedder: Embedder | None = None, verify: bool = True) -> DeclarationIndex:
        """Load and check an index directory (checksums with ``verify``; model against ``embedder``)."""
        root = Path(directory)
        manifest = cls.read_manifest(root)
        rebuild = f"rebuild it with `autoformal index build --corpus PATH --out {root}`"
        for name, digest in manifest.files.items():
            path = root / name
            if not path.is_file():
                raise IndexCorruptError(f"{root} is missing {name}; {rebuild}")
            if verify and _sha256(path) != digest:
                raise IndexCorruptError(f"{path} does not match its checksum (truncated or edited); {rebuild}")
        try:
            declarations = [
                declaration_from_record(record, where=f"{root / DECLARATIONS}:{line}")
                for line, record in iter_json_records(root / DECLARATIONS)
            ]
            vectors = np.load(root / VECTORS, mmap_mode="r")
        except (CorpusError, ValueError, OSError) as exc:
            raise IndexCorruptError(f"{root}: cannot read the index files ({exc}); {rebuild}") from None
        if (
            None in declarations
            or len(declarations) != manifest.count
            or vectors.shape
            != (
                manifest.count,
                manifest.dimension,
            )
        ):
            raise IndexCorruptError(
                f"{root}: manifest says {manifest.count} x {manifest.dimension}, files hold "
                f"{len(declarations)} declarations and vectors {vectors.shape}; {rebuild}"
            )
        import faiss

        if manifest.index_type == "flat":
            faiss_index = build_faiss_index(np.ascontiguousarray(vectors), "flat")
        else:
            try:
                faiss_index = faiss.read_index(str(root / FAISS_INDEX))
            except RuntimeError as exc:
                raise IndexCorruptError(f"{root / FAISS_INDEX} is unreadable ({exc}); {rebuild}") from None
            if faiss_index.ntotal != manifest.count or faiss_index.d != manifest.dimension:
                raise IndexCorruptError(f"{root / FAISS_INDEX} does not match the manifest; {rebuild}")
            _configure_loaded(faiss_index, manifest.index_type)
        bm25 = None
        if manifest.bm25_tokenizer != BM25_TOKENIZER_VERSION:
            # Query tokens would not match the stored ones; BM25 is cheap to rebuild (lazily, on first use).
            logger.warning("%s: BM25 index uses older tokens; rebuilding it in memory", root)
        elif (root / BM25_DIR).is_dir():
            from autoformal.retrieval.bm25 import BM25Index

            bm25 = BM25Index.load(root / BM25_DIR, count=manifest.count)
        index = cls([d for d in declarations if d is not None], vectors, manifest, faiss_index, bm25)
        if embedder is not None:
            index.check_embedder(embedder)
        return index

    def info(self) -> dict[str, Any]:
        return json.loads(self.manifest.model_dump_json(exclude={"files"}))
