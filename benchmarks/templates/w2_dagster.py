"""W2 assets for Dagster: raw -> clean -> model (materialized in process)."""

import numpy as np
from dagster import asset

N = 13_107_200  # float64 elements: 100 MiB
PASSES = 30  # ~1 s of numpy work in transform on the benchmark machine


def _mark(step):
    with open("executed.txt", "a") as f:
        f.write(step + "\n")


def _scale(x):
    return x * 2.0


@asset
def raw() -> np.ndarray:
    _mark("load")
    return (np.arange(N, dtype=np.int64) % 1000).astype(np.float64)


@asset
def clean(raw: np.ndarray) -> np.ndarray:
    _mark("transform")
    y = _scale(raw) + 1.0
    for _ in range(PASSES):
        np.square(y, out=y)
        np.sqrt(y, out=y)
    return y


@asset
def model(clean: np.ndarray) -> float:
    _mark("train")
    return float(clean.sum())


ASSETS = [raw, clean, model]
