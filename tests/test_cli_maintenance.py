"""Store maintenance (``cli/maintenance.py``) under load: gc with no grace period,
racing writers that keep leaving garbage and re-adopting it, never leaves a reference
to a missing object."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import flowyml as fm
from tests._helpers_stores import _check_store_and_catalog


@pytest.mark.usefixtures("objects_in_store")
@pytest.mark.timeout(200)
def test_gc_with_zero_grace_is_safe_under_concurrent_writers(project: Path) -> None:
    """A 60-second soak: gc with no grace period against two writers that keep leaving
    garbage and re-adopting it; never a reference to a missing object."""
    code = textwrap.dedent("""
        import sys, time
        import flowyml as fm
        from flowyml.objects import store_value
        w = int(sys.argv[1])

        @fm.step(outputs=f"data{w}")
        def make(i: int = 0):
            return [w, 50 + (i * 3) % 50]

        pipe = fm.Pipeline(f"soak{w}", [make])
        store = fm.Stack().resolve().open_store()
        end = time.time() + float(sys.argv[2])
        i = 0
        while time.time() < end:
            # garbage: stored, never recorded; later runs produce the same bytes
            store_value(store, "garbage", [w, 50 + (i * 7) % 1000])
            assert pipe.run(params={"i": i}, force=(i % 2 == 0)).status == "succeeded"
            i += 1
        print(i)
    """)
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(w), "60"],
            cwd=project,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(2)
    ]
    from flowyml.cli.maintenance import collect_garbage

    st = fm.Stack().resolve()
    deleted = 0
    while any(p.poll() is None for p in writers):
        deleted += len(collect_garbage(st, grace_seconds=0).deleted)
        referenced = st.open_catalog().referenced_hashes()  # first: later ones may be new
        stored = {o.digest for o in st.open_store().iter_objects()}
        missing = referenced - stored
        assert not missing, f"references to missing objects: {missing}"
        time.sleep(0.02)
    for p in writers:
        out, err = p.communicate()
        assert p.returncode == 0, err
        assert int(out) > 20
    assert deleted > 0  # gc really had garbage to collect
    _check_store_and_catalog(project)


def test_a_negative_grace_period_is_refused(project: Path) -> None:
    """A negative grace puts gc's cutoff in the future: an object a run stored a moment
    ago, not yet recorded, would be taken for garbage. Refused, on the command line and
    from a stack's settings."""
    from flowyml.cli.maintenance import collect_garbage
    from tests.conftest import flowyml_cli

    with pytest.raises(fm.FlowymlError, match="0 seconds or more"):
        collect_garbage(fm.Stack(gc_grace_seconds=-60).resolve())
    res = flowyml_cli(project, "gc", "--grace", "-5")
    assert res.returncode == 2 and "--grace" in res.stderr
