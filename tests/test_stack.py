"""Stacks: resolution order, named stacks, ${VAR}, masking, the stack/cache commands,
and the local cache (no servers needed here; see test_remote.py for those)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

import flowyml as fm
from flowyml.core.errors import ConfigError
from flowyml.core.secrets import mask_options, mask_uri, redact, secret_values
from flowyml.core.units import parse_size
from flowyml.stack import Stack, as_stack, check_stack
from flowyml.stores.cache import LocalCache
from tests.conftest import flowyml_cli, write


def toml(project: Path, text: str) -> None:
    write(project / "flowyml.toml", text)


@fm.step(outputs="numbers")
def numbers(n: int = 5) -> list[int]:
    return list(range(n))


@fm.step(outputs="total")
def total(numbers: list[int]) -> int:
    return sum(numbers)


# ---------------------------------------------------------------- resolution
def test_defaults_are_local_to_the_project(project: Path) -> None:
    st = Stack().resolve()
    assert st.name == "default" and st.executor == "inline"
    assert st.store == str(project / ".flowyml")
    assert st.catalog == f"sqlite:///{project / '.flowyml' / 'catalog.db'}"


def test_arguments_beat_env_beat_file(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    toml(project, """
        [stacks.default]
        store = "from-file"
        catalog = "sqlite:///file.db"
        executor = "inline"
        cache_dir = "file-cache"
        cache_max_size = "1GB"
    """)
    st = Stack().resolve()
    assert st.store == str(project / "from-file")
    assert st.catalog == f"sqlite:///{project / 'file.db'}"
    assert st.cache_dir == str(project / "file-cache") and st.cache_max_size == 2**30
    monkeypatch.setenv("FLOWYML_STORE", "memory://from-env")
    monkeypatch.setenv("FLOWYML_CACHE_DIR", str(project / "env-cache"))
    monkeypatch.setenv("FLOWYML_CACHE_MAX_SIZE", "500MB")
    monkeypatch.setenv("FLOWYML_STORAGE_OPTIONS", '{"anon": true}')
    st = Stack().resolve()
    assert (st.store, st.cache_dir, st.cache_max_size) == (
        "memory://from-env", str(project / "env-cache"), 500 * 2**20)
    assert st.storage_options == {"anon": True}
    st = Stack(store="memory://arg", cache_dir="arg-cache", storage_options={}).resolve()
    assert (st.store, st.cache_dir, st.storage_options) == (
        "memory://arg", str(project / "arg-cache"), {})
    assert st.catalog == f"sqlite:///{project / 'file.db'}", "unset fields still come from the file"


def test_a_store_uri_without_a_path(project: Path) -> None:
    """``memory://`` (the README's in-memory store) is a store; ``s3://`` names no bucket,
    and says so (a trailing slash once cut the scheme itself: ``s3:``)."""
    st = Stack(store="memory://")
    run = fm.Pipeline("mem", [_one]).run(stack=st)
    assert run["one"] == 1
    with pytest.raises(ConfigError, match=r"store s3:// names no bucket; write s3://BUCKET"):
        Stack(store="s3://").open_store()


@fm.step(outputs="one")
def _one() -> int:
    return 1


def test_named_stacks_selected_by_env_arg_or_file(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    toml(project, """
        stack = "dev"
        [stacks.dev]
        store = "dev-store"
        [stacks.team]
        store = "s3://bucket/team"
        catalog = "postgresql+psycopg://u:${PGPW}@db/flowyml"
        storage_options = { key = "${AWS_KEY}", secret = "${AWS_SECRET}", client_kwargs = { endpoint_url = "http://s3:8333" } }
    """)
    assert Stack().resolve().name == "dev"
    monkeypatch.setenv("PGPW", "pg-pass-123")
    monkeypatch.setenv("AWS_KEY", "AKIAKEY")
    monkeypatch.setenv("AWS_SECRET", "aws-secret-456")
    monkeypatch.setenv("FLOWYML_STACK", "team")
    team = Stack().resolve()
    assert team.name == "team"
    assert team.catalog == "postgresql+psycopg://u:pg-pass-123@db/flowyml"
    assert team.storage_options == {
        "key": "AKIAKEY", "secret": "aws-secret-456",
        "client_kwargs": {"endpoint_url": "http://s3:8333"},
    }
    assert Stack(name="dev").resolve().store == str(project / "dev-store")
    shown = json.dumps(team.describe())
    for secret in ("pg-pass-123", "AKIAKEY", "aws-secret-456"):
        assert secret not in shown
    assert "http://s3:8333" in shown


def test_pyproject_tool_table(project: Path) -> None:
    (project / "flowyml.toml").unlink()
    write(project / "pyproject.toml", """
        [project]
        name = "x"
        [tool.flowyml.stacks.default]
        store = "pp-store"
    """)
    assert Stack().resolve().store == str(project / "pp-store")


def test_config_errors_name_the_fix(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    toml(project, """
        [stacks.team]
        store = "s3://b/p"
        catalog = "postgresql+psycopg://u:${MISSING_PW}@db/x"
        [stacks.typo]
        stroe = "x"
    """)
    with pytest.raises(ConfigError, match=r"MISSING_PW.*not set"):
        Stack(name="team").resolve()
    with pytest.raises(ConfigError, match=r"unknown setting 'stroe'; did you mean 'store'"):
        Stack(name="typo").resolve()
    with pytest.raises(ConfigError, match=r"no stack named 'nope'.*stacks: team, typo"):
        Stack(name="nope").resolve()
    monkeypatch.setenv("FLOWYML_STORAGE_OPTIONS", "{not json")
    with pytest.raises(ConfigError, match="FLOWYML_STORAGE_OPTIONS is not valid JSON"):
        Stack().resolve()
    monkeypatch.delenv("FLOWYML_STORAGE_OPTIONS")
    with pytest.raises(ConfigError, match="not a size"):
        Stack(cache_max_size="lots").resolve()


def test_a_top_level_setting_is_refused_not_ignored(project: Path) -> None:
    """``store = ...`` outside any ``[stacks.NAME]`` used to be ignored, sending results
    to the default local store; it is an error naming where it belongs."""
    toml(project, """
        store = "s3://team-bucket/p"
        [stacks.default]
        catalog = "sqlite:///c.db"
    """)
    with pytest.raises(ConfigError, match=r"unknown top-level key 'store'.*stack's setting.*"
                                          r"\[stacks\.default\]"):
        Stack().resolve()
    toml(project, 'stak = "team"\n')
    with pytest.raises(ConfigError, match=r"'stak': did you mean 'stack'\?"):
        Stack().resolve()
    (project / "flowyml.toml").unlink()
    write(project / "pyproject.toml", """
        [project]
        name = "x"
        [tool.flowyml]
        executor = "processes"
    """)
    with pytest.raises(ConfigError, match=r"\[tool\.flowyml\] of .*pyproject\.toml.*'executor'"
                                          r".*\[tool\.flowyml\.stacks\.default\]"):
        Stack().resolve()


def test_unknown_scheme_and_missing_backend_name_the_extra(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ConfigError, match=r"unknown scheme ftp://.*flowyml-core\[s3\]"):
        Stack(store="ftp://host/x").open_store()
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "gcsfs" else real(name, *a))
    with pytest.raises(ConfigError, match=r"pip install 'flowyml-core\[gcs\]'"):
        Stack(store="gs://bucket/p").open_store()


def test_explicit_stack_everywhere(project: Path, tmp_path: Path) -> None:
    st = Stack(store=str(tmp_path / "elsewhere"), catalog=f"sqlite:///{tmp_path / 'else.db'}")
    run = fm.Pipeline("sums", [numbers, total]).run(stack=st)
    assert run["total"] == 10
    assert not (project / ".flowyml" / "catalog.db").exists(), "the default stack was not used"
    art = fm.Catalog(stack=st).get("total")
    assert art.load() == 10
    tree = fm.get_lineage(art.id, stack=st)
    assert [n.artifact.name for n in tree.walk()] == ["total", "numbers"]
    assert fm.Pipeline("sums", [numbers, total]).run(stack=st).steps["total"].cached
    as_uri = Stack(store=f"file://{tmp_path / 'elsewhere'}", catalog=st.catalog)
    assert fm.Catalog(stack=as_uri).get("total").load() == 10


def test_as_stack_accepts_names_and_stacks(project: Path) -> None:
    toml(project, "[stacks.other]\nstore = 'o'\n")
    assert as_stack("other").store == str(project / "o")
    assert as_stack(Stack(name="other")).store == str(project / "o")
    with pytest.raises(ConfigError):
        as_stack(42)  # type: ignore[arg-type]


def test_credentials_never_reach_the_catalog(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run records its params and io stats, the stack's name, never its settings."""
    import sqlite3

    monkeypatch.setenv("TOKEN_X", "tok-very-secret-789")
    toml(project, """
        [stacks.default]
        store = "store"
        storage_options = { token = "${TOKEN_X}" }
    """)
    fm.Pipeline("sums", [numbers, total]).run(params={"n": 3})
    con = sqlite3.connect(project / "store" / "catalog.db")
    text = " ".join(str(v) for t in ("runs", "step_runs", "artifacts") for row in
                    con.execute(f"SELECT * FROM {t}") for v in row)
    assert "tok-very-secret-789" not in text and "TOKEN_X" not in text
    run = fm.Catalog().runs()[0]
    assert run.params == {"n": "3"} and "io" in run.stats and run.stack == "default"


# ---------------------------------------------------------------- secrets
def test_masking() -> None:
    assert mask_uri("postgresql+psycopg://bob:pw@h:5432/db") == "postgresql+psycopg://bob:***@h:5432/db"
    assert mask_uri("s3://bucket/prefix") == "s3://bucket/prefix"
    cs = "DefaultEndpointsProtocol=http;AccountName=acct;AccountKey=c2VjcmV0a2V5;BlobEndpoint=http://h/acct;"
    assert "c2VjcmV0a2V5" not in mask_uri(cs) and "AccountName=acct" in mask_uri(cs)
    assert "sig=abc" not in mask_uri("https://a.blob.core.windows.net/c?sv=1&sig=abcdef")
    opts = {
        "key": "AKIA", "secret": "s3cr3t", "token": {"private_key": "-----BEGIN", "client_email": "e"},
        "client_kwargs": {"endpoint_url": "http://u:pw@h:1", "region_name": "eu"},
        "connection_string": cs, "anon": False,
    }
    masked = mask_options(opts)
    assert masked["key"] == masked["secret"] == masked["token"] == "***"
    assert masked["client_kwargs"] == {"endpoint_url": "http://u:***@h:1", "region_name": "eu"}
    assert masked["anon"] is False
    secrets = secret_values(opts, "postgresql://u:dbpass99@h/x")
    assert {"AKIA", "s3cr3t", "-----BEGIN", "c2VjcmV0a2V5", "dbpass99"} <= secrets
    text = "failed for s3cr3t at postgresql://u:dbpass99@h/x"
    assert redact(text, secrets) == "failed for *** at postgresql://u:***@h/x"


# ---------------------------------------------------------------- local cache
def _obj(cache: LocalCache, data: bytes) -> str:
    from flowyml.core.hashing import hash_bytes

    digest = hash_bytes(data)
    src = cache.new_tmp()
    src.write_bytes(data)
    cache.adopt(digest, src)
    return digest


def test_cache_lru_prune_and_cap(tmp_path: Path) -> None:
    cache = LocalCache(tmp_path / "c", max_bytes=10_000)
    old = [_obj(cache, bytes([i]) * 3000) for i in range(3)]
    past = time.time() - 3600
    for i, d in enumerate(old):
        os.utime(cache.path(d), (past + i, past + i))
    assert cache.lookup(old[0]) is not None  # used now: the most recent
    assert cache.usage() == (3, 9000)
    report = cache.prune(4000)
    assert report.removed == [old[1], old[2]] and report.bytes_left == 3000
    assert cache.lookup(old[0]) is not None and cache.lookup(old[1]) is None
    # growing past the cap evicts least recently used objects, never ones in use
    for d in [old[0]]:
        os.utime(cache.path(d), (past, past))
    cache._added = 10**9  # force the size check on the next addition
    fresh = [_obj(cache, bytes([100 + i]) * 4000) for i in range(3)]
    assert cache.lookup(old[0]) is None, "the old object was evicted"
    assert all(cache.lookup(d) is not None for d in fresh), "recently used objects are kept"


def test_parse_size() -> None:
    assert parse_size("20GB") == 20 * 2**30
    assert parse_size("1.5 MiB") == int(1.5 * 2**20)
    assert parse_size(1234) == 1234
    assert parse_size("0") == 0
    assert parse_size(None) is None


def test_cache_commands(project: Path, tmp_path: Path) -> None:
    cache = LocalCache(tmp_path / "cli-cache")
    for i in range(3):
        _obj(cache, bytes([i]) * 2048)
    env = {"FLOWYML_CACHE_DIR": str(tmp_path / "cli-cache")}
    res = flowyml_cli(project, "cache", "status", env=env)
    assert res.returncode == 0, res.stderr
    assert "objects   3" in res.stdout and "6.0 KB of 20.0 GB" in res.stdout
    res = flowyml_cli(project, "cache", "prune", "--max-size", "3KB", env=env)
    assert res.returncode == 0 and "removed 2 object(s)" in res.stdout
    res = flowyml_cli(project, "cache", "prune", "--max-size", "0", "--dir", str(tmp_path / "cli-cache"))
    assert "removed 1 object(s)" in res.stdout and cache.usage() == (0, 0)


# ---------------------------------------------------------------- stack commands
def test_stack_list_show_check(project: Path, tmp_path: Path) -> None:
    toml(project, """
        stack = "local"
        [stacks.local]
        store = "st"
        [stacks.team]
        store = "memory://team"
        catalog = "postgresql+psycopg://me:${DB_PW}@127.0.0.1:1/flowyml"
        storage_options = { secret = "${S3_SECRET}" }
    """)
    env = {"DB_PW": "db-pw-4242", "S3_SECRET": "s3-secret-4242",
           "FLOWYML_CACHE_DIR": str(tmp_path / "cache")}
    res = flowyml_cli(project, "stack", "list", env=env)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert any(line.startswith("* local") for line in lines)
    assert any(line.startswith("  team") and "me:***@" in line for line in lines)
    res = flowyml_cli(project, "stack", "show", "team", env=env)
    assert res.returncode == 0, res.stderr
    assert "memory://team" in res.stdout and '"secret": "***"' in res.stdout
    res = flowyml_cli(project, "stack", "show", "--json", env=env)
    assert json.loads(res.stdout)["name"] == "local"
    res = flowyml_cli(project, "stack", "check", env=env)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "all checks passed" in res.stdout and "write, read back, delete work" in res.stdout
    res = flowyml_cli(project, "stack", "check", "team", env=env)
    assert res.returncode == 1
    out = res.stdout + res.stderr
    assert "ok   store" in out and "FAIL catalog" in out and "running" in out
    for secret in ("db-pw-4242", "s3-secret-4242"):
        assert secret not in out
    res = flowyml_cli(project, "stack", "show", "team")  # variables not exported
    assert res.returncode == 1 and "DB_PW" in res.stderr and "export it" in res.stderr
    res = flowyml_cli(project, "stack", "show", "nope")
    assert res.returncode == 1 and "no stack named 'nope'" in res.stderr


def test_check_stack_api_reports_instead_of_raising(project: Path) -> None:
    results = check_stack(Stack(catalog="sqlite:////proc/no/such/dir/x.db"))
    by_part = {r.part: r for r in results}
    assert by_part["store"].ok and not by_part["catalog"].ok
    assert "writable path" in by_part["catalog"].message
    assert check_stack("nope")[0].ok is False
