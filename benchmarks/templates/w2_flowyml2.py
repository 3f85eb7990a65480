"""W2 pipeline for FlowyML 2.x (PyPI `flowyml`): load -> transform -> train."""

import numpy as np

from flowyml import Pipeline, step

N = 13_107_200  # float64 elements: 100 MiB
PASSES = 30  # ~1 s of numpy work in transform on the benchmark machine


def _mark(step):
    with open("executed.txt", "a") as f:
        f.write(step + "\n")


def _scale(x):
    return x * 2.0


@step(outputs=["raw"])
def load():
    _mark("load")
    return (np.arange(N, dtype=np.int64) % 1000).astype(np.float64)


@step(inputs=["raw"], outputs=["clean"])
def transform(raw):
    _mark("transform")
    y = _scale(raw) + 1.0
    for _ in range(PASSES):
        np.square(y, out=y)
        np.sqrt(y, out=y)
    return y


@step(inputs=["clean"], outputs=["model"])
def train(clean):
    _mark("train")
    return float(clean.sum())


pipeline = Pipeline.from_steps(load, transform, train, name="w2")
