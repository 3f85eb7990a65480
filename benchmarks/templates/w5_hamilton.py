"""W5 dataflow for Hamilton: a 1 GiB node and a small summary of it."""

import numpy as np

N = 134_217_728  # float64 elements: 1 GiB


def _mark(step):
    with open("executed.txt", "a") as f:
        f.write(step + "\n")


def big() -> np.ndarray:
    _mark("make_big")
    return np.full(N, 0.5)


def summary(big: np.ndarray) -> float:
    _mark("summarize")
    return float(big.sum())
