"""W2 flow for Prefect: load -> transform -> train tasks with INPUTS + TASK_SOURCE caching."""

import numpy as np
from prefect import flow, task
from prefect.cache_policies import INPUTS, TASK_SOURCE

N = 13_107_200  # float64 elements: 100 MiB
PASSES = 30  # ~1 s of numpy work in transform on the benchmark machine
CACHE = INPUTS + TASK_SOURCE


def _mark(step):
    with open("executed.txt", "a") as f:
        f.write(step + "\n")


def _scale(x):
    return x * 2.0


@task(cache_policy=CACHE)
def load():
    _mark("load")
    return (np.arange(N, dtype=np.int64) % 1000).astype(np.float64)


@task(cache_policy=CACHE)
def transform(raw):
    _mark("transform")
    y = _scale(raw) + 1.0
    for _ in range(PASSES):
        np.square(y, out=y)
        np.sqrt(y, out=y)
    return y


@task(cache_policy=CACHE)
def train(clean):
    _mark("train")
    return float(clean.sum())


@flow(name="w2")
def w2_flow():
    raw = load()
    clean = transform(raw)
    return train(clean)
