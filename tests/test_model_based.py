"""Model-based test: random sequences against the store and catalog, checked against a dict."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

import flowyml as fm
from flowyml.cli.maintenance import collect_garbage
from flowyml.core.hashing import hash_file
from flowyml.stack import clear_opened

ASSETS = ["alpha", "beta"]
VALUES = [[1], [2, 2], {"k": 3}, "four", [5.5]]


def _pipeline(asset: str, value: Any) -> fm.Pipeline:
    @fm.step(outputs=asset, name=f"make_{asset}")
    def make(v: Any = None) -> Any:
        return v

    return fm.Pipeline(f"p_{asset}", [make])


class StoreCatalogMachine(RuleBasedStateMachine):
    """Model: asset -> list of values by version, plus which objects were damaged."""

    @initialize()
    def setup(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="flowyml-mbt-"))
        # a model of the store: every object in it, tiny ones too (the catalog keeps
        # those by default; damaging catalog rows is test_debugging's)
        (self.dir / "flowyml.toml").write_text("[stacks.default]\ninline_max = 0\n")
        self.old_cwd = os.getcwd()
        os.chdir(self.dir)
        self.old_root = os.environ.get("FLOWYML_ROOT")
        os.environ["FLOWYML_ROOT"] = str(self.dir)
        clear_opened()
        self.stack = fm.Stack().resolve()
        self.versions: dict[str, list[Any]] = {a: [] for a in ASSETS}
        self.damaged: dict[str, str] = {}  # content hash -> "missing" | "corrupt"

    def teardown(self) -> None:
        os.chdir(self.old_cwd)
        if self.old_root is None:
            os.environ.pop("FLOWYML_ROOT", None)
        else:
            os.environ["FLOWYML_ROOT"] = self.old_root
        clear_opened()
        shutil.rmtree(self.dir, ignore_errors=True)  # one per hypothesis example

    def _object(self, digest: str) -> Path:
        return self.dir / ".flowyml" / "objects" / digest[:2] / digest

    @rule(asset=st.sampled_from(ASSETS), value=st.sampled_from(VALUES))
    def run(self, asset: str, value: Any) -> None:
        self._check(asset, value, _pipeline(asset, value).run(params={"v": value}))

    @rule(a=st.sampled_from(VALUES), b=st.sampled_from(VALUES))
    def concurrent_runs(self, a: Any, b: Any) -> None:
        """Both assets' pipelines at the same time, in two threads of this process."""
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(2) as pool:
            fa = pool.submit(_pipeline("alpha", a).run, params={"v": a})
            fb = pool.submit(_pipeline("beta", b).run, params={"v": b})
            runs = fa.result(), fb.result()
        self._check("alpha", a, runs[0])
        self._check("beta", b, runs[1])

    def _check(self, asset: str, value: Any, run: Any) -> None:
        art = run.artifacts[asset]
        known = self.versions[asset]
        if value in known:
            assert art.version == known.index(value) + 1
        else:
            known.append(value)
            assert art.version == len(known)
        state = self.damaged.get(art.content_hash)
        if state == "corrupt" and run.steps[f"make_{asset}"].cached:
            # reuse is decided from hashes without reading bytes; the load catches it
            try:
                art.load()
            except fm.CorruptArtifactError:
                art = _pipeline(asset, value).run(params={"v": value}, force=True).artifacts[asset]
            else:  # only possible if a concurrent writer of the same bytes repaired it
                assert hash_file(self._object(art.content_hash)) == art.content_hash
        # an executed step rewrote (so repaired) its object; a missing object is noticed
        # by the real existence check, so the step re-executed
        self.damaged.pop(art.content_hash, None)
        assert fm.Catalog(self.stack).get(asset, art.version).load() == value

    @rule(asset=st.sampled_from(ASSETS), data=st.data())
    def get(self, asset: str, data: st.DataObject) -> None:
        known = self.versions[asset]
        if not known:
            try:
                fm.Catalog(self.stack).get(asset)
            except fm.ArtifactNotFoundError:
                return
            raise AssertionError("found an asset that was never produced")
        version = data.draw(st.integers(1, len(known)))
        art = fm.Catalog(self.stack).get(asset, version)
        state = self.damaged.get(art.content_hash)
        try:
            value = art.load()
        except fm.ArtifactNotFoundError:
            assert state == "missing"
            return
        except fm.CorruptArtifactError:
            assert state == "corrupt"
            return
        assert state is None and value == known[version - 1]

    @rule(asset=st.sampled_from(ASSETS), data=st.data(), corrupt=st.booleans())
    def damage_behind_its_back(self, asset: str, data: st.DataObject, corrupt: bool) -> None:
        known = self.versions[asset]
        if not known:
            return
        art = fm.Catalog(self.stack).get(asset, data.draw(st.integers(1, len(known))))
        path = self._object(art.content_hash)
        if art.content_hash in self.damaged:
            return
        if corrupt:
            raw = bytearray(path.read_bytes())
            raw[0] ^= 0x55
            path.write_bytes(bytes(raw))
            self.damaged[art.content_hash] = "corrupt"
        else:
            path.unlink()
            self.damaged[art.content_hash] = "missing"

    @rule()
    def gc(self) -> None:
        collect_garbage(self.stack, grace_seconds=0)

    @invariant()
    def referenced_objects_are_kept(self) -> None:
        if not hasattr(self, "stack"):
            return
        for digest in self.stack.open_catalog().referenced_hashes():
            if digest not in self.damaged:
                assert self._object(digest).is_file()


TestStoreCatalog = StoreCatalogMachine.TestCase
TestStoreCatalog.settings = settings(
    max_examples=25, stateful_step_count=20, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
