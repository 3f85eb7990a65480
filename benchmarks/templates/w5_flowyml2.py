"""W5 pipeline for FlowyML 2.x: a 1 GiB artifact and a small summary of it."""

import numpy as np

from flowyml import Pipeline, step

N = 134_217_728  # float64 elements: 1 GiB


def _mark(step):
    with open("executed.txt", "a") as f:
        f.write(step + "\n")


@step(outputs=["big"])
def make_big():
    _mark("make_big")
    return np.full(N, 0.5)


@step(inputs=["big"], outputs=["summary"])
def summarize(big):
    _mark("summarize")
    return float(big.sum())


pipeline = Pipeline.from_steps(make_big, summarize, name="w5")
