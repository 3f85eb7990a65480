"""Graph inference and build-time validation: broken pipelines fail before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest

import flowyml as fm

CALLS: list[str] = []


@fm.step(outputs="raw_data")
def load(n_rows: int = 5) -> list[int]:
    CALLS.append("load")
    return list(range(n_rows))


@fm.step(outputs="clean_data")
def clean(raw_data: list[int]) -> list[int]:
    CALLS.append("clean")
    return [x * 2 for x in raw_data]


@fm.step(outputs=("model", "metrics"))
def train(clean_data: list[int], lr: float = 0.1) -> tuple[dict, dict]:
    CALLS.append("train")
    return {"w": sum(clean_data) * lr}, {"n": len(clean_data)}


def _nothing_written(root: Path) -> bool:
    objects = root / ".flowyml" / "objects"
    return not objects.exists() or not any(objects.rglob("*"))


def test_steps_in_any_order_build_the_same_graph(project: Path) -> None:
    g1 = fm.Pipeline("p", [train, clean, load]).build()
    g2 = fm.Pipeline("p", [load, clean, train]).build()
    assert g1.order == g2.order == ["load", "clean", "train"]
    assert g1.upstream["train"] == ["clean"]


def test_bare_decorator_names_output_after_function(project: Path) -> None:
    @fm.step
    def numbers() -> list[int]:
        return [1, 2, 3]

    @fm.step
    def total(numbers: list[int]) -> int:
        return sum(numbers)

    assert numbers.outputs == ("numbers",)
    run = fm.Pipeline("bare", [total, numbers]).run()
    assert run["total"] == 6


def test_calling_a_step_calls_the_plain_function() -> None:
    assert clean([1, 2]) == [2, 4]
    assert clean.__name__ == "clean"


def test_redefining_a_step_is_not_an_error(project: Path) -> None:
    for _ in range(2):  # a notebook cell run twice

        @fm.step(outputs="x")
        def make() -> int:
            return 1

    assert fm.Pipeline("nb", [make]).run()["x"] == 1


def test_fork_and_join(project: Path) -> None:
    @fm.step(outputs="a")
    def src() -> int:
        return 2

    @fm.step(outputs="b")
    def left(a: int) -> int:
        return a + 1

    @fm.step(outputs="c")
    def right(a: int) -> int:
        return a * 10

    @fm.step(outputs="d")
    def join(b: int, c: int) -> int:
        return b + c

    g = fm.Pipeline("diamond", [join, right, left, src]).build()
    assert sorted(g.downstream["src"]) == ["left", "right"]
    assert sorted(g.upstream["join"]) == ["left", "right"]
    assert fm.Pipeline("diamond", [join, right, left, src]).run()["d"] == 23


def test_parameter_resolution_order(project: Path) -> None:
    @fm.step(outputs="lr")
    def make_lr() -> float:
        return 0.5

    @fm.step(outputs="out")
    def use(lr: float = 0.1, epochs: int = 3, batch: int = 8) -> list:
        return [lr, epochs, batch]

    # asset beats run value; run value beats default
    run = fm.Pipeline("res", [use]).run(params={"epochs": 5})
    assert run["out"] == [0.1, 5, 8]
    run = fm.Pipeline("res2", [use, make_lr]).run(params={"epochs": 7})
    assert run["out"] == [0.5, 7, 8]


def test_inputs_mapping_to_another_asset_name(project: Path) -> None:
    @fm.step(outputs="summary", inputs={"df": "raw_data"})
    def summarize(df: list[int]) -> int:
        return len(df)

    assert fm.Pipeline("m", [summarize, load]).run()["summary"] == 5


class Experiment:
    def __init__(self, k: int) -> None:
        self.k = k

    @fm.step(outputs="data")
    def load(self, n: int = 6) -> list[int]:
        return [self.k] * n


def test_a_method_decorated_in_its_class_says_how_to_make_the_step(project: Path) -> None:
    """``@fm.step`` on a method in its class body makes a step of the plain function:
    the error says so and names the form that works, not "pass params={'self': ...}"."""
    with pytest.raises(fm.MissingInputError) as err:
        fm.Pipeline("exp", [Experiment(3).load]).build()
    msg = str(err.value)
    assert "Experiment.load decorated with @fm.step in its class body" in msg
    assert "fm.step(outputs=...)(instance.load)" in msg and "params=" not in msg


def test_missing_input_names_step_param_and_closest_asset(project: Path) -> None:
    @fm.step(outputs="model2")
    def train2(clean_dta: list[int]) -> int:
        return 1

    CALLS.clear()
    with pytest.raises(fm.MissingInputError) as err:
        fm.Pipeline("p", [load, clean, train2]).run()
    msg = str(err.value)
    assert "train2" in msg and "clean_dta" in msg and "clean_data" in msg
    assert CALLS == []
    assert _nothing_written(project)
    assert not (project / ".flowyml" / "catalog.db").exists()


def test_removing_a_needed_output_fails_the_build(project: Path) -> None:
    with pytest.raises(fm.MissingInputError, match="raw_data"):
        fm.Pipeline("p", [clean, train]).build()


def test_duplicate_producers(project: Path) -> None:
    @fm.step(outputs="clean_data")
    def clean_again(raw_data: list[int]) -> list[int]:
        return raw_data

    with pytest.raises(fm.DuplicateOutputError) as err:
        fm.Pipeline("p", [load, clean, clean_again]).build()
    assert "clean_data" in str(err.value) and "clean_again" in str(err.value)


def test_a_step_taking_its_own_output_is_told_which_parameter(project: Path) -> None:
    @fm.step(outputs="f")
    def scale(x: int = 1, f: int = 2) -> int:
        return x * f

    with pytest.raises(fm.CycleError) as err:
        fm.Pipeline("own", [scale]).build()
    msg = str(err.value)
    assert "step 'scale' takes its own output as its parameter 'f'" in msg
    assert "rename the parameter" in msg


def test_cycle_is_reported_with_its_path(project: Path) -> None:
    @fm.step(outputs="a")
    def one(c: int) -> int:
        return c

    @fm.step(outputs="b")
    def two(a: int) -> int:
        return a

    @fm.step(outputs="c")
    def three(b: int) -> int:
        return b

    with pytest.raises(fm.CycleError) as err:
        fm.Pipeline("cyc", [one, two, three]).run()
    msg = str(err.value)
    for name in ("one", "two", "three", "--a-->", "--b-->", "--c-->"):
        assert name in msg


def test_unknown_run_value_is_a_parameter_error(project: Path) -> None:
    with pytest.raises(fm.ParameterError) as err:
        fm.Pipeline("p", [load, clean, train]).run(params={"lrr": 0.3})
    assert "lrr" in str(err.value) and "'lr'" in str(err.value)
    assert _nothing_written(project)


def test_run_value_cannot_override_an_asset(project: Path) -> None:
    with pytest.raises(fm.ParameterError, match="raw_data"):
        fm.Pipeline("p", [load, clean]).build(params={"raw_data": [1]})


def test_type_mismatch_across_an_edge(project: Path) -> None:
    @fm.step(outputs="text")
    def produce() -> str:
        return "x"

    @fm.step(outputs="n")
    def consume(text: int) -> int:
        return text

    with pytest.raises(fm.TypeMismatchError) as err:
        fm.Pipeline("t", [produce, consume]).build()
    assert "consume" in str(err.value) and "text" in str(err.value)


def test_compatible_annotations_and_tuple_outputs_pass(project: Path) -> None:
    @fm.step(outputs=("a", "b"))
    def pair() -> tuple[list, dict]:
        return [1], {"k": 1}

    @fm.step(outputs="c")
    def use(a: list, b: dict) -> int:
        return len(a) + len(b)

    assert fm.Pipeline("ok", [pair, use]).run()["c"] == 2


def test_catalog_reference_that_does_not_resolve(project: Path) -> None:
    fm.Pipeline("p", [load]).run()

    @fm.step(outputs="total", inputs={"data": "raw_data@7"})
    def total(data: list[int]) -> int:
        return sum(data)

    with pytest.raises(fm.MissingInputError, match="raw_data@7"):
        fm.Pipeline("q", [total]).build()


def test_catalog_reference_by_version_latest_and_alias(project: Path) -> None:
    fm.Pipeline("p", [load]).run()
    fm.Pipeline("p", [load]).run(params={"n_rows": 3})
    fm.Catalog().tag("raw_data", 1, "prod")

    def consumer(ref: str) -> fm.Step:
        @fm.step(outputs="total", inputs={"data": f"raw_data@{ref}"})
        def total(data: list[int]) -> int:
            return len(data)

        return total

    assert fm.Pipeline("q", [consumer("1")]).run()["total"] == 5
    assert fm.Pipeline("q", [consumer("latest")]).run()["total"] == 3
    run = fm.Pipeline("q", [consumer("prod")]).run()
    assert run["total"] == 5
    # lineage crosses pipelines: total's parent is the catalog artifact
    assert run.artifacts["total"].parents == [fm.Catalog().get("raw_data", 1).id]


def test_bad_declarations_are_parameter_errors() -> None:
    with pytest.raises(fm.ParameterError):
        fm.step(outputs="../escape")(lambda: 1)
    with pytest.raises(fm.ParameterError):

        @fm.step(inputs={"nope": "raw_data"})
        def f(x: int) -> int:
            return x

    with pytest.raises(fm.ParameterError):

        @fm.step
        def g(*args: int) -> int:
            return 0


def test_inputs_given_as_a_list_says_what_inputs_is() -> None:
    # a natural slip: inputs are inferred from parameter names; inputs= maps them
    with pytest.raises(fm.ParameterError, match=r"inputs= maps parameters to assets.*list"):

        @fm.step(inputs=["data"], outputs="model")  # type: ignore[arg-type]
        def train(data: list) -> int:
            return 0


def test_build_errors_are_flowyml_errors() -> None:
    for cls in (fm.MissingInputError, fm.DuplicateOutputError, fm.CycleError,
                fm.ParameterError, fm.TypeMismatchError):
        assert issubclass(cls, fm.BuildError) and issubclass(cls, fm.FlowymlError)


def test_parameters_read_from_the_code_object_match_inspect_signature() -> None:
    """Steps' parameters are read from the code object (fast); they must be what
    ``inspect.signature`` says, for every shape a step can declare."""
    import inspect

    from flowyml.core.step import ParamSpec, _plain_params

    def kinds(x, y: int = 2, *, z="q", w: list[int]):  # type: ignore[no-untyped-def]
        return x

    class Model:
        def fit(self, data, lr=0.1):  # type: ignore[no-untyped-def]
            return data

    for f in (kinds, load, train.func, Model.fit, Model().fit, lambda q, r=5: q):
        want = tuple(ParamSpec(p.name, p.default, p.annotation)
                     for p in inspect.signature(f).parameters.values())
        fast = _plain_params(f)
        assert fast is None or fast == want, f
    assert _plain_params(kinds) is not None  # the plain function takes the fast path
    assert _plain_params(Model().fit) is None  # a bound method: inspect decides


def test_parameters_annotated_artifact_ref_get_a_handle_and_no_others() -> None:
    """``want_ref`` (which parameters get an ``ArtifactRef``): unannotated steps take a
    fast path that must agree with reading the annotations."""
    from flowyml.executors.task import want_ref

    @fm.step(outputs="o1")
    def plain(a, b):  # type: ignore[no-untyped-def]
        return a

    @fm.step(outputs="o2")
    def mixed(a: fm.ArtifactRef, b: int, c: fm.ArtifactRef) -> int:
        return b

    assert want_ref(plain) == frozenset()
    assert want_ref(mixed) == {"a", "c"}


def test_two_steps_of_one_name_are_both_located() -> None:
    """Two steps named alike (often from two modules) are refused, naming where each
    is defined."""

    @fm.step(outputs="a", name="clean")
    def clean_a() -> int:
        return 1

    @fm.step(outputs="b", name="clean")
    def clean_b() -> int:
        return 2

    with pytest.raises(fm.ParameterError) as err:
        fm.Pipeline("twins", [clean_a, clean_b]).build()
    msg = str(err.value)
    assert "two different steps are named 'clean'" in msg and "name=" in msg
    assert msg.count(Path(__file__).name) == 2 and "clean_a" in msg and "clean_b" in msg
