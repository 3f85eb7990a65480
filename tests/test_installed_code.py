"""Code a step calls from an installed distribution counts by what was installed.

A library from an index counts by its version. A package of the user's installed
from a folder or a git URL (``pip install .``, ``pip install git+...@main``) is often
re-installed after an edit at the same version: it counts by the files it installed
too (pip's ``direct_url.json`` says how it was installed, its ``RECORD`` what). Each
run is a fresh process, as a re-install needs one.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

from tests.conftest import run_py, write

PIPE = """
    import flowyml as fm
    from mylib import scale


    @fm.step(outputs="y")
    def f(n: int = 4):
        return [scale(i) for i in range(n)]


    pipe = fm.Pipeline("installed", [f])
"""

RUN = """
    import pipe
    r = pipe.pipe.run()
    print(r.steps["f"].cached, r["y"])
"""


def _install(site: Path, factor: int, *, direct: bool, hashes: bool = True) -> None:
    """Put ``mylib`` 0.1.0 into ``site`` as pip leaves it (``direct``: from a folder)."""
    code = f"def scale(x):\n    return x * {factor}\n".encode()
    pkg = site / "mylib"
    pkg.mkdir(parents=True, exist_ok=True)
    (pkg / "__init__.py").write_bytes(code)
    info = site / "mylib-0.1.0.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: mylib\nVersion: 0.1.0\n")
    digest = base64.urlsafe_b64encode(hashlib.sha256(code).digest()).rstrip(b"=").decode()
    entry = f"mylib/__init__.py,sha256={digest},{len(code)}" if hashes else "mylib/__init__.py,,"
    (info / "RECORD").write_text(f"{entry}\nmylib-0.1.0.dist-info/METADATA,,\n")
    (info / "direct_url.json").unlink(missing_ok=True)
    if direct:
        (info / "direct_url.json").write_text('{"url": "file:///src/mylib", "dir_info": {}}')


def _run(project: Path, site: Path) -> str:
    return run_py(project, RUN, env={"PYTHONPATH": str(site)}).strip().splitlines()[-1]


def test_a_package_reinstalled_from_a_folder_at_the_same_version_re_executes(
        tmp_path: Path) -> None:
    site, project = tmp_path / "env" / "site-packages", tmp_path / "proj"
    write(project / "pipe.py", PIPE)
    (project / "flowyml.toml").write_text("")
    _install(site, 2, direct=True)
    assert _run(project, site) == "False [0, 2, 4, 6]"
    assert _run(project, site) == "True [0, 2, 4, 6]"  # the same install: reused
    _install(site, 3, direct=True)  # edited, re-installed, still 0.1.0
    assert _run(project, site) == "False [0, 3, 6, 9]"
    assert _run(project, site) == "True [0, 3, 6, 9]"
    _install(site, 5, direct=True, hashes=False)  # a RECORD without hashes: its files
    assert _run(project, site) == "False [0, 5, 10, 15]"
    assert _run(project, site) == "True [0, 5, 10, 15]"


def test_a_library_from_an_index_counts_by_its_version(tmp_path: Path) -> None:
    """No ``direct_url.json``: what an index serves under a version does not change,
    so a re-install of the same version is the same code (nothing is hashed)."""
    site, project = tmp_path / "env" / "site-packages", tmp_path / "proj"
    write(project / "pipe.py", PIPE)
    (project / "flowyml.toml").write_text("")
    _install(site, 2, direct=False)
    assert _run(project, site) == "False [0, 2, 4, 6]"
    _install(site, 2, direct=False)
    assert _run(project, site) == "True [0, 2, 4, 6]"


def _dist(site: Path, name: str, version: str) -> None:
    """Distribution ``nsx-<name>`` filling the namespace package ``nsx`` (as
    ``google-cloud-storage`` and ``protobuf`` fill ``google``)."""
    pkg = site / "nsx" / name
    pkg.mkdir(parents=True, exist_ok=True)
    (pkg / "__init__.py").write_text("def scale(x):\n    return x * 2\n")
    info = site / f"nsx_{name}.dist-info"  # (one name: the order it is found in stays)
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: nsx-{name}\nVersion: {version}\n")
    (info / "RECORD").write_text(f"nsx/{name}/__init__.py,,\n")
    (info / "top_level.txt").write_text("nsx\n")


def test_a_namespace_package_counts_by_every_distribution_in_it(tmp_path: Path) -> None:
    """Either distribution's upgrade re-executes: only one of them, the first found,
    was counted (and which provides ``nsx.b`` is not known from the name)."""
    site, project = tmp_path / "env" / "site-packages", tmp_path / "proj"
    write(project / "pipe.py", PIPE.replace("from mylib import scale", "from nsx.b import scale"))
    (project / "flowyml.toml").write_text("")
    _dist(site, "a", "1.0")
    _dist(site, "b", "2.0")
    assert _run(project, site) == "False [0, 2, 4, 6]"
    assert _run(project, site) == "True [0, 2, 4, 6]"
    _dist(site, "b", "2.1")
    assert _run(project, site) == "False [0, 2, 4, 6]"
    _dist(site, "a", "1.1")
    assert _run(project, site) == "False [0, 2, 4, 6]"
    assert _run(project, site) == "True [0, 2, 4, 6]"
