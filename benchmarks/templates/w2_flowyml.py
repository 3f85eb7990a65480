"""W2 pipeline for FlowyML: load -> transform -> train (rewritten on disk by run.py)."""

import numpy as np

import flowyml as fm

N = 13_107_200  # float64 elements: 100 MiB
PASSES = 30  # ~1 s of numpy work in transform on the benchmark machine


def _mark(step):
    with open("executed.txt", "a") as f:
        f.write(step + "\n")


def _scale(x):
    return x * 2.0


@fm.step(outputs="raw")
def load():
    _mark("load")
    return (np.arange(N, dtype=np.int64) % 1000).astype(np.float64)


@fm.step(outputs="clean")
def transform(raw):
    _mark("transform")
    y = _scale(raw) + 1.0
    for _ in range(PASSES):
        np.square(y, out=y)
        np.sqrt(y, out=y)
    return y


@fm.step(outputs="model")
def train(clean):
    _mark("train")
    return float(clean.sum())


pipeline = fm.Pipeline("w2", [load, transform, train])
