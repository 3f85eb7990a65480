"""W5 pipeline for FlowyML: a 1 GiB artifact and a small summary of it."""

import numpy as np

import flowyml as fm

N = 134_217_728  # float64 elements: 1 GiB


def _mark(step):
    with open("executed.txt", "a") as f:
        f.write(step + "\n")


@fm.step(outputs="big")
def make_big():
    _mark("make_big")
    return np.full(N, 0.5)


@fm.step(outputs="summary")
def summarize(big):
    _mark("summarize")
    return float(big.sum())


pipeline = fm.Pipeline("w5", [make_big, summarize])
