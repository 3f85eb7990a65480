"""What a notebook user meets, in a real kernel (nbclient + ipykernel): a step run in a
worker process returning a class of a cell, an artifact of such a class loaded after a
restart, a step cell run again after the pipeline was made, ``%autoreload`` of a step
imported by name, and how a build error is shown."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest


def _project(tmp_path: Path) -> Path:
    proj = tmp_path / "nbproj"
    proj.mkdir()
    (proj / "flowyml.toml").write_text("")
    return proj


class _Kernel:
    """One kernel, cells executed one at a time; each cell's text output and error."""

    def __init__(self, client: Any) -> None:
        import nbformat

        self.client = client
        self.nb = client.nb
        self._new = nbformat.v4.new_code_cell

    def run(self, source: str) -> tuple[str, dict[str, Any] | None]:
        cell = self._new(textwrap.dedent(source).strip())
        self.nb.cells.append(cell)
        self.client.execute_cell(cell, len(self.nb.cells) - 1)
        text, error = [], None
        for out in cell.outputs:
            if out.get("output_type") == "stream":
                text.append(out["text"])
            elif out.get("output_type") == "error":
                error = dict(out)
        return "".join(text), error

    def ok(self, source: str) -> str:
        text, error = self.run(source)
        assert error is None, f"{error['ename']}: {error['evalue']}\n" + "\n".join(
            error.get("traceback", []))
        return text


@contextmanager
def _kernel(proj: Path, kernel_env: str) -> Iterator[_Kernel]:
    """A kernel whose working folder is ``proj``; a new one is a restart."""
    import nbformat
    from nbclient import NotebookClient

    client = NotebookClient(nbformat.v4.new_notebook(), timeout=180, kernel_name=kernel_env,
                            allow_errors=True, resources={"metadata": {"path": str(proj)}})
    with client.setup_kernel():
        yield _Kernel(client)


BOX_CELL = """
    import flowyml as fm

    class Box:
        def __init__(self, v):
            self.v = v
"""
BOX_STEPS = """
    @fm.step(outputs="box")
    def make_box(n: int = 3):
        return Box(n)

    @fm.step(outputs="val")
    def read_box(box):
        return box.v * 2

    pipe = fm.Pipeline("boxes", [make_box, read_box])
"""


@pytest.mark.timeout(600)
def test_a_class_of_a_cell_travels_to_worker_processes_and_back(
        tmp_path: Path, kernel_env: str) -> None:
    """A step run on ``processes`` returns an instance of a class defined in a cell: it
    is stored there and loads in the kernel as the kernel's own class; a worker step
    reads it as its input. After a restart, loading it before the class is defined
    says which class to define (its bytes are intact), and loads once it is."""
    proj = _project(tmp_path)
    with _kernel(proj, kernel_env) as first:
        first.ok(BOX_CELL)
        first.ok(BOX_STEPS)
        out = first.ok("""
            r = pipe.run(executor="processes:2")
            print(r["val"], type(r["box"]) is Box, r["box"].v)
            r = pipe.run(executor="processes:2", force=["read_box"])
            print(r["val"], r.steps["read_box"].status)
        """)
    assert out.split() == ["6", "True", "3", "6", "executed"], out

    with _kernel(proj, kernel_env) as second:  # a restart
        _, error = second.run("""
            import flowyml as fm
            fm.Catalog().get("box").load()
        """)
        assert error is not None and error["ename"] == "MissingCodeError", error
        assert "class __main__.Box" in error["evalue"] and "intact" in error["evalue"]
        assert "corrupt" not in error["evalue"].lower()
        second.ok(BOX_CELL)
        assert second.ok('print(fm.Catalog().get("box").load().v)').strip() == "3"


@pytest.mark.timeout(600)
def test_a_step_cell_run_again_after_the_pipeline_was_made_is_warned(
        tmp_path: Path, kernel_env: str) -> None:
    """The pipeline holds the step object it was made with: a step cell edited and run
    again does not change it. The run warns (it uses the older definition), and making
    the pipeline again runs the new code. Running the same cell again unedited warns
    nothing."""
    proj = _project(tmp_path)
    with _kernel(proj, kernel_env) as kernel:
        kernel.ok("import flowyml as fm\nimport warnings\nwarnings.simplefilter('always')")
        step_cell = """
            @fm.step(outputs="b")
            def add(n: int = 3):
                return n + 1
        """
        kernel.ok(step_cell)
        kernel.ok('pipe = fm.Pipeline("demo", [add])')
        kernel.ok("r = pipe.run()")
        kernel.ok(step_cell)  # the same text again: no newer code
        text, _ = kernel.run("r = pipe.run(); print(r['b'])")
        assert "RedefinedStepWarning" not in text and text.strip() == "4", text
        kernel.ok(step_cell.replace("n + 1", "n + 100"))
        text, _ = kernel.run("r = pipe.run(); print(r['b'], r.steps['add'].status)")
        assert "RedefinedStepWarning" in text, text
        assert "holds an older definition of step 'add'" in text and "re-run its cell" in text
        assert "4 cached" in text  # the pipeline's own step: its code, its key
        out = kernel.ok('pipe = fm.Pipeline("demo", [add])\n'
                        "r = pipe.run(); print(r['b'], r.steps['add'].status)")
        assert out.strip() == "103 executed", out


@pytest.mark.timeout(600)
def test_autoreload_of_a_step_imported_by_name_is_warned(tmp_path: Path,
                                                         kernel_env: str) -> None:
    """``%autoreload`` patches functions in place, not the Step around one: after
    ``from mysteps import add`` and an edit of mysteps.py, ``add`` is the old step.
    The run says so and how to fix it; through the module the new code runs."""
    proj = _project(tmp_path)
    (proj / "mysteps.py").write_text(textwrap.dedent("""
        import flowyml as fm

        @fm.step(outputs="b")
        def add(n: int = 3):
            return n + 1
    """))
    with _kernel(proj, kernel_env) as kernel:
        kernel.ok("%load_ext autoreload\n%autoreload 2")
        kernel.ok("import warnings\nwarnings.simplefilter('always')\n"
                  "import flowyml as fm\nimport mysteps\nfrom mysteps import add")
        assert kernel.ok("print(fm.Pipeline('demo', [add]).run()['b'])").strip() == "4"
        path = proj / "mysteps.py"
        path.write_text(path.read_text().replace("n + 1", "n + 100"))
        text, _ = kernel.run("print(fm.Pipeline('demo', [add]).run()['b'])")
        assert "RedefinedStepWarning" in text and "use mysteps.add" in text, text
        out = kernel.ok("print(fm.Pipeline('demo', [mysteps.add]).run()['b'])")
        assert out.split()[-1] == "103", out


@pytest.mark.timeout(300)
def test_a_build_error_shows_the_users_lines_not_flowymls(tmp_path: Path,
                                                         kernel_env: str) -> None:
    """A mistyped input in a notebook: the error shown is the message with the cell's
    line, not thirty lines of FlowyML's frames; a failed step keeps its own traceback."""
    proj = _project(tmp_path)
    with _kernel(proj, kernel_env) as kernel:
        kernel.ok("""
            import flowyml as fm

            @fm.step(outputs="raw")
            def load(n: int = 3):
                return n

            @fm.step(outputs="clean")
            def clean(raw_dta):
                return raw_dta
        """)
        _, error = kernel.run("fm.Pipeline('e1', [load, clean]).run()")
        assert error is not None and error["ename"] == "MissingInputError"
        shown = "\n".join(error["traceback"])
        assert "did you mean asset 'raw'" in shown
        assert "flowyml/" not in shown and "graph.py" not in shown, shown
        assert len(shown.splitlines()) <= 6, shown

        kernel.ok("""
            def helper(x):
                return 1 / x

            @fm.step(outputs="q")
            def divide(n: int = 0):
                return helper(n)
        """)
        _, error = kernel.run("fm.Pipeline('e2', [divide]).run()")
        assert error is not None and error["ename"] == "StepFailed"
        shown = "\n".join(error["traceback"])
        assert "in helper" in shown and "ZeroDivisionError" in shown, shown
        assert "flowyml/" not in shown, shown
