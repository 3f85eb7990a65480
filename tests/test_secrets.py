"""Secrets never show (``core/secrets.py`` at every boundary): a sentinel used as the
right and the wrong S3 secret and PostgreSQL password appears in no output of any
command, no error, warning, log record or repr, no catalog row and no project file."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import flowyml as fm
from flowyml.stack import Stack, clear_opened
from tests._helpers_procs import _env
from tests._helpers_stores import _files
from tests.conftest import write

from .stack_fixtures import uniq

# about objects in the store, tiny ones too (conftest.objects_in_store)
pytestmark = pytest.mark.usefixtures("objects_in_store")

SENTINEL = "SENTINEL-9f3c-secret"


SECRET_TOML = """
stack = "good"
[stacks.good]
store = "s3://${BUCKET}/p"
storage_options = { key = "sentinel-key", secret = "${S3_SECRET}", client_kwargs = { endpoint_url = "${GOOD_ENDPOINT}" } }
cache_dir = ".flowyml/cache-good"

[stacks.goodpg]
store = "s3://${BUCKET}/p"
catalog = "postgresql+psycopg://${PG_USER}:${PG_PW}@${PG_HOST}/${PG_DB}"
storage_options = { key = "sentinel-key", secret = "${S3_SECRET}", client_kwargs = { endpoint_url = "${GOOD_ENDPOINT}" } }
cache_dir = ".flowyml/cache-goodpg"

[stacks.bads3]
store = "s3://${BAD_BUCKET}/p"
catalog = "sqlite:///.flowyml/catalog.db"
storage_options = { key = "${BAD_KEY}", secret = "${S3_SECRET}", client_kwargs = { endpoint_url = "${BAD_ENDPOINT}" } }
cache_dir = ".flowyml/cache-bad"

[stacks.badpg]
store = ".flowyml/badpg-store"
catalog = "postgresql+psycopg://${BAD_PG_USER}:${PG_PW}@${PG_HOST}/${PG_DB}"
"""


SECRET_PIPE = """
import flowyml as fm

@fm.step(outputs="raw")
def load(n: int = 5):
    return list(range(n))

@fm.step(outputs="model")
def train(raw):
    return {"total": sum(raw)}

pipe = fm.Pipeline("secretive", [train, load])
"""


STACK_COMMANDS = [
    ["run", "pipe.py"],
    ["run", "pipe.py"],
    ["plan", "pipe.py"],
    ["runs"],
    ["artifacts"],
    ["artifacts", "model"],
    ["show", "model"],
    ["lineage", "model"],
    ["lineage", "model", "--format", "json"],
    ["lineage", "raw", "--down", "--format", "mermaid"],
    ["tag", "model", "1", "prod"],
    ["gc", "--dry-run"],
    ["verify"],
    ["cache", "status"],
]


@pytest.fixture(scope="module")
def sentinel_s3(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """An S3 server whose (right) secret key is the sentinel."""
    from .servers import start_seaweedfs

    server = start_seaweedfs(
        tmp_path_factory.mktemp("s3-sentinel"), key="sentinel-key", secret=SENTINEL
    )
    try:
        yield server
    finally:
        server.stop()


def _sentinel_env(
    monkeypatch: pytest.MonkeyPatch, sentinel_s3: Any, s3_server: Any, postgres_server: Any
) -> dict[str, str]:
    import psycopg
    from psycopg import sql

    user, db, bucket, bad_bucket = (uniq(x).replace("-", "_") for x in ("sentinel", "db", "b", "b"))
    bucket, bad_bucket = bucket.replace("_", "-"), bad_bucket.replace("_", "-")
    with psycopg.connect(postgres_server.conninfo("postgres"), autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(user), sql.Literal(SENTINEL)
            )
        )
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(db), sql.Identifier(user))
        )
    sentinel_s3.make_bucket(bucket)
    s3_server.make_bucket(bad_bucket)
    env = {
        "S3_SECRET": SENTINEL,
        "PG_PW": SENTINEL,
        "BUCKET": bucket,
        "BAD_BUCKET": bad_bucket,
        "GOOD_ENDPOINT": sentinel_s3.endpoint_url,
        "BAD_ENDPOINT": s3_server.endpoint_url,
        "BAD_KEY": s3_server.key,
        "PG_USER": user,
        "BAD_PG_USER": postgres_server.user,
        "PG_HOST": f"{postgres_server.host}:{postgres_server.port}",
        "PG_DB": db,
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return env


def test_a_sentinel_secret_never_shows(
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
    sentinel_s3: Any,
    s3_server: Any,
    postgres_server: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The sentinel is the right S3 secret and PostgreSQL password of the good stacks and
    a wrong one of the bad stacks, always through ${VAR} in flowyml.toml. Every command,
    on every stack, succeeding or failing, prints it nowhere; it is in no catalog row and
    in no file of the project."""
    import logging
    import traceback
    import warnings

    from click.testing import CliRunner

    from flowyml.cli.commands import main
    from flowyml.stack import check_stack

    from .stack_fixtures import all_catalog_text

    env = _sentinel_env(monkeypatch, sentinel_s3, s3_server, postgres_server)
    write(project / "flowyml.toml", SECRET_TOML)
    write(project / "pipe.py", SECRET_PIPE)
    monkeypatch.syspath_prepend(str(project))
    caplog.set_level(logging.DEBUG)
    shown: list[str] = []
    outcomes: dict[tuple[str, ...], int] = {}
    runner = CliRunner()

    def cli(*args: str) -> None:
        clear_opened()
        sys.modules.pop("pipe", None)
        res = runner.invoke(main, list(args))
        shown.append(f"$ flowyml {' '.join(args)}\n{res.stdout}{res.stderr}")
        if res.exc_info is not None and not isinstance(res.exception, SystemExit):
            shown.append("".join(traceback.format_exception(*res.exc_info)))
        outcomes[args] = res.exit_code

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for name in ("good", "goodpg", "bads3", "badpg"):
            for cmd in STACK_COMMANDS:
                cli(*cmd, "--stack", name)
            cli("stack", "show", name)
            cli("stack", "show", name, "--json")
            cli("stack", "check", name)
        cli("stack", "list")

        # the Python API: errors with their whole chain, reprs, check results
        clear_opened()
        from pipe import pipe

        for name, error in (("bads3", fm.StoreError), ("badpg", fm.CatalogError)):
            with pytest.raises(error) as err:
                pipe.run(stack=name, force=True)
            shown.append("".join(traceback.format_exception(err.value)))
            shown.extend(f"{r.part} {r.message}" for r in check_stack(name))
        with pytest.raises(fm.StoreError) as err:
            fm.Catalog("bads3").get("model").load()  # the good catalog, a bad store
        shown.append("".join(traceback.format_exception(err.value)))
        for name in ("good", "goodpg", "bads3", "badpg"):
            st = Stack(name=name).resolve()
            shown += [repr(st), str(st), repr(Stack(name=name)), str(st.describe())]
            if not name.startswith("bad"):
                shown += [repr(st.open_store()), repr(st.open_catalog()), repr(fm.Catalog(st))]
        shown.append(repr(pipe.run(stack="good")))
    shown += [str(w.message) for w in caught]
    shown += [r.getMessage() for r in caplog.records]

    # the good stacks really worked, the bad ones really failed
    for name in ("good", "goodpg"):
        assert outcomes[("run", "pipe.py", "--stack", name)] == 0
        assert outcomes[("stack", "check", name)] == 0
    for name in ("bads3", "badpg"):
        assert outcomes[("run", "pipe.py", "--stack", name)] == 1
        assert outcomes[("stack", "check", name)] == 1
    text = "\n".join(shown)
    assert "rejected the credentials" in text and "password authentication failed" in text

    # the real command line: a run and the web page's startup output, on each stack
    procs = [
        subprocess.Popen(
            [str(Path(sys.executable).parent / "flowyml"), *args],
            cwd=project,
            env=_env(**env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("good", "goodpg", "bads3", "badpg")
        for args in (["run", "pipe.py", "--stack", name], ["ui", "--port", "0", "--stack", name])
    ]
    for p in procs:
        if "ui" in p.args:
            _let_ui_start(p)
        out, err = p.communicate(timeout=60)
        shown.append(f"$ {p.args}\n{out}{err}")
    text = "\n".join(shown)
    assert text.count("FlowyML UI (read-only)") >= 3
    assert SENTINEL not in text, text[
        max(0, text.find(SENTINEL) - 2000) : text.find(SENTINEL) + 200
    ]

    # nothing stored anywhere: catalog rows (SQLite file bytes, PostgreSQL rows), project files
    clear_opened()
    files = _files(project)
    assert any(p.name == "catalog.db" for p in files)
    for p in files:
        assert SENTINEL.encode() not in p.read_bytes(), f"the secret is in {p}"
    pg = postgres_server.url_for(env["PG_DB"])
    pg_text = all_catalog_text(pg)
    assert "secretive" in pg_text and SENTINEL not in pg_text


def _let_ui_start(proc: subprocess.Popen[str]) -> None:
    """Wait until ``flowyml ui`` listens (or exits), then stop it with Ctrl-C."""
    import psutil

    deadline = time.monotonic() + 30
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            if any(
                c.status == psutil.CONN_LISTEN for c in psutil.Process(proc.pid).net_connections()
            ):
                break
        except psutil.NoSuchProcess:
            break
        time.sleep(0.1)
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
