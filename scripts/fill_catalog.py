#!/usr/bin/env python
"""Fill a FlowyML catalog with a large, realistic history, by bulk insert.

    .venv/bin/python scripts/fill_catalog.py .flowyml/catalog.db            # 1M artifacts
    .venv/bin/python scripts/fill_catalog.py postgresql+psycopg://u:pw@host/db \\
        --artifacts 20000 --runs 2000 --seed 1

The catalog (a SQLite path or any catalog URL) is opened with ``SqlCatalog``, so its
schema is the real one, created or upgraded by the real migrations; then the rows of a
simulated history are written in chunks of runs, one transaction per chunk:
``executemany`` on SQLite, ``COPY`` on PostgreSQL. Existing rows are left alone (run it
on an empty catalog: artifact versions start at 1).

The history, in time order over the past year:

- ETL pipelines (``<domain>.<asset>`` assets, 6-24 steps: chains with a side branch,
  some steps with two outputs, some reading another pipeline's asset through a catalog
  reference). A run re-executes from some step on (new versions, lineage edges, cache
  entries) and reuses everything upstream (``cached`` step records, ``reused`` uses);
  about 2% of runs fail at a step (a ``failed`` step record, a failed run).
- ``deep``: a chain of 60 steps, so ``deep.a59`` has lineage 59 levels deep and
  ``deep.a50`` exactly 50.
- ``cont``: continual training; each run's ``cont.model`` is trained from the previous
  run's model and a new ``cont.batch``, so the latest model has ``2 * runs - 1``
  ancestors (5,001 at full scale).
- aliases (``prod``, ``staging``) on every model-like asset.

The number of re-executed steps per run is steered so the totals land on
``--artifacts`` and ``--runs``. The last line printed is a JSON report: counts, seconds,
and ``probes`` (names, versions and ids the benchmark looks up).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flowyml.catalog import dbapi
from flowyml.catalog.migrations import refresh_latest
from flowyml.catalog.records import artifact_id
from flowyml.catalog.sql import SqlCatalog

DOMAINS = ["sales", "churn", "fraud", "pricing", "search", "ads", "risk", "supply",
           "support", "forecast", "ranking", "vision", "speech", "credit", "inventory",
           "growth", "retention", "payments", "logistics", "marketing"]
REGIONS = ["eu", "us", "apac"]
ASSETS = ["raw_events", "raw_users", "validated", "joined", "clean_data", "sessions",
          "features", "feature_stats", "train_set", "test_set", "embeddings", "model",
          "calibrated_model", "metrics", "thresholds", "predictions", "scores",
          "report", "drift", "explanations", "index", "dashboard", "export", "summary"]
KINDS = {  # materializer, type name, meta maker
    "frame": ("pandas-arrow", "pandas.DataFrame"),
    "array": ("numpy", "numpy.ndarray"),
    "dict": ("json", "builtins.dict"),
    "model": ("pickle", "sklearn.linear_model._logistic.LogisticRegression"),
}
CHUNK_RUNS = 5000  # runs per transaction
DEEP_STEPS = 60
HOSTS = [f"worker-{i}" for i in range(8)]
TABLES = {  # table -> columns, in the order the rows are built
    "runs": ("id", "pipeline", "status", "started_at", "finished_at", "error", "params",
             "stats", "host", "pid", "heartbeat", "stack"),
    "step_runs": ("run_id", "pipeline", "step", "status", "cache_key", "reason",
                  "code_version", "started_at", "duration", "fingerprint", "inputs", "vals",
                  "outputs", "error", "attempts"),
    "artifacts": ("id", "name", "version", "content_hash", "size", "materializer",
                  "type_name", "meta", "run_id", "step", "code_version", "created_at"),
    "lineage_edges": ("child_id", "parent_id", "param"),
    "artifact_uses": ("artifact_id", "run_id", "step", "role"),
    "cache_entries": ("cache_key", "step", "outputs", "run_id", "created_at"),
    "aliases": ("name", "alias", "version", "updated_at"),
}


# ---------------------------------------------------------------- shapes
@dataclass
class StepShape:
    name: str
    inputs: dict[str, str]  # param -> asset
    outputs: list[str]


@dataclass
class PipelineShape:
    name: str
    steps: list[StepShape]
    graph: dict[str, list[str]] = field(default_factory=dict)  # step -> upstream steps

    def __post_init__(self) -> None:
        producer = {o: s.name for s in self.steps for o in s.outputs}
        self.graph = {
            s.name: sorted({producer[a] for a in s.inputs.values() if a in producer})
            for s in self.steps
        }
        self.n_outputs = sum(len(s.outputs) for s in self.steps)
        # outputs made when the run re-executes from step k on
        self.tail = [sum(len(s.outputs) for s in self.steps[k:]) for k in range(len(self.steps))]


def etl_pipeline(rng: random.Random, name: str, shared: list[str]) -> PipelineShape:
    """A chain with skip connections, some two-output steps, maybe a catalog reference."""
    names = ASSETS[:]
    rng.shuffle(names)
    steps: list[StepShape] = []
    made: list[str] = []

    def new_asset() -> str:
        j = len(made)
        made.append(f"{name}.{names[j % len(names)]}{j // len(names) or ''}")
        return made[-1]

    for i in range(rng.randint(6, 24)):
        inputs: dict[str, str] = {}
        if made:
            inputs[_param(made[-1])] = made[-1]
            if len(made) > 3 and rng.random() < 0.3:  # a skip connection
                extra = rng.choice(made[:-1])
                inputs.setdefault(_param(extra), extra)
        elif shared and rng.random() < 0.5:  # another pipeline's asset, from the catalog
            ref = rng.choice(shared)
            inputs[_param(ref)] = ref + "@latest"
        outs = [new_asset()]
        if rng.random() < 0.15:
            outs.append(new_asset())
        steps.append(StepShape(f"{_param(outs[0])}_{i}", inputs, outs))
    return PipelineShape(name, steps)


def deep_pipeline() -> PipelineShape:
    steps = [StepShape("s00", {}, ["deep.a00"])]
    for i in range(1, DEEP_STEPS):
        steps.append(StepShape(f"s{i:02d}", {f"a{i - 1:02d}": f"deep.a{i - 1:02d}"},
                               [f"deep.a{i:02d}"]))
    return PipelineShape("deep", steps)


def continual_pipeline() -> PipelineShape:
    return PipelineShape("cont", [
        StepShape("load_batch", {}, ["cont.batch"]),
        StepShape("finetune", {"prev": "cont.model@latest", "batch": "cont.batch"},
                  ["cont.model"]),
        StepShape("evaluate", {"model": "cont.model"}, ["cont.metrics"]),
    ])


def _param(asset: str) -> str:
    return asset.rsplit(".", 1)[-1]


# ---------------------------------------------------------------- simulation
@dataclass
class _Asset:
    version: int = 0
    latest: str = ""  # artifact id of the newest version
    hash: str = ""


@dataclass
class _Done:
    """A step's last execution: what a cached step reuses."""

    cache_key: str
    outputs: dict[str, str]
    run_id: str
    code: str
    fingerprint: str
    inputs: str


class History:
    """The rows of a simulated history, buffered per table until ``take``."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.rows: dict[str, list[tuple[Any, ...]]] = {t: [] for t in TABLES}
        self.assets: dict[str, _Asset] = {}
        self.done: dict[tuple[str, str], _Done] = {}
        self.counts = dict.fromkeys(TABLES, 0)
        self._meta: dict[str, tuple[str, str, str]] = {}
        self._graphs: dict[str, str] = {}

    def take(self) -> dict[str, list[tuple[Any, ...]]]:
        rows, self.rows = self.rows, {t: [] for t in TABLES}
        for t, lst in rows.items():
            self.counts[t] += len(lst)
        return rows

    def _hex(self, n: int) -> str:
        return self.rng.randbytes(n).hex()

    def run(self, pipe: PipelineShape, start: int, fail_at: int | None, t: float) -> int:
        """One run that reuses the steps before ``start``; returns the artifacts made."""
        run_id = time.strftime("%Y%m%d-%H%M%S", time.gmtime(t)) + "-" + self._hex(6)
        clock, made, error = t, 0, None
        for k, step in enumerate(pipe.steps):
            prev = self.done.get((pipe.name, step.name))
            if k < start and prev is not None:
                self._reused(pipe, step, prev, run_id, clock)
                clock += 0.002
            elif k == fail_at:
                error = f"step {step.name} failed: ValueError: input has no rows"
                self._step_row(pipe, step, run_id, clock, "failed", self._hex(32),
                               "executed: input changed", prev, {}, error)
                break
            else:
                made += self._executed(pipe, step, prev, run_id, clock)
                clock += self.rng.uniform(0.05, 30.0)
        if pipe.name not in self._graphs:
            self._graphs[pipe.name] = json.dumps(pipe.graph, sort_keys=True)
        written = self.rng.randint(0, 1 << 24) if made else 0
        stats = (f'{{"graph": {self._graphs[pipe.name]}, "io": {{"cache_bytes_read": 0, '
                 f'"store_bytes_read": {written // 2}, "store_bytes_written": {written}}}}}')
        self.rows["runs"].append((
            run_id, pipe.name, "failed" if error else "succeeded", t, clock, error,
            json.dumps({"lr": round(self.rng.choice((0.01, 0.05, 0.1, 0.2)), 2)}), stats,
            self.rng.choice(HOSTS), self.rng.randint(1000, 60000), clock, "default",
        ))
        return made

    def _executed(self, pipe: PipelineShape, step: StepShape, prev: _Done | None,
                  run_id: str, t: float) -> int:
        parents: dict[str, str] = {}
        hashes: dict[str, str] = {}
        for param, ref in step.inputs.items():
            a = self.assets.get(ref.partition("@")[0])
            if a is not None:  # (the first continual run has no previous model)
                parents[param], hashes[param] = a.latest, a.hash
        code = prev.code if prev and self.rng.random() < 0.9 else self._hex(6)
        outs: dict[str, str] = {}
        for name in step.outputs:
            a = self.assets.setdefault(name, _Asset())
            a.version, a.hash = a.version + 1, self._hex(32)
            a.latest = outs[name] = artifact_id(name, a.hash)
            mat, typ, meta = self._kind(name)
            self.rows["artifacts"].append((
                a.latest, name, a.version, a.hash, self.rng.randint(100, 50_000_000), mat,
                typ, meta, run_id, step.name, code, t,
            ))
            self.rows["lineage_edges"].extend((a.latest, p, param) for param, p in
                                              sorted(parents.items()))
            self.rows["artifact_uses"].append((a.latest, run_id, step.name, "produced"))
        key = self._hex(32)
        self.rows["cache_entries"].append((key, step.name, _dumps(outs), run_id, t))
        why = "no previous execution" if prev is None else (
            "code of the step changed" if code != prev.code else
            f"input {next(iter(step.inputs), 'value')} changed")
        self._step_row(pipe, step, run_id, t, "executed", key, f"executed: {why}", prev,
                       outs, None, code, _dumps(hashes))
        return len(outs)

    def _reused(self, pipe: PipelineShape, step: StepShape, prev: _Done, run_id: str,
                t: float) -> None:
        self.rows["artifact_uses"].extend((a, run_id, step.name, "reused")
                                          for a in prev.outputs.values())
        self.rows["step_runs"].append((
            run_id, pipe.name, step.name, "cached", prev.cache_key,
            "reused: code, inputs and parameters unchanged "
            f"(outputs from run {prev.run_id})",
            prev.code, t, 0.0, prev.fingerprint, prev.inputs, "{}",
            _dumps(prev.outputs), None, 1,
        ))

    def _step_row(self, pipe: PipelineShape, step: StepShape, run_id: str, t: float,
                  status: str, key: str, reason: str, prev: _Done | None,
                  outs: dict[str, str], error: str | None, code: str | None = None,
                  inputs: str = "{}") -> None:
        code = code or (prev.code if prev else self._hex(6))
        fp = prev.fingerprint if prev and prev.code == code else _dumps(
            {"code": self._hex(32), "declaration": self._hex(32)})
        dur = 0.0 if status == "cached" else round(self.rng.uniform(0.05, 30.0), 3)
        self.rows["step_runs"].append((
            run_id, pipe.name, step.name, status, key, reason, code, t, dur, fp, inputs,
            "{}", _dumps(outs), error, 1 if status != "failed" else 3,
        ))
        if status == "executed":
            self.done[(pipe.name, step.name)] = _Done(key, outs, run_id, code, fp, inputs)

    def _kind(self, name: str) -> tuple[str, str, str]:
        got = self._meta.get(name)
        if got is None:
            base = _param(name).rstrip("0123456789")
            if "model" in base:
                kind, meta = "model", {"type": "LogisticRegression"}
            elif base in ("metrics", "report", "summary", "thresholds", "batch"):
                kind, meta = "dict", {"type": "dict"}
            elif base in ("embeddings", "scores", "index"):
                kind, meta = "array", {"dtype": "<f4", "shape": [100_000, 64]}
            else:
                cols = [[f"c{i}", self.rng.choice(("int64", "float64", "string"))]
                        for i in range(self.rng.randint(3, 12))]
                meta = {"columns": [c for c, _ in cols], "kind": "DataFrame", "rows": 10_000,
                        "schema": {"columns": cols, "rows": 10_000}}
                kind = "frame"
            got = self._meta[name] = (*KINDS[kind], _dumps(meta))
        return got

    def aliases(self, t: float) -> None:
        for name, a in sorted(self.assets.items()):
            if "model" in name or name == "deep.a59":
                prod = max(1, a.version - self.rng.randint(0, 20))
                self.rows["aliases"].append((name, "prod", prod, t))
                self.rows["aliases"].append((name, "staging", a.version, t))


def _dumps(v: Any) -> str:
    return json.dumps(v, sort_keys=True)


# ---------------------------------------------------------------- writing
class _Sink:
    """Bulk writes on a driver connection of their own (the catalog's URL, parsed as the
    catalog parses it): executemany (SQLite), COPY (PostgreSQL)."""

    def __init__(self, url: str) -> None:
        parsed = dbapi.parse_url(url)
        assert parsed is not None, url  # SqlCatalog opened it already
        self.pg = parsed[0] == "postgresql"
        self.conn: Any
        if self.pg:
            import psycopg

            self.conn = psycopg.connect(parsed[1])  # not autocommit: write() commits
        else:
            import sqlite3

            self.conn = sqlite3.connect(parsed[1])
            dbapi.configure_sqlite(self.conn)  # WAL, autocommit: write() begins
            # a bulk load: the history is rebuilt if the machine dies
            self.conn.execute("PRAGMA synchronous=OFF")
            self.conn.execute("PRAGMA cache_size=-1000000")

    def write(self, rows: dict[str, list[tuple[Any, ...]]]) -> None:
        """Every table's rows in one transaction."""
        if self.pg:
            with self.conn.cursor() as cur:
                for table, lst in rows.items():
                    if lst:
                        cols = ", ".join(TABLES[table])
                        with cur.copy(f"COPY {table} ({cols}) FROM STDIN") as cp:
                            for r in lst:
                                cp.write_row(r)
            self.conn.commit()
            return
        self.conn.execute("BEGIN")
        for table, lst in rows.items():
            if lst:
                cols = TABLES[table]
                sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
                self.conn.executemany(sql, lst)
        self.conn.execute("COMMIT")

    def close(self) -> None:
        if self.pg:  # publish the row counts now: opening the catalog reads them
            self.conn.execute("SELECT pg_stat_force_next_flush()")
            self.conn.commit()
        else:
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.conn.close()


def _schedule(rng: random.Random, runs: int, n_cont: int, n_deep: int) -> list[str]:
    kinds = ["cont"] * n_cont + ["deep"] * n_deep + ["etl"] * (runs - n_cont - n_deep)
    rng.shuffle(kinds)
    return kinds


def _pick(rng: random.Random, etl: list[PipelineShape], weights: list[float],
          want: float) -> tuple[PipelineShape, int]:
    """A pipeline and the step to re-execute from, so that about ``want`` outputs are
    made on average (a big re-execution goes to a pipeline that has that many)."""
    target = max(1, round(rng.uniform(0, 2 * want)))
    pipe = rng.choices(etl, weights)[0]
    for _ in range(5):
        if pipe.tail[0] >= target:
            break
        pipe = rng.choices(etl, weights)[0]
    for k in range(len(pipe.steps) - 1, -1, -1):
        if pipe.tail[k] >= target:
            return pipe, k
    return pipe, 0


def fill(url: str, artifacts: int = 1_000_000, runs: int = 100_000, seed: int = 0,
         log: Any = None) -> dict[str, Any]:
    """Fill the (empty) catalog at ``url``; returns the report (counts, seconds, probes)."""
    t0 = time.monotonic()
    rng = random.Random(seed)
    scale = artifacts / 1_000_000
    n_cont = max(5, min(runs // 20, round(2501 * scale)))
    n_deep = max(3, min(runs // 20, round(300 * scale)))
    n_etl = max(6, min(len(DOMAINS) * len(REGIONS), round(60 * scale ** 0.5)))
    cat = SqlCatalog(url, stack_name="fill")  # the real schema, by the real migrations
    if cat.search(limit=1):
        cat.close()
        raise SystemExit(f"catalog {cat.display_url} already has artifacts: fill an empty one")
    etl: list[PipelineShape] = []
    for i in range(n_etl):
        name = f"{DOMAINS[i % len(DOMAINS)]}_{REGIONS[i // len(DOMAINS) % len(REGIONS)]}"
        shared = [o for p in etl[-5:] for s in p.steps[-3:] for o in s.outputs]
        etl.append(etl_pipeline(rng, name, shared))
    deep, cont = deep_pipeline(), continual_pipeline()
    weights = [rng.uniform(0.2, 3.0) for _ in etl]
    hist = History(rng)
    sink = _Sink(url)
    now = time.time()
    t_first, gap = now - 365 * 86400, (365 * 86400 - 7200) / runs
    made = 0
    special = 3 * n_cont + 30 * n_deep  # expected artifacts of the cont and deep runs
    kinds = _schedule(rng, runs, n_cont, n_deep)
    etl_left = kinds.count("etl")
    for i, kind in enumerate(kinds):
        t = t_first + i * gap + rng.uniform(0, gap / 2)
        if kind == "cont":
            made += hist.run(cont, 0, None, t)
            special -= 3
        elif kind == "deep":
            made += hist.run(deep, rng.randrange(DEEP_STEPS), None, t)
            special -= 30
        else:
            want = (artifacts - made - special) / max(1, etl_left)
            pipe, start = _pick(rng, etl, weights, want)
            fail = rng.randint(start, len(pipe.steps) - 1) if rng.random() < 0.02 else None
            made += hist.run(pipe, start, fail, t)
            etl_left -= 1
        if (i + 1) % CHUNK_RUNS == 0:
            sink.write(hist.take())
            if log:
                log(f"{i + 1} runs, {made} artifacts, {time.monotonic() - t0:.0f} s")
    hist.aliases(now - 3600)
    sink.write(hist.take())
    sink.close()
    cat.db.write(lambda cur: refresh_latest(cur.run))  # each name's @latest, as runs keep it
    cat.close()
    fill_s = time.monotonic() - t0
    SqlCatalog(url, stack_name="fill").close()  # PostgreSQL: opening analyzes what changed
    return {"url": cat.display_url, "seed": seed, "counts": hist.counts,
            "fill_seconds": round(fill_s, 1),
            "reopen_seconds": round(time.monotonic() - t0 - fill_s, 1),
            "probes": _probes(hist, etl, n_cont)}


def _probes(hist: History, etl: list[PipelineShape], n_cont: int) -> dict[str, Any]:
    """What the benchmark and the tests look up."""
    big = max((n for p in etl for s in p.steps for n in s.outputs if "model" in n),
              key=lambda n: (hist.assets[n].version, n) if n in hist.assets else (0, n))
    a = hist.assets[big]
    return {
        "name": big, "versions": a.version, "version": max(1, a.version // 2),
        "alias": "prod",
        "depth50": hist.assets["deep.a50"].latest,
        "ancestors": hist.assets["cont.model"].latest,
        "n_ancestors": 2 * n_cont - 1,
        "hash_prefix": a.hash[:5],
        "pipeline": max(etl, key=lambda p: len(p.steps)).name,
    }


def _url(target: str) -> str:
    return target if "://" in target else "sqlite:///" + str(Path(target).resolve())


def main(argv: Iterable[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("catalog", help="a SQLite file path, or a catalog URL")
    ap.add_argument("--artifacts", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(None if argv is None else list(argv))

    def log(msg: str) -> None:
        if not args.quiet:
            print(msg, file=sys.stderr, flush=True)

    report = fill(_url(args.catalog), args.artifacts, args.runs, args.seed, log)
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
