"""The demo pipeline: a real (small) ML workflow on a dataset that ships with scikit-learn.

load -> split -> features -> train -> evaluate. Run it with ``flowyml demo``: it runs the
pipeline, prints the metrics, runs it again to show every step reused from cache, and
prints the model's lineage.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import flowyml as fm


@fm.step(outputs="dataset")
def load() -> Any:
    """The Wisconsin breast-cancer table (569 rows, 30 features), bundled with scikit-learn."""
    from sklearn.datasets import load_breast_cancer

    return load_breast_cancer(as_frame=True).frame


@fm.step(outputs=("train_set", "test_set"))
def split(dataset: Any, test_size: float = 0.25, seed: int = 7) -> tuple[Any, Any]:
    from sklearn.model_selection import train_test_split

    train, test = train_test_split(
        dataset, test_size=test_size, random_state=seed, stratify=dataset["target"]
    )
    return train, test


@fm.step(outputs=("scaler", "train_features", "test_features"))
def features(train_set: Any, test_set: Any) -> tuple[Any, Any, Any]:
    import numpy as np
    from sklearn.preprocessing import StandardScaler

    cols = [c for c in train_set.columns if c != "target"]
    scaler = StandardScaler().fit(train_set[cols])
    x_train = np.ascontiguousarray(scaler.transform(train_set[cols]))
    x_test = np.ascontiguousarray(scaler.transform(test_set[cols]))
    return scaler, x_train, x_test


@fm.step(outputs="model")
def train(train_features: Any, train_set: Any, c: float = 1.0) -> Any:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, max_iter=500)
    model.fit(train_features, train_set["target"].to_numpy())
    return model


@fm.step(outputs="metrics")
def evaluate(model: Any, test_features: Any, test_set: Any) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

    y = test_set["target"].to_numpy()
    pred = model.predict(test_features)
    proba = model.predict_proba(test_features)[:, 1]
    return {
        "accuracy": round(float(accuracy_score(y, pred)), 4),
        "f1": round(float(f1_score(y, pred)), 4),
        "roc_auc": round(float(roc_auc_score(y, proba)), 4),
    }


pipeline = fm.Pipeline("breast_cancer", [evaluate, train, features, split, load])


def main(workdir: str | None = None) -> None:
    """Run the demo (in ``workdir`` if given, else the current project)."""
    if workdir is not None:
        path = Path(workdir)
        path.mkdir(parents=True, exist_ok=True)
        if not (path / "flowyml.toml").exists() and not (path / "pyproject.toml").exists():
            (path / "flowyml.toml").write_text("# FlowyML project (created by `flowyml demo`)\n")
        os.chdir(path)
    stack = fm.Stack().resolve()
    print(f"FlowyML demo: pipeline {pipeline.name!r}, store {stack.store}\n")
    print("1) First run (steps whose results are already in the catalog are reused):")
    run = pipeline.run(progress=True)
    print("\n   metrics:", ", ".join(f"{k}={v}" for k, v in run["metrics"].items()))
    print("\n2) The same run again: nothing changed, so every step is reused:")
    again = pipeline.run(progress=True)
    reused = sum(1 for s in again.steps.values() if s.cached)
    print(f"\n   {reused} of {len(again.steps)} steps reused; no artifact was loaded to decide it.")
    print("\n3) Lineage of the model: what it was made from, down to the sources:\n")
    print(fm.get_lineage(again.artifacts["model"].id))
    print(
        "\nExplore: `flowyml runs`, `flowyml artifacts`, `flowyml lineage metrics`, "
        "`flowyml show model`."
    )
