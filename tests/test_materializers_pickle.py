"""No code execution from a store (materializers and the object path): a planted
pickle is refused on a stack that does not allow pickle (API, a downstream step, the
CLI, the web page), and ``.npy`` and Arrow objects never reach pickle, even where it is
allowed. The store is S3 on loopback (tests/fixtures_servers.py)."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import pytest

import flowyml as fm
from flowyml.stack import Stack, clear_opened
from tests._helpers_stores import _s3_stack, plant
from tests.conftest import flowyml_cli, write

from .stack_fixtures import s3_bucket  # noqa: F401  (s3_bucket is a fixture)


class _Trap:
    """Unpickling this creates ``path``: what a hostile artifact would do."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> Any:
        return (Path.touch, (self.path,))


def test_no_code_execution_from_a_remote_store_by_default(
    project: Path,
    s3_server: Any,
    s3_bucket: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    marker = project / "PWNED"
    payload = pickle.dumps(_Trap(marker), protocol=5)
    st = _s3_stack(project, s3_server, s3_bucket, "cache-a")
    assert st.allow_pickle is None and st.open_store().allow_pickle is False  # the default
    plant(st, payload, "trap", "pickle", "x.Trap")

    # another machine (empty local cache) and the planting one: both refuse
    for cache in ("cache-b", "cache-a"):
        clear_opened()
        other = _s3_stack(project, s3_server, s3_bucket, cache)
        with pytest.raises(fm.FlowymlError, match="allow_pickle") as err:
            fm.Catalog(other).get("trap").load()
        assert "trap@1" in str(err.value) and "can run code" in str(err.value)

    # a downstream step that takes it as an input: the step fails, its code never runs
    ran = []

    @fm.step(outputs="used", inputs={"t": "trap@latest"})
    def use(t: Any) -> int:
        ran.append(t)
        return 1

    with pytest.raises(fm.FlowymlError, match="allow_pickle") as err:
        fm.Pipeline("victim", [use]).run(stack=st)
    assert "trap@1" in str(err.value)
    assert ran == []
    assert not marker.exists(), "the pickle was loaded"

    # the CLI refuses too
    opts = (
        f'{{ key = "{s3_server.key}", secret = "${{S3_SECRET}}", '
        f'client_kwargs = {{ endpoint_url = "{s3_server.endpoint_url}" }} }}'
    )
    write(
        project / "flowyml.toml",
        f"""
        [stacks.shared]
        store = "s3://{s3_bucket}/p"
        storage_options = {opts}
        cache_dir = "../cache-c"

        [stacks.trusted]
        store = "s3://{s3_bucket}/p"
        storage_options = {opts}
        cache_dir = "../cache-d"
        allow_pickle = true
    """,
    )
    monkeypatch.setenv("S3_SECRET", s3_server.secret)
    write(
        project / "victim.py",
        """
        import flowyml as fm

        @fm.step(outputs="used", inputs={"t": "trap@latest"})
        def use(t):
            return 1

        pipe = fm.Pipeline("victim", [use])
    """,
    )
    res = flowyml_cli(
        project, "run", "victim.py", "--stack", "shared", env={"S3_SECRET": s3_server.secret}
    )
    assert res.returncode == 1 and "allow_pickle" in res.stderr, res.stderr
    assert "Traceback" not in res.stderr
    assert not marker.exists()

    # the web page never unpickles, whatever the stack allows
    from flowyml.ui.preview import make_preview

    trusted = Stack(name="trusted").resolve()
    art = fm.Catalog(trusted).get("trap")
    assert "stored with pickle" in (make_preview(art, trusted.open_store()).message or "")
    assert not marker.exists()

    # the documented opt-in: allow_pickle = true on the stack loads it (and so runs it)
    clear_opened()
    assert fm.Catalog("trusted").get("trap").load() is None  # Path.touch returns None
    assert marker.exists()


def _object_npy(marker: Path) -> bytes:
    import io

    import numpy as np

    arr = np.empty(1, dtype=object)
    arr[0] = _Trap(marker)
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=True)  # an object array is a pickle inside .npy
    return buf.getvalue()


def _arrow_py_extension(marker: Path) -> bytes:
    """The shape of CVE-2023-47248: an Arrow IPC field whose extension metadata is a
    pickle, which pyarrow < 14.0.1 unpickled when reading the file."""
    import io

    import pyarrow as pa

    f = pa.field(
        "x",
        pa.binary(),
        metadata={
            b"ARROW:extension:name": b"arrow.py_extension_type",
            b"ARROW:extension:metadata": pickle.dumps(_Trap(marker)),
        },
    )
    table = pa.table({"x": pa.array([b"a"])}, schema=pa.schema([f]))
    buf = io.BytesIO()
    with pa.ipc.new_file(buf, table.schema) as w:
        w.write_table(table)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("make", "materializer"),
    [
        (_object_npy, "numpy"),
        (_arrow_py_extension, "arrow"),
        (_arrow_py_extension, "pandas-arrow"),
    ],
)
def test_npy_and_arrow_never_unpickle_even_when_allowed(
    make: Any,
    materializer: str,
    project: Path,
    s3_server: Any,
    s3_bucket: str,  # noqa: F811
) -> None:
    """Objects stored as .npy or Arrow never reach pickle, even on a stack that allows
    it: an object-dtype .npy is refused, a pickled Arrow extension type is ignored."""
    marker = project / "PWNED"
    st = _s3_stack(project, s3_server, s3_bucket, "cache-a", allow_pickle=True)
    plant(st, make(marker), "hostile", materializer, "x.Trap")
    try:
        fm.Catalog(st).get("hostile").load()
    except fm.FlowymlError as exc:
        assert isinstance(exc, fm.CorruptArtifactError), exc
    assert not marker.exists()


def test_a_value_nothing_can_store_says_what_to_return(project: Path) -> None:
    """A generator or a lambda returned by mistake: the error names the asset, the
    type and what to return, not only pickle's ``cannot pickle 'generator' object``."""

    @fm.step(outputs="rows")
    def rows(n: int = 3) -> Any:
        return (i for i in range(n))

    @fm.step(outputs="fn")
    def fn(n: int = 3) -> Any:
        return lambda x: x + n

    for step, what, fix in ((rows, "generator", r"list\(...\)"),
                            (fn, "function", "top level")):
        with pytest.raises(fm.StepFailed, match=rf"asset '{step.name}': a {what} cannot be "
                                                rf"stored .*{fix}"):
            fm.Pipeline(f"bad_{step.name}", [step]).run()


def test_a_stack_that_refuses_pickles_never_stores_one(
    project: Path, s3_server: Any, s3_bucket: str  # noqa: F811
) -> None:
    """A value only pickle keeps (a tuple, an object of the user's), on a stack whose
    ``allow_pickle`` is false (the remote default): the step fails naming the asset and
    the setting, and nothing is stored. Stored, no worker and no later run could load
    it: the first inline run worked, and the next one whose consumer needed it failed."""
    st = _s3_stack(project, s3_server, s3_bucket, "cache-a")

    @fm.step(outputs="model")
    def train() -> Any:
        return (1, 2, 3)

    @fm.step(outputs="score")
    def evaluate(model: Any, k: int = 1) -> int:
        return sum(model) * k

    with pytest.raises(fm.FlowymlError, match=r"asset 'model' \(tuple\).*allow_pickle = true "
                                              r"in \[stacks.team\]") as err:
        fm.Pipeline("p", [train, evaluate]).run(stack=st)
    assert "nothing was stored" in str(err.value)
    assert list(st.open_store().iter_objects()) == []
    assert st.open_catalog().search(name="model") == []
