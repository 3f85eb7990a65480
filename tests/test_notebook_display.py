"""In Jupyter, a Run, an Artifact and a lineage tree display as HTML: executed in a real
kernel (nbclient + ipykernel), reading the ``text/html`` outputs the notebook shows."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

STEPS = '''
import flowyml as fm

@fm.step(outputs="raw")
def load(n: int = 4):
    return list(range(n))

@fm.step(outputs="squares", map_over="raw")
def square(raw):
    return raw * raw

@fm.step(outputs=("model", "metrics"))
def train(squares, tag: str = "plain"):
    return {"w": sum(squares)}, {"acc": 0.75, "tag": tag, "note": "<script>alert(1)</script>"}

@fm.step(outputs="report", inputs={"m": "model"})
def report(m, metrics):
    return f"w={m['w']} acc={metrics['acc']}"

pipe = fm.Pipeline("nbdisplay", [report, train, square, load])
'''

HOSTILE = "<img src=x onerror=alert(1)>"
CELLS = [
    STEPS,
    "first = pipe.run()\nfirst",
    f"again = pipe.run(params={{'tag': {HOSTILE!r}}})\nagain",
    "again.artifacts['metrics']",
    "fm.get_lineage(again.artifacts['report'])",
    "pipe.plan(params={'tag': 'other'})",
]


def _html(cell: Any) -> str:
    for out in cell.outputs:
        if out.get("output_type") == "error":
            raise AssertionError(f"cell raised {out.get('ename')}: {out.get('evalue')}")
    shown = [o for o in cell.outputs if o.get("output_type") == "execute_result"]
    assert shown, f"the cell displayed nothing: {cell.outputs}"
    data = shown[-1]["data"]
    assert "text/html" in data, f"no HTML, only {sorted(data)}"
    return str(data["text/html"])


def _rows(page: str) -> dict[str, str]:
    """step name -> the text of its row in a run's first table (its steps)."""
    steps = page[page.index("<table"):page.index("</table>")]
    rows = {}
    for tr in re.findall(r"<tr[^>]*>(.*?)</tr>", steps, re.S):
        cells = [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)]
        if cells:
            rows[cells[0]] = " | ".join(cells)
    return rows


@pytest.mark.timeout(300)
def test_run_artifact_and_lineage_display_as_html_in_a_kernel(tmp_path: Path, kernel_env: str) -> None:
    import nbformat
    from nbclient import NotebookClient

    proj = tmp_path / "nbproj"
    proj.mkdir()
    (proj / "flowyml.toml").write_text("")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in CELLS]
    NotebookClient(nb, timeout=120, kernel_name=kernel_env, allow_errors=True,
                   resources={"metadata": {"path": str(proj)}}).execute()
    first, again, artifact, lineage = (_html(c) for c in nb.cells[1:5])

    for page in (first, again, artifact, lineage):  # escaped, self-contained, no script
        assert "<script" not in page and "<img" not in page
        assert not re.search(r"<[^>]*\b(src|href|on\w+)=", page)  # nothing loaded, no handler
        assert "https://" not in page and "cdn" not in page.lower()

    # a run: every step, executed or reused, with the reason
    rows = _rows(first)
    assert "nbdisplay" in first and "succeeded" in first
    for step in ("load", "square", "train", "report"):
        assert "executed" in rows[step] and "no successful run of this step" in rows[step], rows
    assert "4 of 4 elements executed" in rows["square"]
    assert "model@1" in rows["train"] and "metrics@1" in rows["train"]
    rows = _rows(again)
    assert "reused" in rows["load"] and "code, inputs and parameters unchanged" in rows["load"]
    assert "reused" in rows["square"]
    assert "executed" in rows["train"] and "parameter tag" in rows["train"]
    assert "&lt;img src=x onerror=alert(1)&gt;" in again  # the run value, escaped

    # an artifact: its catalog record and a small preview of its value
    assert "metrics@2" in artifact
    for field in ("content hash", "materializer", "code version", "parents", "created"):
        assert field in artifact
    assert "json" in artifact and "train" in artifact
    assert "&quot;acc&quot;: 0.75" in artifact  # the preview of the stored JSON
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in artifact

    # the lineage: an inline SVG graph of name@version nodes, and the tree as text
    assert "<svg" in lineage and "</svg>" in lineage
    labels = re.findall(r'font-weight="bold"[^>]*>([^<]+)</text>', lineage)
    # (the report's bytes did not change: report@1, whose lineage is its first production's)
    assert sorted(labels) == ["metrics@1", "model@1", "raw@1", "report@1", "squares@1"], labels
    assert lineage.count("<path") >= 2 * 5  # a curve and an arrowhead per edge
    assert ">m</text>" in lineage  # the parameter a renamed input fed
    assert "<details>" in lineage and "report@1" in lineage

    # a plan: as ``flowyml plan`` prints it, not a list of tuples
    (plan,) = [o for o in nb.cells[5].outputs if o.get("output_type") == "execute_result"]
    text = plan["data"]["text/plain"]
    assert "  = load: reuse - " in text and "  + train: run - parameter tag " in text, text
    assert "('load'" not in text
