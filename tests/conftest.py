"""Shared fixtures. Real servers (S3, GCS, Azure, PostgreSQL) come from fixtures_servers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from flowyml.stack import clear_opened

pytest_plugins = ["tests.fixtures_servers"]

REPO = Path(__file__).resolve().parents[1]
INLINE_ENV = "FLOWYML_INLINE_MAX"  # kept by the helpers below: see objects_in_store


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment for a child FlowyML process: no FLOWYML_* setting
    leaks in (the child follows its files), except ``objects_in_store``'s."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("FLOWYML_") or k == INLINE_ENV}
    env.update(extra or {})
    return env


@pytest.fixture(scope="session", autouse=True)
def _no_bytecode_cache() -> Iterator[None]:
    """No ``.pyc`` is written, here or in child processes. Tests rewrite a module and run
    it again within the same second, often at the same size; CPython trusts a ``.pyc``
    whose header has the source's mtime in whole seconds and its size, so the next
    process would run the old code. Tests of the stale-``.pyc`` case turn it back on
    for their own child (``test_cache.py``)."""
    before, before_flag = os.environ.get("PYTHONDONTWRITEBYTECODE"), sys.dont_write_bytecode
    os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
    sys.dont_write_bytecode = True
    yield
    sys.dont_write_bytecode = before_flag
    if before is None:
        os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    else:
        os.environ["PYTHONDONTWRITEBYTECODE"] = before


@pytest.fixture(scope="session", autouse=True)
def _own_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The fingerprint memo (and anything else that keeps a user cache) writes under a
    folder of this session, here and in every child process, not in the developer's
    ``~/.cache``: thousands of test projects would each leave a group file there."""
    before = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))
    yield
    if before is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = before


@pytest.fixture
def kernel_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The name of a kernelspec that starts this interpreter's ipykernel (for notebooks
    run through nbclient); nothing read from $HOME, no FLOWYML_* setting leaks in."""
    pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    spec_dir = tmp_path / "jupyter" / "kernels" / "nsk"
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "flowyml-tests", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    for var in list(os.environ):
        if var.startswith("FLOWYML_"):
            monkeypatch.delenv(var)
    return "nsk"


@pytest.fixture
def objects_in_store(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every object goes to the store, tiny ones included (``inline_max = 0``), here and
    in child processes: for tests of what the store does with objects, whose steps
    return small values."""
    monkeypatch.setenv(INLINE_ENV, "0")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty FlowyML project (flowyml.toml) as the current directory, default stack."""
    root = tmp_path / "proj"
    root.mkdir()
    (root / "flowyml.toml").write_text("")
    monkeypatch.chdir(root)
    for var in list(os.environ):
        if var.startswith("FLOWYML_") and var != INLINE_ENV:
            monkeypatch.delenv(var)
    # pipelines defined in test modules belong to this repo's pyproject.toml; this
    # project is theirs (subprocesses started by run_py drop FLOWYML_* and follow files)
    monkeypatch.setenv("FLOWYML_ROOT", str(root))
    clear_opened()
    yield root
    clear_opened()


def write(path: Path, source: str) -> Path:
    """Write dedented source to ``path`` (a user editing a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source).lstrip())
    return path


def import_from(root: Path, name: str) -> ModuleType:
    """Import module ``name`` from the folder ``root`` afresh, as a script next to it
    would (the folder on ``sys.path`` only meanwhile)."""
    import importlib

    sys.path.insert(0, str(root))
    try:
        sys.modules.pop(name, None)
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(root))


def run_py(cwd: Path, code: str, env: dict[str, str] | None = None, timeout: float = 120) -> str:
    """Run ``code`` in a fresh Python process in ``cwd``; return stdout, fail on error."""
    full_env = child_env(env)
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout,
    )
    if proc.returncode != 0:
        raise AssertionError(f"subprocess failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def flowyml_cli(cwd: Path, *args: str, env: dict[str, str] | None = None,
                timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run the installed ``flowyml`` command in ``cwd``."""
    full_env = child_env(env)
    exe = Path(sys.executable).parent / "flowyml"
    return subprocess.run([str(exe), *args], cwd=cwd, env=full_env, capture_output=True,
                          text=True, timeout=timeout)


def interrupted(args: list[str], cwd: Path, when: str, env: dict[str, str] | None = None
                ) -> tuple[int, str, str]:
    """Run ``args`` in ``cwd``, press Ctrl-C (SIGINT) half a second after a line of its
    stderr contains ``when`` (a step's progress line: the step is running), and return
    its exit status, stdout and stderr (the rest of it)."""
    import signal

    proc = subprocess.Popen(args, cwd=cwd, env=child_env(env), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            if when in line:
                break
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    return proc.returncode, stdout, stderr


def ctrl_c_in_flowyml_run(project: Path, pipeline: str, env: dict[str, str] | None = None
                          ) -> tuple[int, str]:
    """``flowyml run`` of a two-step pipeline named ``pipeline`` (``first``, then ``slow``,
    which sleeps), as a user types it, stopped by Ctrl-C while ``slow`` runs: its exit
    status and stderr."""
    write(project / "stopped.py", f"""
        import time
        import flowyml as fm

        @fm.step(outputs="n")
        def first():
            return 1

        @fm.step(outputs="x")
        def slow(n):
            time.sleep(60)
            return n

        pipeline = fm.Pipeline({pipeline!r}, [first, slow])
    """)
    exe = Path(sys.executable).parent / "flowyml"
    returncode, _, stderr = interrupted([str(exe), "run", "stopped.py"], project,
                                        "slow: running", env)
    return returncode, stderr
