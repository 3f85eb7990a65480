"""W5 flow for Prefect: a 1 GiB task result and a small summary of it, cached."""

import numpy as np
from prefect import flow, task
from prefect.cache_policies import INPUTS, TASK_SOURCE

N = 134_217_728  # float64 elements: 1 GiB
CACHE = INPUTS + TASK_SOURCE


def _mark(step):
    with open("executed.txt", "a") as f:
        f.write(step + "\n")


@task(cache_policy=CACHE)
def make_big():
    _mark("make_big")
    return np.full(N, 0.5)


@task(cache_policy=CACHE)
def summarize(big):
    _mark("summarize")
    return float(big.sum())


@flow(name="w5")
def w5_flow():
    return summarize(make_big())
