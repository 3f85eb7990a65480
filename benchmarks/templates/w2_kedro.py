"""W2 pipeline for Kedro: load -> transform -> train as nodes of a Pipeline."""

import numpy as np
from kedro.pipeline import Pipeline, node

N = 13_107_200  # float64 elements: 100 MiB
PASSES = 30  # ~1 s of numpy work in transform on the benchmark machine


def _mark(step):
    with open("executed.txt", "a") as f:
        f.write(step + "\n")


def _scale(x):
    return x * 2.0


def load():
    _mark("load")
    return (np.arange(N, dtype=np.int64) % 1000).astype(np.float64)


def transform(raw):
    _mark("transform")
    y = _scale(raw) + 1.0
    for _ in range(PASSES):
        np.square(y, out=y)
        np.sqrt(y, out=y)
    return y


def train(clean):
    _mark("train")
    return float(clean.sum())


pipeline = Pipeline(
    [
        node(load, inputs=None, outputs="raw", name="load"),
        node(transform, inputs="raw", outputs="clean", name="transform"),
        node(train, inputs="clean", outputs="model", name="train"),
    ]
)
