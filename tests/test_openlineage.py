"""OpenLineage events, received over HTTP by a real server on loopback (and from a
file): START and COMPLETE / FAIL for each step, reused steps said so, the pipeline run
as parent, datasets named by asset with version and content hash; the same events for a
past run (`flowyml lineage export --openlineage`); a down endpoint neither fails nor
slows a run; a run without the setting never imports the client.

Validation: the OpenLineage JSON schema is not shipped with ``openlineage-python``
(nor with any package installed here), so every event is validated with the client's
own model: it is rebuilt from the JSON received with the client's classes (``RunEvent``,
``Run``, ``Job``, datasets, and the standard facets used: ``ParentRunFacet``,
``DatasetVersionDatasetFacet``, ``ErrorMessageRunFacet``, ``JobTypeJobFacet``), whose
constructors check the event type, the run id (a UUID) and the event time (ISO 8601);
and the fields the schema requires are checked explicitly (``_producer`` and
``_schemaURL`` absolute URIs on every facet, ``producer`` and ``schemaURL`` on the event).
"""

from __future__ import annotations

import http.server
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

import flowyml as fm
from flowyml import openlineage
from flowyml.core.errors import ConfigError, StepFailed
from flowyml.runtime.reporting import Reporter
from tests.conftest import ctrl_c_in_flowyml_run, flowyml_cli, run_py, write
from tests.test_executors import failing_among_waiting


# ---------------------------------------------------------------------------- a server
class _Collect(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.events.append((self.path, json.loads(body)))  # type: ignore[attr-defined]
        self.send_response(201)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture
def server() -> Iterator[Any]:
    """An OpenLineage endpoint on loopback that keeps what it receives."""
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Collect)
    srv.events = []  # type: ignore[attr-defined]
    srv.url = f"http://127.0.0.1:{srv.server_address[1]}"  # type: ignore[attr-defined]
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture(autouse=True)
def _fresh(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(openlineage, "_warned", set())
    yield
    openlineage.flush(30)


def _validate(ev: dict[str, Any]) -> None:
    """One event against the client's model (see the module docstring)."""
    from openlineage.client.event_v2 import (
        InputDataset,
        Job,
        OutputDataset,
        Run,
        RunEvent,
        RunState,
    )
    from openlineage.client.facet_v2 import (
        dataset_version_dataset,
        error_message_run,
        job_type_job,
        parent_run,
    )

    def uri(value: str) -> None:
        parsed = urlparse(value)
        assert parsed.scheme in ("http", "https") and parsed.netloc, value

    assert set(ev) >= {"eventType", "eventTime", "run", "job", "producer", "schemaURL"}
    uri(ev["producer"])
    assert ev["schemaURL"].startswith("https://openlineage.io/spec/2-0-2/OpenLineage.json#")
    RunEvent(
        eventType=RunState(ev["eventType"]), eventTime=ev["eventTime"], producer=ev["producer"],
        run=Run(runId=ev["run"]["runId"]),
        job=Job(namespace=ev["job"]["namespace"], name=ev["job"]["name"]),
        inputs=[InputDataset(namespace=d["namespace"], name=d["name"]) for d in ev["inputs"]],
        outputs=[OutputDataset(namespace=d["namespace"], name=d["name"]) for d in ev["outputs"]],
    )
    facets = [*ev["run"]["facets"].items(), *ev["job"].get("facets", {}).items()]
    for d in ev["inputs"] + ev["outputs"]:
        facets += d.get("facets", {}).items()
    for name, f in facets:
        assert isinstance(f, dict), name
        uri(f["_producer"])
        uri(f["_schemaURL"])
    run_facets = ev["run"]["facets"]
    if "parent" in run_facets:
        p = run_facets["parent"]
        parent_run.ParentRunFacet(run=parent_run.Run(runId=p["run"]["runId"]),
                                  job=parent_run.Job(**{k: p["job"][k] for k in ("namespace", "name")}))
    if "errorMessage" in run_facets:
        e = run_facets["errorMessage"]
        error_message_run.ErrorMessageRunFacet(message=e["message"],
                                               programmingLanguage=e["programmingLanguage"])
    jt = ev["job"]["facets"]["jobType"]
    job_type_job.JobTypeJobFacet(processingType=jt["processingType"], integration=jt["integration"],
                                 jobType=jt["jobType"])
    for d in ev["inputs"] + ev["outputs"]:
        if "version" in d.get("facets", {}):
            dataset_version_dataset.DatasetVersionDatasetFacet(
                datasetVersion=d["facets"]["version"]["datasetVersion"])


def _pipe(fail: bool = False) -> fm.Pipeline:
    @fm.step(outputs="raw")
    def load(n: int = 5) -> list[int]:
        return list(range(n))

    @fm.step(outputs="clean")
    def clean(raw: list[int]) -> list[int]:
        if fail:
            raise ValueError("bad rows")
        return [x * 2 for x in raw]

    @fm.step(outputs="model")
    def train(clean: list[int], lr: float = 0.1) -> dict[str, float]:
        return {"w": sum(clean) * lr}

    return fm.Pipeline("shop", [load, clean, train])


def _by_job(events: list[dict[str, Any]], run: fm.Run) -> dict[str, list[dict[str, Any]]]:
    """The events of ``run``: job name -> its events, in the order received."""
    pipeline_id = openlineage.run_uuid(run.id)
    out: dict[str, list[dict[str, Any]]] = {}
    for ev in events:
        parent = ev["run"]["facets"].get("parent", {}).get("run", {}).get("runId")
        if pipeline_id in (ev["run"]["runId"], parent):
            out.setdefault(ev["job"]["name"], []).append(ev)
    return out


def _received(server: Any, n: int, timeout: float = 30) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while len(server.events) < n and time.monotonic() < deadline:
        time.sleep(0.05)
    assert {path for path, _ in server.events} <= {"/api/v1/lineage"}
    return [ev for _, ev in server.events]


# ---------------------------------------------------------------------------- tests
def test_a_run_sends_each_steps_events_over_http(project: Path, server: Any) -> None:
    st = fm.Stack(root=str(project), openlineage_url=server.url)
    first = _pipe().run(stack=st)
    second = _pipe().run(params={"lr": 0.2}, stack=st)
    assert openlineage.flush(30)
    events = _received(server, 16)
    assert len(events) == 16  # per run: the pipeline's 2, and 2 for each of 3 steps
    for ev in events:
        _validate(ev)

    jobs = _by_job(events, first)
    assert set(jobs) == {"shop", "load", "clean", "train"}
    assert [e["eventType"] for e in jobs["shop"]] == ["START", "COMPLETE"]
    assert jobs["shop"][0]["job"]["facets"]["jobType"]["jobType"] == "PIPELINE"
    for step in ("load", "clean", "train"):
        start, end = jobs[step]
        assert (start["eventType"], end["eventType"]) == ("START", "COMPLETE")
        assert start["job"]["namespace"] == end["job"]["namespace"] == "flowyml/shop"
        assert start["run"]["runId"] == end["run"]["runId"] == openlineage.run_uuid(first.id, step)
        parent = end["run"]["facets"]["parent"]
        assert parent["run"]["runId"] == openlineage.run_uuid(first.id)
        assert (parent["job"]["namespace"], parent["job"]["name"]) == ("flowyml/shop", "shop")
        assert end["run"]["facets"]["flowyml"]["status"] == "executed"
        assert end["run"]["facets"]["flowyml"]["flowymlRunId"] == first.id
    train_end = jobs["train"][1]
    model = first.artifacts["model"]
    (out,) = train_end["outputs"]
    assert out["name"] == "model" and out["namespace"] == f"file://{st.resolve().store}"
    assert out["facets"]["version"]["datasetVersion"] == "1"
    assert out["facets"]["flowyml_artifact"]["contentHash"] == model.content_hash
    assert out["facets"]["flowyml_artifact"]["artifactId"] == model.id
    assert [(d["name"], d["facets"]["version"]["datasetVersion"]) for d in train_end["inputs"]] \
        == [("clean", "1")]
    assert [d["name"] for d in jobs["train"][0]["outputs"]] == ["model"], "declared at START"

    again = _by_job(events, second)
    for step in ("load", "clean"):  # reused: START and COMPLETE, said so, with the artifacts
        start, end = again[step]
        assert (start["eventType"], end["eventType"]) == ("START", "COMPLETE")
        assert end["run"]["facets"]["flowyml"]["status"] == "reused"
        assert "reused" in end["run"]["facets"]["flowyml"]["reason"]
        assert [d["facets"]["version"]["datasetVersion"] for d in end["outputs"]] == ["1"]
    assert again["train"][1]["outputs"][0]["facets"]["version"]["datasetVersion"] == "2"


def test_a_failed_step_sends_fail(project: Path, server: Any) -> None:
    st = fm.Stack(root=str(project), openlineage_url=server.url)
    with pytest.raises(StepFailed) as err:
        _pipe(fail=True).run(stack=st)
    run = err.value.run  # type: ignore[attr-defined]
    assert openlineage.flush(30)
    events = _received(server, 6)
    for ev in events:
        _validate(ev)
    jobs = _by_job(events, run)
    assert [e["eventType"] for e in jobs["clean"]] == ["START", "FAIL"]
    assert "bad rows" in jobs["clean"][1]["run"]["facets"]["errorMessage"]["message"]
    assert [e["eventType"] for e in jobs["shop"]] == ["START", "FAIL"]
    assert "train" not in jobs, "a step never reached sends nothing"


def test_export_sends_the_same_events_for_a_past_run(project: Path, server: Any) -> None:
    st = fm.Stack(root=str(project), openlineage_url=server.url)
    _pipe().run(stack=st)
    run = _pipe().run(params={"lr": 0.3}, stack=st)
    assert openlineage.flush(30)
    live = _by_job(_received(server, 16), run)
    server.events.clear()
    res = flowyml_cli(project, "lineage", "export", "--openlineage", run.id, "--url", server.url)
    assert res.returncode == 0, res.stderr
    assert "sent 8 OpenLineage event(s)" in res.stdout
    exported = _by_job(_received(server, 8), run)
    for ev in [e for evs in exported.values() for e in evs]:
        _validate(ev)

    def shape(jobs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
        def ds(d: dict[str, Any]) -> tuple[str, Any]:
            return d["name"], d.get("facets", {}).get("flowyml_artifact", {}).get("contentHash")

        return {job: [(e["eventType"], e["run"]["runId"], e["run"]["facets"]["flowyml"]["status"]
                       if e["eventType"] != "START" or job != "shop" else "",
                       [ds(d) for d in e["inputs"]], [ds(d) for d in e["outputs"]]) for e in evs]
                for job, evs in jobs.items()}

    assert shape(exported) == shape(live)
    bad = flowyml_cli(project, "lineage", "export", "--openlineage", "no-such-run", "--url",
                      server.url)
    assert bad.returncode == 1 and "no run 'no-such-run'" in bad.stderr


def test_the_environment_and_a_jsonl_file(project: Path) -> None:
    """``FLOWYML_OPENLINEAGE_URL=file://...`` from the command line: the events are in the
    file when the process has exited (it waits for them, briefly)."""
    write(project / "pipe.py", """
        import flowyml as fm

        @fm.step(outputs="raw")
        def load(n: int = 3):
            return list(range(n))

        @fm.step(outputs="total")
        def total(raw):
            return sum(raw)

        pipe = fm.Pipeline("files", [load, total])
    """)
    res = flowyml_cli(project, "run", "pipe.py", "-q",
                      env={"FLOWYML_OPENLINEAGE_URL": "file://lineage/events.jsonl"})
    assert res.returncode == 0, res.stderr
    lines = (project / "lineage" / "events.jsonl").read_text().splitlines()
    events = [json.loads(line) for line in lines]
    for ev in events:
        _validate(ev)
    assert [(e["job"]["name"], e["eventType"]) for e in events] == [
        ("files", "START"), ("load", "START"), ("load", "COMPLETE"), ("total", "START"),
        ("total", "COMPLETE"), ("files", "COMPLETE"),
    ]


def test_the_stack_setting_and_a_bad_one(project: Path) -> None:
    write(project / "flowyml.toml", """
        [stacks.default]
        openlineage_url = "file://from-the-stack.jsonl"
    """)
    assert fm.Stack().resolve().openlineage_url == "file://from-the-stack.jsonl"
    _pipe().run()
    assert openlineage.flush(30)
    assert len((project / "from-the-stack.jsonl").read_text().splitlines()) == 8
    with pytest.raises(ConfigError, match="openlineage_url 'ftp://x' is not supported"):
        _pipe().run(stack=fm.Stack(root=str(project), openlineage_url="ftp://x"))


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


@pytest.mark.parametrize("kind", ["refused", "silent"])
def test_a_down_endpoint_never_fails_or_slows_a_run(
    project: Path, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    silent = socket.socket()  # accepts connections and never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    port = _closed_port() if kind == "refused" else silent.getsockname()[1]
    st = fm.Stack(root=str(project), openlineage_url=f"http://127.0.0.1:{port}")
    plain = fm.Stack(root=str(project))
    _pipe().run(params={"lr": 9.0}, stack=plain)  # warm up: imports, the catalog
    caplog.set_level(logging.WARNING, logger="flowyml.openlineage")
    try:
        t0 = time.monotonic()
        first = _pipe().run(params={"lr": 0.5}, stack=st)
        second = _pipe().run(params={"lr": 0.6}, stack=st)
        took = time.monotonic() - t0
        assert first.status == second.status == "succeeded"
        assert took < 2.0, f"two runs took {took:.2f} s"
        t1 = time.monotonic()
        assert openlineage.flush(30)
        assert time.monotonic() - t1 < openlineage.TIMEOUT_SECONDS * 2 + 5, "bounded"
    finally:
        silent.close()
    warned = [r for r in caplog.records if r.name == "flowyml.openlineage"]
    assert len(warned) == 1, [r.getMessage() for r in warned]
    assert f"127.0.0.1:{port}" in warned[0].getMessage() and "not sent" in warned[0].getMessage()


def test_a_run_without_a_setting_never_imports_the_client(project: Path) -> None:
    # (that `import flowyml` imports none of it is test_api.py::test_import_is_light)
    out = run_py(project, """
        import sys
        import flowyml as fm

        @fm.step(outputs="x")
        def one():
            return 1

        fm.Pipeline("light", [one]).run()
        print(sorted(m for m in sys.modules if m.startswith("openlineage")))
    """, env={"FLOWYML_ROOT": str(project)})
    assert out.strip() == "[]", "without a setting the client is never imported"


@pytest.mark.skipif(not hasattr(Reporter, "run_started"),
                    reason="the runtime does not announce the run id to reporters yet")
def test_events_stream_while_the_run_goes_on(
    project: Path, server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(openlineage, "STREAM_AFTER_SECONDS", 0.0)
    seen: list[bool] = []

    @fm.step(outputs="a")
    def first() -> int:
        return 1

    @fm.step(outputs="b")
    def second(a: int) -> int:  # waits until the server has first's COMPLETE
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if any(e["job"]["name"] == "first" and e["eventType"] == "COMPLETE"
                   for _, e in server.events):
                seen.append(True)
                break
            time.sleep(0.05)
        return a + 1

    st = fm.Stack(root=str(project), openlineage_url=server.url)
    fm.Pipeline("stream", [first, second]).run(stack=st)
    assert seen == [True]


def test_export_without_the_client_says_what_to_install(project: Path) -> None:
    """Without ``flowyml-core[openlineage]``, export names the extra to install instead
    of ending in a traceback (a run with an endpoint already just warns)."""
    write(project / "pipe.py", """
        import flowyml as fm

        @fm.step(outputs="raw")
        def load() -> int:
            return 1

        pipe = fm.Pipeline("ol", [load])
    """)
    assert flowyml_cli(project, "run", "pipe.py", "--quiet").returncode == 0
    run_id = fm.Catalog(fm.Stack(root=str(project))).get("raw").run_id
    blocker = project / "no_openlineage"
    write(blocker / "sitecustomize.py", """
        import sys
        sys.modules["openlineage"] = None  # as if the extra were not installed
    """)
    res = flowyml_cli(project, "lineage", "export", "--openlineage", run_id, "--url",
                      "file://events.jsonl",
                      env={"PYTHONPATH": os.pathsep.join(filter(None, (
                          str(blocker), os.environ.get("PYTHONPATH"))))})
    assert res.returncode == 1, res.stderr
    assert "pip install 'flowyml-core[openlineage]'" in res.stderr
    assert "Traceback" not in res.stderr


@pytest.mark.timeout(120)
def test_ctrl_c_sends_abort_for_the_stopped_step_and_the_run(project: Path) -> None:
    """A run stopped by Ctrl-C is not left running in the lineage backend: the step
    that was running and the pipeline's run each end with ABORT (a reused or finished
    step keeps its COMPLETE)."""
    returncode, _ = ctrl_c_in_flowyml_run(project, "stopped",
                                          {"FLOWYML_OPENLINEAGE_URL": "file://events.jsonl"})
    assert returncode == 130
    events = [json.loads(line) for line in (project / "events.jsonl").read_text().splitlines()]
    for ev in events:
        _validate(ev)
    assert [(e["job"]["name"], e["eventType"]) for e in events] == [
        ("stopped", "START"), ("first", "START"), ("first", "COMPLETE"), ("slow", "START"),
        ("slow", "ABORT"), ("stopped", "ABORT"),
    ]
    assert events[-1]["run"]["facets"]["errorMessage"]["message"] == (
        "run interrupted (KeyboardInterrupt)")


def test_a_step_that_never_started_sends_no_start(project: Path, server: Any) -> None:
    """On processes:2 steps wait for a worker after they are handed over; a failure
    stops those before they start. A step's START is sent when a worker takes it, so
    every START has its end (COMPLETE or FAIL), and a step that never started sends
    nothing: the backend is not left with a job run that never ends."""

    st = fm.Stack(root=str(project), openlineage_url=server.url)
    with pytest.raises(StepFailed) as err:
        fm.Pipeline("stops", failing_among_waiting()).run(stack=st, executor="processes:2")
    run = err.value.run  # type: ignore[attr-defined]
    assert openlineage.flush(30)
    jobs = _by_job(_received(server, 2), run)
    never = [n for n, s in run.steps.items() if s.status == "not reached"]
    assert never  # (steps were waiting for a worker when bad failed)
    for name in never:
        assert name not in jobs, jobs[name]
    for name, evs in jobs.items():
        assert [e["eventType"] for e in evs] in (["START", "COMPLETE"], ["START", "FAIL"]), name
