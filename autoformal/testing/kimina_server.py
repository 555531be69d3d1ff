"""The REAL Kimina Lean Server (PyPI `kimina-ast-server`, project-numina/kimina-lean-server), set up offline
in its own venv and run against a local Lean project, for tests and benchmarks of `KiminaChecker`.

    python -m autoformal.testing.kimina_server --build         # build the venv once (cached)
    python -m autoformal.testing.kimina_server --port 8000     # serve AUTOFORMAL_LEAN_PROJECT until Ctrl-C

What the set-up needs, and why:
- Python >= 3.12: the client package's models use `typing.TypedDict` in a way pydantic rejects before 3.12;
- `fastapi==0.115.13`: newer FastAPI rejects the server's `FastAPI(logger=...)`;
- a generated Prisma client (the server imports it even with no database). `prisma generate` wants engine
  binaries it would download; dummy `query-engine`/`schema-engine` scripts that print a version, named by
  PRISMA_QUERY_ENGINE_BINARY / PRISMA_SCHEMA_ENGINE_BINARY, with the venv's bin/ on PATH, let it generate.
  (`prisma generate` still fetches the Prisma CLI through npm on its first run, into ~/.cache/prisma-python.)

The venv lives in `~/.cache/autoformal-kimina-server/<version>` (AUTOFORMAL_KIMINA_SERVER_CACHE overrides);
building it takes about 1.5 min here (measured 94 s for the pip install, 9 s for the generate, machine loaded).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

SERVER_VERSION = "2.1.3"
REQUIREMENTS = (f"kimina-ast-server=={SERVER_VERSION}", "fastapi==0.115.13")
ENV_PYTHON = "AUTOFORMAL_KIMINA_PYTHON"
ENV_CACHE = "AUTOFORMAL_KIMINA_SERVER_CACHE"
_DUMMY_ENGINE = '#!/bin/sh\necho "{name} 0.0.0-autoformal-dummy"\n'


class KiminaServerSetupError(RuntimeError):
    """The real server cannot be set up here; the message says what is missing."""


def find_python312() -> Path | None:
    """A Python >= 3.12: $AUTOFORMAL_KIMINA_PYTHON, else python3.12/3.13 on PATH, else a pyenv version."""
    candidates: list[str] = []
    if os.environ.get(ENV_PYTHON):
        candidates.append(os.environ[ENV_PYTHON])
    candidates += [p for name in ("python3.12", "python3.13") if (p := shutil.which(name))]
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates += [str(p) for p in sorted(pyenv_root.glob("3.1[2-9]*/bin/python3"))]
    for candidate in candidates:
        try:  # a pyenv shim exists on PATH even when the version is not selected: run it to know
            out = subprocess.run(
                [candidate, "-c", "import sys; print(sys.version_info >= (3, 12))"],
                capture_output=True,
                text=True,
                timeout=30,
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if out.returncode == 0 and out.stdout.strip() == "True":
            return Path(candidate)
    return None


def cache_dir() -> Path:
    base = Path(os.environ.get(ENV_CACHE, Path.home() / ".cache" / "autoformal-kimina-server"))
    return base / SERVER_VERSION


def _venv_env(venv: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["PRISMA_QUERY_ENGINE_BINARY"] = str(venv / "engines" / "query-engine")
    env["PRISMA_SCHEMA_ENGINE_BINARY"] = str(venv / "engines" / "schema-engine")
    env["PRISMA_PY_GENERATE_SKIP_WARNING"] = "1"
    return env


def ensure_venv() -> Path:
    """The server's venv, built on first use (idempotent; a file lock serialises concurrent builders)."""
    venv = cache_dir() / "venv"
    stamp = venv / ".autoformal-ready"
    if stamp.exists():
        return venv
    python = find_python312()
    if python is None:
        raise KiminaServerSetupError(
            f"the Kimina Lean Server needs Python >= 3.12 and none was found (set {ENV_PYTHON} to one)"
        )
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if stamp.exists():
            return venv
        shutil.rmtree(venv, ignore_errors=True)
        steps = [[str(python), "-m", "venv", str(venv)], [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]]
        steps[1] += REQUIREMENTS
        _run(steps[0], os.environ.copy())
        _run(steps[1], os.environ.copy())
        engines = venv / "engines"
        engines.mkdir(exist_ok=True)
        for name in ("query-engine", "schema-engine"):
            (engines / name).write_text(_DUMMY_ENGINE.format(name=name))
            (engines / name).chmod(0o755)
        schema = next((venv / "lib").glob("python3.*/site-packages/server/prisma/schema.prisma"), None)
        if schema is None:
            raise KiminaServerSetupError(f"kimina-ast-server {SERVER_VERSION} installed without its Prisma schema")
        _run([str(venv / "bin" / "python"), "-m", "prisma", "generate", "--schema", str(schema)], _venv_env(venv))
        stamp.touch()
    return venv


def _run(cmd: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=cache_dir())
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip()[-800:]
        raise KiminaServerSetupError(f"`{' '.join(cmd[:4])} ...` failed (exit {done.returncode}): {tail}")


def lean_project() -> tuple[Path, Path]:
    """(project dir, its REPL binary) from AUTOFORMAL_LEAN_PROJECT, with `lake` on PATH."""
    project = os.environ.get("AUTOFORMAL_LEAN_PROJECT")
    if not project:
        raise KiminaServerSetupError("no Lean project: set AUTOFORMAL_LEAN_PROJECT (the core Lean sets it)")
    repl = Path(project) / ".lake" / "build" / "bin" / "repl"
    if not repl.exists():
        raise KiminaServerSetupError(f"{project} has no built REPL at .lake/build/bin/repl")
    if shutil.which("lake") is None:
        raise KiminaServerSetupError("`lake` is not on PATH (the server runs `lake env <repl>`)")
    return Path(project), repl


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def running_server(*, max_repls: int = 2, port: int | None = None, log_path: Path | None = None) -> Iterator[str]:
    """Start the real server on loopback against AUTOFORMAL_LEAN_PROJECT; yields its URL; stops it (and the
    REPLs it started, which run in their own sessions) on exit."""
    venv = ensure_venv()
    project, repl = lean_project()
    port = port or _free_port()
    env = _venv_env(venv) | {
        "LEAN_SERVER_HOST": "127.0.0.1",
        "LEAN_SERVER_PORT": str(port),
        "LEAN_SERVER_REPL_PATH": str(repl),
        "LEAN_SERVER_PROJECT_DIR": str(project),
        # Only /api/ast uses these; the server insists they exist.
        "LEAN_SERVER_AST_EXPORT_BIN": str(repl),
        "LEAN_SERVER_AST_EXPORT_PROJECT_DIR": str(project),
        "LEAN_SERVER_MAX_REPLS": str(max_repls),
        "LEAN_SERVER_ENVIRONMENT": "dev",
        "LEAN_SERVER_LOG_LEVEL": "WARNING",
    }
    log = open(log_path or os.devnull, "w")  # noqa: SIM115 (closed in the finally below)
    proc = subprocess.Popen(
        [str(venv / "bin" / "python"), "-m", "server"],
        env=env,
        cwd=cache_dir(),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise KiminaServerSetupError(f"the Kimina Lean Server exited with {proc.returncode} at start")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise KiminaServerSetupError("the Kimina Lean Server did not answer /health within 120 s")
            time.sleep(0.25)
        yield url
    finally:
        _stop(proc)
        log.close()


def _stop(proc: subprocess.Popen[bytes]) -> None:
    children = _descendants(proc.pid)
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGINT)  # uvicorn's graceful shutdown runs the manager's cleanup
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    for pid in children:  # REPLs the cleanup did not reach (they run in their own sessions)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)


def _descendants(pid: int) -> list[int]:
    import psutil

    with contextlib.suppress(psutil.NoSuchProcess):
        return [c.pid for c in psutil.Process(pid).children(recursive=True)]
    return []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", action="store_true", help="only build the venv, then exit")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--max-repls", type=int, default=max((os.cpu_count() or 1) - 1, 1))
    args = parser.parse_args(argv)
    try:
        if args.build:
            started = time.monotonic()
            print(f"{ensure_venv()} ready in {time.monotonic() - started:.1f} s")
            return 0
        with running_server(max_repls=args.max_repls, port=args.port) as url:
            print(f"Kimina Lean Server {SERVER_VERSION} on {url} (max {args.max_repls} REPLs); Ctrl-C stops it")
            with contextlib.suppress(KeyboardInterrupt):
                while True:
                    time.sleep(3600)
    except KiminaServerSetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
