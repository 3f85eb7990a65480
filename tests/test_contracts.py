"""Data contracts: declared table schemas are checked at build, enforced at run time,
recorded in the catalog, and part of the cache key.

No ``from __future__ import annotations`` here: the steps are made by factories, and
their annotations name the factory's local models, so they are evaluated as written.
"""

import subprocess
import sys
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import pandera.pandas as ppa
import pandera.polars as ppl
import polars as pl
import pyarrow as pa
import pytest
from pandera.typing import DataFrame, Series
from pandera.typing.polars import DataFrame as PlDataFrame

import flowyml as fm
from flowyml.core import contracts
from tests.conftest import flowyml_cli, run_py, write

LIBS = ["pandas", "polars"]
PY = {"int": int, "float": float, "str": str}


def model(lib: str, name: str, columns: dict[str, str], **fields: Any) -> Any:
    """A pandera model of ``columns`` (name -> "int" | "float" | "str") for ``lib``;
    ``fields`` are ``Field(...)`` keyword arguments per column."""
    base = ppa.DataFrameModel if lib == "pandas" else ppl.DataFrameModel
    field_fn = ppa.Field if lib == "pandas" else ppl.Field
    ann = {c: Series[PY[t]] if lib == "pandas" else PY[t] for c, t in columns.items()}
    ns: dict[str, Any] = {"__annotations__": ann, "__module__": __name__}
    for column, kw in fields.items():
        ns[column] = field_fn(**kw)
    return type(name, (base,), ns)


def frame_of(lib: str, model_cls: Any) -> Any:
    return DataFrame[model_cls] if lib == "pandas" else PlDataFrame[model_cls]


def make(lib: str, data: dict[str, list[Any]]) -> Any:
    return pd.DataFrame(data) if lib == "pandas" else pl.DataFrame(data)


ORDERS = {"order_id": [1, 2, 3], "user_id": [10, 11, 12], "price": [3.0, 4.5, 1.0]}


def producer(lib: str, columns: dict[str, str], data: dict[str, list[Any]] | None = None,
             name: str = "Orders", **fields: Any) -> fm.Step:
    ann = frame_of(lib, model(lib, name, columns, **fields))
    values = dict(ORDERS if data is None else data)

    @fm.step(outputs="orders")
    def load() -> ann:  # type: ignore[valid-type]
        return make(lib, values)

    return load


def consumer(lib: str, columns: dict[str, str], inputs: dict[str, str] | None = None) -> fm.Step:
    ann = frame_of(lib, model(lib, "Needs", columns))

    @fm.step(outputs="total", inputs=inputs)
    def report(orders: ann) -> float:  # type: ignore[valid-type]
        return float(orders["order_id"].sum())

    return report


def objects(root: Path) -> list[Path]:
    base = root / ".flowyml" / "objects"
    return sorted(p for p in base.rglob("*") if p.is_file()) if base.exists() else []


# ---------------------------------------------------------------------- build


@pytest.mark.parametrize("lib", LIBS)
def test_a_missing_column_fails_the_build_naming_everything(project: Path, lib: str) -> None:
    load = producer(lib, {"order_id": "int", "user_id": "int"})
    report = consumer(lib, {"order_id": "int", "price": "float"})
    with pytest.raises(fm.SchemaError) as info:
        fm.Pipeline("p", [load, report]).run()
    text = str(info.value)
    for word in ("'orders'", "'report'", "'load'", "'price'", "float64", "Orders", "Needs"):
        assert word in text, (word, text)
    assert "does not produce it" in text and "order_id: int64, user_id: int64" in text
    assert isinstance(info.value, fm.BuildError)
    # nothing ran and nothing was written
    assert fm.Catalog().runs() == [] and objects(project) == []


@pytest.mark.parametrize("lib", LIBS)
def test_a_dtype_that_cannot_be_read_fails_the_build(project: Path, lib: str) -> None:
    load = producer(lib, {"order_id": "int", "user_id": "str"},
                    {"order_id": [1], "user_id": ["u1"]})
    report = consumer(lib, {"order_id": "int", "user_id": "int"})
    with pytest.raises(fm.SchemaError, match=r"column 'user_id' as int64 .* produces it as string"):
        fm.Pipeline("p", [load, report]).build()


@pytest.mark.parametrize("lib", LIBS)
def test_a_consumer_may_declare_a_subset_and_wider_dtypes(project: Path, lib: str) -> None:
    load = producer(lib, {"order_id": "int", "user_id": "int", "price": "float"})
    report = consumer(lib, {"order_id": "float"})  # one column, an int read as a float
    graph = fm.Pipeline("p", [load, report]).build()
    assert any(line.startswith("ok") and "load --orders--> report" in line
               for line in graph.schema_checks)
    assert fm.Pipeline("p", [load, report]).run()["total"] == 6.0


@pytest.mark.parametrize("lib", LIBS)
def test_pandera_and_pyarrow_schemas_compare_by_arrow_dtype(project: Path, lib: str) -> None:
    load = producer(lib, {"order_id": "int", "user_id": "str"}, {"order_id": [1], "user_id": ["a"]})
    frame = pd.DataFrame if lib == "pandas" else pl.DataFrame

    @fm.step(outputs="total")
    def report(orders: Annotated[frame, pa.schema([("user_id", pa.int64())])]) -> int:  # type: ignore[valid-type]
        return len(orders)

    with pytest.raises(fm.SchemaError, match="string cannot be read as int64"):
        fm.Pipeline("p", [load, report]).build()


def test_pyarrow_schema_annotations(project: Path) -> None:
    schema = pa.schema([("order_id", pa.int64()), ("user_id", pa.string())])

    @fm.step(outputs="orders")
    def load() -> Annotated[pd.DataFrame, schema]:
        return pd.DataFrame({"order_id": [1], "user_id": ["a"]})

    @fm.step(outputs="total")
    def report(orders: Annotated[pd.DataFrame, pa.schema([("order_id", pa.int32())])]) -> int:
        return len(orders)

    @fm.step(outputs="total")
    def bad(orders: Annotated[pd.DataFrame, pa.schema([("user_id", pa.int64())])]) -> int:
        return len(orders)

    with pytest.raises(fm.SchemaError, match=r"'order_id' as int32 .* as int64"):
        fm.Pipeline("p", [load, report]).build()
    with pytest.raises(fm.SchemaError, match="'user_id' as int64"):
        fm.Pipeline("p", [load, bad]).build()
    # an arrow producer and a pandera consumer
    assert fm.Pipeline("p", [load, consumer("pandas", {"order_id": "int"})]).run()["total"] == 1


def test_several_problems_are_reported_together(project: Path) -> None:
    load = producer("pandas", {"order_id": "str"}, {"order_id": ["a"]})
    report = consumer("pandas", {"order_id": "int", "price": "float"})
    with pytest.raises(fm.SchemaError, match="2 schema problems") as info:
        fm.Pipeline("p", [load, report]).build()
    assert "'price'" in str(info.value) and "'order_id'" in str(info.value)


def three_hops(lib: str, with_price: bool) -> fm.Pipeline:
    """load -> clean -> features -> report; each schema extends the one before it, and
    report reads ``price``, which only load's schema (Raw) adds."""
    cols = {"order_id": "int", "user_id": "int"} | ({"price": "float"} if with_price else {})
    raw = model(lib, "Raw", cols)
    clean_m = type("Clean", (raw,), {"__module__": __name__})
    features_m = type("Features", (clean_m,), {
        "__annotations__": {"n": Series[int] if lib == "pandas" else int},
        "__module__": __name__})
    data = dict(ORDERS) if with_price else {k: v for k, v in ORDERS.items() if k != "price"}

    @fm.step(outputs="raw")
    def load() -> frame_of(lib, raw):  # type: ignore[valid-type]
        return make(lib, data)

    @fm.step(outputs="clean")
    def clean(raw: frame_of(lib, raw)) -> frame_of(lib, clean_m):  # type: ignore[valid-type]
        return raw

    @fm.step(outputs="features")
    def features(clean: frame_of(lib, clean_m)) -> frame_of(lib, features_m):  # type: ignore[valid-type]
        return clean.assign(n=1) if lib == "pandas" else clean.with_columns(n=pl.lit(1, pl.Int64))

    @fm.step(outputs="total")
    def report(features: frame_of(lib, model(lib, "Report", {"price": "float"}))) -> float:  # type: ignore[valid-type]
        return float(features["price"].sum())

    return fm.Pipeline("hops", [load, clean, features, report])


@pytest.mark.parametrize("lib", LIBS)
def test_a_schema_change_breaks_a_consumer_three_hops_away(project: Path, lib: str) -> None:
    assert three_hops(lib, with_price=True).run()["total"] == 8.5
    with pytest.raises(fm.SchemaError) as info:
        three_hops(lib, with_price=False).run()
    text = str(info.value)
    assert "asset 'features': step 'report' reads column 'price' (float64)" in text
    assert "step 'features' does not produce it" in text
    assert len(fm.Catalog().runs()) == 1  # the second run never started


# ---------------------------------------------------------------------- catalog inputs


@pytest.mark.parametrize("lib", LIBS)
def test_a_catalog_input_with_an_incompatible_recorded_schema(project: Path, lib: str) -> None:
    fm.Pipeline("make", [producer(lib, {"order_id": "int", "user_id": "str"},
                                  {"order_id": [1, 2], "user_id": ["a", "b"]})]).run()
    fm.Catalog().tag("orders", 1, "prod")
    recorded = fm.Catalog().get("orders", 1).meta["schema"]
    assert recorded == {"columns": [["order_id", "int64"], ["user_id", "string"]], "rows": 2}

    wrong_type = consumer(lib, {"user_id": "int"}, inputs={"orders": "orders@prod"})
    with pytest.raises(fm.SchemaError) as info:
        fm.Pipeline("use", [wrong_type]).build()
    text = str(info.value)
    assert "artifact orders@1 (catalog orders@prod)" in text and "as string" in text
    assert "'user_id' as int64" in text

    missing = consumer(lib, {"price": "float"}, inputs={"orders": "orders@latest"})
    with pytest.raises(fm.SchemaError, match=r"reads column 'price'.*does not produce it"):
        fm.Pipeline("use", [missing]).build()

    fine = consumer(lib, {"order_id": "int"}, inputs={"orders": "orders@prod"})
    graph = fm.Pipeline("use", [fine]).build()
    # columns and dtypes proven; a recorded schema says nothing of nulls: run time
    assert any("orders@prod (catalog) --> report" in line and line.startswith("at run time")
               and line.endswith("validated when report executes: order_id not null")
               for line in graph.schema_checks)
    assert fm.Pipeline("use", [fine]).run()["total"] == 3.0


def test_a_catalog_input_without_a_recorded_schema_is_checked_at_run_time(project: Path) -> None:
    @fm.step(outputs="orders")
    def load() -> list:
        return [1, 2]

    fm.Pipeline("make", [load]).run()
    report = consumer("pandas", {"order_id": "int"}, inputs={"orders": "orders@1"})
    graph = fm.Pipeline("use", [report]).build()
    assert ("at run time  orders@1 (catalog) --> report: no schema is recorded for orders@1; "
            "Needs (1 column) validated when report executes") in graph.schema_checks
    with pytest.raises(fm.StepFailed, match=r"parameter 'orders' \(asset 'orders@1'\) does not "
                       "match its declared schema Needs: it is a builtins.list, not a pandas"):
        fm.Pipeline("use", [report]).run()


# ---------------------------------------------------------------------- run time


@pytest.mark.parametrize("lib", LIBS)
def test_a_run_time_violation_fails_the_step_and_stores_nothing(project: Path, lib: str) -> None:
    bad = {"order_id": [1, 2, 3, 4], "user_id": [1, 1, 1, 1], "price": [1.0, -2.0, 3.0, -4.0]}
    load = producer(lib, {"order_id": "int", "user_id": "int", "price": "float"}, bad,
                    price={"ge": 0})
    report = consumer(lib, {"order_id": "int"})
    with pytest.raises(fm.StepFailed) as info:
        fm.Pipeline("p", [load, report]).run()
    text = str(info.value)
    assert "step 'load' failed" in text
    assert "output 'orders' does not match its declared schema Orders" in text
    assert "column 'price' fails greater_than_or_equal_to(0) in rows 1, 3" in text
    assert "values -2.0, -4.0" in text and "nothing was stored for 'orders'" in text
    # nothing stored, nothing recorded, the consumer never ran
    assert objects(project) == []
    assert fm.Catalog().names() == [] and fm.Catalog().versions("orders") == []
    (run,) = fm.Catalog().runs()
    assert run.status == "failed"
    assert {s.step: s.status for s in fm.Catalog().steps(run.id)} == {"load": "failed"}


@pytest.mark.parametrize("lib", LIBS)
def test_a_missing_or_mistyped_output_column_fails_at_run_time(project: Path, lib: str) -> None:
    load = producer(lib, {"order_id": "int", "price": "float"}, {"order_id": [1]})
    with pytest.raises(fm.StepFailed, match=r"missing column\(s\) 'price' \(float64\)"):
        fm.Pipeline("p", [load]).run()
    load = producer(lib, {"order_id": "int"}, {"order_id": ["x"]})
    with pytest.raises(fm.StepFailed, match="column 'order_id' fails dtype"):
        fm.Pipeline("p", [load]).run()
    declared = frame_of(lib, model(lib, "Orders", {"order_id": "int"}))

    @fm.step(outputs="orders")
    def not_a_frame() -> declared:  # type: ignore[valid-type]
        return [1, 2]

    with pytest.raises(fm.StepFailed, match=rf"it is a builtins.list, not a {lib} DataFrame"):
        fm.Pipeline("p", [not_a_frame]).run()
    assert objects(project) == []


def test_a_pyarrow_schema_is_enforced_at_run_time(project: Path) -> None:
    schema = pa.schema([pa.field("a", pa.int64(), nullable=False), ("b", pa.string())])

    @fm.step(outputs="t")
    def nulls() -> Annotated[pl.DataFrame, schema]:
        return pl.DataFrame({"a": [1, None, 3, None], "b": ["x", "y", "z", "w"]})

    @fm.step(outputs="t")
    def floats() -> Annotated[pd.DataFrame, schema]:
        return pd.DataFrame({"a": [1.5], "b": ["x"]})

    @fm.step(outputs="t")
    def table() -> Annotated[pa.Table, schema]:
        return pa.table({"a": pa.array([1, 2], pa.int32()), "b": ["x", "y"]})

    with pytest.raises(fm.StepFailed, match="column 'a' is not nullable but is null in rows 1, 3"):
        fm.Pipeline("p", [nulls]).run()
    with pytest.raises(fm.StepFailed, match="column 'a' is float64, the schema declares int64"):
        fm.Pipeline("p", [floats]).run()
    assert objects(project) == []
    run = fm.Pipeline("p", [table]).run()  # int32 can be read as int64
    assert run.artifacts["t"].meta["schema"]["columns"] == [["a", "int32"], ["b", "string"]]


def test_one_bad_output_of_two_stores_neither(project: Path) -> None:
    good = model("pandas", "Good", {"a": "int"})
    bad = model("pandas", "Bad", {"b": "int"}, b={"gt": 0})

    @fm.step(outputs=("x", "y"))
    def two() -> tuple[DataFrame[good], DataFrame[bad]]:  # type: ignore[valid-type]
        return pd.DataFrame({"a": [1]}), pd.DataFrame({"b": [0]})

    with pytest.raises(fm.StepFailed, match=r"output 'y'.*column 'b' fails greater_than"):
        fm.Pipeline("p", [two]).run()
    assert objects(project) == [] and fm.Catalog().names() == []


@pytest.mark.filterwarnings("ignore:Pickling SchemaError")  # pandera's, unpickling the cause
def test_validation_runs_in_worker_processes(project: Path) -> None:
    load = producer("pandas", {"order_id": "int", "price": "float"},
                    {"order_id": [1, 2], "price": [1.0, -1.0]}, price={"ge": 0})
    with pytest.raises(fm.StepFailed, match="column 'price' fails greater_than_or_equal_to"):
        fm.Pipeline("p", [load]).run(executor="processes:1")
    assert objects(project) == []


# ---------------------------------------------------------------------- the cache


@pytest.fixture
def validations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The outputs validated (in process), in order."""
    seen: list[str] = []
    real = contracts._validate

    def counting(step: str, asset: str, contract: Any, value: Any) -> Any:
        seen.append(f"{step}.{asset}")
        return real(step, asset, contract, value)

    monkeypatch.setattr(contracts, "_validate", counting)
    return seen


@pytest.mark.parametrize("lib", LIBS)
def test_a_schema_edit_re_executes_and_re_validates(
    project: Path, lib: str, validations: list[str]
) -> None:
    cols = {"order_id": "int", "price": "float"}
    run = fm.Pipeline("p", [producer(lib, cols, price={"ge": 0})]).run()
    assert run.steps["load"].cached is False and validations == ["load.orders"]
    # unchanged: reused, and a reused step is not validated again
    run = fm.Pipeline("p", [producer(lib, cols, price={"ge": 0})]).run()
    assert run.steps["load"].cached is True and validations == ["load.orders"]
    # the same code with an edited schema: executed (so validated) again
    run = fm.Pipeline("p", [producer(lib, cols, price={"ge": 1})]).run()
    assert run.steps["load"].cached is False and validations == ["load.orders"] * 2
    assert "declaration" in run.steps["load"].reason
    # an edit that the stored value violates fails, although the code did not change
    with pytest.raises(fm.StepFailed, match="greater_than_or_equal_to"):
        fm.Pipeline("p", [producer(lib, cols, price={"ge": 2})]).run()
    # a consumer's schema is part of its key too
    report_a = consumer(lib, {"order_id": "int"})
    report_b = consumer(lib, {"order_id": "float"})
    load = producer(lib, cols, price={"ge": 1})
    fm.Pipeline("p", [load, report_a]).run()
    assert fm.Pipeline("p", [load, report_a]).run().steps["report"].cached is True
    assert fm.Pipeline("p", [load, report_b]).run().steps["report"].cached is False


def test_custom_check_code_is_part_of_the_key(project: Path) -> None:
    def orders_model(limit: int) -> Any:
        if limit == 0:
            class Orders(ppa.DataFrameModel):
                price: Series[float]

                @ppa.check("price")
                def cheap(cls, s: pd.Series) -> pd.Series:
                    return s < 100
        else:
            class Orders(ppa.DataFrameModel):  # type: ignore[no-redef]
                price: Series[float]

                @ppa.check("price")
                def cheap(cls, s: pd.Series) -> pd.Series:
                    return s < 10

        return Orders

    def load_with(m: Any) -> fm.Step:
        @fm.step(outputs="orders")
        def load() -> DataFrame[m]:  # type: ignore[valid-type]
            return pd.DataFrame({"price": [50.0]})

        return load

    assert fm.Pipeline("p", [load_with(orders_model(0))]).run().steps["load"].cached is False
    assert fm.Pipeline("p", [load_with(orders_model(0))]).run().steps["load"].cached is True
    with pytest.raises(fm.StepFailed, match="column 'price' fails cheap in row 0"):
        fm.Pipeline("p", [load_with(orders_model(1))]).run()


def test_steps_without_schemas_keep_their_declaration(project: Path) -> None:
    @fm.step(outputs="orders")
    def load() -> pd.DataFrame:
        return pd.DataFrame(ORDERS)

    assert "schemas" not in load.options()
    assert "schemas" in producer("pandas", {"order_id": "int"}).options()


def test_keys_with_schemas_are_the_same_in_every_process(project: Path) -> None:
    source = PIPE.replace(
        "    price: Series[float]\n\nclass Report",
        "    price: Series[float]\n    kind: Series[str] = pa.Field(isin={'a', 'b', 'c', 'd'})\n\n"
        "class Report").replace('"price": [3.0, 4.5]}', '"price": [3.0, 4.5], "kind": ["a", "b"]}')
    assert "isin" in source and '"kind": ["a", "b"]' in source  # a set in the schema
    write(project / "pipe.py", source)
    code = ("import sys; sys.path.insert(0, '.'); from pipe import pipe; "
            "print(pipe.run().steps['load'].cached)")
    assert run_py(project, code, env={"PYTHONHASHSEED": "1"}).strip() == "False"
    assert run_py(project, code, env={"PYTHONHASHSEED": "2"}).strip() == "True"


def test_a_mapped_step_validates_each_element(project: Path) -> None:
    part_model = model("pandas", "Part", {"x": "int"}, x={"ge": 0})

    @fm.step(outputs="items")
    def items() -> list:
        return [1, 2, -3]

    @fm.step(outputs="parts", map_over="items")
    def part(items: int) -> DataFrame[part_model]:  # type: ignore[valid-type]
        return pd.DataFrame({"x": [items]})

    with pytest.raises(fm.StepFailed, match=r"element 2 of items: output 'parts' .* in row 0 \(value -3\)"):
        fm.Pipeline("m", [items, part]).run()


# ---------------------------------------------------------------------- inputs


def reader(lib: str, columns: dict[str, str], inputs: dict[str, str] | None = None,
           fail: bool = False, **fields: Any) -> fm.Step:
    """A consumer of ``orders`` whose parameter declares ``columns`` (with ``Field``
    arguments ``fields``), model ``NonNeg``. ``fail``: its body raises, so a test sees
    that it did not run."""
    ann = frame_of(lib, model(lib, "NonNeg", columns, **fields))

    @fm.step(outputs="total", inputs=inputs)
    def report(orders: ann) -> float:  # type: ignore[valid-type]
        if fail:
            raise RuntimeError("the body of report ran")
        return float(orders["price"].sum())

    return report


@pytest.fixture
def input_validations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The inputs validated (in process), in order."""
    seen: list[str] = []
    real = contracts._validate_input

    def counting(step: str, param: str, source: str, contract: Any, value: Any) -> Any:
        seen.append(f"{step}.{param}")
        return real(step, param, source, contract, value)

    monkeypatch.setattr(contracts, "_validate_input", counting)
    return seen


NEGATIVE = {"order_id": [1, 2, 3, 4], "price": [1.0, -2.0, 3.0, -4.0]}
COLS = {"order_id": "int", "price": "float"}


@pytest.mark.parametrize("lib", LIBS)
def test_an_input_breaking_the_consumers_check_fails_before_its_code_runs(
        project: Path, lib: str) -> None:
    load = producer(lib, COLS, NEGATIVE)  # promises a float price, any sign
    report = reader(lib, {"price": "float"}, fail=True, price={"ge": 0})
    graph = fm.Pipeline("p", [load, report]).build()
    assert graph.input_checks == {"report": frozenset({"orders"})}
    with pytest.raises(fm.StepFailed) as info:
        fm.Pipeline("p", [load, report]).run()
    text = str(info.value)
    assert "step 'report' failed" in text
    assert "parameter 'orders' (asset 'orders') does not match its declared schema NonNeg" in text
    assert "column 'price' fails greater_than_or_equal_to(0) in rows 1, 3 (values -2.0, -4.0)" in text
    assert "step 'report' did not run, and nothing was stored for it" in text
    assert "the body of report ran" not in text  # the schema stopped it first
    assert type(info.value.__cause__).__name__ == "SchemaErrors"  # pandera's error
    (run,) = fm.Catalog().runs()
    assert {s.step: s.status for s in fm.Catalog().steps(run.id)} == {
        "load": "executed", "report": "failed"}
    assert [n for n, *_ in fm.Catalog().names()] == ["orders"]  # nothing stored or recorded for report


@pytest.mark.parametrize("lib", LIBS)
def test_a_null_from_a_nullable_producer_fails_a_non_nullable_consumer(
        project: Path, lib: str) -> None:
    load = producer(lib, {"price": "float"}, {"price": [1.0, None, 2.0]},
                    price={"nullable": True})
    report = reader(lib, {"price": "float"}, fail=True)  # pandera's default: not nullable
    (line,) = [x for x in fm.Pipeline("p", [load, report]).build().schema_checks if "-->" in x]
    assert line == ("at run time  load --orders--> report: NonNeg (1 column): columns and dtypes "
                    "satisfied by Orders; validated when report executes: price not null")
    with pytest.raises(fm.StepFailed, match=r"parameter 'orders' .* column 'price' fails "
                       r"not_nullable in row 1 \(value (nan|None)\)"):
        fm.Pipeline("p", [load, report]).run()


def test_a_satisfied_check_passes_and_a_proven_one_is_not_validated_again(
        project: Path, input_validations: list[str]) -> None:
    load = producer("pandas", COLS, price={"ge": 0})
    proven = reader("pandas", {"price": "float"}, price={"ge": 0})  # load's own check
    graph = fm.Pipeline("p", [load, proven]).build()
    assert graph.input_checks == {}
    assert "ok           load --orders--> report: NonNeg (1 column) satisfied by Orders" in (
        graph.schema_checks)
    assert fm.Pipeline("p", [load, proven]).run()["total"] == 8.5
    assert input_validations == []  # the build proved it: load's outputs passed it
    stricter = reader("pandas", {"price": "float"}, price={"ge": 0, "le": 10})
    assert fm.Pipeline("p", [load, stricter]).run()["total"] == 8.5
    assert input_validations == ["report.orders"]


def test_a_catalog_input_is_validated_against_the_consumers_schema(project: Path) -> None:
    fm.Pipeline("make", [producer("pandas", COLS, NEGATIVE)]).run()
    fm.Catalog().tag("orders", 1, "prod")
    report = reader("pandas", {"price": "float"}, inputs={"orders": "orders@prod"}, fail=True,
                    price={"ge": 0})
    graph = fm.Pipeline("use", [report]).build()
    assert ("at run time  orders@prod (catalog) --> report: NonNeg (1 column): columns and dtypes "
            "satisfied by the recorded schema of orders@1; validated when report executes: price "
            "not null, price greater_than_or_equal_to(0)") in graph.schema_checks
    with pytest.raises(fm.StepFailed, match=r"parameter 'orders' \(asset 'orders@1'\) does not "
                       r"match .* fails greater_than_or_equal_to\(0\) in rows 1, 3"):
        fm.Pipeline("use", [report]).run()
    assert fm.Catalog().versions("total") == []


def test_a_reused_consumer_is_not_validated_again(
        project: Path, input_validations: list[str]) -> None:
    load = producer("pandas", COLS)
    run = fm.Pipeline("p", [load, reader("pandas", {"price": "float"}, price={"ge": 0})]).run()
    assert run.steps["report"].cached is False and input_validations == ["report.orders"]
    run = fm.Pipeline("p", [load, reader("pandas", {"price": "float"}, price={"ge": 0})]).run()
    assert run.steps["report"].cached is True and input_validations == ["report.orders"]
    # its schema is part of its declaration: an edit executes it, so validates again
    run = fm.Pipeline("p", [load, reader("pandas", {"price": "float"}, price={"ge": 1})]).run()
    assert run.steps["report"].cached is False and input_validations == ["report.orders"] * 2


@pytest.mark.filterwarnings("ignore:Pickling SchemaError")  # pandera's, unpickling the cause
def test_inputs_are_validated_in_worker_processes(project: Path) -> None:
    load = producer("pandas", COLS, NEGATIVE)
    report = reader("pandas", {"price": "float"}, fail=True, price={"ge": 0})
    with pytest.raises(fm.StepFailed) as info:
        fm.Pipeline("p", [load, report]).run(executor="processes:1")
    text = str(info.value)
    assert "parameter 'orders' (asset 'orders') does not match its declared schema NonNeg" in text
    assert "fails greater_than_or_equal_to(0) in rows 1, 3" in text
    assert "the body of report ran" not in text
    assert [n for n, *_ in fm.Catalog().names()] == ["orders"]


def test_an_input_is_read_with_the_builds_dtypes_and_not_retried(project: Path) -> None:
    @fm.step(outputs="orders")
    def load(kind: str = "int") -> pd.DataFrame:  # no schema: nothing proven at build
        return pd.DataFrame({"price": [1, 2] if kind == "int" else ["1", "2"]})

    report = reader("pandas", {"price": "float"}, price={"ge": 0})
    # an int64 column is a float64 one's input, as at build (pandera alone refuses it)
    assert fm.Pipeline("p", [load, report]).run()["total"] == 3.0
    bad = reader("pandas", {"price": "float"}, fail=True, price={"ge": 0})
    bad.retries = 2
    with pytest.raises(fm.StepFailed, match="column 'price' is string, the schema declares "
                       "float64"):
        fm.Pipeline("p", [load, bad]).run({"kind": "str"})
    (run, _) = fm.Catalog().runs()
    assert [s.attempts for s in fm.Catalog().steps(run.id) if s.step == "report"] == [1]


def test_a_coercing_input_schema_gives_the_step_the_coerced_frame(project: Path) -> None:
    class Coerced(ppa.DataFrameModel):
        price: Series[float] = ppa.Field(ge=0)

        class Config:
            coerce = True

    @fm.step(outputs="orders")
    def load() -> pd.DataFrame:
        return pd.DataFrame({"price": ["1.5", "2"]})  # strings

    @fm.step(outputs="total")
    def report(orders: DataFrame[Coerced]) -> str:
        return str(orders["price"].dtype)

    run = fm.Pipeline("p", [load, report]).run()
    assert run["total"] == "float64"
    stored = fm.Catalog().get("orders").load()  # the artifact itself is unchanged
    assert list(stored["price"]) == ["1.5", "2"]


def test_a_run_value_and_each_mapped_element_are_validated(project: Path) -> None:
    report = reader("pandas", {"price": "float"}, fail=True, price={"ge": 0})
    with pytest.raises(fm.StepFailed, match=r"parameter 'orders' \(a run value\) .* in row 1"):
        fm.Pipeline("p", [report]).run({"orders": pd.DataFrame({"price": [1.0, -1.0]})})
    part_model = model("pandas", "Part", {"x": "int"}, x={"ge": 0})

    @fm.step(outputs="parts")
    def parts() -> list:
        return [pd.DataFrame({"x": [1]}), pd.DataFrame({"x": [-1]})]

    @fm.step(outputs="sizes", map_over="parts")
    def size(parts: DataFrame[part_model]) -> int:  # type: ignore[valid-type]
        return len(parts)

    graph = fm.Pipeline("m", [parts, size]).build()
    assert ("at run time  parts (each element) --> size: size maps over parts; Part (1 column) "
            "validated on each element when size executes") in graph.schema_checks
    with pytest.raises(fm.StepFailed, match=r"element 1 of parts: parameter 'parts' \(asset "
                       r"'parts\[1\]'\) .* in row 0 \(value -1\)"):
        fm.Pipeline("m", [parts, size]).run()


# ---------------------------------------------------------------------- recording and CLI


def test_the_catalog_records_each_tables_schema(project: Path) -> None:
    @fm.step(outputs=("a", "b", "c", "d"))
    def tables() -> tuple:
        idx = pd.DataFrame({"x": [1, 2], "when": pd.to_datetime(["2024-01-01", "2024-01-02"]).astype("datetime64[ns]")},
                           index=pd.Index(["p", "q"], name="key"))
        return (idx, pl.DataFrame({"s": ["a"], "f": [1.5]}),
                pa.table({"i": pa.array([1], pa.int16())}), pd.Series([1.0, 2.0], name="v"))

    arts = fm.Pipeline("p", [tables]).run().artifacts
    assert arts["a"].meta["schema"] == {
        "columns": [["x", "int64"], ["when", "timestamp[ns]"]], "rows": 2}  # not the index
    assert arts["b"].meta["schema"] == {"columns": [["s", "string"], ["f", "float64"]], "rows": 1}
    assert arts["c"].meta["schema"] == {"columns": [["i", "int16"]], "rows": 1}
    assert arts["d"].meta["schema"] == {"columns": [["v", "float64"]], "rows": 2}


PIPE = '''
import pandas as pd
import pandera.pandas as pa
from pandera.typing import DataFrame, Series
import flowyml as fm

class Orders(pa.DataFrameModel):
    order_id: Series[int]
    price: Series[float]

class Report(pa.DataFrameModel):
    price: Series[float]

@fm.step(outputs="orders")
def load() -> DataFrame[Orders]:
    return pd.DataFrame({"order_id": [1, 2], "price": [3.0, 4.5]})

@fm.step(outputs="total")
def report(orders: DataFrame[Report]) -> float:
    return float(orders.price.sum())

pipe = fm.Pipeline("shop", [load, report])
'''


def test_cli_plan_reports_checks_and_show_displays_the_schema(project: Path) -> None:
    write(project / "pipe.py", PIPE)
    res = flowyml_cli(project, "plan", "pipe.py")
    assert res.returncode == 0, res.stderr
    assert "schema checks:" in res.stdout
    assert "ok           load --orders--> report: Report (1 column) satisfied by Orders" in res.stdout
    assert "declared     load -> orders: validated against Orders when load executes" in res.stdout
    assert flowyml_cli(project, "run", "pipe.py").returncode == 0
    res = flowyml_cli(project, "show", "orders@1")
    assert res.returncode == 0, res.stderr
    assert "schema         2 rows, 2 columns" in res.stdout
    assert "order_id  int64" in res.stdout and "price     float64" in res.stdout
    # the web page shows the recorded schema on the artifact's page
    from flowyml.catalog_api import Catalog
    from tests.test_ui import UiServer, get

    art = Catalog(fm.Stack(root=str(project)).resolve()).get("orders")
    server = UiServer(project, "--port", "0")
    try:
        status, _, page = get(server.wait_url() + f"artifacts/{art.id}")
    finally:
        server.stop()
    assert status == 200 and "Schema" in page
    assert "<td>price</td><td>float64</td>" in page
    # removing the column a consumer reads: exit 2 and the message, no traceback
    write(project / "pipe.py", PIPE.replace("    price: Series[float]\n\nclass Report",
                                            "\nclass Report"))
    res = flowyml_cli(project, "run", "pipe.py")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "error: SchemaError: asset 'orders': step 'report' reads column 'price'" in res.stderr


def test_cli_plan_says_what_is_validated_when_the_consumer_executes(project: Path) -> None:
    source = PIPE.replace("class Report(pa.DataFrameModel):\n    price: Series[float]\n",
                          "class Report(pa.DataFrameModel):\n    price: Series[float] = "
                          "pa.Field(ge=0)\n").replace("[3.0, 4.5]", "[3.0, -4.5]")
    assert "pa.Field(ge=0)" in source and "-4.5" in source
    write(project / "pipe.py", source)
    res = flowyml_cli(project, "plan", "pipe.py")
    assert res.returncode == 0, res.stderr
    assert ("at run time  load --orders--> report: Report (1 column): columns and dtypes "
            "satisfied by Orders; validated when report executes: price "
            "greater_than_or_equal_to(0)") in res.stdout
    assert "satisfied by Orders\n" not in res.stdout  # not "ok": the check is not proven
    res = flowyml_cli(project, "run", "pipe.py")
    assert res.returncode == 1
    assert ("parameter 'orders' (asset 'orders') does not match its declared schema Report: "
            "column 'price' fails greater_than_or_equal_to(0) in row 1 (value -4.5)") in res.stderr


def test_a_handle_is_not_validated_and_plan_says_so(project: Path) -> None:
    @fm.step(outputs="orders")
    def load() -> Annotated[pd.DataFrame, pa.schema([("a", pa.int64())])]:
        return pd.DataFrame({"a": [1]})

    @fm.step(outputs="t")
    def use(orders: Annotated[fm.ArtifactRef, pa.schema([pa.field("a", pa.int64(),
                                                                    nullable=False)])]) -> int:
        return len(orders.load())

    graph = fm.Pipeline("p", [load, use]).build()
    assert graph.input_checks == {}
    assert ("not checked  load --orders--> use: pyarrow schema (1 column): columns and dtypes "
            "satisfied by pyarrow schema; not validated at run time: use gets a handle "
            "(ArtifactRef) and loads it itself") in graph.schema_checks


# ---------------------------------------------------------------------- pieces


def test_readable_as() -> None:
    ok = [("int32", "int64"), ("uint32", "int64"), ("int64", "float64"), ("float32", "float64"),
          ("timestamp[ns]", "timestamp[us]"), ("dictionary<string>", "string"),
          ("string", "dictionary<string>"), ("null", "int64"), ("any", "string"),
          ("string", "any"), ("int64", "int64")]
    bad = [("int64", "int32"), ("float64", "int64"), ("string", "int64"), ("int64", "string"),
           ("uint64", "int64"), ("int8", "uint64"), ("float64", "float32"), ("bool", "int64"),
           ("timestamp[ns, tz=UTC]", "timestamp[ns]")]
    assert all(contracts.readable_as(h, w) for h, w in ok)
    assert not any(contracts.readable_as(h, w) for h, w in bad)


def test_a_run_without_schemas_imports_no_schema_code(project: Path) -> None:
    """Neither the schema libraries nor contracts.py itself: a pipeline without schemas
    does not pay for them, at build or at run time."""
    code = (
        "import sys, flowyml as fm\n"
        "@fm.step(outputs='a')\n"
        "def a() -> int:\n    return 1\n"
        "@fm.step(outputs='b')\n"
        "def b(a: int) -> int:\n    return a\n"
        "fm.Pipeline('p', [a, b]).build()\n"
        "assert fm.Pipeline('p', [a, b]).run()['b'] == 1\n"
        "print([m for m in ('pandera', 'pyarrow', 'flowyml.core.contracts') if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=project, capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "[]"
