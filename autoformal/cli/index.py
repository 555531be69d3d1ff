"""`autoformal index build|search|info|export-lean`: the Mathlib retrieval index from the command line."""

from __future__ import annotations

import json
import time
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from autoformal.cli.app import app, ensure_writable, sub_app
from autoformal.cli.output import shown
from autoformal.retrieval.defaults import DEFAULT_INDEX_DIR, DEFAULT_MODEL

if TYPE_CHECKING:
    from rich.console import Console

    from autoformal.corpus import Declaration
    from autoformal.retrieval import Hit

index_app = sub_app("Build, search and inspect the Mathlib declaration index.")
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
    examples = "examples"


class BackendOption(str, Enum):
    onnx = "onnx"
    torch = "torch"
    static = "static"


class DuplicateOption(str, Enum):
    keep_first = "keep-first"
    error = "error"


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
    backend: Annotated[
        BackendOption,
        typer.Option(
            "--backend",
            help="static: model2vec vectors distilled once from --model (default; ~100x faster to build, the "
            "best measured recall with example-guided fusion); onnx / torch: the transformer itself.",
        ),
    ] = BackendOption.static,
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
    theorems: Annotated[
        bool,
        typer.Option(
            "--theorems/--no-theorems",
            help="Also index theorems and lemmas (for proof search). Default: the statement index, i.e. the "
            "kinds statements use (def, abbrev, structure, class, inductive, instance, opaque, irreducible_def).",
        ),
    ] = False,
    incremental: Annotated[
        bool,
        typer.Option("--incremental/--full", help="Reuse vectors of unchanged declarations from --out."),
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print the build summary as JSON.")] = False,
) -> None:
    """Embed a declaration corpus and write a FAISS + BM25 index directory."""
    from autoformal.cli.output import stderr_console
    from autoformal.corpus import load_declarations, select_kinds
    from autoformal.retrieval import DeclarationIndex, Embedder, EmbedderConfig, IndexStateError

    err = stderr_console()
    ensure_writable(out, "--out", directory=True)
    started = time.perf_counter()
    with err.status(shown(f"reading {corpus}")):
        loaded = load_declarations(
            corpus,
            on_duplicate="error" if on_duplicate is DuplicateOption.error else "keep_first",
            additive_twins=additive_twins,
        )
    selected = select_kinds(loaded.declarations, include_theorems=theorems)
    err.print(
        shown(
            f"{len(loaded)} declarations ({loaded.additive_twins} additive twins synthesized, "
            f"{loaded.anonymous} anonymous and {len(loaded.duplicate_names)} duplicates skipped); indexing "
            f"{len(selected)} ({'all kinds' if theorems else 'statement kinds: theorems left out'})"
        )
    )
    config = EmbedderConfig(
        model=model,
        backend=backend.value,
        quantize=quantize,
        max_seq_length=max_seq_length,
        batch_size=batch_size,
    )
    with err.status(shown(f"loading {model}")):
        embedder = Embedder(config)
    previous = None
    if incremental and (out / "manifest.json").is_file():
        try:
            # Only the vectors are reused: a damaged faiss.index or BM25 file is rebuilt anyway.
            previous = DeclarationIndex.load(out, vectors_only=True)
        except IndexStateError as exc:
            err.print(shown(f"not reusing {out}: ", "yellow") + shown(str(exc)))
    index = DeclarationIndex.build(selected, embedder, index_type=index_type.value, previous=previous, progress=True)
    with err.status(shown(f"writing {out}")):
        from autoformal.names.table import NameTable

        # The names file covers the whole corpus, theorems too: the name check must know every constant.
        written = index.save(out, names=NameTable.from_declarations(loaded.declarations, source=str(out)))
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
    examples: Annotated[
        Path | None,
        typer.Option(
            "--examples",
            exists=True,
            dir_okay=False,
            help="Solved examples (benchmark-format JSONL) for example-guided retrieval; default: the shipped set.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per hit.")] = False,
) -> None:
    """Search an index: rank, name, signature, score."""
    from autoformal.cli.app import read_text_argument
    from autoformal.retrieval import RetrievalConfig, build_retriever

    query = read_text_argument(query, what="query")
    config = RetrievalConfig(index_dir=index_dir, model=model, retriever=retriever.value, k=k, examples=examples)
    hits = build_retriever(config).search(query, k)
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
    from autoformal.cli.output import stdout_console

    print_hits(hits, stdout_console())


@index_app.command("info")
def info(
    index_dir: Annotated[Path, typer.Argument(help="Index directory.")] = DEFAULT_INDEX_DIR,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show an index's manifest (model, dimension, count, index type, build time, corpus hash) after
    checking every file against its checksum, as loading for search does (exit code 2 when one fails)."""
    from autoformal.retrieval import DeclarationIndex

    manifest = DeclarationIndex.verify(index_dir)
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

    written = export_declarations(project, out, modules=modules or ["Mathlib"])
    typer.echo(str(written))


def _print_mapping(fields: dict[str, object], *, title: str) -> None:
    from rich.table import Table

    from autoformal.cli.output import stdout_console

    table = Table(title=shown(title), show_header=False)
    for key, value in fields.items():
        table.add_row(shown(key), shown(value))
    stdout_console().print(table)


def print_hits(hits: list[Hit[Declaration]], console: Console) -> None:
    from rich.table import Table

    table = Table()
    for column in ("rank", "name", "signature", "score"):
        table.add_column(column, overflow="fold")
    for hit in hits:
        table.add_row(str(hit.rank), shown(hit.item.name), shown(hit.item.signature), f"{hit.score:.4f}")
    console.print(table)
