"""Reading Python source with `ast` (never importing or running it): documented functions and methods, their
signatures, type hints and docstrings, with positions. A file that does not parse is reported, not fatal."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from autoformal.errors import ConfigurationError

FunctionKind = Literal["function", "method", "staticmethod", "classmethod", "property"]
ParamKind = Literal["positional", "keyword_only", "var_positional", "var_keyword"]
_SKIPPED_DIRS = frozenset({"__pycache__", "node_modules", "build", "dist", "site-packages"})


class PyParam(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    annotation: str | None = Field(description="The type hint as written (`ast.unparse`), None when absent.")
    kind: ParamKind = "positional"
    has_default: bool = False


class PyFunction(BaseModel):
    """A documented function or method. `module` is the dotted module path relative to the scanned root."""

    model_config = ConfigDict(frozen=True)

    file: Path
    module: str
    line: int
    name: str
    class_name: str | None = None
    kind: FunctionKind = "function"
    params: list[PyParam]
    returns: str | None
    docstring: str = Field(description="Cleaned docstring (`inspect.cleandoc`).")
    docstring_line: int = Field(description="File line of the docstring's first cleaned line.")
    is_async: bool = False
    is_generator: bool = False

    @property
    def qualname(self) -> str:
        return f"{self.class_name}.{self.name}" if self.class_name else self.name

    @property
    def signature(self) -> str:
        def param(p: PyParam) -> str:
            star = {"var_positional": "*", "var_keyword": "**"}.get(p.kind, "")
            return f"{star}{p.name}" + (f": {p.annotation}" if p.annotation else "")

        returns = f" -> {self.returns}" if self.returns else ""
        return f"{self.qualname}({', '.join(param(p) for p in self.params)}){returns}"


class PyField(BaseModel):
    """An instance attribute with a type: annotated in the class body (dataclass style) or in `__init__`
    (`self.x: T = ...`, or `self.x = x` for an annotated parameter `x`)."""

    model_config = ConfigDict(frozen=True)

    name: str
    annotation: str


class SourceError(BaseModel):
    """A file that could not be read or parsed."""

    model_config = ConfigDict(frozen=True)

    file: Path
    line: int | None
    message: str


class SourceScan(BaseModel):
    model_config = ConfigDict(frozen=True)

    files: list[Path]
    functions: list[PyFunction]
    classes: dict[str, list[str]] = Field(default_factory=dict, description="module → top-level class names")
    fields: dict[str, list[PyField]] = Field(default_factory=dict, description="`module.Class` → typed fields")
    errors: list[SourceError] = Field(default_factory=list)
    undocumented: int = Field(default=0, description="Functions/methods skipped for having no docstring.")


def python_files(path: str | Path) -> tuple[Path, list[Path]]:
    """(root, files): a file is its own root's only file; a directory yields every `*.py` under it, sorted,
    skipping hidden and build directories."""
    path = Path(path)
    if path.is_file():
        return path.parent, [path]
    if not path.is_dir():
        raise ConfigurationError(f"{path}: no such file or directory (pass a .py file or a package directory)")
    files = [
        f
        for f in sorted(path.rglob("*.py"))
        if not any(part.startswith(".") or part in _SKIPPED_DIRS for part in f.relative_to(path).parts[:-1])
    ]
    return path, files


def module_name(root: Path, file: Path) -> str:
    parts = list(file.relative_to(root).with_suffix("").parts)
    if parts and parts[-1] == "__init__":
        parts = parts[:-1] or [root.name]
    return ".".join(parts)


def scan_python(path: str | Path) -> SourceScan:
    """Every documented top-level function and method of a top-level class under `path`."""
    root, files = python_files(path)
    functions: list[PyFunction] = []
    classes: dict[str, list[str]] = {}
    fields: dict[str, list[PyField]] = {}
    errors: list[SourceError] = []
    undocumented = 0
    for file in files:
        try:
            tree = ast.parse(file.read_bytes(), filename=str(file))
        except SyntaxError as exc:
            errors.append(SourceError(file=file, line=exc.lineno, message=f"syntax error: {exc.msg}"))
            continue
        except (OSError, ValueError) as exc:  # unreadable, or NUL bytes / bad encoding declaration
            errors.append(SourceError(file=file, line=None, message=f"cannot read: {exc}"))
            continue
        module = module_name(root, file)
        class_nodes = [node for node in tree.body if isinstance(node, ast.ClassDef)]
        classes[module] = [node.name for node in class_nodes]
        for class_node in class_nodes:
            fields[".".join(filter(None, [module, class_node.name]))] = _fields(class_node)
        for definition, class_name in _definitions(tree):
            function = _function(definition, file, module, class_name)
            if function is None:
                undocumented += 1
            else:
                functions.append(function)
    return SourceScan(
        files=files, functions=functions, classes=classes, fields=fields, errors=errors, undocumented=undocumented
    )


def _fields(node: ast.ClassDef) -> list[PyField]:
    found: dict[str, str] = {}
    for item in node.body:
        if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
            annotation = ast.unparse(item.annotation)
            if not annotation.startswith(("ClassVar", "typing.ClassVar")):
                found.setdefault(item.target.id, annotation)
    init = next((i for i in node.body if isinstance(i, ast.FunctionDef) and i.name == "__init__"), None)
    if init is not None:
        params = {a.arg: ast.unparse(a.annotation) for a in init.args.args if a.annotation is not None}
        for stmt in ast.walk(init):
            if isinstance(stmt, ast.AnnAssign) and _is_self_attribute(stmt.target):
                found.setdefault(stmt.target.attr, ast.unparse(stmt.annotation))  # type: ignore[union-attr]
            elif isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Name) and stmt.value.id in params:
                for target in stmt.targets:
                    if _is_self_attribute(target):
                        found.setdefault(target.attr, params[stmt.value.id])  # type: ignore[attr-defined]
    return [PyField(name=name, annotation=annotation) for name, annotation in found.items()]


def _is_self_attribute(node: ast.expr) -> bool:
    return isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self"


def _definitions(tree: ast.Module) -> Iterator[tuple[ast.FunctionDef | ast.AsyncFunctionDef, str | None]]:
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node, None
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                    yield item, node.name


def _function(
    node: ast.FunctionDef | ast.AsyncFunctionDef, file: Path, module: str, class_name: str | None
) -> PyFunction | None:
    docstring = ast.get_docstring(node, clean=True)
    if not docstring:
        return None
    raw = node.body[0].value.value  # type: ignore[attr-defined]  # get_docstring checked it is a str constant
    leading_blank_lines = raw[: len(raw) - len(raw.lstrip())].count("\n")
    decorators = {_decorator_name(d) for d in node.decorator_list}
    kind: FunctionKind = "function"
    if class_name is not None:
        kind = (
            "staticmethod"
            if "staticmethod" in decorators
            else "classmethod"
            if "classmethod" in decorators
            else "property"
            if "property" in decorators
            else "method"
        )
    return PyFunction(
        file=file,
        module=module,
        line=node.lineno,
        name=node.name,
        class_name=class_name,
        kind=kind,
        params=_params(node.args),
        returns=ast.unparse(node.returns) if node.returns is not None else None,
        docstring=docstring,
        docstring_line=node.body[0].lineno + leading_blank_lines,
        is_async=isinstance(node, ast.AsyncFunctionDef),
        is_generator=any(isinstance(n, ast.Yield | ast.YieldFrom) for n in _own_nodes(node)),
    )


def _own_nodes(node: ast.AST) -> Iterator[ast.AST]:
    """Nodes of a function body, not descending into nested functions, classes or lambdas."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            continue
        yield child
        yield from _own_nodes(child)


def _decorator_name(node: ast.expr) -> str:
    target = node.func if isinstance(node, ast.Call) else node
    return ast.unparse(target).rsplit(".", 1)[-1]


def _params(args: ast.arguments) -> list[PyParam]:
    positional = [*args.posonlyargs, *args.args]
    first_default = len(positional) - len(args.defaults)
    params = [
        PyParam(name=a.arg, annotation=_annotation(a), has_default=i >= first_default) for i, a in enumerate(positional)
    ]
    if args.vararg is not None:
        params.append(PyParam(name=args.vararg.arg, annotation=_annotation(args.vararg), kind="var_positional"))
    params += [
        PyParam(name=a.arg, annotation=_annotation(a), kind="keyword_only", has_default=d is not None)
        for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True)
    ]
    if args.kwarg is not None:
        params.append(PyParam(name=args.kwarg.arg, annotation=_annotation(args.kwarg), kind="var_keyword"))
    return params


def _annotation(arg: ast.arg) -> str | None:
    return ast.unparse(arg.annotation) if arg.annotation is not None else None
