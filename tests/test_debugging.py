"""Debugging a bad artifact: the user's own traceback on the CLI, run values converted by
annotation, previews in `flowyml show`, map-over element counts, typo hints for catalog
references, a warning for a None output, and load errors that name the artifact.

(The HTML shown in Jupyter is tested through a real kernel in test_notebook_display.py.)
"""

from __future__ import annotations

import enum
import re
import warnings
from pathlib import Path
from typing import Literal, Optional

import pytest

import flowyml as fm
from flowyml.core.graph import RawValue, build_graph
from flowyml.executors.task import NoneOutputWarning
from tests.conftest import flowyml_cli, write
from tests.stack_fixtures import make_harness

# ------------------------------------------------------------------ the CLI traceback
FAILING = '''
import flowyml as fm


def parse(row):
    return row["price"]


@fm.step(outputs="raw")
def load(n: int = 3):
    return [{"cost": i} for i in range(n)]


@fm.step(outputs="prices")
def prices(raw):
    return [parse(r) for r in raw]


pipe = fm.Pipeline("failing", [load, prices])
'''


@pytest.mark.parametrize("executor", ["inline", "processes:2"])
def test_a_failing_step_shows_the_users_traceback_once(project: Path, executor: str) -> None:
    write(project / "failing.py", FAILING)
    res = flowyml_cli(project, "run", "failing.py", "--executor", executor)
    err = res.stderr
    assert res.returncode == 1, err
    assert "step 'prices' raised (most recent call last):" in err
    # from the user's frame down: the step, then the helper it called, then the error
    step_at = err.index("line 15, in prices")  # "<dynamic-code>" in a worker process
    helper_at = err.index('failing.py", line 5, in parse')
    assert step_at < helper_at < err.index("\nKeyError: 'price'\n", step_at)
    assert err.count('return row["price"]') == 1, err  # the traceback is shown once
    assert "flowyml/" not in err and "run_task" not in err, err  # no FlowyML frame
    assert "--traceback" in err
    assert "error: step 'prices' failed in run" in err


def test_traceback_flag_shows_flowymls_frames_too(project: Path) -> None:
    write(project / "failing.py", FAILING)
    res = flowyml_cli(project, "run", "failing.py", "--traceback")
    assert res.returncode == 1
    assert "Traceback (most recent call last):" in res.stderr
    assert "run_task" in res.stderr and 'in parse' in res.stderr
    assert "StepFailed: step 'prices' failed" in res.stderr


# ------------------------------------------------------------------ -p KEY=VALUE
class Mode(enum.Enum):
    fast = "f"
    slow = "s"


@fm.step(outputs="out")
def typed(
    n: int,
    lr: float,
    on: bool,
    name: str,
    tags: list[str],
    cfg: dict[str, float],
    path: Path,
    pair: tuple[int, int],
    maybe: Optional[int],  # noqa: UP045  (the spelling users write, too)
    kind: Literal["a", "b"],
    mode: Mode,
    untyped=0.5,
    anything=None,
):
    return n


RAW = {"n": "3", "lr": "1e-3", "on": "yes", "name": "007", "tags": '["x", "y"]',
       "cfg": '{"a": 1, "b": 2.5}', "path": "data/in.csv", "pair": "[1, 2]",
       "maybe": "none", "kind": "b", "mode": "slow", "untyped": "2", "anything": '{"k": [1]}'}


def test_command_line_values_are_converted_by_annotation() -> None:
    graph = build_graph([typed], {k: RawValue(v) for k, v in RAW.items()})
    got = {p: b.value for p, b in graph.bindings["typed"].items()}
    assert got == {
        "n": 3, "lr": 0.001, "on": True, "name": "007", "tags": ["x", "y"],
        "cfg": {"a": 1.0, "b": 2.5}, "path": Path("data/in.csv"), "pair": (1, 2),
        "maybe": None, "kind": "b", "mode": Mode.slow, "untyped": 2.0,
        "anything": {"k": [1]},
    }
    assert type(got["n"]) is int and type(got["untyped"]) is float  # the default's type
    assert type(got["cfg"]["a"]) is float
    # values from Python are never converted
    graph = build_graph([typed], {**{k: RawValue(v) for k, v in RAW.items()}, "name": 7})
    assert graph.bindings["typed"]["name"].value == 7


@pytest.mark.parametrize(("key", "text", "says"), [
    ("n", "3.5", "int"),
    ("lr", "fast", "float"),
    ("on", "maybe", "expected true or false"),
    ("tags", '{"a": 1}', "expected a JSON array"),
    ("tags", "[1, 2]", "item 1 is not a str"),
    ("cfg", "[1]", "expected a JSON object"),
    ("pair", "[1]", "expected 2 items"),
    ("kind", "c", "expected one of 'a', 'b'"),
    ("mode", "medium", "expected one of fast, slow"),
    ("maybe", "x", "int"),
])
def test_a_value_that_does_not_fit_is_refused_at_build(key: str, text: str, says: str) -> None:
    raw = {k: RawValue(v) for k, v in RAW.items()} | {key: RawValue(text)}
    with pytest.raises(fm.ParameterError) as err:
        build_graph([typed], raw)
    msg = str(err.value)
    assert f"step 'typed': run value {key}={text!r} does not fit parameter {key}" in msg
    assert says in msg and f"pass e.g. -p {key}=" in msg


def test_unknown_run_value_lists_only_run_values() -> None:
    @fm.step(outputs="raw_data")
    def load(n_rows: int = 4):
        return list(range(n_rows))

    @fm.step(outputs="clean_data")
    def clean(raw_data, factor: float = 2.0):
        return raw_data

    with pytest.raises(fm.ParameterError) as err:
        build_graph([load, clean], {"raw_dat": 1})
    msg = str(err.value)
    assert "(step parameters: factor, n_rows)" in msg, msg
    assert "raw_data" not in msg.split("step parameters")[1]
    assert "did you mean" not in msg  # an asset is never suggested as a run value


CLI_PIPE = '''
import flowyml as fm
from pathlib import Path

@fm.step(outputs="raw")
def load(n: int = 2, scale: float = 1.0, tags: list[str] = [], out: Path = Path(".")):
    return {"n": n, "scale": scale, "tags": tags, "out": str(out),
            "types": [type(n).__name__, type(scale).__name__, type(out).__name__]}

pipe = fm.Pipeline("cli_values", [load])
'''


def test_run_values_from_the_command_line(project: Path) -> None:
    write(project / "vals.py", CLI_PIPE)
    res = flowyml_cli(project, "run", "vals.py", "-q", "-p", "n=3", "-p", "scale=2",
                      "-p", 'tags=["a"]', "-p", "out=/tmp/x")
    assert res.returncode == 0, res.stderr
    art = fm.Catalog().get("raw")
    assert art.load() == {"n": 3, "scale": 2.0, "tags": ["a"], "out": "/tmp/x",
                          "types": ["int", "float", "PosixPath"]}
    res = flowyml_cli(project, "run", "vals.py", "-p", "n=three")
    assert res.returncode == 2 and "ParameterError" in res.stderr
    assert "run value n='three' does not fit parameter n: int" in res.stderr
    assert "Traceback" not in res.stderr
    assert len(fm.Catalog().runs()) == 1  # refused at build: nothing ran


# ------------------------------------------------------------------ flowyml show
SHOW_PIPE = '''
import flowyml as fm
import numpy as np
import pandas as pd
from pathlib import Path


class Trap:
    def __reduce__(self):
        return (Path("UNPICKLED").touch, ())


@fm.step(outputs=("numbers", "table", "matrix", "trap"))
def make():
    frame = pd.DataFrame({"city": [f"c{i}" for i in range(30)], "pop": range(30)})
    return [0, 2, 4], frame, np.arange(6.0).reshape(2, 3), Trap()

pipe = fm.Pipeline("show", [make])
'''


def test_show_previews_small_values(project: Path) -> None:
    write(project / "show.py", SHOW_PIPE)
    assert flowyml_cli(project, "run", "show.py", "-q").returncode == 0

    def show(spec: str) -> list[str]:
        res = flowyml_cli(project, "show", spec)
        assert res.returncode == 0, res.stderr
        return res.stdout.splitlines()

    out = show("numbers")
    assert out[-2:] == ["preview        3 items", "               [0, 2, 4]"], out
    out = "\n".join(show("table"))
    assert "30 rows x 2 columns, the first 20 shown" in out
    assert re.search(r"city\s+pop", out) and re.search(r"c19\s+19", out)
    assert not re.search(r"^\s+c20\s", out, re.MULTILINE)  # (ids are hex: "c20" may be in one)
    out = "\n".join(show("matrix"))
    assert "shape (2, 3)  dtype float64" in out and "max: 5" in out
    out = "\n".join(show("trap"))
    assert "stored with pickle; previews show only its type" in out
    assert not (project / "UNPICKLED").exists()  # showing never unpickles


# ------------------------------------------------------------------ map over
@fm.step(outputs="items")
def make_items(values: list) -> list:
    return list(values)


@fm.step(outputs="squares", map_over="items")
def square(items: int) -> int:
    return items * items


MAPPED = fm.Pipeline("mapped_counts", [make_items, square])


def test_map_over_element_counts_are_structured(project: Path) -> None:
    run = MAPPED.run(params={"values": [1, 2, 3]})
    assert run.steps["square"].elements == (3, 0)
    assert run.steps["make_items"].elements is None
    run = MAPPED.run(params={"values": [1, 2, 30]})
    assert run.steps["square"].elements == (1, 2)


MAPPED_FILE = '''
import flowyml as fm

@fm.step(outputs="items")
def make_items():
    return [1, 2, 3, 4]

@fm.step(outputs="squares", map_over="items")
def square(items):
    return items * items

pipe = fm.Pipeline("mapped_file", [make_items, square])
'''


def test_runs_does_not_count_elements_as_steps(project: Path) -> None:
    write(project / "mapped.py", MAPPED_FILE)
    assert flowyml_cli(project, "run", "mapped.py", "-q").returncode == 0
    steps = fm.Catalog().steps(fm.Catalog().runs()[0].id)
    assert any(s.step == "square[3]" for s in steps)  # the element rows exist
    res = flowyml_cli(project, "runs")
    row = res.stdout.splitlines()[1].split()
    assert row[1:3] == ["mapped_file", "succeeded"]
    assert (row[-6], row[-5]) == ("2", "0"), res.stdout  # EXEC, REUSE: two steps


# ------------------------------------------------------------------ catalog reference typos
@fm.step(outputs="model")
def train() -> dict:
    return {"w": 1}


def test_a_typo_in_a_catalog_reference_suggests_the_asset(project: Path) -> None:
    fm.Pipeline("trainer", [train]).run()

    @fm.step(outputs="score", inputs={"m": "modle@latest"})
    def evaluate(m):
        return m["w"]

    with pytest.raises(fm.MissingInputError) as err:
        fm.Pipeline("evaluator", [evaluate]).build()
    msg = str(err.value)
    assert msg.startswith("step 'evaluate': parameter 'm': ")
    assert "catalog reference modle@latest does not resolve" in msg
    assert "did you mean 'model@latest'?" in msg


def test_a_catalog_typo_of_an_asset_of_the_pipeline_suggests_it(project: Path) -> None:
    @fm.step(outputs="score", inputs={"m": "modle@3"})
    def evaluate(m):
        return m["w"]

    with pytest.raises(fm.MissingInputError) as err:
        fm.Pipeline("evaluator", [train, evaluate]).build()  # the catalog is empty
    assert "did you mean asset 'model', produced by step 'train'?" in str(err.value)


# ------------------------------------------------------------------ None outputs
@fm.step(outputs="features")
def featurize(n: int = 3):
    rows = [float(i) for i in range(n)]  # forgot: return rows  # noqa: F841


@fm.step(outputs="fit")
def fit(features):
    return sum(features)


@fm.step(outputs="audit")
def audit(features: list | None = None):
    return None  # nobody reads "audit": a side-effect step may return None


def test_a_none_output_that_a_later_step_reads_is_warned_about(project: Path) -> None:
    with pytest.warns(NoneOutputWarning) as caught, pytest.raises(fm.StepFailed) as err:
        fm.Pipeline("forgetful", [featurize, fit]).run()
    (warning,) = [w for w in caught if w.category is NoneOutputWarning]
    text = str(warning.message)
    assert "step 'featurize' returned None for asset 'features', which step 'fit'" in text
    assert warning.filename == __file__  # shown at the step's own definition
    # the failure downstream points back at it
    assert "input features (asset 'features') is None" in str(err.value)


def test_a_none_output_nobody_reads_is_not_warned_about(project: Path) -> None:
    @fm.step(outputs="features")
    def good(n: int = 3):
        return [1.0]

    with warnings.catch_warnings():
        warnings.simplefilter("error", NoneOutputWarning)
        run = fm.Pipeline("side_effects", [good, audit]).run()
    assert run["audit"] is None


# ------------------------------------------------------------------ load errors
@fm.step(outputs="thing")
def thing() -> dict:
    return {"secret": "value"}


def test_the_artifact_label_is_the_catalogs_id() -> None:
    from flowyml.catalog.records import artifact_id
    from flowyml.objects import artifact_label

    digest = "ab" * 32
    assert artifact_label("thing@3", digest) == f"thing@3 (id {artifact_id('thing', digest)})"
    for unchanged in ("items[2]", "squares[1]@1", "thing@3 (id abc)", "thing"):
        assert artifact_label(unchanged, digest) == unchanged


@pytest.mark.usefixtures("objects_in_store")
@pytest.mark.parametrize("kind", ["local", "memory", "s3"])
def test_every_load_error_names_the_artifact_and_its_id(
    project: Path, kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    h = make_harness(kind, request, tmp_path)
    store = fm.Stack(store=h.uri, storage_options=h.options, cache_dir=str(tmp_path / "c1"),
                     catalog=f"sqlite:///{tmp_path / 'catalog.db'}")
    art = fm.Pipeline("p", [thing]).run(stack=store).artifacts["thing"]
    key = h.key(art.content_hash)
    good = h.raw_read(key)
    label = f"thing@1 (id {art.id})"

    h.raw_write(key, good[:-1] + bytes([good[-1] ^ 1]))  # damaged behind FlowyML's back
    fresh = fm.Stack(store=h.uri, storage_options=h.options, cache_dir=str(tmp_path / "c2"),
                     catalog=store.catalog)
    with pytest.raises(fm.CorruptArtifactError) as err:
        fm.Catalog(fresh).get("thing").load()
    assert label in str(err.value) and art.content_hash in str(err.value), str(err.value)

    h.raw_delete(key)
    gone = fm.Stack(store=h.uri, storage_options=h.options, cache_dir=str(tmp_path / "c3"),
                    catalog=store.catalog)
    with pytest.raises(fm.FlowymlError) as err:
        fm.Catalog(gone).get("thing").load()
    assert label in str(err.value) and art.content_hash in str(err.value), str(err.value)


def test_a_timed_out_step_shows_its_message_not_flowymls_frames(project: Path) -> None:
    """A timeout has no frame of the user's: the message says it all (no traceback of
    the executor's waiting, then a note that FlowyML's frames were hidden)."""
    write(project / "slow.py", '''
import time

import flowyml as fm


@fm.step(outputs="x", timeout=1)
def slow(s: float = 5):
    time.sleep(s)
    return 1


pipe = fm.Pipeline("slow", [slow])
''')
    res = flowyml_cli(project, "run", "slow.py")
    assert res.returncode == 1
    assert "step 'slow' timed out after 1 s" in res.stderr
    assert "most recent call last" not in res.stderr and "frames are hidden" not in res.stderr
    assert "concurrent" not in res.stderr and "executors" not in res.stderr, res.stderr
