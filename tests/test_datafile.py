"""A file a step reads, declared as ``fm.DataFile``, counts by its content: an edit
re-executes the step, a touch, a copy or a move with the same bytes does not."""

from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path

import pytest

import flowyml as fm
from tests.conftest import import_from, write


def _pipeline(root: Path) -> fm.Pipeline:
    write(root / "readers.py", '''
        import flowyml as fm


        @fm.step(outputs="rows")
        def load(src: fm.DataFile = fm.DataFile("data/raw.csv")) -> int:
            with open(src) as f:
                return len(f.read().splitlines())


        @fm.step(outputs="names")
        def listing(folder: fm.DataFile) -> list[str]:
            return sorted(p.name for p in folder.path.iterdir())
    ''')
    readers = import_from(root, "readers")
    return fm.Pipeline("files", [readers.load, readers.listing])


def _statuses(run: fm.Run) -> dict[str, str]:
    return {name: str(s.status) for name, s in run.steps.items()}


def test_a_data_file_counts_by_content(project: Path) -> None:
    (project / "data").mkdir()
    raw = project / "data" / "raw.csv"
    raw.write_text("a,b\n1,2\n")
    pipe = _pipeline(project)
    params = {"folder": fm.DataFile("data")}

    first = pipe.run(params=params)
    assert (first["rows"], first["names"]) == (2, ["raw.csv"])
    assert _statuses(pipe.run(params=params)) == {"load": "cached", "listing": "cached"}

    raw.write_text("a,b\n1,2\n3,4\n")  # an edit: same path, other bytes
    edited = pipe.run(params=params)
    assert _statuses(edited) == {"load": "executed", "listing": "executed"}
    assert edited["rows"] == 3
    assert "parameter src DataFile('data/raw.csv', content" in edited.steps["load"].reason

    os.utime(raw, (1, 1))  # a touch: same bytes
    assert _statuses(pipe.run(params=params)) == {"load": "cached", "listing": "cached"}

    (project / "data" / "more.csv").write_text("x\n")  # a folder counts every file
    grown = pipe.run(params=params)
    assert _statuses(grown) == {"load": "cached", "listing": "executed"}
    assert grown["names"] == ["more.csv", "raw.csv"]

    shutil.copytree(project / "data", project / "copy")  # the same bytes elsewhere
    moved = pipe.run(params={"folder": fm.DataFile(project / "copy")})
    assert _statuses(moved)["listing"] == "cached"


def test_a_data_file_is_a_path_everywhere(tmp_path: Path) -> None:
    f = tmp_path / "x.txt"
    f.write_text("hello")
    df = fm.DataFile(f)
    assert os.fspath(df) == str(f) and df.path == f
    with open(df) as fh:
        assert fh.read() == "hello"
    assert pickle.loads(pickle.dumps(df)) == df
    assert "content" in repr(df) and repr(fm.DataFile(tmp_path / "nope")).endswith("missing)")
    with pytest.raises(TypeError):
        fm.DataFile(b"bytes")  # type: ignore[arg-type]


def test_a_folder_counts_the_folders_it_links_to(tmp_path: Path) -> None:
    """A data folder often links to a bigger disk: what the link points to counts, and
    a link back up the tree does not loop."""
    big = tmp_path / "big"
    big.mkdir()
    (big / "part.csv").write_text("1\n")
    data = tmp_path / "data"
    data.mkdir()
    (data / "linked").symlink_to(big, target_is_directory=True)
    (data / "loop").symlink_to(data, target_is_directory=True)
    before = fm.DataFile(data).content_hash()
    (big / "part.csv").write_text("2\n")
    assert fm.DataFile(data).content_hash() != before


@pytest.mark.timeout(300)
def test_a_data_file_reaches_a_worker_process(project: Path) -> None:
    (project / "data").mkdir()
    (project / "data" / "raw.csv").write_text("a\n1\n2\n3\n")
    pipe = _pipeline(project)
    run = pipe.run(params={"folder": fm.DataFile("data")}, executor="processes:2")
    assert (run["rows"], run["names"]) == (4, ["raw.csv"])


def test_a_data_file_parameter_takes_a_path_on_the_command_line(project: Path) -> None:
    from tests.conftest import flowyml_cli

    (project / "data").mkdir()
    (project / "data" / "raw.csv").write_text("a,b\n1,2\n")
    (project / "data" / "other.csv").write_text("a,b\n1,2\n3,4\n5,6\n")
    write(project / "files.py", '''
        import flowyml as fm


        @fm.step(outputs="rows")
        def load(src: fm.DataFile = fm.DataFile("data/raw.csv")) -> int:
            with open(src) as f:
                return len(f.read().splitlines())


        @fm.step(outputs="lines")
        def count(src2=fm.DataFile("data/raw.csv")) -> int:  # no annotation: its default's type
            with open(src2) as f:
                return len(f.read().splitlines())


        pipe = fm.Pipeline("files", [load, count])
    ''')
    done = flowyml_cli(project, "run", "files.py", "-p", "src=data/other.csv",
                       "-p", "src2=data/other.csv")
    assert done.returncode == 0, done.stdout + done.stderr
    from flowyml.catalog_api import Catalog

    catalog = Catalog(fm.Stack(root=str(project)))
    assert (catalog.get("rows").load(), catalog.get("lines").load()) == (4, 4)
