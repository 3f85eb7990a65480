"""A step that seeds the process's hidden random generator first thing is reused in
the next process (whose generator state is another); a step that reads that state
before seeding it, or asks for fresh entropy, re-executes (``core.rng``)."""

from __future__ import annotations

import functools
import multiprocessing as mp
import random
import warnings
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import flowyml as fm
from flowyml.core import rng

from .conftest import run_py


def _another_process() -> None:
    """What a new process finds: both hidden generators seeded from the OS."""
    random.seed()
    np.random.seed()


def _statuses(pipe: fm.Pipeline, **kwargs: object) -> dict[str, str]:
    run = pipe.run(**kwargs)  # type: ignore[arg-type]
    return {name: result.status for name, result in run.steps.items()}


@fm.step(outputs="seeded")
def seeded_first(n: int = 3) -> list[float]:
    np.random.seed(0)
    random.seed(1)
    return [float(np.random.rand()) + random.random() for _ in range(n)]


def _plain_seeded(n: int = 3) -> list[float]:
    np.random.seed(0)
    random.seed(1)
    return [float(np.random.rand()) + random.random() for _ in range(n)]


@fm.step(outputs="drawn")
def draws_then_seeds() -> float:
    x = random.random()
    random.seed(1)
    return x + random.random()


@fm.step(outputs="peeked")
def reads_state_then_seeds() -> float:
    saved = np.random.get_state()
    np.random.seed(0)
    np.random.set_state(saved)  # its draw comes from the state it started with
    return float(np.random.rand())


@fm.step(outputs="fresh")
def reseeds_from_entropy() -> float:
    random.seed(1)
    x = random.random()
    random.seed()  # fresh entropy: not the same in another run
    return x + random.random()


def test_a_step_seeding_first_is_reused_whatever_the_state(project: Path) -> None:
    """Each step in a pipeline of its own (the state each starts from is the process's
    own, as the script left it)."""
    steps = (seeded_first, draws_then_seeds, reads_state_then_seeds, reseeds_from_entropy)
    pipes = {s.name: fm.Pipeline(f"seeds-{s.name}", [s]) for s in steps}
    assert pipes["seeded_first"].run()["seeded"] == _plain_seeded()
    for name in ("draws_then_seeds", "reads_state_then_seeds", "reseeds_from_entropy"):
        assert _statuses(pipes[name]) == {name: "executed"}
    _another_process()
    run = pipes["seeded_first"].run()
    assert run.steps["seeded_first"].status == "cached", run.steps["seeded_first"].reason
    assert run["seeded"] == _plain_seeded()  # (which seeds: another process again)
    for name in ("draws_then_seeds", "reads_state_then_seeds", "reseeds_from_entropy"):
        _another_process()
        run = pipes[name].run()
        assert run.steps[name].status == "executed", name
    _another_process()
    assert "random generator of random changed" in pipes["draws_then_seeds"].run().steps[
        "draws_then_seeds"].reason
    # plan agrees, from the catalog alone
    _another_process()
    assert [what for _, what, _ in pipes["seeded_first"].plan()] == ["reuse"]
    assert [what for _, what, _ in pipes["draws_then_seeds"].plan()] == ["run"]


def test_an_edit_of_the_seed_re_executes(project: Path) -> None:
    @fm.step(outputs="y")
    def f(seed: int = 3) -> float:
        np.random.seed(seed)
        return float(np.random.rand())

    pipe = fm.Pipeline("edit", [f])
    assert _statuses(pipe) == {"f": "executed"}
    _another_process()
    assert _statuses(pipe) == {"f": "cached"}
    assert _statuses(pipe, params={"seed": 4}) == {"f": "executed"}
    _another_process()
    run = pipe.run(params={"seed": 4})
    assert run.steps["f"].status == "cached" and run["y"] == np.random.RandomState(4).rand()


def test_what_is_not_a_seed_first(project: Path) -> None:
    """Observed while the step runs: each of these leaves the state it started with
    in play, or asks for entropy, so the step keeps counting that state."""

    def watched(*calls: Callable[[], object]) -> tuple[str, ...]:
        with rng.watching(("random", "numpy")) as watch:
            for call in calls:
                call()
        assert watch is not None
        return watch.seeded()

    inst: random.Random = random._inst
    cases: dict[str, tuple[Callable[[], object], ...]] = {
        "a draw first": (random.random, lambda: random.seed(1)),
        "a library's draw first": (lambda: np.random.permutation(3), lambda: np.random.seed(1)),
        "the state read on the instance": (inst.getstate, lambda: random.seed(1)),
        "the state set": (lambda: random.setstate(random.getstate()), lambda: random.seed(1)),
        "a seed of None": (lambda: random.seed(None),),
        "a float seed (by its hash)": (lambda: random.seed(1.5),),
        "a numpy seed of None": (lambda: np.random.seed(None),),
        "an array seed": (lambda: np.random.seed([1, 2]),),
        "a seed, then entropy": (lambda: np.random.seed(1), np.random.rand,
                                 lambda: np.random.seed()),
        "the instance's own seed (not seen)": (lambda: np.random.mtrand._rand.seed(1),),
    }
    for what, calls in cases.items():
        assert watched(*calls) == (), what
    assert watched(lambda: random.seed(3), lambda: np.random.seed(np.int64(4))) == (
        "numpy", "random")
    assert watched(lambda: inst.seed("text"), random.random) == ("random",)


def test_a_step_starting_processes_is_never_seeded_first(project: Path) -> None:
    """A forked worker starts from the state its parent had: what it draws may come
    from the state the step started with, though the step's own seed came first."""

    @fm.step(outputs="pooled")
    def pooled() -> float:
        np.random.seed(0)
        with ProcessPoolExecutor(1, mp_context=mp.get_context("fork")) as pool:
            return sum(pool.map(abs, [1, 2])) + float(np.random.rand())

    pipe = fm.Pipeline("pool", [pooled])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fm.UnseenInputWarning)
        assert _statuses(pipe) == {"pooled": "executed"}
        _another_process()
        assert _statuses(pipe) == {"pooled": "executed"}


def test_map_over_elements_count_the_state(project: Path) -> None:
    """A mapped step's elements are keyed with the state whatever they do (no element
    is watched for a seed): sound, and as before."""

    @fm.step(outputs="items")
    def items() -> list[int]:
        return [1, 2]

    @fm.step(outputs="noisy", map_over="items")
    def noisy(items: int) -> float:
        return items + random.random()

    pipe = fm.Pipeline("mapped", [items, noisy])
    pipe.run()
    _another_process()
    run = pipe.run()
    assert run.steps["noisy"].status == "executed"


def test_seeded_first_holds_in_new_processes_and_on_workers(project: Path) -> None:
    """Real processes: each finds the generators seeded from the OS."""
    (project / "pipe.py").write_text(
        "import random\nimport numpy as np\nimport flowyml as fm\n\n"
        "@fm.step(outputs='y')\n"
        "def f(n: int = 3):\n"
        "    np.random.seed(5)\n"
        "    random.seed('five')\n"
        "    return [float(np.random.rand()) + random.random() for _ in range(n)]\n\n"
        "pipe = fm.Pipeline('p', [f])\n")
    code = """
        import sys
        sys.path.insert(0, '.')
        import pipe
        run = pipe.pipe.run(executor=EXECUTOR)
        print(run.steps['f'].status, run['y'])
    """

    def run(executor: str) -> list[str]:
        return run_py(project, code.replace("EXECUTOR", repr(executor))).split(" ", 1)

    # the first execution on a worker process: watched there
    outs = [run("processes:1"), run("processes:1"), run("inline")]
    assert [o[0] for o in outs] == ["executed", "cached", "cached"]
    assert outs[0][1] == outs[1][1] == outs[2][1]
    a, b = np.random.RandomState(5), random.Random("five")  # the plain function's draws
    assert outs[0][1].strip() == str([float(a.rand()) + b.random() for _ in range(3)])
    (project / "pipe.py").write_text((project / "pipe.py").read_text().replace(
        "    np.random.seed(5)", "    np.random.rand()\n    np.random.seed(5)"))
    assert run("inline")[0] == "executed"
    assert run("inline")[0] == "executed"  # a draw before the seed: the state counts


@pytest.mark.parametrize("name", ["random", "numpy"])
def test_the_state_digest_follows_the_generator(name: str) -> None:
    before = rng.state_digest(name)
    (random.random() if name == "random" else np.random.rand())
    assert rng.state_digest(name) != before


def test_a_seed_that_raises_seeded_nothing(project: Path) -> None:
    def caught() -> None:
        try:
            np.random.seed(-1)  # ValueError: the generator is as it was
        except ValueError:
            pass
        np.random.rand()

    with rng.watching(("numpy",)) as watch:
        caught()
    assert watch is not None and watch.seeded() == ()


def test_a_state_read_in_another_thread_counts(project: Path) -> None:
    """The step's helper thread hands it the state it started with: a read anywhere
    while the step runs keeps it counting that state."""
    import threading

    box: list[object] = []
    with rng.watching(("numpy",)) as watch:
        t = threading.Thread(target=lambda: box.append(np.random.get_state()))
        t.start()
        t.join()
        np.random.seed(0)
    assert watch is not None and watch.seeded() == ()


def test_the_wrappers_pickle_as_the_originals_did() -> None:
    import pickle

    rng.install()
    for fn in (np.random.seed, np.random.get_state, np.random.set_state, random.seed,
               random.getstate, np.random.mtrand.get_bit_generator):
        again = pickle.loads(pickle.dumps(fn))  # (a bound method: of a copy, as before)
        assert callable(again) and again.__name__ == fn.__name__, fn


def test_bare_names_of_a_generator_draw_after_the_seeding_step(project: Path) -> None:
    """``from numpy.random import rand`` draws from the same hidden generator as
    ``np.random.rand``: a step drawing through it starts from the state the seeding
    step before it left (put back when that step is reused), which its key counts: the
    value is the plain one, and a new process reuses both."""
    (project / "bare_mod.py").write_text(
        "import numpy as np\nimport flowyml as fm\nfrom numpy.random import rand\n\n"
        "@fm.step(outputs='a')\n"
        "def a():\n    np.random.seed(1)\n    return float(np.random.rand())\n\n"
        "@fm.step(outputs='b')\n"
        "def b(a):\n    return float(rand()) + 0 * a\n")
    code = """
        import sys, warnings
        sys.path.insert(0, '.')
        warnings.simplefilter('ignore')
        import flowyml as fm, bare_mod
        run = fm.Pipeline('bare', [bare_mod.a, bare_mod.b]).run()
        print(run.steps['a'].status, run.steps['b'].status, run['b'])
    """
    state = np.random.RandomState(1)
    state.rand()
    plain = state.rand()
    for status in ("executed", "cached"):
        a, b, value = run_py(project, code).split()
        assert (a, b, float(value)) == (status, status, plain)


def test_numpy_random_loaded_in_the_middle_of_a_build(project: Path) -> None:
    """numpy loads ``numpy.random`` on its first use: here while the second step is
    fingerprinted, after the first step's values were tokenized."""
    (project / "lazy_mod.py").write_text(
        "import numpy as np\nimport flowyml as fm\nCONFIG = {'n': 3}\n\n"
        "@fm.step(outputs='cfg')\n"
        "def load():\n    return dict(CONFIG)\n\n"
        "@fm.step(outputs='y')\n"
        "def train(cfg):\n    np.random.seed(0)\n"
        "    return [float(np.random.rand()) for _ in range(cfg['n'])]\n")
    code = """
        import sys
        sys.path.insert(0, '.')
        import flowyml as fm, lazy_mod
        assert 'numpy.random' not in sys.modules
        run = fm.Pipeline('lazy', [lazy_mod.load, lazy_mod.train]).run()
        print(run.steps['train'].status)
    """
    assert [run_py(project, code).strip() for _ in range(2)] == ["executed", "cached"]


def test_a_name_bound_to_numpy_state_functions_runs_on_workers(project: Path) -> None:
    (project / "pipe.py").write_text(
        "import numpy as np\nimport flowyml as fm\nfrom numpy.random import get_state, set_state\n\n"
        "@fm.step(outputs='y')\n"
        "def f():\n    st = get_state()\n    x = float(np.random.rand())\n    set_state(st)\n"
        "    return x >= 0\n\n"
        "pipe = fm.Pipeline('p', [f])\n"
        "if __name__ == '__main__':\n"
        "    print(pipe.run(executor='processes:1')['y'])\n")
    import subprocess
    import sys

    from .conftest import child_env

    out = subprocess.run([sys.executable, "pipe.py"], cwd=project, env=child_env(None),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True"


def test_a_reuse_leaves_the_generator_as_the_execution_did(project: Path) -> None:
    """What a library draws from numpy's global generator on a step's behalf is not in
    that step's key (README, "Not tracked"); after a step that seeded the generator
    first, it is what the seed says, whether that step executed or was reused: a reuse
    puts back the state its execution left."""
    pd = pytest.importorskip("pandas")

    @fm.step(outputs="a")
    def a() -> float:
        np.random.seed(1)
        return float(np.random.rand())

    @fm.step(outputs="b")
    def b(a: float, rows: int = 1000) -> int:
        return int(pd.DataFrame({"x": range(rows)}).sample(n=1).x.iloc[0]) + 0 * int(a)

    def plain(rows: int) -> int:
        np.random.seed(1)
        np.random.rand()
        return int(pd.DataFrame({"x": range(rows)}).sample(n=1).x.iloc[0])

    pipe = fm.Pipeline("effects", [a, b])
    assert pipe.run()["b"] == plain(1000)
    _another_process()
    run = pipe.run(params={"rows": 2000})  # b's input changes: it executes after a reuse
    assert (run.steps["a"].status, run.steps["b"].status) == ("cached", "executed")
    assert run["b"] == plain(2000)
    _another_process()
    run = pipe.run()
    assert (run.steps["a"].status, run.steps["b"].status) == ("cached", "cached")
    seeded = np.random.RandomState(1)
    seeded.rand()
    assert np.random.rand() == seeded.rand()  # from where a left it (b drew nothing)


def test_a_reuse_puts_the_state_back_in_its_turn(project: Path) -> None:
    """``x`` comes before the reused seeding step ``f``: it draws (through a library)
    from the state the script left, not from the one ``f`` leaves, though ``f`` is
    decided (with ``x``, both ready at once) before ``x`` runs."""
    pd = pytest.importorskip("pandas")

    @fm.step(outputs="x")
    def x(rows: int = 50) -> int:
        return int(pd.DataFrame({"v": range(rows)}).sample(n=1).v.iloc[0])

    @fm.step(outputs="y")
    def f() -> float:
        np.random.seed(0)
        return float(np.random.rand())

    pipe = fm.Pipeline("turn", [x, f])
    np.random.seed(1)
    pipe.run()
    np.random.seed(1)
    run = pipe.run(params={"rows": 60})
    assert (run.steps["x"].status, run.steps["f"].status) == ("executed", "cached")
    np.random.seed(1)
    assert run["x"] == int(pd.DataFrame({"v": range(60)}).sample(n=1).v.iloc[0])


def test_what_reaches_the_hidden_generator_without_drawing(project: Path) -> None:
    """``np.random.seed`` alone reaches numpy's hidden generator: its step counts the
    state (seeded first or not), and a step drawing after it starts from the state the
    seed leaves (put back when the seeding step is reused), which its key counts: a new
    process reuses both, with the plain value."""

    @fm.step(outputs="s")
    def set_seed(seed: int = 0) -> int:
        np.random.seed(seed)
        return seed

    @fm.step(outputs="z")
    def draws(s: int) -> float:
        return float(np.random.rand())

    from flowyml.core.fingerprint import fingerprint_step

    assert fingerprint_step(set_seed, {"seed": 0}, project)[0].states.keys() == {"numpy"}
    pipe = fm.Pipeline("reach", [set_seed, draws])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (nothing to warn about: no coupling)
        first = pipe.run()
    _another_process()
    run = pipe.run()
    assert [run.steps[n].status for n in ("set_seed", "draws")] == ["cached", "cached"]
    assert run["z"] == first["z"] == np.random.RandomState(0).rand()


def test_a_random_module_used_whole_counts_only_if_the_step_draws(project: Path) -> None:
    """``np.random`` as a fallback when no seed is given: its state is counted (the
    step may draw from it), and a run that did not touch it, as one that seeded it
    first, is reused whatever it was."""

    def get_rng(seed: int | None) -> object:
        return np.random.default_rng(seed) if seed is not None else np.random

    @fm.step(outputs="y")
    def f(seed: int | None = 2) -> float:
        return float(get_rng(seed).random())  # type: ignore[attr-defined]

    from flowyml.core.fingerprint import fingerprint_step

    assert fingerprint_step(f, {"seed": 2}, project)[0].states.keys() == {"numpy"}
    pipe = fm.Pipeline("whole", [f])
    assert _statuses(pipe) == {"f": "executed"}
    _another_process()
    assert _statuses(pipe) == {"f": "cached"}  # the branch not taken: untouched
    assert _statuses(pipe, params={"seed": None}) == {"f": "executed"}
    _another_process()
    assert _statuses(pipe, params={"seed": None}) == {"f": "executed"}  # it drew


def test_another_bit_generator_is_a_state_like_any_other(project: Path) -> None:
    @fm.step(outputs="y")
    def f() -> float:
        return float(np.random.rand())

    np.random.mtrand.set_bit_generator(np.random.PCG64(1))
    try:
        pipe = fm.Pipeline("pcg", [f])
        assert _statuses(pipe) == {"f": "executed"}
        np.random.mtrand.set_bit_generator(np.random.PCG64(2))
        assert _statuses(pipe) == {"f": "executed"}
        np.random.mtrand.set_bit_generator(np.random.PCG64(1))
        assert _statuses(pipe) == {"f": "cached"}
    finally:
        np.random.mtrand.set_bit_generator(np.random.MT19937())


def test_a_seeding_step_run_in_another_process_leaves_its_state_here(project: Path) -> None:
    """A step with a timeout runs in a process of its own: the state it left is put in
    place here, for the steps after it and the code after the run."""

    @fm.step(outputs="y", timeout=60)
    def f() -> float:
        np.random.seed(0)
        return float(np.random.rand())

    pipe = fm.Pipeline("away", [f])
    _another_process()
    pipe.run()
    assert np.random.rand() == (lambda g: (g.rand(), g.rand())[1])(np.random.RandomState(0))


def test_an_output_holding_the_hidden_generator_keeps_counting_it(project: Path) -> None:
    """A step that did not touch the generator but returns it (or an object holding
    it) stores its state: the result depends on it after all."""

    @fm.step(outputs="h")
    def keeps_numpys(k: int = 1) -> dict[str, object]:
        return {"gen": np.random.mtrand._rand}

    @fm.step(outputs="r")
    def keeps_randoms(k: int = 1) -> dict[str, object]:
        return {"gen": random._inst}

    @fm.step(outputs="w")
    def wraps_numpys(k: int = 1) -> object:  # (its bit generator: the same state)
        return np.random.Generator(np.random.mtrand._rand._bit_generator)

    for step in (keeps_numpys, keeps_randoms, wraps_numpys):
        pipe = fm.Pipeline(f"holds-{step.name}", [step])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert _statuses(pipe) == {step.name: "executed"}
            _another_process()
            assert _statuses(pipe) == {step.name: "executed"}, step.name


def test_a_bit_generator_of_the_users_keeps_its_state_counted() -> None:
    """Its state could not be put back by a reuse (``rng.restore`` makes numpy's own)."""

    class Mine(np.random.PCG64):
        pass

    assert rng.restorable(("numpy", "random")) == ("numpy", "random")
    np.random.mtrand.set_bit_generator(Mine(1))
    try:
        assert rng.restorable(("numpy", "random")) == ("random",)
    finally:
        np.random.mtrand.set_bit_generator(np.random.MT19937())


@fm.step(outputs="u")
def draws_first() -> float:
    return float(np.random.rand()) + random.random()


@fm.step(outputs="v")
def draws_second() -> float:
    return float(np.random.rand()) * 10 + random.random()


@fm.step(outputs="w")
def draws_after_both(u: float, v: float) -> float:
    return u + v + float(np.random.rand())


@fm.step(outputs="nothing")
def draws_nothing() -> int:
    return 1


def _script_seeds() -> None:
    """A script's ``np.random.seed(3)`` and ``random.seed(4)`` before ``run()``."""
    np.random.seed(3)
    random.seed(4)


def _called_in_order() -> tuple[list[float], float]:
    """The plain functions called in the pipeline's order after the script's seeds, and
    what the script draws after them."""
    _script_seeds()
    u, v = draws_first.func(), draws_second.func()
    return [u, v, draws_after_both.func(u, v)], float(np.random.rand())


@pytest.mark.parametrize("executor", ["inline", "processes:2"])
def test_every_executor_starts_a_step_from_the_drivers_state(project: Path,
                                                             executor: str) -> None:
    """A worker draws what the step would draw in the driver, the steps that draw from
    one generator draw in the pipeline's order even on parallel workers, and the script
    draws after the run what it would have drawn after calling them."""
    expected, after = _called_in_order()
    pipe = fm.Pipeline("draws", [draws_first, draws_second, draws_nothing, draws_after_both])
    _script_seeds()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (nothing to warn about)
        run = pipe.run(executor=executor)
    assert [run["u"], run["v"], run["w"]] == expected
    assert float(np.random.rand()) == after


_HANDED = {"k": 0}


@fm.step(outputs="ha")
def draw_in_the_driver() -> float:
    _HANDED["k"] = 1  # passes state to the step below: both run in the driver
    return random.random()


@fm.step(outputs="hs")
def reads_what_was_handed(ha: float) -> int:
    return _HANDED["k"]


@fm.step(outputs="hb")
def draw_after_on_a_worker(hs: int) -> float:
    return random.random()


@pytest.mark.parametrize("executor", ["inline", "processes:2"])
def test_a_step_after_a_driver_step_draws_where_that_one_left(project: Path,
                                                              executor: str) -> None:
    """On an executor whose steps run elsewhere, a step that must run in the driver
    (coupled through module state) draws from the states the steps before it left, and
    a worker step after it draws from where it left them: the numbers inline draws (a
    worker repeated the driver step's draws)."""
    random.seed(1)
    expected = [draw_in_the_driver.func(), draw_after_on_a_worker.func(1)]
    random.seed(1)
    pipe = fm.Pipeline("handed", [draw_in_the_driver, reads_what_was_handed,
                                  draw_after_on_a_worker])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fm.FingerprintWarning)
        run = pipe.run(executor=executor)
    assert [run["ha"], run["hb"]] == expected


def test_a_result_made_on_a_worker_is_the_one_made_here(project: Path) -> None:
    """A drawing step's key counts the driver's state: the result a worker stored under
    it is the plain function's from that state, so a reuse on any executor is right."""
    pipe = fm.Pipeline("draw-once", [draws_first])
    _script_seeds()
    expected = draws_first.func()
    _script_seeds()
    assert pipe.run(executor="processes:1")["u"] == expected
    _script_seeds()
    again = pipe.run()
    assert again.steps["draws_first"].status == "cached" and again["u"] == expected
    _another_process()
    assert pipe.run(executor="processes:1").steps["draws_first"].status == "executed"


def test_steps_draw_in_the_pipelines_order_after_a_reuse(project: Path) -> None:
    """A reuse makes the step after it ready before the step after an execution; the
    two that draw still draw in the pipeline's order, as on a first run."""

    @fm.step(outputs="e")
    def made() -> int:
        return 1

    @fm.step(outputs="r")
    def kept() -> int:
        return 2

    @fm.step(outputs="de")
    def after_made(e: int) -> float:
        return e + float(np.random.rand())

    @fm.step(outputs="dr")
    def after_kept(r: int) -> float:
        return r + float(np.random.rand())

    pipe = fm.Pipeline("order", [made, kept, after_made, after_kept])
    g = np.random.RandomState(3)
    expected = {"de": 1 + float(g.rand()), "dr": 2 + float(g.rand())}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (nothing to warn about)
        for force in (False, ["made"]):
            np.random.seed(3)
            run = pipe.run(force=force)
            assert {"de": run["de"], "dr": run["dr"]} == expected
    assert run.steps["kept"].status == "cached" and run.steps["made"].status == "executed"


@fm.step(outputs="sizes")
def sizes(first: int = 1) -> list[int]:
    return [first, 1, 2]


@fm.step(outputs="sums", map_over="sizes")
def sums(sizes: int) -> float:
    return float(np.random.rand(sizes).sum())


def _as_a_loop(first: int) -> tuple[list[float], float]:
    """What a loop over the list draws after the script's seed, and the draw after it."""
    np.random.seed(3)
    return [float(np.random.rand(n).sum()) for n in (first, 1, 2)], float(np.random.rand())


@pytest.mark.parametrize("executor", ["inline", "processes:2"])
def test_map_over_elements_draw_as_a_loop_would(project: Path, executor: str) -> None:
    """Each element draws from the state the one before it left, on every executor: an
    element whose input is unchanged is not reused after one before it changed (it
    would have been drawn from another state), and the script draws after the run what
    it would have drawn after the loop."""
    pipe = fm.Pipeline("loop", [sizes, sums])
    for first in (1, 2, 1):
        expected, after = _as_a_loop(first)
        np.random.seed(3)
        run = pipe.run(params={"first": first}, executor=executor)
        assert run["sums"] == expected
        if first == 2:
            assert run.steps["sums"].status == "executed"
            assert "3 of 3 elements executed" in run.steps["sums"].reason
            assert float(np.random.rand()) == after
    assert run.steps["sums"].status == "cached"


def test_a_step_of_main_draws_from_the_workers_generator(project: Path) -> None:
    """A step of a script travels by value, with the names it reads: a name bound to a
    method of a hidden generator (``from random import random``) reaches the worker's
    generator, which has the driver's state, and what it leaves comes back."""
    code = """
        import random as R
        from random import random
        import numpy as np
        from numpy.random import rand
        import flowyml as fm

        @fm.step(outputs="a")
        def draw() -> float:
            return float(rand()) + random()

        np.random.seed(0)
        R.seed(0)
        run = fm.Pipeline("by-value", [draw]).run(executor="processes:1")
        after = (float(np.random.rand()), R.random())
        np.random.seed(0)
        R.seed(0)
        print(run["a"] == draw.func(), after == (float(np.random.rand()), R.random()))
    """
    assert run_py(project, code).split() == ["True", "True"]


def test_a_reuse_of_a_drawing_step_leaves_the_state_its_execution_left(project: Path) -> None:
    """Not only a step that seeds first: the script draws after a cached rerun what it
    drew after the run that executed the step (its key counted the state it started
    from, so the state it left is known)."""
    pipe = fm.Pipeline("draw-and-leave", [draws_first])
    afters = []
    for executor in ("inline", "inline", "processes:1"):
        _script_seeds()
        run = pipe.run(executor=executor)
        afters.append((run.steps["draws_first"].status, float(np.random.rand()), random.random()))
    _script_seeds()
    draws_first.func()
    expected = (float(np.random.rand()), random.random())
    assert afters == [("executed", *expected), ("cached", *expected), ("cached", *expected)]


def _first_attempt_fails(marker: Path) -> None:
    if not marker.exists():
        marker.write_text("failed once")
        raise RuntimeError("transient")


@fm.step(outputs="retried", retries=1)
def draws_then_fails_once(marker: str) -> float:
    x = float(np.random.rand())
    _first_attempt_fails(Path(marker))
    return x


@pytest.mark.parametrize("executor", ["inline", "processes:1"])
def test_every_attempt_starts_from_the_state_the_step_started_with(
        project: Path, executor: str) -> None:
    """A retried step draws what the plain function draws once: on every executor its
    second attempt starts from the state its first one started from."""
    pipe = fm.Pipeline("retried", [draws_then_fails_once])
    np.random.seed(3)
    run = pipe.run(params={"marker": str(project / "marker")}, executor=executor)
    assert run.steps["draws_then_fails_once"].attempts == 2
    assert run["retried"] == float(np.random.RandomState(3).rand())


class _OwnBitGenerator(np.random.PCG64):
    pass


def test_a_state_a_worker_cannot_be_given_is_not_cached(project: Path) -> None:
    """numpy's global generator on a bit generator of the user's: its state cannot be
    given to a worker, which draws from its own, so the result is not cached there, and
    this process's generator is left as it was."""
    pipe = fm.Pipeline("own-bits", [draws_first])
    np.random.mtrand.set_bit_generator(_OwnBitGenerator(1))
    try:
        for _ in range(2):
            with pytest.warns(UserWarning, match="not cached: numpy's global generator runs"):
                run = pipe.run(executor="processes:1")
            assert run.steps["draws_first"].status == "executed"
        assert type(np.random.mtrand._rand._bit_generator) is _OwnBitGenerator
    finally:
        np.random.mtrand.set_bit_generator(np.random.MT19937())


@fm.step(outputs="gx")
def draws_from_a_default(gen=np.random.mtrand._rand) -> float:
    return float(gen.rand())


@fm.step(outputs="mx")
def draws_from_a_module_default(gen=np.random) -> float:
    return float(gen.rand())


@pytest.mark.parametrize("step", [draws_from_a_default, draws_from_a_module_default])
def test_a_hidden_generator_given_as_a_value_is_the_generator(project: Path, step: fm.Step) -> None:
    """A default (or a run value) that is the hidden generator, or the module drawing from
    it, is that generator: the step draws from it as a call does (not from a private
    copy), its key counts the state, and the script draws after the run what it would
    have drawn after the call."""
    pipe = fm.Pipeline(f"value-{step.name}", [step])
    out = step.outputs[0]
    for seed, executor in ((7, "inline"), (8, "inline"), (8, "processes:1"), (9, "processes:1")):
        np.random.seed(seed)
        expected = step.func()
        after = float(np.random.rand())
        np.random.seed(seed)
        run = pipe.run(executor=executor)
        assert (run[out], float(np.random.rand())) == (expected, after), (seed, executor)


@fm.step(outputs="prefix")
def prefix(n: int = 3) -> list[int]:
    return [1, 1, 2][:n]


@fm.step(outputs="prefix_sums", map_over="prefix")
def prefix_sums(prefix: int) -> float:
    return float(np.random.rand(prefix).sum())


def test_every_element_reused_leaves_the_state_as_the_loop_did(project: Path) -> None:
    """A shorter list whose elements were all drawn before: each is reused, and the
    script draws after the run what it draws after a loop over the list."""
    pipe = fm.Pipeline("shrink", [prefix, prefix_sums])
    np.random.seed(3)
    pipe.run(params={"n": 3})
    np.random.seed(3)
    expected = [float(np.random.rand(1).sum()) for _ in range(2)]
    after = float(np.random.rand())
    for status in ("executed", "cached"):  # the step's own key misses, then hits
        np.random.seed(3)
        run = pipe.run(params={"n": 2})
        assert run.steps["prefix_sums"].status == status
        assert run["prefix_sums"] == expected and float(np.random.rand()) == after
        if status == "executed":
            assert "0 of 2 elements executed, 2 reused" in run.steps["prefix_sums"].reason


@fm.step(outputs="own")
def switches_to_its_own_bit_generator() -> float:
    np.random.mtrand.set_bit_generator(_OwnBitGenerator(1))
    return float(np.random.rand())


def test_a_step_switching_to_its_own_bit_generator_runs_on_a_worker(project: Path) -> None:
    """A step that sets numpy's global generator to a bit generator of its own class in
    another process computes as it does here (what it leaves cannot come back here)."""
    try:
        expected = switches_to_its_own_bit_generator.func()
    finally:
        np.random.mtrand.set_bit_generator(np.random.MT19937())
    run = fm.Pipeline("switch", [switches_to_its_own_bit_generator]).run(executor="processes:1")
    assert run["own"] == expected


@fm.step(outputs="noise")
def noise_or_not(seed: int | None = 5) -> float:
    r = np.random if seed is None else np.random.default_rng(seed)
    return float(r.random())


@fm.step(outputs="weights")
def weights_after() -> float:
    return float(np.random.rand())


def test_a_step_is_keyed_by_the_state_it_starts_from(project: Path) -> None:
    """``np.random`` used whole (a fallback) couples nothing; when it is taken, it moves
    the generator, and the step drawing after it starts from another state than at
    build: its key counts that one, so it re-executes, and ``plan`` says it may."""
    pipe = fm.Pipeline("whole", [noise_or_not, weights_after])

    def plan(seed: int | None) -> dict[str, str]:
        np.random.seed(7)
        return {step: what for step, what, _ in pipe.plan(params={"seed": seed})}

    def run(seed: int | None) -> fm.Run:
        np.random.seed(7)
        return pipe.run(params={"seed": seed})

    run(5)  # the fallback not taken
    assert plan(None) == {"noise_or_not": "run", "weights_after": "run?"}
    np.random.seed(7)
    expected = (noise_or_not.func(None), weights_after.func(), float(np.random.rand()))
    for status in ("executed", "cached"):
        out = run(None)
        assert (out["noise"], out["weights"], float(np.random.rand())) == expected
        assert out.steps["weights_after"].status == status
    assert plan(None) == {"noise_or_not": "reuse", "weights_after": "reuse"}
    assert run(5).steps["weights_after"].status == "cached"  # its first entry


@pytest.mark.parametrize("executor", ["inline", "processes:2"])
def test_steps_drawing_from_one_generator_are_reused(project: Path, executor: str) -> None:
    """Each is keyed by the state it starts from, and a reuse puts back what its
    execution left: after the script's seed, a rerun reuses all three, with the plain
    values, and the script draws after it what it drew after the first run."""
    expected, after = _called_in_order()
    pipe = fm.Pipeline("draws-again", [draws_first, draws_second, draws_nothing,
                                       draws_after_both])
    for status in ("executed", "cached"):
        _script_seeds()
        run = pipe.run(executor=executor)
        assert [run["u"], run["v"], run["w"], float(np.random.rand())] == [*expected, after]
        assert {run.steps[n].status for n in ("draws_first", "draws_second",
                                              "draws_after_both")} == {status}


@functools.cache
def _kept_rng() -> np.random.Generator:
    return np.random.default_rng(0)


@fm.step(outputs="kept_draw")
def draws_from_a_kept_generator(n: int = 3) -> float:
    return float(_kept_rng().random(n).sum())


def test_a_kept_generator_made_before_the_build_is_not_reused(project: Path) -> None:
    """One step drawing from a generator an ``lru_cache`` keeps: cached while the cache
    is empty at build (a new process makes the generator afresh, as the step's first
    run did); once a run in this process made it (a notebook running the pipeline
    again), it has drawn since, so the step re-executes and gets what the plain
    function gets now."""
    _check_reused_until_drawn_before_the_build(
        fm.Pipeline("kept", [draws_from_a_kept_generator]), "kept_draw",
        _kept_rng.cache_clear, lambda: _kept_rng().random(5))


def _check_reused_until_drawn_before_the_build(
        pipe: fm.Pipeline, asset: str, clear: Any, draw: Any) -> None:
    """``pipe``'s one step draws 3 numbers (summed as ``asset``) from the generator
    ``default_rng(0)`` a cache keeps: executed, then cached while the cache is empty at
    build (``clear``), then, once ``draw`` made it and drew 5 before the build,
    re-executed with a warning and given what the plain function gives now."""
    from flowyml.core.code_text import FingerprintWarning

    (step,) = pipe.steps
    clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error", FingerprintWarning)
        first = pipe.run()
        assert first.steps[step.name].status == "executed"
        assert first[asset] == float(np.random.default_rng(0).random(3).sum())
        clear()
        assert _statuses(pipe) == {step.name: "cached"}  # (empty cache)
    draw()  # made, and drawn from, before the next build
    with pytest.warns(FingerprintWarning, match="made before this build"):
        again = pipe.run()
    assert again.steps[step.name].status == "executed"
    rng_now = np.random.default_rng(0)
    rng_now.random(5)
    assert again[asset] == float(rng_now.random(3).sum())


class _Memo:
    """A memoizing wrapper whose ``__getattr__`` raises ``KeyError`` for a name it does
    not hold (as an ``AttrDict`` does)."""

    def __init__(self, fn: Any) -> None:
        self.__wrapped__ = fn
        self.store: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self.store[name]

    def __call__(self) -> Any:
        if "v" not in self.store:
            self.store["v"] = self.__wrapped__()
        return self.store["v"]


@_Memo
def _memo_rng() -> np.random.Generator:
    return np.random.default_rng(0)


@fm.step(outputs="memo_drawn")
def _draws_from_a_memo() -> list[float]:
    return _memo_rng().random(2).tolist()


def test_a_wrapper_whose_getattr_raises_is_no_caching_wrapper(project: Path) -> None:
    """Looking for the caching wrapper around a function that makes a generator asks
    the module's objects for attributes: one whose ``__getattr__`` raises ``KeyError``
    is not one, and the build goes on (it raised)."""
    run = fm.Pipeline("memo", [_draws_from_a_memo]).run()
    assert run["memo_drawn"] == np.random.default_rng(0).random(2).tolist()


class _Holder:
    """A class of yours whose instances hold a generator their ``__init__`` makes."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)


@functools.cache
def _kept_holder() -> _Holder:
    return _Holder(0)


@fm.step(outputs="held_draw")
def draws_from_a_kept_holder(n: int = 3) -> float:
    return float(_kept_holder().rng.random(n).sum())


def test_an_instance_holding_a_generator_kept_before_the_build_is_not_reused(
        project: Path) -> None:
    """An ``lru_cache`` keeping an object whose ``__init__`` makes a generator keeps
    the generator: cached while the cache is empty at build, re-executed with a warning
    once a run in this process filled it (its generator has drawn since)."""
    _check_reused_until_drawn_before_the_build(
        fm.Pipeline("held", [draws_from_a_kept_holder]), "held_draw",
        _kept_holder.cache_clear, lambda: _kept_holder().rng.random(5))


class _UsersClass:
    pass


_NAMES: dict[str, Any] = {"dict": dict, "sorted": sorted, "Dataset": _UsersClass}


@pytest.mark.parametrize(("body", "expected"), [
    # (returns a generator, stores one where the next call finds it, on ``init_self``)
    ("rng = default_rng(0)\nreturn rng.normal()", (False, False, False)),
    ("global CALLS\nCALLS += 1\nreturn default_rng(0)", (True, False, False)),
    ("self._rng = self._rng or default_rng(0)\nreturn self._rng", (True, True, False)),
    ("rng = default_rng(0)\nr = rng\nself._rng = r", (False, True, False)),
    ("setattr(self, '_rng', default_rng(0))", (False, True, False)),
    ("if (r := default_rng(0)) is not None:\n    _C['r'] = r", (False, True, False)),
    ("nonlocal rng\nrng = rng if rng is not None else default_rng(0)", (False, True, False)),
    ("self.n, self.rng = 1, default_rng(0)", (False, False, True)),
    ("state = {}\nstate['rng'] = default_rng(0)\nreturn sorted(state)", (False, False, False)),
    ("state = dict()\nstate['rng'] = default_rng(0)\nreturn state", (True, False, False)),
    ("state = {}\nstate['rng'] = default_rng(0)\nreturn keep(state)", (False, True, False)),
    ("state = {}\nstate['rng'] = default_rng(0)\n_ALL.append(state)", (False, True, False)),
    ("ds = Dataset()\nds.rng = default_rng(0)\nreturn ds", (True, True, False)),
])
def test_where_a_generator_made_goes(body: str, expected: tuple[bool, bool, bool]) -> None:
    """What ``side_state._generator_flow`` reads of a function making a generator:
    what holds it (a name, ``or``, a conditional, ``:=``, a stored attribute), where it
    goes, and which new objects of its own only hold it (a dict it makes; an instance
    of a class of yours may be kept by its class: stored)."""
    import ast
    import textwrap

    from flowyml.core import side_state

    tree = ast.parse(f"def f(self):\n{textwrap.indent(body, '    ')}\n").body[0]
    flow = side_state._generator_flow(tree, {"default_rng"}, "self" if "self.n" in body
                                      else None, _NAMES.get)
    assert flow == expected
