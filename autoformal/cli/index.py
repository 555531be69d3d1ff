"""`autoformal index build|search|info|export-lean`: the Mathlib retrieval index from the command line."""

from __future__ import annotations

import json
import time
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from autoformal.cli.app import app
from autoformal.retrieval.defaults import DEFAULT_INDEX_DIR, DEFAULT_MODEL

if TYPE_CHECKING:
    from autoformal.corpus import Declaration
    from autoformal.retrieval import Hit

index_app = typer.Typer(help="Build, search and inspect the Mathlib declaration index.", no_args_is_help=True)
app.add_typer(index_app, name="index")


class IndexTypeOption(str, Enum):
    auto = "auto"
    flat = "flat"
    hnsw = "hnsw"
    ivf = "ivf"


class RetrieverOption(str, Enum):
    hybrid = "hybrid"
    dense = "dense"
    bm25 = "bm25"


class BackendOption(str, Enum):
    onnx = "onnx"
    torch = "torch"


class DuplicateOption(str, Enum):
    keep_first = "keep-first"
    error = "error"


def _fail(exc: Exception) -> NoReturn:
    from rich.console import Console

    Console(stderr=True).print(f"[red]error:[/red] {exc}", markup=True, highlight=False)
    raise typer.Exit(2) from exc


@index_app.command("build")
def build(
    corpus: Annotated[
        Path,
        typer.Option("--corpus", exists=True, help="decls.jsonl(.gz), ExportDecls output, or a Lean source directory."),
    ],
    out: Annotated[
        Path, typer.Option("--out", help="Index directory to write (replaced atomically).")
    ] = DEFAULT_INDEX_DIR,
    model: Annotated[
        str, typer.Option("--model", help="sentence-transformers model name or directory.")
    ] = DEFAULT_MODEL,
    backend: Annotated[BackendOption, typer.Option("--backend", help="Encoder runtime.")] = BackendOption.onnx,
    quantize: Annotated[bool, typer.Option("--quantize", help="int8 encoder (onnx backend; faster).")] = False,
    max_seq_length: Annotated[int, typer.Option("--max-seq-length", min=8, help="Tokens per text.")] = 128,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1)] = 32,
    index_type: Annotated[
        IndexTypeOption, typer.Option("--index-type", help="auto: exact up to 50k declarations, else HNSW.")
    ] = IndexTypeOption.auto,
    on_duplicate: Annotated[
        DuplicateOption, typer.Option("--on-duplicate", help="What to do with repeated names.")
    ] = DuplicateOption.keep_first,
    additive_twins: Annotated[
        bool, typer.Option("--additive-twins/--no-additive-twins", help="Synthesize @[to_additive] twins.")
    ] = True,
    incremental: Annotated[
        bool,
        typer.Option("--incremental/--full", help="Reuse vectors of unchanged declarations from --out."),
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print the build summary as JSON.")] = False,
) -> None:
    """Embed a declaration corpus and write a FAISS + BM25 index directory."""
    from rich.console import Console

    from autoformal.corpus import load_declarations
    from autoformal.errors import AutoformalError
    from autoformal.retrieval import DeclarationIndex, Embedder, EmbedderConfig, IndexStateError

    err = Console(stderr=True)
    started = time.perf_counter()
    try:
        with err.status(f"reading {corpus}"):
            loaded = load_declarations(
                corpus,
                on_duplicate="error" if on_duplicate is DuplicateOption.error else "keep_first",
                additive_twins=additive_twins,
            )
        err.print(
            f"{len(loaded)} declarations ({loaded.additive_twins} additive twins synthesized, "
            f"{loaded.anonymous} anonymous and {len(loaded.duplicate_names)} duplicates skipped)"
        )
        config = EmbedderConfig(
            model=model,
            backend=backend.value,
            quantize=quantize,
            max_seq_length=max_seq_length,
            batch_size=batch_size,
        )
        with err.status(f"loading {model}"):
            embedder = Embedder(config)
        previous = None
        if incremental and (out / "manifest.json").is_file():
            try:
                previous = DeclarationIndex.load(out)
            except IndexStateError as exc:
                err.print(f"[yellow]not reusing {out}:[/yellow] {exc}", highlight=False)
        index = DeclarationIndex.build(
            loaded.declarations, embedder, index_type=index_type.value, previous=previous, progress=True
        )
        with err.status(f"writing {out}"):
            written = index.save(out)
    except AutoformalError as exc:
        _fail(exc)
    summary = {
        "out": str(written),
        "count": len(index),
        "embedded": index.manifest.embedded,
        "reused": index.manifest.reused,
        "additive_twins": loaded.additive_twins,
        "index_type": index.manifest.index_type,
        "build_seconds": index.manifest.build_seconds,
        "total_seconds": round(time.perf_counter() - started, 3),
    }
    if as_json:
        typer.echo(json.dumps(summary))
    else:
        _print_mapping(summary, title="index built")


@index_app.command("search")
def search(
    query: Annotated[str, typer.Argument(help="Informal statement or keywords.")],
    index_dir: Annotated[Path, typer.Option("--index", help="Index directory.")] = DEFAULT_INDEX_DIR,
    k: Annotated[int, typer.Option("-k", "--k", min=1, help="Hits to return.")] = 10,
    retriever: Annotated[RetrieverOption, typer.Option("--retriever")] = RetrieverOption.hybrid,
    model: Annotated[str | None, typer.Option("--model", help="Query encoder (default: the index's model).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per hit.")] = False,
) -> None:
    """Search an index: rank, name, signature, score."""
    from autoformal.errors import AutoformalError
    from autoformal.retrieval import RetrievalConfig, build_retriever

    try:
        config = RetrievalConfig(index_dir=index_dir, model=model, retriever=retriever.value, k=k)
        hits = build_retriever(config).search(query, k)
    except AutoformalError as exc:
        _fail(exc)
    if as_json:
        for hit in hits:
            typer.echo(
                json.dumps(
                    {
                        "rank": hit.rank,
                        "name": hit.item.name,
                        "kind": hit.item.kind,
                        "signature": hit.item.signature,
                        "score": hit.score,
                        "source": hit.source,
                        "module": hit.item.module,
                    },
                    ensure_ascii=False,
                )
            )
        return
    _print_hits(hits)


@index_app.command("info")
def info(
    index_dir: Annotated[Path, typer.Argument(help="Index directory.")] = DEFAULT_INDEX_DIR,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show an index's manifest (model, dimension, count, index type, build time, corpus hash)."""
    from autoformal.errors import AutoformalError
    from autoformal.retrieval import DeclarationIndex

    try:
        manifest = DeclarationIndex.read_manifest(index_dir)
    except AutoformalError as exc:
        _fail(exc)
    fields = json.loads(manifest.model_dump_json(exclude={"files"}))
    fields["files"] = len(manifest.files)
    if as_json:
        typer.echo(json.dumps(fields))
    else:
        _print_mapping(fields, title=str(index_dir))


@index_app.command("export-lean")
def export_lean(
    project: Annotated[Path, typer.Argument(exists=True, file_okay=False, help="Lake project with Mathlib.")],
    out: Annotated[Path, typer.Option("--out", help="JSONL file to write.")] = Path("decls.jsonl"),
    modules: Annotated[list[str] | None, typer.Option("--module", help="Modules to import.")] = None,
) -> None:
    """Export the declarations of a Lean environment with the shipped ExportDecls.lean (needs Lean)."""
    from autoformal.corpus.lean_export import export_declarations
    from autoformal.errors import AutoformalError

    try:
        written = export_declarations(project, out, modules=modules or ["Mathlib"])
    except AutoformalError as exc:
        _fail(exc)
    typer.echo(str(written))


def _print_mapping(fields: dict[str, object], *, title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_header=False)
    for key, value in fields.items():
        table.add_row(key, str(value))
    Console().print(table)


def _print_hits(hits: list[Hit[Declaration]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table()
    for column in ("rank", "name", "signature", "score"):
        table.add_column(column)
    for hit in hits:
        signature = hit.item.signature if len(hit.item.signature) <= 100 else hit.item.signature[:99] + "…"
        table.add_row(str(hit.rank), hit.item.name, signature, f"{hit.score:.4f}")
    Console().print(table)
