"""Which ways of changing a global the build sees as passing state to another step.

A step that changes a module-level value another step reads is coupled with it (a
``FingerprintWarning``, both re-execute on every run): the reader's key was taken
before the writer ran. The never-stale corpus runs a few of these end to end; here
each form is checked alone, at build, for both sides of the line: a change of the
global (coupled) and a change of a copy of it (nothing to couple).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest

import flowyml as fm
from tests.conftest import import_from

PRELUDE = """
import argparse
import copy
import types
import functools
import re
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd
import polars as pl
from scipy.stats import norm
import flowyml as fm

CONFIG = {"lr": 0, "model": {"lr": 0}, "opts": {"a": 0}, "k": 0}
ROWS = [{"v": 1}, {"v": 2}]
WEIGHTS = [10, 20]


def set_key(d, k, v):
    d[k] = v


def inner(d, v):
    d["lr"] = v


def put_default(k, v, into=CONFIG):  # a global as a parameter's default
    into[k] = v


def scale_in_place(a, k):
    a *= k  # an array's ``*=``: in place


def extend_by_operator(rows, v):
    rows += [{"v": v}]  # a list's ``+=``: in place


def bump_number(x, k):
    x += k  # a number's: rebinds the parameter
    return x


KEYED_ROWS = [("a", ROWS[0]), ("b", ROWS[1])]  # tuples holding ROWS' own items


def outer(d, v):
    inner(d, v)


def with_defaults(cfg):
    cfg = dict(cfg)
    cfg["seed"] = 0
    return cfg


class Util:
    def put(self, d, k, v):
        d[k] = v

    def put_into(self, k, v):
        set_key(self.opts, k, v)  # its own attribute, changed by a helper

    opts = {}


class Model:
    def __init__(self):
        self.w = 0
        self.log = []
        self.seed = 0
        self.opts = {"a": 0}

    def train(self, v):
        self.w = v

    def sample(self, v):
        return [v, self.seed]

    def history(self):
        return self.log

    def options(self):
        return self.opts

    def options_again(self):
        return self.options()

    def set_option(self, v):
        self.options()["a"] = v

    def params(self):
        return {"w": self.w, "log": self.log}  # a new dict

    def describe(self):
        p = self.params()
        p["name"] = "model"
        return p

    def record(self, v):
        self._store(v)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def _store(self, v):
        self.log.append(v)

    def key(self):
        return self.name.partition(":")[0]  # reads only: a string's method

    def set_option_by_helper(self, v):
        set_key(self.opts, "a", v)

    name = "m:1"

    def set_default(self, v):
        type(self).DEFAULT = v  # an attribute of its class

    def remember(self, v):
        self.__class__.SEEN.append(v)

    DEFAULT = 0
    SEEN = []


@dataclass(frozen=True)
class Settings:
    seed: int = 0
    shuffle: bool = True


SETTINGS = Settings()
ARGS = argparse.Namespace(seed=1, sort=True)
MODE = "fast_cpu"
SCORES = pd.Series([1.0, 2.0])
COLS = pd.Index(["a", "b"])
LOOKUP = pl.DataFrame({"k": [2, 1], "v": [20, 10]})
SCORES_PL = pl.Series("s", [3, 1, 2])


def sgd(grads):
    return [-g for g in grads]


class Transform(NamedTuple):  # optax's shape: functions held as fields
    update: object = sgd


TRANSFORM = Transform()


class Track(NamedTuple):
    history: list
    update: object


def _track():
    history = []
    return Track(history, lambda x: history.append(x))  # closing over its own list


TRACK = _track()


class Trained(NamedTuple):
    names: list

    def add(self, name):
        self.names.append(name)


class Events:
    def __init__(self):
        self._events = []

    @property
    def events(self):
        return self._events

    def __getattr__(self, name):  # ``EVENTS.append``: the list's
        return getattr(self._events, name)


class Lines:
    def __init__(self):
        self.lines = []
        self.append = self.lines.append  # a bound method kept on the instance


TRAINED = Trained([])
EVENTS = Events()
LINES = Lines()


@functools.lru_cache(maxsize=None)
def get_settings():  # pydantic-settings' way: one object, made on first use
    return Model()


def config():
    return CONFIG


class Single:  # a singleton
    _made = None

    def __new__(cls):
        if cls._made is None:
            cls._made = super().__new__(cls)
            cls._made.lr = 0
        return cls._made


class Tagged(np.ndarray):  # a ``__new__`` making a new object each call
    unit = "m"

    def __new__(cls, data):
        obj = np.asarray(data, dtype=float).view(cls)
        obj.tag = "raw"
        return obj


def memo(f):
    kept = {}

    @functools.wraps(f)
    def wrapper():
        if "v" not in kept:
            kept["v"] = f()
        return kept["v"]
    return wrapper


def timed(f):
    @functools.wraps(f)
    def wrapper():
        return f()
    return wrapper


@memo
def memo_rows():
    return [{"v": 1}]


@timed
def fresh_rows():
    return [{"v": 1}]


def copy_of_config():
    return dict(CONFIG)


def rows_and_weights():
    return ROWS, WEIGHTS


def data():
    return {"rows": ROWS}


def _load_config():
    return CONFIG


def load_config():
    return _load_config()


def head_rows():
    return ROWS[:1]  # a new list, of the same dicts


def head_weights():
    return WEIGHTS[:1]  # a new list of numbers


def all_rows():
    return ROWS


LIMIT = 3
SEED = np.int64(7)


def limit():
    return LIMIT


class Registry:
    _items = {"k": 0}

    @classmethod
    def get(cls):  # named like a dict's ``get``
        return cls._items


_MODEL = None


def get_model():  # made on first use
    global _MODEL
    if _MODEL is None:
        _MODEL = Model()
    return _MODEL


GET = lambda: CONFIG  # noqa: E731


def counted(f):  # keeps stats, not results
    stats = {"calls": 0}

    @functools.wraps(f)
    def wrapper():
        out = f()
        stats["calls"] += 1
        return out
    return wrapper


class Traced:  # a decorator class holding nothing
    def __init__(self, f):
        functools.update_wrapper(self, f)
        self.f = f

    def __call__(self):
        return self.f()


@counted
def counted_rows():
    return [{"v": 1}]


@Traced
def traced_rows():
    return [{"v": 1}]


def adults():
    return RAW[RAW["age"] > 30]


class SingletonMeta(type):  # the usual metaclass singleton
    _instances = {}

    def __call__(cls, *args, **kwargs):
        if cls not in cls._instances:
            cls._instances[cls] = super().__call__(*args, **kwargs)
        return cls._instances[cls]


class Tracker(metaclass=SingletonMeta):
    def __init__(self):
        self.best = 0


class Lazy:  # a singleton made on first use, by ``hasattr``
    def __new__(cls):
        if not hasattr(cls, "made"):
            cls.made = super().__new__(cls)
            cls.made.k = 0
        return cls.made


def first_rows():
    return X_ALL[:2]  # a view of the array


class MemoOf:  # a memo decorator class keeping results in ``self._cache``
    def __init__(self, f):
        self.f = f
        self._cache = {}

    def __call__(self):
        if "v" not in self._cache:
            self._cache["v"] = self.f()
        return self._cache["v"]


@MemoOf
def memo_config():
    return {"lr": 0}


_MEMO = {}


def memo_in_module(f):  # a memo decorator keeping results in a module's dict
    @functools.wraps(f)
    def wrapper():
        if f.__name__ not in _MEMO:
            _MEMO[f.__name__] = f()
        return _MEMO[f.__name__]
    return wrapper


@memo_in_module
def module_memo_config():
    return {"lr": 0}


class Splitter:  # keeps compiled patterns in ``_cache``, returns a new list each call
    def __init__(self):
        self._cache = {}

    def __call__(self, text):
        if "," not in self._cache:
            self._cache[","] = re.compile(",")
        return self._cache[","].split(text)


SPLIT = Splitter()


def top_rows():
    return RAW.iloc[:2]  # a copy (pandas' selections are, by policy)


def keeps_last(f):  # keeps the last result, to look at: not a memo
    last = {}

    @functools.wraps(f)
    def wrapper():
        out = f()
        last["value"] = out
        return out
    return wrapper


@keeps_last
def last_rows():
    return [{"v": 1}]


class Counted:  # counts its instances: a new one each call
    made = 0

    def __new__(cls):
        cls.made += 1
        return super().__new__(cls)


UTIL = Util()
MODEL = Model()


def the_model():
    return MODEL


class Solo(Model):  # the lazy classmethod singleton
    _instance = None

    @classmethod
    def instance(cls):
        if cls._instance is None:
            cls._instance = cls()
        return cls._instance


_KEPT = {}


def kept_model():  # kept in a module's dict, made on first use
    if "m" not in _KEPT:
        _KEPT["m"] = Model()
    return _KEPT["m"]


def kept_by_setdefault():
    return _KEPT.setdefault("s", Model())


class Holder:
    def __init__(self):
        self._model = None

    def model(self):  # made on first use, kept on its object
        if self._model is None:
            self._model = Model()
        return self._model


HOLDER = Holder()


def model_and_opts():
    return MODEL, {"a": 0}


class Reg:
    def update(self, x):  # named like a mutator, changes nothing
        return x + 1


def go(r, x):
    return r.update(x)


class App:
    def __init__(self):
        self.model = Model()
        self.models = [Model()]
        self.by_name = {"a": Model()}
        self.opts = {"a": 0}
        self.nested = {"inner": {"a": 0}}
        self.reg = Reg()

    def put_inner(self, v):
        set_key(self.nested["inner"], "a", v)

    def train_all(self, v):
        self.model.train(v)  # a method of an object it holds

    def train_via_alias(self, v):
        m = self.model
        m.train(v)

    def train_each(self, v):
        for m in self.models:
            m.train(v)

    def train_named(self, v):
        self.by_name["a"].train(v)

    @property
    def main(self):
        return self.model

    def get_model(self):  # a getter of one it holds
        return self.model

    def get_models(self):
        return self.models

    def new_model(self):  # a new one at each call
        return Model()

    def _make(self):
        return Model()

    def new_via_own(self):  # a new one, made by another method
        return self._make()

    def new_via_factory(self):  # a new one, made by a factory function
        return make_model()


def model_named(name):
    return MODELS[name]


class Provider:
    def __call__(self):
        return MODEL


PROVIDE = Provider()


def get_app():
    return APP


model_a = functools.partial(model_named, "a")


def models_list():
    return list(MODELS.values())


class Runner:
    def __init__(self):
        self.model = Model()

    def run(self, v):
        self.model.train(v)  # a method of the object its __init__ made

    def peek(self, v):
        return self.model.sample(v)


@functools.lru_cache(maxsize=None)
def get_runner():
    return Runner()


class Keeper:
    _made = {}

    @classmethod
    def of(cls, k):  # made on first use, kept by key on its class
        if k not in cls._made:
            cls._made[k] = Model()
        return cls._made[k]


class Logged(Model):
    def train(self, v):
        super().train(v)  # the base's, which changes it

    def sample(self, v):
        return super().sample(v)  # the base's, which reads it


LOGGED = Logged()


class Slotted:
    __slots__ = ("model",)

    def __init__(self):
        self.model = Model()


SLOTTED = Slotted()


NAMES = {"model": "bert:base", "n": 1}


class Named:
    def __init__(self):
        self.opts = {"model": "bert:base", "n": 1}


NAMED = Named()


def get_named():
    return NAMED


def model_family(opts):
    return opts["model"].partition(":")[0]  # (numpy's partition changes an array)


MIXED = {"model": "bert:base", "layers": [1, 2]}  # a string beside a list


class Mixed:
    def __init__(self):
        self.opts = {"model": "bert:base", "layers": [1, 2]}


MIXED_HELD = Mixed()


def get_mixed():
    return MIXED_HELD


def add_layer(opts, v):
    opts["layers"].append(v)


class Held(NamedTuple):  # a named tuple holding an object
    model: Model
    lr: float


HELD = Held(Model(), 0.1)
PAIR = (Model(), 1)  # a plain tuple holding one


class Registry2(dict):
    def put(self, k, v):
        super().__setitem__(k, v)  # the builtin base's, which changes it

    def peek(self, k):
        return super().get(k)


class Log2(list):
    def add(self, v):
        super().append(v)


REG2 = Registry2(a=1)
LOG2 = Log2()


TRAIN_CFG = {"lr": 0.1}
REGISTRY_CFG = {"train": TRAIN_CFG}  # (a step reads TRAIN_CFG by its own name)


def train_model(m, v):  # a helper changing the object it is given
    m.train(v)


def sample_model(m, v):
    return m.sample(v)


def app_model():  # a part of another getter's result, returned as it is
    return get_app().model


def logged(f):  # a decorator of yours on methods
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        return f(*args, **kwargs)
    return wrapper


class Decorated(Model):
    @logged
    def train(self, v):
        self.w = v

    @logged
    def sample(self, v):
        return [v, self.seed]


DECORATED = Decorated()


def bare(f):  # a decorator of yours without functools.wraps
    def wrapper(*args, **kwargs):
        return f(*args, **kwargs)
    return wrapper


def bare_self(f):
    def wrapper(self, *args):
        return f(self, *args)
    return wrapper


def counting(f):  # without wraps, its wrapper counting its calls on itself
    def wrapper(*args, **kwargs):
        wrapper.calls += 1
        return f(*args, **kwargs)
    wrapper.calls = 0
    return wrapper


class ByClass:  # a class-based decorator binding its instance
    def __init__(self, f):
        self.f = f

    def __get__(self, obj, owner=None):
        return functools.partial(self.f, obj)


class Bare(Model):
    @bare
    def train(self, v):
        self.w = v

    @bare_self
    def train_too(self, v):
        self.w = v

    @ByClass
    def train_by_class(self, v):
        self.w = v

    @counting
    def train_counted(self, v):
        self.w = v

    @bare
    def sample(self, v):
        return [v, self.w]

    @ByClass
    def sample_by_class(self, v):
        return [v, self.w]


BARE = Bare()


def fixed(f):  # without wraps, naming the arguments it hands on
    def wrapper(self, v):
        return f(self, v)
    return wrapper


def report(e):
    return str(e)


def on_error(handler):  # a decorator factory: its wrapper's closure holds two functions
    def deco(f):
        def wrapper(*args, **kwargs):
            try:
                return f(*args, **kwargs)
            except Exception as e:
                handler(e)
                raise
        return wrapper
    return deco


class Bound:  # binds by ``types.MethodType``, which fails on the class
    def __init__(self, f):
        self.f = f

    def __call__(self, *args, **kwargs):
        return self.f(*args, **kwargs)

    def __get__(self, obj, owner=None):
        return types.MethodType(self, obj)


class Wrapped(Model):
    @fixed
    def train_fixed(self, v):
        self.w = v

    @on_error(report)
    def train_guarded(self, v):
        self.w = v

    @Bound
    def train_bound(self, v):
        self.w = v

    @on_error(report)
    def sample_guarded(self, v):
        return [v, self.w]


WRAPPED = Wrapped()


def record_into(x):  # a callback changing what it is given
    x.append(1)


def post(hook):  # a decorator factory: the hook is given the result, not the instance
    def deco(f):
        def wrapper(*args, **kwargs):
            out = f(*args, **kwargs)
            hook(out)
            return out
        return wrapper
    return deco


class Hooked(Model):
    @post(record_into)
    def sample_hooked(self, v):
        return [v, self.w]


HOOKED = Hooked()


PDF = pd.DataFrame({"a": [1, 2]})
SERIES = [pd.Series([1.0])]


class Frames:  # library objects whose methods named like changes return new ones
    def __init__(self):
        self.pdf = PDF
        self.box = types.SimpleNamespace(pdf=PDF)  # (held deeper)
        self.series = SERIES
        self.calls = 0

    def get_pdf(self):
        return self.pdf

    def add_all(self, v):
        self.calls += 1  # its own counter
        return [s.add(v) for s in self.series]


FRAMES = Frames()


def get_frames():
    return FRAMES


class Aliased(dict):  # ``"@name"`` items resolve to another item
    def __getitem__(self, k):
        v = dict.__getitem__(self, k)
        return dict.__getitem__(self, v[1:]) if isinstance(v, str) and v[:1] == "@" else v


ALIASED = Aliased(layers=[1, 2], active="@layers")


class UserBase:
    def fit(self, v):
        self.app.model.train(v)


class User(UserBase):  # holds a global another step reads by its own name
    def __init__(self):
        self.app = APP
        self.opts = APP.opts
        self.model = APP.model
        self.models = APP.models
        self.seen = {}

    def set_own_item(self, v):
        self.opts["a"] = v  # its attribute's item: another global's object

    def peek_counting(self, v):
        self.seen[v] = True  # its own dict
        return self.app.opts["a"]

    def train_held(self, v):
        self.app.model.train(v)

    def train_got(self, v):
        self.app.get_model().train(v)

    def set_held(self, v):
        self.app.opts["a"] = v

    def get_app(self):
        return self.app

    def train_through_own_getter(self, v):
        self.get_app().get_model().train(v)

    def train_new(self, v):
        self.app.new_model().train(v)

    def peek(self, v):
        return self.app.model.sample(v)

    def train_alias(self, v):
        m = self.model
        m.train(v)

    def train_loop(self, v):
        for m in self.models:
            m.train(v)

    def train_by_helper(self, v):
        train_model(self.app.model, v)

    def train_item(self, v, k="a"):
        self.app.by_name[k].train(v)

    def train_deep(self, v):
        self.app.train_all(v)

    def train_super(self, v):
        super().fit(v)


class Built(Model):
    @classmethod
    def create(cls):  # a constructor of its own
        return cls()


def make_model():  # a factory
    return Model()


_MADE = {}


def made_by_a_factory(k):
    if k not in _MADE:
        _MADE[k] = make_model()
    return _MADE[k]


def made_by_a_classmethod(k):
    if k not in _MADE:
        _MADE[k] = Built.create()
    return _MADE[k]


def made_through_a_local(k):
    if k not in _MADE:
        m = Model()
        _MADE[k] = m
    return _MADE[k]


def made_by_a_walrus(k):
    if (m := _MADE.get(k)) is None:
        m = _MADE[k] = Model()
    return m


_SOLE = None


def sole_model():  # a global bound on first use, by a factory
    global _SOLE
    if _SOLE is None:
        _SOLE = make_model()
    return _SOLE


def fresh_model():  # a new one on every call: nothing kept
    return make_model()


class Shelf:
    _made = {}

    @classmethod
    def get(cls, k):  # named like a dict's view
        if k not in cls._made:
            cls._made[k] = Model()
        return cls._made[k]


METRIC_NAMES = ["loss", "acc"]
LISTS = [[1], [2]]


def new_history():
    return {m: [] for m in METRIC_NAMES}  # new lists, keyed by the global's strings


def sliced_lists():
    return [v[:] for v in LISTS]  # a new list of new lists


APP = App()
USER = User()


def read_opts(d):
    return sorted(d)


def rows_list():
    return list(ROWS)  # a new list, of the same dicts


def rows_comp():
    return [r for r in ROWS]


def sorted_rows():
    return sorted(ROWS, key=lambda r: r["v"])


def copied_rows():
    return [dict(r) for r in ROWS]  # a new list of new dicts


def config_copy():
    return CONFIG.copy()
MODELS = {"a": Model(), "b": Model()}
RAW = pd.DataFrame({"age": [20, 35, 50], "income": [30.0, 55.0, 80.0]})
NUM = ["age", "income"]
X_ALL = np.arange(12.0).reshape(4, 3)


def standardize(df, cols):
    for c in cols:
        df[c] = df[c] - df[c].mean()
    return df


@fm.step(outputs="val")
def use(ready):
    return [CONFIG, MODEL.w, ROWS, MODELS["a"].w, RAW.shape, X_ALL.sum(), SETTINGS, ARGS,
            MODE, SCORES.sum(), len(COLS), LOOKUP.height, norm.cdf(0.5),
            SCORES_PL.to_list(), TRAINED.names, EVENTS.events, LINES.lines, TRANSFORM,
            TRACK.history, get_settings().w, config(), Single().lr, memo_rows(), fresh_rows(),
            copy_of_config(), Tagged([0.0]).tag, Tagged.unit, get_model().w, GET(),
            counted_rows(), traced_rows(), adults(), Counted.made, last_rows(),
            Tracker().best, Lazy().k, top_rows(), memo_config(), module_memo_config(),
            SPLIT("x,y"), LIMIT, limit(), Registry.get(), the_model().w, SEED,
            Solo.instance().w, kept_model().w, kept_by_setdefault().w, HOLDER.model().w,
            APP.model.w, APP.opts, UTIL.opts, APP.models[0].w, Model.DEFAULT, Model.SEEN,
            APP.by_name["a"].w, Keeper.of("a").w, METRIC_NAMES, LISTS, get_runner().model.w,
            made_by_a_factory("a").w, made_by_a_classmethod("b").w, made_through_a_local("c").w,
            made_by_a_walrus("d").w, sole_model().w, Shelf.get("a").w, fresh_model().w,
            LOGGED.w, SLOTTED.model.w, NAMES, NAMED.opts, DECORATED.w, TRAIN_CFG["lr"],
            BARE.w, MIXED, MIXED_HELD.opts, HELD.model.w, HELD.lr, PAIR[0].w, dict(REG2),
            list(LOG2), WRAPPED.w, HOOKED.w, PDF, SERIES, dict(ALIASED)]
"""

CHANGES = {
    "keyword": 'set_key(d=CONFIG, k="k", v=n)',
    "two_helpers_deep": "outer(CONFIG, n)",
    "method_of_a_global_given_it": 'UTIL.put(CONFIG, "k", n)',
    "alias_method": "m = MODEL\n    m.train(n)",
    "get_or_default": 'opts = CONFIG.get("opts") or {}\n    opts["a"] = n',
    "if_expression": 'opts = CONFIG["opts"] if n else {}\n    opts["a"] = n',
    "zip_loop": 'for r, wt in zip(ROWS, WEIGHTS):\n        r["w"] = wt * n',
    "sorted_loop": 'for r in sorted(ROWS, key=lambda r: r["v"]):\n        r["s"] = n',
    "next_iter": 'first = next(iter(ROWS))\n    first["f"] = n',
    "unbound_method": 'dict.update(CONFIG["model"], lr=n)',
    "comprehension_with_condition": '[row.update(c=n) for row in ROWS if row["v"] > 0]',
    "shallow_copy_item": 'cfg = dict(CONFIG)\n    cfg["model"]["m"] = n',
    "alias": 'cfg = CONFIG\n    cfg["k"] = n',
    "loop_variable": 'for r in ROWS:\n        r["v"] = n',
    "item_method": 'CONFIG["model"].update(lr=n)',
    "models_in_a_dict": "for m in MODELS.values():\n        m.train(n)",
    "array_row_by_a_constant_index": "row = X_ALL[0]\n    row[0] = n",
    "frame_by_loc": 'RAW.loc[RAW["age"] > n, "income"] = 0.0',
    "item_given_to_a_helper": 'cfg = CONFIG["model"]\n    set_key(cfg, "lr", n)',
    "helper_multiplying_its_parameter_by_an_operator": "scale_in_place(X_ALL, n)",
    "helper_extending_its_parameter_by_an_operator": "extend_by_operator(ROWS, n)",
    "item_of_a_sorted_copy": 'sorted(ROWS, key=lambda r: r["v"])[0]["s"] = n',
    "item_of_a_list_copy_bound": 'first = list(ROWS)[0]\n    first["s"] = n',
    "method_of_an_item_of_a_tuple_copy": "tuple(ROWS)[0].update(s=n)",
    "item_of_a_filtered_list": 'list(filter(None, ROWS))[0]["s"] = n',
    "what_a_tuple_item_holds": 'for k, r in KEYED_ROWS:\n        r["v"] = n',
    "item_of_a_dict_copy": 'cfg = CONFIG.copy()\n    cfg["model"]["lr"] = n',
    "item_of_a_splat_copy": 'cfg = {**CONFIG, "seed": 1}\n    cfg["opts"]["a"] = n',
    "attribute_of_a_copied_object": "m = copy.copy(MODEL)\n    m.log.append(n)",
    "mutating_method_passed_uncalled": "list(map(ROWS.append, [n]))",
    "attribute_mutating_method_passed_uncalled": "list(map(MODEL.log.append, [n]))",
    "frame_column_inserted": 'RAW.insert(0, "id", n)',
    "series_updated_in_place": "SCORES.update(pd.Series([float(n)]))",
    "polars_frame_extended": "LOOKUP.extend(LOOKUP.head(n))",
    "polars_series_appended": "SCORES_PL.append(pl.Series([n]))",
    "polars_series_sorted_in_place": "SCORES_PL.sort(in_place=True)",
    "namedtuple_method_changing_a_field": 'TRAINED.add("ridge")',
    "method_passed_through_a_property": "list(map(EVENTS.events.append, [n]))",
    "method_passed_found_by_getattr": "list(map(EVENTS.append, [n]))",
    "bound_method_kept_on_the_instance": "list(map(LINES.append, [n]))",
    "function_field_closing_over_its_object": "list(map(TRACK.update, [n]))",
    "attribute_by_getattr_with_a_literal_name": 'getattr(MODEL, "log").append(n)',
    "item_of_a_view_assigned": 'CONFIG.get("model")["lr"] = n',
    "result_of_a_cached_factory": "get_settings().w = n",
    "result_of_a_cached_factory_through_a_local": "s = get_settings()\n    s.log.append(n)",
    "result_of_a_memo_of_yours": 'memo_rows()[0]["v"] = n',
    "global_a_getter_returns": 'config()["k"] = n',
    "global_a_getter_returns_through_a_local": 'cfg = config()\n    cfg.update(k=n)',
    "singleton_made_by_its_new": "Single().lr = n",
    "what_a_method_returns_of_its_object": "MODEL.history().append(n)",
    "object_a_getter_makes_on_first_use": "get_model().w = n",
    "global_a_lambda_returns": 'GET()["k"] = n',
    "result_or_a_default": 'cfg = config() or {}\n    cfg["k"] = n',
    "result_set_by_setattr": 'setattr(get_settings(), "w", n)',
    "array_view_a_getter_returns": "rows = first_rows()\n    rows[0, 0] = n",
    "singleton_its_metaclass_keeps": "Tracker().best = n",
    "singleton_made_on_first_use_by_hasattr": "Lazy().k = n",
    "result_a_memo_class_keeps_in_its_cache": 'memo_config()["lr"] = n',
    "result_a_memo_keeps_in_a_module_dict": 'module_memo_config()["lr"] = n',
    "global_a_getter_returns_in_a_tuple": "rows, weights = rows_and_weights()\n    rows.append(n)",
    "global_a_getter_returns_in_a_dict": 'data()["rows"].append(n)',
    "global_a_getter_returns_through_another": 'load_config()["k"] = n',
    "object_a_method_changes_through_its_getter": "MODEL.set_option(n)",
    "what_a_method_returns_through_another_of_its_object": 'MODEL.options_again()["a"] = n',
    "items_of_a_slice_a_getter_returns": 'head_rows()[0]["v"] = n',
    "method_of_the_object_a_getter_returns": "the_model().train(n)",
    "method_of_the_object_a_getter_returns_through_a_local": "m = the_model()\n    m.train(n)",
    "method_of_an_object_a_getter_makes_on_first_use": "get_model().train(n)",
    "method_of_a_cached_factory_result": "get_settings().train(n)",
    "classmethod_named_like_a_dict_view": 'Registry.get()["k"] = n',
    "augmented_through_an_alias": 'rows = ROWS\n    rows += [{"v": n}]',
    "augmented_through_a_getter_result": 'rows = all_rows()\n    rows += [{"v": n}]',
    "object_changed_by_a_method_through_another_of_its_own": "MODEL.record(n)",
    "object_a_getter_returns_used_as_a_context_manager": "with the_model() as m:\n        m.train(n)",
    "method_of_a_singleton_a_classmethod_makes_on_first_use": "Solo.instance().train(n)",
    "method_of_an_object_a_getter_keeps_in_a_module_dict": "kept_model().train(n)",
    "method_of_an_object_a_getter_keeps_by_setdefault": "kept_by_setdefault().train(n)",
    "method_of_an_object_a_method_makes_on_first_use": "HOLDER.model().train(n)",
    "method_of_an_object_unpacked_from_a_getter_tuple": "m, _ = model_and_opts()\n    m.train(n)",
    "method_of_an_item_of_a_getter_result": "model_and_opts()[0].train(n)",
    "method_of_a_getter_result_kept_bound": "train = the_model().train\n    train(n)",
    "items_of_a_list_a_getter_makes": 'rows_list()[0]["v"] = n',
    "items_of_a_comprehension_a_getter_returns": 'rows_comp()[0]["v"] = n',
    "items_of_a_sorted_list_a_getter_returns": 'sorted_rows()[0]["v"] = n',
    "item_of_a_dict_copy_a_getter_returns": 'copy_of_config()["model"]["lr"] = n',
    "item_of_a_copy_a_getter_returns_by_its_method": 'config_copy()["model"]["lr"] = n',
    "method_of_an_object_held_by_a_global": "APP.model.train(n)",
    "method_of_an_object_held_by_a_global_through_a_local": "m = APP.model\n    m.train(n)",
    "attribute_of_a_global_given_to_a_helper": 'set_key(APP.opts, "a", n)',
    "attribute_of_a_global_given_to_a_helper_through_a_local": (
        'app = APP\n    set_key(app.opts, "a", n)'),
    "own_attribute_given_to_a_helper_by_a_method": 'UTIL.put_into("a", n)',
    "method_of_an_object_held_by_a_global_called_by_its_method": "APP.train_all(n)",
    "method_of_an_object_held_by_a_getter_result": "get_app().model.train(n)",
    "method_of_what_a_method_of_a_getter_result_hands_out": "get_app().get_model().train(n)",
    "method_of_what_a_method_of_a_getter_result_hands_out_through_a_local_of_it": (
        "app = get_app()\n    app.get_model().train(n)"),
    "what_a_method_of_a_getter_result_hands_out_through_two_locals": (
        "app = get_app()\n    m = app.get_model()\n    m.w = n"),
    "items_of_what_a_method_of_a_getter_result_hands_out_in_a_loop": (
        "for m in get_app().get_models():\n        m.train(n)"),
    "what_a_method_of_a_local_getter_result_hands_out_given_to_a_helper": (
        "app = get_app()\n    train_model(app.get_model(), n)"),
    "attribute_of_what_a_method_of_a_getter_result_hands_out": "get_app().get_model().w = n",
    "what_a_method_of_a_getter_result_hands_out_through_a_local": (
        "m = get_app().get_model()\n    m.w = n"),
    "what_a_method_of_a_getter_result_hands_out_given_to_a_helper": (
        "train_model(get_app().get_model(), n)"),
    "what_a_method_of_a_getter_result_hands_out_by_setattr": (
        'setattr(get_app().get_model(), "w", n)'),
    "method_of_an_attribute_of_a_getter_result_read_by_getattr": (
        'getattr(get_app(), "model").train(n)'),
    "method_of_an_item_of_an_attribute_of_a_getter_result_read_by_getattr": (
        'getattr(get_app(), "by_name")["a"].train(n)'),
    "method_under_a_decorator_of_yours_without_wraps": "BARE.train(n)",
    "method_under_a_decorator_of_yours_without_wraps_naming_self": "BARE.train_too(n)",
    "method_under_a_class_based_decorator_of_yours": "BARE.train_by_class(n)",
    "method_under_a_decorator_without_wraps_counting_on_its_wrapper": "BARE.train_counted(n)",
    "method_under_a_decorator_without_wraps_through_a_helper": "train_model(BARE, n)",
    "method_changing_an_object_another_global_holds": "USER.train_held(n)",
    "method_setting_an_item_of_what_another_global_holds": "USER.set_held(n)",
    "method_changing_what_a_method_of_an_object_it_holds_hands_out": "USER.train_got(n)",
    "method_changing_what_its_own_getter_hands_out": "USER.train_through_own_getter(n)",
    "method_setting_an_item_of_its_attribute_another_global_holds": "USER.set_own_item(n)",
    "method_changing_an_object_another_global_holds_through_a_local": "USER.train_alias(n)",
    "method_changing_objects_another_global_holds_in_a_loop": "USER.train_loop(n)",
    "method_giving_an_object_another_global_holds_to_a_helper": "USER.train_by_helper(n)",
    "method_changing_an_item_another_global_holds": "USER.train_item(n)",
    "method_calling_a_method_of_another_global_changing_what_it_holds": "USER.train_deep(n)",
    "method_changing_an_object_another_global_holds_through_super": "USER.train_super(n)",
    "attribute_of_an_object_a_global_holds_set": "APP.model.w = n",
    "method_under_a_decorator_without_wraps_naming_its_arguments": "WRAPPED.train_fixed(n)",
    "method_under_a_decorator_factory_holding_two_functions": "WRAPPED.train_guarded(n)",
    "method_under_a_decorator_binding_by_method_type": "WRAPPED.train_bound(n)",
    "item_a_dict_subclass_resolves_appended_to_by_its_key": 'ALIASED["active"].append(n)',
    "frame_an_object_of_a_global_holds_updated_in_place": (
        'FRAMES.box.pdf.update(pd.DataFrame({"a": [n, n]}))'),
    "method_of_an_attribute_of_a_getter_result_read_by_getattr_with_a_default": (
        'getattr(get_app(), "model", None).train(n)'),
    "list_item_of_a_config_sorted_by_its_key": 'MIXED["layers"].sort()',
    "method_of_an_object_a_named_tuple_holds": "HELD.model.train(n)",
    "method_of_an_object_a_named_tuple_holds_through_a_local": "m = HELD.model\n    m.train(n)",
    "method_of_an_object_a_tuple_holds_through_a_local": "m = PAIR[0]\n    m.train(n)",
    "item_set_by_the_builtin_base_through_super": 'REG2.put("a", n)',
    "item_appended_by_the_builtin_base_through_super": "LOG2.add(n)",
    "list_item_of_a_config_appended_to_by_a_helper": "add_layer(MIXED, n)",
    "list_item_of_a_getter_results_config_appended_to_by_a_helper": (
        "add_layer(get_mixed().opts, n)"),
    "method_of_an_object_held_by_a_global_alias": "app = APP\n    app.model.train(n)",
    "method_of_objects_in_a_global_attribute_list": "for m in APP.models:\n        m.train(n)",
    "method_of_a_cached_factory_result_changing_it_through_another_of_its_own": (
        "get_settings().record(n)"),
    "method_of_an_object_a_partial_getter_hands_out": "model_a().train(n)",
    "method_of_an_object_a_callable_instance_hands_out": "PROVIDE().train(n)",
    "method_of_an_object_a_property_hands_out": "APP.main.train(n)",
    "default_of_a_helper_parameter_changed": 'put_default("k", n)',
    "class_attribute_set_through_type_of_self": "MODEL.set_default(n)",
    "method_of_an_item_of_a_global_attribute": 'APP.by_name["a"].train(n)',
    "method_of_an_attribute_alias_in_a_method": "APP.train_via_alias(n)",
    "method_of_items_of_an_attribute_in_a_method": "APP.train_each(n)",
    "method_of_an_item_of_an_attribute_in_a_method": "APP.train_named(n)",
    "method_of_an_item_of_a_list_a_getter_makes": "models_list()[0].train(n)",
    "method_of_an_object_a_classmethod_keeps_by_key": 'Keeper.of("a").train(n)',
    "item_of_a_global_given_to_a_helper": 'set_key(CONFIG["model"], "lr", n)',
    "item_of_a_global_attribute_given_to_a_helper": 'set_key(APP.nested["inner"], "a", n)',
    "item_of_an_attribute_given_to_a_helper_by_a_method": "APP.put_inner(n)",
    "method_of_an_item_a_view_gives": 'MODELS.get("a").train(n)',
    "method_of_an_attribute_read_by_getattr": 'getattr(APP, "model").train(n)',
    "object_a_cached_factory_result_made_in_its_init_changed_by_its_method": (
        "get_runner().run(n)"),
    "attribute_of_a_cached_factory_result_given_to_a_helper_by_its_method": (
        "get_settings().set_option_by_helper(n)"),
    "class_attribute_changed_through_self_class": "MODEL.remember(n)",
    "method_of_an_object_a_factory_makes_on_first_use": 'made_by_a_factory("a").train(n)',
    "method_of_an_object_a_classmethod_constructor_makes_on_first_use": (
        'made_by_a_classmethod("b").train(n)'),
    "method_of_an_object_made_on_first_use_through_a_local": (
        'made_through_a_local("c").train(n)'),
    "method_of_an_object_made_on_first_use_by_a_walrus": 'made_by_a_walrus("d").train(n)',
    "method_of_a_global_a_factory_binds_on_first_use": "sole_model().train(n)",
    "method_of_an_object_a_classmethod_named_get_keeps": 'Shelf.get("a").train(n)',
    "method_of_an_item_of_an_attribute_of_a_getter_result": 'get_app().by_name["a"].train(n)',
    "attribute_of_a_getter_result_given_to_a_helper": 'set_key(get_app().opts, "a", n)',
    "attribute_of_a_getter_result_given_to_a_helper_through_a_local": (
        'app = get_app()\n    set_key(app.opts, "a", n)'),
    "method_changing_its_object_through_super": "LOGGED.train(n)",
    "method_of_an_object_held_in_a_slot": "SLOTTED.model.train(n)",
    "method_under_a_decorator_of_yours": "DECORATED.train(n)",
    "method_of_a_part_of_another_getters_result_a_getter_returns": "app_model().train(n)",
    "method_of_items_of_a_getter_results_attribute_by_items": (
        "for k, m in get_app().by_name.items():\n        m.train(n)"),
    "method_of_items_of_a_getter_results_list_by_enumerate": (
        "for i, m in enumerate(get_app().models):\n        m.train(n)"),
    "global_changed_through_another_globals_item": 'REGISTRY_CFG["train"]["lr"] = n',
    "global_changed_through_a_local_bound_to_another_globals_item": (
        'cfg = REGISTRY_CFG["train"]\n    cfg["lr"] = n'),
    "item_of_a_getter_results_attribute_given_to_a_helper_through_a_local": (
        'm = get_app().by_name["a"]\n    train_model(m, n)'),
    "items_of_a_getter_results_attribute_given_to_a_helper_in_a_loop": (
        "for m in get_app().by_name.values():\n        train_model(m, n)"),
    "method_of_an_item_of_a_local_bound_to_a_getter_results_attribute": (
        'models = get_app().by_name\n    models["a"].train(n)'),
    "method_of_an_object_a_cached_factory_result_holds": "get_runner().model.train(n)",
    "method_of_an_object_a_getter_results_attribute_holds_through_a_local": (
        "m = get_app().model\n    m.train(n)"),
    "method_of_an_item_of_a_getter_results_attribute_through_a_local": (
        't = get_app().by_name["a"]\n    t.train(n)'),
    "method_of_items_of_a_getter_results_attribute_in_a_loop": (
        "for m in get_app().by_name.values():\n        m.train(n)"),
    "method_of_an_item_of_a_getter_results_attribute_by_get": (
        'get_app().by_name.get("a").train(n)'),
    "method_of_a_getter_results_attribute_through_an_alias_of_the_result": (
        "app = get_app()\n    m = app.model\n    m.train(n)"),
}

COPIES = {
    "item_of_a_registry_replaced": 'REGISTRY_CFG["eval"] = {"lr": n}',
    "rebound_copy": 'cfg = CONFIG\n    cfg = dict(cfg)\n    cfg["k"] = n',
    "rebound_loop_variable": 'for r in ROWS:\n        r = dict(r)\n        r["v"] = n',
    "slice": "rows = ROWS[:]\n    rows.append(n)",
    "item_of_a_list_copy_replaced": 'list(ROWS)[0] = {"v": n}',
    "copy_of_the_first_of_a_sorted_copy": (
        'first = dict(sorted(ROWS, key=lambda r: r["v"])[0])\n    first["s"] = n'),
    "helper_adding_to_a_number_it_is_given": "bump_number(LIMIT, n)",
    "helper_rebinding_its_parameter": "with_defaults(CONFIG)",
    "deep_copy": 'cfg = copy.deepcopy(CONFIG)\n    cfg["model"]["lr"] = n',
    "shallow_copy_top_level": 'cfg = dict(CONFIG)\n    cfg["k"] = n',
    "comprehension_of_copies": 'rows = [dict(r) for r in ROWS]\n    rows[0]["v"] = n',
    "model_copied_in_a_loop": "for m in MODELS.values():\n        m = copy.copy(m)\n        m.train(n)",
    "numpy_function_that_looks_like_a_method": "np.sort(np.array([3, n]))\n    np.append([1], n)",
    "frame_selection_by_a_mask": 'df = RAW[RAW["age"] > 30]\n    df["k"] = df["income"] * n',
    "frame_columns_to_a_helper": "X = RAW[NUM]\n    standardize(X, NUM)",
    "frame_column": 'y = RAW["age"]\n    y.iloc[0] = n',
    "array_rows_by_an_index_array": "idx = np.array([0, 2])\n    part = X_ALL[idx]\n    part[0, 0] = n",
    "frame_copy_by_loc": 'df = RAW.copy()\n    df.loc[df["age"] > n, "income"] = 0.0',
    "array_copy_item": "arr = X_ALL.copy()\n    arr[0] = n",
    "top_level_of_a_dict_copy": 'cfg = CONFIG.copy()\n    cfg["lr"] = n',
    "result_of_a_function_making_a_new_one": 'rows = fresh_rows()\n    rows[0]["v"] = n',
    "copy_a_getter_returns": 'cfg = copy_of_config()\n    cfg["k"] = n',
    "copy_of_a_cached_result": 'cfg = dict(config())\n    cfg["k"] = n',
    "new_array": "x = np.zeros(3)\n    x[0] = n",
    "new_instance_of_a_class_with_its_own_new": "t = Tagged([1.0, 2.0])\n    t[0] = n",
    "new_list_a_method_returns": "rows = MODEL.sample(n)\n    rows.append(n)",
    "result_of_a_wrapper_keeping_stats": 'rows = counted_rows()\n    rows[0]["v"] = n',
    "result_of_a_decorator_class": 'rows = traced_rows()\n    rows[0]["v"] = n',
    "frame_selection_a_getter_returns": 'df = adults()\n    df["k"] = n',
    "new_instance_of_a_class_counting_them": "c = Counted()\n    c.k = n",
    "result_a_wrapper_keeps_only_to_look_at": 'rows = last_rows()\n    rows[0]["v"] = n',
    "frame_rows_a_getter_selects_by_iloc": 'df = top_rows()\n    df["z"] = n',
    "new_list_of_a_callable_keeping_patterns": 'parts = SPLIT("a,b")\n    parts.append(n)',
    "slice_of_numbers_a_getter_returns": "w = head_weights()\n    w.append(n)",
    "number_augmented_through_an_alias": "w = LIMIT\n    w += n",
    "number_a_getter_returns_augmented": "w = limit()\n    w += n",
    "number_augmented_through_an_item_alias": 'lr = CONFIG["lr"]\n    lr *= 0.5',
    "numpy_scalar_augmented_through_an_alias": "s = SEED\n    s += n",
    "new_dict_a_method_builds_of_its_object": "d = MODEL.describe()",
    "new_dict_a_getter_returns_changed": 'd = data()\n    d["extra"] = n',
    "slice_a_getter_returns_appended_to": 'rows = head_rows()\n    rows.append({"v": n})',
    "list_a_getter_makes_appended_to": 'rows = rows_list()\n    rows.append({"v": n})',
    "comprehension_of_copies_a_getter_returns": 'rows = copied_rows()\n    rows[0]["v"] = n',
    "top_level_of_a_copy_a_getter_returns_by_its_method": 'cfg = config_copy()\n    cfg["k"] = n',
    "top_level_of_a_dict_copy_a_getter_returns": 'copy_of_config()["k"] = n',
    "new_lists_a_dict_comprehension_keys_by_a_global": 'h = new_history()\n    h["loss"].append(n)',
    "new_lists_of_slices_a_comprehension_makes": "rows = sliced_lists()\n    rows[0].append(n)",
    "frame_columns_given_to_a_helper": "standardize(RAW[NUM], NUM)",
}


# reads only: of attributes named like a mutating method (``seed``, ``shuffle``,
# ``sort``: data, not a method passed on), and calls of methods named like one that
# return a new object (a string's, pandas', polars', a scipy.stats distribution's)
READS = {
    "dataclass_fields": "print(SETTINGS.seed, SETTINGS.shuffle)",
    "namespace_attributes": "kw = dict(random_state=ARGS.seed, ordered=ARGS.sort)",
    "instance_attribute_read_by_a_method": "MODEL.sample(n)",
    "string_method_called": 'head, _, tail = MODE.partition("_")',
    "series_method_returning_a_new_series": "total = SCORES.add(n).sum()",
    "index_method_returning_a_new_index": 'cols = COLS.insert(0, "id")',
    "polars_methods_returning_a_new_frame": 'rows = LOOKUP.sort("k").update(LOOKUP, on="k")',
    "scipy_distribution_fit": "mu, sd = norm.fit([1.0, 2.0, float(n)])",
    "method_reading_the_object_a_getter_returns": "rows = the_model().sample(n)",
    "method_reading_a_cached_factory_result": "rows = get_settings().sample(n)",
    "object_a_getter_returns_read_in_a_with_block": "with the_model() as m:\n        m.sample(n)",
    "method_reading_a_classmethod_singleton": "Solo.instance().sample(n)",
    "method_reading_an_object_a_getter_keeps_in_a_module_dict": "kept_model().sample(n)",
    "method_reading_a_getter_result_kept_bound": "sample = the_model().sample\n    sample(n)",
    "method_reading_an_item_of_a_getter_result": "model_and_opts()[0].sample(n)",
    "method_reading_an_object_held_by_a_global": "APP.model.sample(n)",
    "attribute_of_a_global_given_to_a_helper_reading_it": "read_opts(APP.opts)",
    "method_reading_an_object_held_by_a_getter_result": "get_app().model.sample(n)",
    "method_reading_objects_in_a_global_attribute_list": "for m in APP.models:\n        m.sample(n)",
    "method_reading_an_object_a_partial_getter_hands_out": "model_a().sample(n)",
    "method_reading_an_object_a_property_hands_out": "APP.main.sample(n)",
    "method_reading_a_string_attribute_of_a_held_object": "APP.model.key()",
    "user_method_named_like_a_mutator_changing_nothing": "go(APP.reg, n)",
    "item_of_a_global_given_to_a_helper_reading_it": 'read_opts(CONFIG["model"])',
    "object_a_cached_factory_result_made_in_its_init_read_by_its_method": (
        "get_runner().peek(n)"),
    "method_reading_an_attribute_read_by_getattr": 'getattr(APP, "model").sample(n)',
    "method_of_a_new_object_a_factory_makes_on_every_call": "fresh_model().train(n)",
    "method_of_an_item_of_a_dict_by_get": 'MODELS.get("a").sample(n)',
    "method_reading_an_item_of_an_attribute_of_a_getter_result": (
        'get_app().by_name["a"].sample(n)'),
    "attribute_of_a_getter_result_given_to_a_helper_reading_it": "read_opts(get_app().opts)",
    "method_reading_its_object_through_super": "LOGGED.sample(n)",
    "method_reading_an_object_held_in_a_slot": "SLOTTED.model.sample(n)",
    "helper_splitting_a_string_of_a_global_config": "model_family(NAMES)",
    "method_under_a_decorator_of_yours_reading": "DECORATED.sample(n)",
    "method_reading_a_part_of_another_getters_result_a_getter_returns": "app_model().sample(n)",
    "item_of_a_getter_results_attribute_given_to_a_helper_reading_it": (
        'm = get_app().by_name["a"]\n    sample_model(m, n)'),
    "method_reading_items_of_a_getter_results_attribute_by_items": (
        "for k, m in get_app().by_name.items():\n        m.sample(n)"),
    "method_reading_an_object_a_cached_factory_result_holds": "get_runner().model.sample(n)",
    "method_reading_an_object_a_getter_results_attribute_holds_through_a_local": (
        "m = get_app().model\n    m.sample(n)"),
    "method_reading_items_of_a_getter_results_attribute_in_a_loop": (
        "for m in get_app().by_name.values():\n        m.sample(n)"),
    "helper_splitting_a_string_of_a_getter_results_config": "model_family(get_named().opts)",
    "method_of_a_new_object_a_method_of_a_getter_result_makes": (
        "get_app().new_model().train(n)"),
    "attribute_of_a_new_object_a_method_of_a_getter_result_makes": (
        "get_app().new_model().w = n"),
    "new_object_a_method_of_a_getter_result_makes_through_a_local": (
        "m = get_app().new_model()\n    m.w = n"),
    "method_reading_what_a_method_of_a_getter_result_hands_out": (
        "get_app().get_model().sample(n)"),
    "method_reading_under_a_decorator_of_yours_without_wraps": "BARE.sample(n)",
    "method_reading_under_a_class_based_decorator_of_yours": "BARE.sample_by_class(n)",
    "method_reading_an_object_another_global_holds": "USER.peek(n)",
    "method_changing_a_new_object_a_held_objects_method_makes": "USER.train_new(n)",
    "method_filling_its_own_dict_reading_what_another_global_holds": "USER.peek_counting(n)",
    "method_of_a_new_object_a_method_of_a_getter_result_makes_by_another": (
        "get_app().new_via_own().train(n)"),
    "attribute_of_a_new_object_a_method_of_a_getter_result_makes_by_a_factory": (
        "get_app().new_via_factory().w = n"),
    "method_reading_under_a_decorator_factory_holding_two_functions": (
        "WRAPPED.sample_guarded(n)"),
    "method_reading_items_of_what_a_method_of_a_getter_result_hands_out": (
        "for m in get_app().get_models():\n        m.sample(n)"),
    "method_under_a_decorator_giving_its_result_to_a_hook": "HOOKED.sample_hooked(n)",
    "frame_a_getter_results_method_hands_out_added_to": "get_frames().get_pdf().add(n)",
    "frame_an_object_of_a_global_holds_added_to": "FRAMES.box.pdf.add(n)",
    "method_counting_its_calls_adding_to_series_it_holds": "FRAMES.add_all(n)",
    "string_item_of_a_config_holding_a_list_split": 'MIXED["model"].partition(":")',
    "field_of_a_named_tuple_read": "x = HELD.lr + n",
    "method_reading_an_object_a_named_tuple_holds": "HELD.model.sample(n)",
    "method_reading_an_object_a_tuple_holds_through_a_local": "m = PAIR[0]\n    m.sample(n)",
    "item_read_by_the_builtin_base_through_super": 'REG2.peek("a")',
    "helper_splitting_a_string_of_a_config_holding_a_list": "model_family(MIXED)",
    "helper_splitting_a_string_of_a_getter_results_config_holding_a_list": (
        "model_family(get_mixed().opts)"),
}


def _built(project: Path, name: str) -> Any:
    """The graph of ``pipe`` in the module ``name`` of ``project``, built quietly (a
    coupling's warning is given once a process: these tests read the parts instead)."""
    mod = import_from(project, name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fm.FingerprintWarning)
        return mod.pipe.build()


def _state_parts(graph: Any, step: str) -> list[str]:
    """The parts by which the build coupled ``step`` with another step."""
    return [p for p in graph.fingerprints[step].parts if p.startswith("state ")]


def _coupled(project: Path, name: str, body: str) -> list[str]:
    """The parts by which the build coupled ``setup`` with another step."""
    source = (PRELUDE + '\n\n@fm.step(outputs="ready")\ndef setup(n: int = 1):\n    '
              + body + '\n    return True\n\n\npipe = fm.Pipeline("forms", [setup, use])\n')
    (project / f"{name}.py").write_text(source)
    graph = _built(project, name)
    return _state_parts(graph, "setup")


@pytest.mark.parametrize("form", sorted(CHANGES))
def test_a_change_of_the_global_couples_the_steps(project: Path, form: str) -> None:
    assert _coupled(project, f"changes_{form}", CHANGES[form])


@pytest.mark.parametrize("form", sorted(COPIES))
def test_a_change_of_a_copy_couples_nothing(project: Path, form: str) -> None:
    assert _coupled(project, f"copies_{form}", COPIES[form]) == []


@pytest.mark.parametrize("form", sorted(READS))
def test_a_read_or_a_call_returning_a_new_object_couples_nothing(
        project: Path, form: str) -> None:
    assert _coupled(project, f"reads_{form}", READS[form]) == []


PAIRS = {  # a step changing state directly, another through a call's result, reading it
    "appended_then_taken_through_a_getter": ("QUEUE.append(n)", "return queue().pop()"),
    "appended_then_summed_through_a_getter": (
        "EVENTS.append(n)", "e = events()\n    e.append(0)\n    return sum(e)"),
    "set_then_read_through_a_method_caching_on_its_object": (
        "HOLDER.model().w = n", "return HOLDER.model().w"),
    "set_then_read_through_a_getter_counting_calls": (
        "MODEL.w = n", "m = model()\n    m.calls += 1\n    return m.w"),
    "appended_then_summed_both_through_a_getter": (
        "events().append(n)", "e = events()\n    e.append(0)\n    return sum(e)"),
    "appended_then_taken_both_through_a_getter": (
        "queue().append(n)", "return queue().pop()"),
    "object_made_by_setdefault_changed_then_read_by_setdefault": (
        'KEPT.setdefault("m", Model()).w = n', 'return KEPT.setdefault("m", Model()).w'),
    "appended_then_summed_under_another_name": (
        "events().append(n)", "e = events()\n    f = e\n    f.append(0)\n    return sum(e)"),
}


@pytest.mark.parametrize("pair", sorted(PAIRS))
def test_a_change_read_through_a_call_couples_the_steps(project: Path, pair: str) -> None:
    """A step that changes a global and one that reads it through a getter or a method
    caching on its object, even changing it too (appending, counting, filling the
    cache): the reader computes from what the writer left, so both are coupled (a step
    changing it through a call's result is no fellow writer, as steps only appending to
    one log are)."""
    write_, read_ = PAIRS[pair]
    graph = _built_pair(project, pair, '''
import flowyml as fm

QUEUE, EVENTS = [], []
KEPT = {}


class Model:
    def __init__(self):
        self.w = 0
        self.calls = 0


MODEL = Model()


class Holder:
    def __init__(self):
        self._model = None

    def model(self):
        if self._model is None:
            self._model = Model()
        return self._model


HOLDER = Holder()


def queue():
    return QUEUE


def events():
    return EVENTS


def model():
    return MODEL


''', write_, read_)
    assert _state_parts(graph, "use")


HELD_BY_TWO = {  # a step changing an object another global holds, through that global
    "method_of_what_a_getters_method_hands_out": "get_app().get_model().train(n)",
    "attribute_of_what_a_getters_method_hands_out": "get_app().get_model().w = n",
    "method_of_what_a_getter_result_holds": "get_app().model.train(n)",
    "method_of_what_a_globals_method_hands_out": "APP.get_model().train(n)",
    "attribute_of_what_a_global_holds": "APP.model.w = n",
    "attribute_of_the_first_of_a_sorted_copy": "sorted(APP.models, key=lambda m: m.w)[0].w = n",
    "attribute_of_an_item_of_a_list_copy": "list(APP.models)[0].w = n",
    "attribute_of_an_item_of_a_tuple_of_values": "tuple(APP.by.values())[0].w = n",
    "item_of_what_a_global_holds": "APP.opts.update(a=n)",
    "method_of_a_global_changing_what_it_holds": "APP.train(n)",
    "method_of_a_global_changing_what_it_holds_through_a_local": "APP.train_alias(n)",
    "library_method_on_what_a_globals_object_holds": "APP.model.log.append(n)",
    "item_of_what_a_globals_object_holds_updated": "APP.model.opts.update(a=n)",
    "attribute_of_what_a_getter_result_holds": "get_app().model.w = n",
    "attribute_of_what_a_local_getter_result_holds": "a = get_app()\n    a.model.w = n",
    "method_of_a_getter_result_changing_what_it_holds": "get_app().train(n)",
    "attribute_of_an_item_of_what_a_global_holds": "APP.models[0].w = n",
    "attribute_of_each_item_of_what_a_global_holds": "for m in APP.models:\n        m.w = n",
    "attribute_of_each_value_of_what_a_global_holds": (
        "for k, m in APP.by.items():\n        m.w = n"),
    "attribute_of_an_item_through_a_local": "m = APP.models[0]\n    m.w = n",
    "attribute_set_by_setattr_on_what_a_global_holds": 'setattr(APP.model, "w", n)',
    "method_of_a_global_setting_through_a_local": "APP.set_alias(n)",
    "method_of_a_global_setting_each_item": "APP.set_each(n)",
    "method_of_a_global_setting_an_item": "APP.set_first(n)",
    "method_of_a_global_setting_by_setattr": "APP.set_by_setattr(n)",
    "method_of_a_global_setting_two_attributes_deep": "APP.set_deep(n)",
    "method_of_a_global_training_what_a_tuple_holds": "APP.train_pair(n)",
    "method_of_a_global_training_two_attributes_deep": "APP.train_deep(n)",
    "method_through_a_local_two_attributes_deep": "m = APP.inner.model\n    m.train(n)",
    "method_through_a_local_of_a_local": "a = APP.inner\n    m = a.model\n    m.train(n)",
    "method_of_a_global_setting_an_item_got_by_get": "APP.set_got(n)",
    "method_of_a_global_setting_an_item_got_by_a_walrus": "APP.set_walrus(n)",
    "attribute_of_an_item_of_a_new_list_of_what_a_global_holds": "APP.listed()[0].w = n",
    "attribute_of_each_item_of_a_new_list_of_what_a_global_holds": (
        "for m in APP.listed():\n        m.w = n"),
    "attribute_of_what_a_globals_method_hands_out": "APP.get_model().w = n",
    "attribute_of_what_a_globals_method_hands_out_through_a_local": (
        "m = APP.get_model()\n    m.w = n"),
    "method_of_an_item_of_what_a_getters_method_hands_out": "get_app().get_models()[0].train(n)",
    "attribute_of_an_item_of_what_a_getters_method_hands_out": "get_app().get_models()[0].w = n",
    "attribute_of_an_item_by_getattr": 'getattr(APP, "models")[0].w = n',
    "attribute_of_an_item_unpacked": "first, = APP.models\n    first.w = n",
    "attribute_of_an_item_star_unpacked": "first, *rest = APP.models\n    first.w = n",
    "attribute_of_each_item_zipped": "for m, v in zip(APP.models, [n]):\n        m.w = v",
    "attribute_of_each_item_reversed": "for m in reversed(APP.models):\n        m.w = n",
    "attribute_of_an_item_of_a_copy_of_what_a_global_holds": "ms = list(APP.models)\n    ms[0].w = n",
    "method_of_a_global_setting_an_unpacked_item": "APP.set_unpacked(n)",
    "method_of_a_global_setting_an_item_of_a_copy": "APP.set_in_copy(n)",
    "attribute_of_each_item_a_globals_method_iterates": (
        "for m in APP.iter_models():\n        m.w = n"),
    "attribute_of_each_item_of_a_comprehension_a_globals_method_makes": (
        "for m in APP.model_list():\n        m.w = n"),
    "method_of_what_a_walrus_binds": "(m := APP.model).train(n)",
    "attribute_of_what_a_walrus_binds": "(m := APP.models[0]).w = n",
    "method_of_a_global_training_what_a_walrus_binds": "APP.train_walrus(n)",
    "attribute_of_each_item_of_a_slice": "for m in APP.models[:1]:\n        m.w = n",
    "attribute_of_each_item_of_a_slice_enumerated": (
        "for i, m in enumerate(APP.models[:1]):\n        m.w = n"),
    "attribute_of_each_value_by_a_nested_target": (
        "for i, (k, m) in enumerate(APP.by.items()):\n        m.w = n"),
    "attribute_of_the_next_item": "m = next(iter(APP.models))\n    m.w = n",
    "attribute_of_the_next_value": "m = next(iter(APP.by.values()))\n    m.w = n",
    "attribute_of_each_item_a_generator_yields": "for m in each_model():\n        m.w = n",
    "attribute_of_each_item_a_method_yields_from": "for m in APP.each():\n        m.w = n",
    "attribute_of_each_item_a_method_yields": "for m in APP.each_item():\n        m.w = n",
    "attribute_of_the_next_item_a_method_yields": "m = next(APP.each_item())\n    m.w = n",
    "helper_setting_each_item_of_a_slice_of_what_it_is_given": "freeze(APP.models)",
    "helper_training_what_it_is_given": "train_model(APP.model, n)",
    "helper_setting_an_attribute_of_what_it_is_given": "set_w(APP.model, n)",
    "helper_setting_an_item_of_what_it_is_given": "put(APP.opts, n)",
    "helper_training_an_item_it_is_given": "train_model(APP.models[0], n)",
    "helper_setting_an_attribute_of_each_item_it_is_given": (
        "for m in APP.models:\n        set_w(m, n)"),
    "attribute_of_the_best_item": "m = max(APP.models, key=lambda x: x.w)\n    m.w = n",
    "method_of_the_smallest_item": "min(APP.models, key=id).train(n)",
    "attribute_of_each_item_filtered": "for m in filter(None, APP.models):\n        m.w = n",
    "helper_in_a_partial_given_what_a_global_holds": "SET_MODEL(n)",
    "helper_in_a_partial_an_object_holds": "HUB.setter(n)",
    "bound_method_of_what_a_global_holds_in_a_dict": 'HANDLERS["train"](n)',
    "helper_setting_an_attribute_of_the_next_item": "set_w(next(iter(APP.models)), n)",
    "helper_training_the_best_item": "train_model(max(APP.models, key=id), n)",
}

HELD_BY_ONE = {  # the same shapes, changing an object no global holds but the writer's
    "item_of_what_a_global_holds_replaced": "APP.models[0] = Model()",
    "attribute_of_each_new_object": "for m in [Model(), Model()]:\n        m.w = n",
    "attribute_of_a_copy_through_a_local": "m = copy.copy(APP.model)\n    m.w = n",
    "method_of_a_global_replacing_an_item": "APP.replace_first(n)",
    "method_of_a_global_setting_a_new_object": "APP.set_fresh(n)",
    "method_of_a_copy_two_attributes_deep": "m = copy.copy(APP.inner.model)\n    m.train(n)",
    "new_list_of_what_a_global_holds_appended_to": "APP.listed().append(Model())",
    "item_of_a_copy_replaced": "ms = list(APP.models)\n    ms[0] = Model()",
    "copy_of_what_a_global_holds_appended_to": "ms = list(APP.models)\n    ms.append(Model())",
    "attribute_of_each_new_object_zipped": "for m, v in zip([Model()], [n]):\n        m.w = v",
    "comprehension_of_what_a_global_holds_appended_to": "APP.model_list().append(Model())",
    "method_of_a_new_object_a_walrus_binds": "(m := Model()).train(n)",
    "attribute_of_each_new_object_a_generator_yields": "for m in fresh_models():\n        m.w = n",
    "attribute_of_each_copy_a_generator_yields": "for m in copies():\n        m.w = n",
    "item_of_a_slice_replaced_in_a_loop": (
        "for i, m in enumerate(APP.models[:1]):\n        APP.models[i] = Model()"),
    "helper_reading_an_item_it_is_given": "read_w(APP.models[0])",
    "helper_training_a_copy": "train_model(copy.copy(APP.model), n)",
    "helper_setting_an_attribute_of_each_new_object": (
        "for m in fresh_models():\n        set_w(m, n)"),
    "attribute_of_the_larger_of_two_new_objects": "m = max(Model(), Model(), key=id)\n    m.w = n",
    "helper_in_a_partial_given_a_new_object": "SET_NEW(n)",
    "reading_helper_in_a_partial_given_what_a_global_holds": "READ_MODEL()",
    "helper_reading_the_next_item": "read_w(next(iter(APP.models)))",
    "helper_reading_the_best_of_a_new_list": "read_w(max([APP.model], key=id))",
}


@pytest.mark.parametrize("form", sorted(HELD_BY_TWO))
def test_a_change_through_another_global_couples_a_reader_by_its_own_name(
        project: Path, form: str) -> None:
    """``APP.model is MODEL``: a step changing the model through ``APP`` (a getter of
    it, a method of it, an item or a local standing for it) and one reading ``MODEL``
    alone are coupled; the writer's marks name the object, not only the global it went
    through."""
    graph = _built_two(project, form, HELD_BY_TWO[form])
    assert _state_parts(graph, "use")


@pytest.mark.parametrize("form", sorted(HELD_BY_ONE))
def test_a_change_of_an_object_only_the_writer_holds_couples_nothing(
        project: Path, form: str) -> None:
    """The same shapes of change, of an object ``MODEL`` is not (a new one, a copy, an
    item replaced): the reader of ``MODEL`` is reused."""
    graph = _built_two(project, form, HELD_BY_ONE[form])
    assert not _state_parts(graph, "use")


def _built_two(project: Path, form: str, write: str) -> Any:
    return _built_pair(project, f"two_{form}", '''
import copy
import functools
import types

import flowyml as fm


class Model:
    def __init__(self):
        self.w = 0
        self.opts = {"a": 0}
        self.log = []

    def train(self, v):
        self.w = v


MODEL = Model()


class App:
    def __init__(self):
        self.model = MODEL
        self.opts = MODEL.opts
        self.models = [MODEL]
        self.by = {"a": MODEL}
        self.pair = (MODEL, 1)
        self.inner = types.SimpleNamespace(model=MODEL)

    def get_model(self):
        return self.model

    def train(self, v):
        self.model.train(v)

    def train_alias(self, v):
        m = self.model
        m.train(v)

    def set_alias(self, v):
        m = self.model
        m.w = v

    def set_each(self, v):
        for m in self.models:
            m.w = v

    def set_first(self, v):
        self.models[0].w = v

    def set_by_setattr(self, v):
        setattr(self.model, "w", v)

    def set_deep(self, v):
        m = self.inner.model
        m.w = v

    def train_pair(self, v):
        self.pair[0].train(v)

    def train_deep(self, v):
        m = self.inner.model
        m.train(v)

    def listed(self):
        return list(self.models)  # a new list, of the same models

    def get_models(self):
        return self.models

    def train_walrus(self, v):
        (m := self.model).train(v)

    def iter_models(self):
        return iter(self.models)

    def model_list(self):
        return [m for m in self.models]

    def set_unpacked(self, v):
        m, = self.models
        m.w = v

    def set_in_copy(self, v):
        ms = list(self.models)
        ms[0].w = v

    def set_got(self, v):
        m = self.by.get("a")
        m.w = v

    def set_walrus(self, v):
        if (m := self.by.get("a")) is not None:
            m.w = v

    def replace_first(self, v):
        self.models[0] = Model()

    def set_fresh(self, v):
        m = Model()
        m.w = v
        self.extra = m

    def each(self):
        yield from self.models

    def each_item(self):
        for m in self.models:
            yield m


APP = App()


def each_model():
    for m in APP.models:
        yield m


def fresh_models():
    for _ in range(2):
        yield Model()


def copies():
    for m in APP.models:
        yield copy.copy(m)


def freeze(models):
    for m in models[:1]:
        m.w = 0


def train_model(m, v):
    m.train(v)


def set_w(m, v):
    m.w = v


def put(d, v):
    d["a"] = v


def read_w(m):
    return m.w


class Hub:
    def __init__(self, model):
        self.setter = functools.partial(set_w, model)


HUB = Hub(APP.model)
SET_MODEL = functools.partial(set_w, APP.model)
SET_NEW = functools.partial(set_w, Model())
READ_MODEL = functools.partial(read_w, APP.model)
HANDLERS = {"train": APP.model.train}


def get_app():
    return APP


''', write, 'return [MODEL.w, MODEL.opts["a"], len(MODEL.log)]')


@pytest.mark.parametrize("use", ["SERVICE.set_alias(n)", "SERVICE.set_each(n)",
                                 'get_service().get_current().update(a=n)'])
def test_a_proxy_whose_class_raises_reached_through_self_does_not_break_the_build(
        project: Path, use: str) -> None:
    """A method reaching a proxy through ``self`` (an alias, a loop) or a getter's method
    handing one out: the build reads what it reaches without asking the proxy's
    ``__class__``, which raises outside its context (werkzeug's ``LocalProxy``)."""
    (project / "proxied.py").write_text(f'''
import flowyml as fm


class Unbound:
    @property
    def __class__(self):
        raise RuntimeError("working outside of application context")

    def update(self, **kw):
        pass


class Service:
    def __init__(self):
        self.current = Unbound()
        self.all = [self.current]

    def get_current(self):
        return self.current

    def set_alias(self, v):
        c = self.current
        c.update(a=v)

    def set_each(self, v):
        for c in self.all:
            c.update(a=v)


SERVICE = Service()


def get_service():
    return SERVICE


@fm.step(outputs="ready")
def setup(n: int = 1):
    {use}
    return True


@fm.step(outputs="val")
def read(ready):
    return SERVICE.all


pipe = fm.Pipeline("proxied", [setup, read])
''')
    graph = _built(project, "proxied")
    assert set(graph.fingerprints) == {"setup", "read"}


def test_a_library_wrapper_is_not_taken_for_a_memo(project: Path, monkeypatch: pytest.MonkeyPatch
                                                   ) -> None:
    """A decorator of an installed package (``backoff``'s, ``tenacity``'s) wraps with
    ``functools.wraps``, which gives its wrapper the user's module: it is told by the
    file of its code, and not looked into as a memo of the user's would be."""
    lib = project / "site-packages"
    lib.mkdir()
    (lib / "retrying_lib.py").write_text('''
import functools


def retry(f):
    seen = {}

    @functools.wraps(f)
    def wrapper(*args):
        seen["last"] = f(*args)
        return seen["last"]
    return wrapper
''')
    monkeypatch.syspath_prepend(str(lib))
    (project / "retried.py").write_text('''
import flowyml as fm
from retrying_lib import retry


@retry
def load_rows():
    return [{"v": 1}]


@fm.step(outputs="a")
def train(n: int = 1):
    rows = load_rows()
    rows[0]["v"] = n
    return rows


@fm.step(outputs="b")
def evaluate(a):
    return load_rows()


pipe = fm.Pipeline("retried", [train, evaluate])
''')
    graph = _built(project, "retried")
    assert not [p for fp in graph.fingerprints.values() for p in fp.parts
                if p.startswith("state ")]


def test_steps_each_changing_what_a_getter_hands_out_couple_nothing(project: Path) -> None:
    """Steps that each register their own entry through a getter (no step reading the
    others'), as with the global named directly, couple nothing: none of them is
    re-executed every run for the others' writes."""
    (project / "registering.py").write_text('''
import flowyml as fm

REGISTRY = {}


def get_registry():
    return REGISTRY


@fm.step(outputs="a")
def train_a(n: int = 1):
    get_registry()["a"] = n
    return n


@fm.step(outputs="b")
def train_b(n: int = 1):
    get_registry()["b"] = n
    return n


pipe = fm.Pipeline("registering", [train_a, train_b])
''')
    graph = _built(project, "registering")
    assert not [p for fp in graph.fingerprints.values() for p in fp.parts
                if p.startswith("state ")]


def test_a_lazy_proxy_a_step_calls_does_not_break_the_build(project: Path) -> None:
    """A global whose ``__getattr__`` raises anything for a name it lacks (werkzeug's
    ``LocalProxy`` outside its context): the build looks at it without failing."""
    (project / "proxied.py").write_text('''
import flowyml as fm


class Proxy:
    def __call__(self, x):
        return x * 2

    def __getattr__(self, name):
        raise RuntimeError("working outside of the application context")


PROXY = Proxy()


@fm.step(outputs="a")
def double(n: int = 1):
    return PROXY(n)


pipe = fm.Pipeline("proxied", [double])
''')
    mod = import_from(project, "proxied")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fm.FingerprintWarning)
        mod.pipe.build()


def test_steps_a_factory_makes_sharing_a_closure_value_are_coupled(project: Path) -> None:
    """Two steps made by one factory call, closing over one dict: one changes it in place,
    the other reads it. The reader's key counted the dict as the build saw it, so both
    re-execute every run; steps each closing over a dict of their own couple nothing."""
    (project / "factory_state.py").write_text('''
import flowyml as fm


def make():
    state = {"acc": 0}

    @fm.step(outputs="a")
    def train(n: int = 1):
        state["acc"] = n
        return n

    @fm.step(outputs="b")
    def report(a):
        return state["acc"]

    return [train, report]


def make_apart():
    state, own = {"acc": 0}, {"acc": 0}

    @fm.step(outputs="a")
    def train(n: int = 1):
        state["acc"] = n
        return n

    @fm.step(outputs="b")
    def report(a):
        return own["acc"]

    return [train, report]


pipe = fm.Pipeline("factory_state", make())
apart = fm.Pipeline("factory_apart", make_apart())
''')
    mod = import_from(project, "factory_state")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fm.FingerprintWarning)
        shared, apart = mod.pipe.build(), mod.apart.build()
    assert [p for p in shared.fingerprints["report"].parts if p.startswith("state ")]
    assert not [p for p in apart.fingerprints["report"].parts if p.startswith("state ")]


def test_methods_calling_each_other_are_asked_about_once_per_build(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nested service objects whose methods call each other and the next object's
    (``self.m2(v)``, ``self.sub.m0(v)``): whether a method changes its object is worked
    out once per question and build, not again at every depth of every path (which grew
    exponentially with the methods per class: a build of seconds to minutes)."""
    lines = ["import flowyml as fm", ""]
    for c in range(4):
        lines += [f"class C{c}:", "    def __init__(self):",
                  f"        self.sub = {f'C{c + 1}()' if c < 3 else 'None'}", "        self.w = 1"]
        for m in range(8):
            calls = [f"        v = self.m{k}(v - 1) if v > 100 else v" for k in range(8) if k != m]
            calls += [f"        v = self.sub.m{k}(v - 1) if v > 100 else v"
                      for k in range(0, 8, 2) if c < 3]
            lines += [f"    def m{m}(self, v):", *calls, "        return v + self.w"]
    lines += ["class App:", "    def __init__(self):", "        self.c = C0()", "APP = App()"]
    for s in range(8):
        lines += [f"@fm.step(outputs='o{s}')", f"def s{s}(n: int = 1):",
                  f"    return APP.c.m{s}(n) + APP.c.sub.m{(s + 1) % 8}(n)"]
    lines.append("pipe = fm.Pipeline('services', [" + ", ".join(f"s{s}" for s in range(8)) + "])")
    (project / "services.py").write_text("\n".join(lines) + "\n")
    from flowyml.core import fingerprint

    asked = []
    real = fingerprint._param_changed
    monkeypatch.setattr(fingerprint, "_param_changed",
                        lambda *a: asked.append(a[0]) or real(*a))
    mod = import_from(project, "services")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fm.FingerprintWarning)
        mod.pipe.build()
    assert 0 < len(asked) < 5_000  # (32 methods, a few objects, 5 depths: linear)


def test_a_path_through_items_is_judged_once_per_build(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``get_app().groups[g].trackers[t].peek(n)`` in every step: whether the method
    changes what the path reaches (3,600 trackers here) is worked out once per build, not
    again for each step; and only the objects some step changes are matched with what
    each step reads. (100 such steps took 5 s and more to build, 12 s on a loaded host.)"""
    (project / "groups.py").write_text("""
import flowyml as fm


class Tracker:
    def __init__(self):
        self.last = 0

    def log(self, v):
        self.last = v

    def peek(self, v):
        return self.last + v


class Group:
    def __init__(self):
        self.trackers = {j: Tracker() for j in range(60)}


class App:
    def __init__(self):
        self.groups = {i: Group() for i in range(60)}


APP = App()


def get_app():
    return APP


@fm.step(outputs="o0")
def s0(n: int = 1):
    get_app().groups[0].trackers[0].log(n)
    return n


def reader(i):
    def read(o0):
        return get_app().groups[0].trackers[0].peek(i)
    return fm.step(outputs=f"o{i}", name=f"s{i}")(read)


pipe = fm.Pipeline("groups", [s0, *[reader(i) for i in range(1, 30)]])
""")
    from flowyml.core import fingerprint

    asked: list[str] = []
    reads: list[int] = []
    real, real_reads = fingerprint._reached_changed, fingerprint._state_reads
    monkeypatch.setattr(fingerprint, "_reached_changed",
                        lambda got, m: asked.append(m) or real(got, m))
    monkeypatch.setattr(fingerprint, "_state_reads",
                        lambda *a: reads.append(0) or real_reads(*a))
    mod = import_from(project, "groups")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fm.FingerprintWarning)
        graph = mod.pipe.build()
    assert _state_parts(graph, "s7")
    assert 0 < len(asked) <= 4, asked  # (log and peek, through the path: once each)
    out = real_reads({("x", id(t)) for g in mod.APP.groups.values()
                      for t in g.trackers.values()}, {}, {id(mod.APP)})
    assert out == set() and len(reads) == 30


def test_a_lazy_mapping_a_getter_picks_from_is_read_without_its_code(project: Path) -> None:
    """A getter handing out a value of a global dict subclass whose ``values`` runs code
    (a lazy registry loading what it holds): the build reads what the dict holds by the
    builtin's own method, and still sees the method a step calls change that value."""
    (project / "lazy_registry.py").write_text('''
import flowyml as fm


class Tracker:
    def __init__(self):
        self.metrics = {}

    def log(self, k, v):
        self.metrics[k] = v


class LazyRegistry(dict):
    def values(self):
        raise RuntimeError("loads every entry from the network")

    def __iter__(self):
        raise RuntimeError("loads every entry from the network")


REGISTRY = LazyRegistry(main=Tracker())


def tracker(name):
    return REGISTRY[name]


@fm.step(outputs="a")
def train(n: int = 1):
    tracker("main").log("acc", n)
    return n


@fm.step(outputs="b")
def report(a):
    return REGISTRY["main"].metrics["acc"]


pipe = fm.Pipeline("lazy_registry", [train, report])
''')
    graph = _built(project, "lazy_registry")
    assert _state_parts(graph, "report")


# werkzeug's ``LocalProxy`` in short, outside its context: its ``__class__`` raises
LOCAL_PROXY = '''
class LocalProxy:
    def __init__(self, f):
        object.__setattr__(self, "_f", f)

    @property
    def __class__(self):
        return type(object.__getattribute__(self, "_f")())

    def __getattr__(self, k):
        return getattr(object.__getattribute__(self, "_f")(), k)


def _current():
    raise RuntimeError("working outside of the run context")
'''


def test_a_proxy_whose_class_raises_counts_as_a_new_value(project: Path) -> None:
    """A global whose ``__class__`` itself runs code and raises (werkzeug's
    ``LocalProxy`` outside its context, reached directly or handed out in a getter's
    tuple): the build does not fail; nothing about it can be read, so its step
    re-executes on every run, with a warning naming it."""
    (project / "localproxy.py").write_text('''
import flowyml as fm


'''
                                              + LOCAL_PROXY + '''

SESSION = LocalProxy(_current)
ROWS = [{"v": 1}]


def get_all():
    return SESSION, ROWS


@fm.step(outputs="z")
def prep(n: int = 1):
    s, rows = get_all()
    rows[0]["v"] = n
    return n


pipe = fm.Pipeline("localproxy", [prep])
''')
    mod = import_from(project, "localproxy")
    with pytest.warns(fm.FingerprintWarning, match="SESSION"):
        first = mod.pipe.build()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fm.FingerprintWarning)
        assert mod.pipe.build().fingerprints["prep"] != first.fingerprints["prep"]


@pytest.mark.parametrize("use", ["APP.session.log(n)", "s = APP.session\n        s.log(n)",
                                 "keep(APP.session, n)", "SESSION.log(n)",
                                 'HANDLES.get("user").log(n)', 'HANDLES["user"].log(n)',
                                 'keep(HANDLES["user"], n)'])
def test_a_proxy_whose_class_raises_held_by_an_object_does_not_break_the_build(
        project: Path, use: str) -> None:
    """The same proxy held as an attribute of a global object, its method called, an
    alias of it, given to a helper, or called where the whole module counts (its
    ``__getattr__`` reads a computed name): the build read each with ``isinstance``,
    which asks the proxy's ``__class__``, and failed with the proxy's error. Now the
    object holding it cannot be fingerprinted: its step re-executes, and says why."""
    name = f"heldproxy{len(use)}"  # (a warning is given once per text in a process)
    (project / f"{name}.py").write_text(f'''
import flowyml as fm


{LOCAL_PROXY}

class App:
    def __init__(self):
        self.session = LocalProxy(_current)


APP = App()
SESSION = LocalProxy(_current)
HANDLES = {{"user": LocalProxy(_current)}}
OTHER = {{"x": 1}}


def keep(s, v):
    return v


@fm.step(outputs="ready")
def writer(n: int = 1):
    try:
        {use}
    except RuntimeError:
        pass
    return n


@fm.step(outputs="val")
def reader():
    return OTHER["x"] * 10


pipe = fm.Pipeline("heldproxy", [writer, reader])
''')
    mod = import_from(project, name)
    with warnings.catch_warnings():  # (given once per process: the first case shows it)
        warnings.simplefilter("ignore", fm.FingerprintWarning)
        first = mod.pipe.build()
        again = mod.pipe.build()
        mod.pipe.run()
        run = mod.pipe.run()
    assert again.fingerprints["writer"] != first.fingerprints["writer"]
    assert again.fingerprints["reader"] == first.fingerprints["reader"]
    assert (run["ready"], run["val"]) == (1, 10)
    assert not run.steps["writer"].cached and run.steps["reader"].cached
    assert "cannot be fingerprinted" in (run.steps["writer"].reason or "")


@pytest.mark.parametrize("write", [
    'globals()["LIMIT"] = n', 'put_global("LIMIT", n)', "globals().update(LIMIT=n)",
    'globals().__setitem__("LIMIT", n)', 'setattr(sys.modules[__name__], "LIMIT", n)'])
def test_a_global_rebound_through_its_module_namespace_couples(project: Path, write: str
                                                               ) -> None:
    """``globals()["LIMIT"] = n`` (in the step, or a helper given the name), and
    ``setattr(sys.modules[__name__], "LIMIT", n)``: the global rebound without naming
    it in the code, which the build saw as no change at all, so the step reading it was
    reused with the value from before (``20`` expected, ``10`` given)."""
    name = f"namespace{sum(map(ord, write))}"
    (project / f"{name}.py").write_text(f'''
import sys
import flowyml as fm

LIMIT = 1


def put_global(name, v):
    globals()[name] = v


@fm.step(outputs="ready")
def writer(n: int = 1):
    {write}
    return True


@fm.step(outputs="val")
def reader(ready):
    return LIMIT * 10


pipe = fm.Pipeline("namespace", [writer, reader])
''')
    mod = import_from(project, name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fm.FingerprintWarning)
        graph = mod.pipe.build()
        assert mod.pipe.run({"n": 1})["val"] == 10
        assert mod.pipe.run({"n": 2})["val"] == 20
    assert _state_parts(graph, "reader")


def test_a_cycle_of_wrapped_functions_does_not_break_the_build(project: Path) -> None:
    """``__wrapped__`` set by hand into a cycle (a.__wrapped__ = b, b -> c, c -> a): the
    build follows it to where it closes (it recursed until RecursionError), and still
    sees the method change its object."""
    (project / "wrapped_cycle.py").write_text("""
import flowyml as fm


def a(self, v):
    self.last = v


def b(self, v):
    return a(self, v)


def c(self, v):
    return b(self, v)


a.__wrapped__, b.__wrapped__, c.__wrapped__ = b, c, a


class Tracker:
    def __init__(self):
        self.last = 0

    log = c


S = Tracker()


@fm.step(outputs="ready")
def writer(n: int = 1):
    S.log(n)
    return n


@fm.step(outputs="val")
def reader():
    return S.last * 10


pipe = fm.Pipeline("wrapped_cycle", [writer, reader])
""")
    graph = _built(project, "wrapped_cycle")
    assert _state_parts(graph, "reader")


def test_an_object_making_anything_by_getattr_does_not_break_the_build(project: Path) -> None:
    """A permissive stub or config (python-box's ``default_box``): every attribute is
    a new such object, ``__wrapped__`` too; the build did not end (RecursionError)."""
    (project / "anything.py").write_text('''
import flowyml as fm


class Anything:
    def __getattr__(self, k):
        return Anything()

    def __call__(self, *a, **k):
        return Anything()


LOGGER = Anything()


@fm.step(outputs="a")
def train(n: int = 1):
    LOGGER.info("x")
    return n


pipe = fm.Pipeline("anything", [train])
''')
    mod = import_from(project, "anything")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fm.FingerprintWarning)
        mod.pipe.build()


LIBRARY_BASES = {  # a class deriving from a container of ``collections``: its methods by name
    "ordered_dict_item_set": ("collections.OrderedDict", 'super().__setitem__("a", v)', True),
    "deque_appended": ("collections.deque", "super().append(v)", True),
    "user_dict_item_set": ("collections.UserDict", 'super().__setitem__("a", v)', True),
    "user_list_appended": ("collections.UserList", "super().append(v)", True),
    "counter_updated": ("collections.Counter", "super().update([v])", True),
    "ordered_dict_read": ("collections.OrderedDict", 'return super().get("a")', False),
    "user_dict_read": ("collections.UserDict", 'return super().get("a")', False),
}


@pytest.mark.parametrize("form", sorted(LIBRARY_BASES))
def test_a_change_by_a_library_containers_method_through_super_couples(
        project: Path, form: str) -> None:
    """``class Registry(OrderedDict)`` putting through ``super().__setitem__``: the base's
    method changes the object (as ``dict``'s does), though the walk never reads the
    code of ``collections``; a read through ``super().get`` changes nothing."""
    base, body, changes = LIBRARY_BASES[form]
    graph = _built_pair(project, f"base_{form}", f'''
import collections

import flowyml as fm


class Kept({base}):
    def put(self, v):
        {body}


KEPT = Kept()


''', "KEPT.put(n)", "return repr(KEPT)")
    assert bool(_state_parts(graph, "use")) is changes


@pytest.mark.parametrize("read", ["return len(REG.items)", "return sum(Registry.items)",
                                  "return REG.total()"])
def test_a_reader_reaching_a_changing_method_it_never_calls_is_coupled(
        project: Path, read: str) -> None:
    """A step reading a class's registry reaches the class's method that appends to it
    (the walk takes a class whole), which it never calls: it is no fellow writer of the
    registry, whose writers' changes it reads. (Two steps that each call the method and
    read nothing back stay uncoupled: the next test.)"""
    graph = _built_registry(project, "read", read)
    assert _state_parts(graph, "use")


def test_steps_each_calling_the_changing_method_couple_nothing(project: Path) -> None:
    graph = _built_registry(project, "write", 'REG.register(0)\n    return "ok"')
    assert not _state_parts(graph, "use")


def _built_registry(project: Path, name: str, body: str) -> Any:
    return _built_pair(project, f"registry_{name}", '''
import flowyml as fm


class Registry:
    items = []

    def register(self, x):
        Registry.items.append(x)

    def total(self):
        return sum(self.items)


REG = Registry()


''', "REG.register(n)", body)


@pytest.mark.parametrize("call", ['HANDLERS["rec"](n)', "RECORD(n)", "rec_a(n)", "fire(n)",
                                  'HANDLERS["reg"](n)', "ON_REGISTER(n)", "PUT(n)"])
def test_steps_each_appending_through_a_function_held_as_a_value_couple_nothing(
        project: Path, call: str) -> None:
    """Two steps each appending to one log through a function reached as a value (in
    a dict, a lambda, a ``partial``, a list of hooks), never by its name: fellow
    writers, as when they call it by name (only a method the walk reached with its
    class, and whose name no code reached spells, is not counted as called)."""
    graph = _built_pair(project, "held_fns", '''
import functools

import flowyml as fm

LOG = []


def record(v):
    LOG.append(v)


def on_a(v):
    LOG.append(("a", v))


class Registry:
    def __init__(self):
        self.items = []

    def register(self, v):
        self.items.append(v)


class Box:
    put = lambda self, v: LOG.append(v)  # noqa: E731


REG = Registry()
BOX = Box()
HANDLERS = {"rec": record, "reg": REG.register}
RECORD = lambda v: LOG.append(v)  # noqa: E731
rec_a = functools.partial(record)
HOOKS = [on_a]
ON_REGISTER = REG.register
PUT = BOX.put


def fire(v):
    for h in HOOKS:
        h(v)


''', call, call + "\n    return True", 'ready, n: int = 2')
    assert not _state_parts(graph, "use") and not _state_parts(graph, "setup")


@pytest.mark.parametrize("write", ['Catalog.models["m"] = n', 'CATALOG.put("m", n)',
                                   'm = Catalog.models\n    m["m"] = n'])
def test_an_item_set_in_a_class_attribute_couples_its_reader(project: Path, write: str
                                                              ) -> None:
    """``Catalog.models[name] = v`` (in the step, in a method, through a local): an item
    of what a class attribute holds, read by another step (``Catalog.models["m"]``)."""
    graph = _built_pair(project, "class_items", '''
import flowyml as fm


class Catalog:
    models = {}
    other = {}

    def put(self, name, value):
        Catalog.models[name] = value


CATALOG = Catalog()


''', write, 'return Catalog.models.get("m")')
    assert _state_parts(graph, "use")


SPLIT = {  # (writer, reader): the reader changes a global by what it holds in one
    # function and reads it in another (a helper appending, the step summing)
    "log_appended_by_a_helper_summed_by_the_step": ("add(n)", "add(0)\n    return sum(LOG)"),
    "log_appended_and_summed_by_two_helpers": ("add(n)", "add(0)\n    return total()"),
    "counter_bumped_by_a_helper_read_by_the_step": ("bump()", "bump()\n    return N"),
    "log_appended_and_counted_by_two_methods": (
        "TRACKER.log(n)", "TRACKER.log(0)\n    return TRACKER.summary()"),
    "log_appended_by_a_helper_tested_by_the_step": (
        "add(n)", "add(0)\n    return 1 if LOG else 0"),
    "log_appended_through_a_local_alias_by_a_helper": (
        "add_alias(n)", "add_alias(0)\n    return sum(LOG)"),
    "log_appended_through_a_local_alias_and_counted": (
        "add(n)", "log = LOG\n    log.append(0)\n    return len(LOG)"),
}
SPLIT_APART = {  # the same helpers, used without reading back what they change
    "log_appended_by_helpers_only": ("add(n)", "add(0)\n    return 1"),
    "counter_bumped_by_helpers_only": ("bump()", "bump()\n    return 1"),
    "log_appended_by_a_method_of_a_class_with_a_reader_never_called": (
        "TRACKER.log(n)", "TRACKER.log(0)\n    return 1"),
    "memo_filled_by_a_helper_read_by_the_step": (
        'put("b")', 'if "a" not in CACHE:\n        put("a")\n    return CACHE["a"]'),
    "log_rebound_then_appended_by_helpers": (
        "reset()\n    add(n)", "reset()\n    add(0)\n    return 1"),
    "log_appended_directly_and_through_an_alias": (
        "add(n)", "add(0)\n    add_alias(1)\n    return 1"),
    "log_handed_to_a_helper_appending_to_it": ("add(n)", 'log("x")\n    return 1'),
}


@pytest.mark.parametrize("pair", sorted(SPLIT))
def test_a_step_reading_what_its_helper_changes_by_what_it_holds_is_coupled(
        project: Path, pair: str) -> None:
    """``add(0); return sum(LOG)`` with ``add`` appending to ``LOG``: the step computes
    from what the other step appended first, as ``LOG.append(0); return sum(LOG)`` in
    one function does; both are coupled."""
    graph = _built_split(project, pair, *SPLIT[pair])
    assert _state_parts(graph, "use") and _state_parts(graph, "setup")


@pytest.mark.parametrize("pair", sorted(SPLIT_APART))
def test_steps_changing_a_global_through_helpers_without_reading_it_couple_nothing(
        project: Path, pair: str) -> None:
    """Steps only appending to a log or bumping a counter through helpers (or a class
    whose reading method they never call), and a memo filled by key: nothing the steps
    return comes from what the other did, so both are reused."""
    graph = _built_split(project, pair, *SPLIT_APART[pair])
    assert not _state_parts(graph, "use") and not _state_parts(graph, "setup")


OBJECT_TAKEN = {  # (writer, reader): the reader changes a global object by what an
    # attribute of it holds, through its methods, and reads that attribute back
    "counter_bumped_and_returned_by_one_method": ("COUNTER.bump()", "return COUNTER.bump()"),
    "id_made_from_a_counter": ("IDS.new_id()", "return IDS.new_id()"),
    "log_appended_and_summed_by_two_methods": (
        "TRACKER.log(n)", "TRACKER.log(0)\n    return TRACKER.total()"),
    "log_appended_by_a_method_summed_directly": (
        "TRACKER.log(n)", "TRACKER.log(0)\n    return sum(TRACKER.items)"),
    "log_appended_directly_summed_by_a_method": (
        "TRACKER.log(n)", "TRACKER.items.append(0)\n    return TRACKER.total()"),
    "log_appended_through_a_helper_and_its_own_methods": (
        "record(n)", "record(0)\n    return TRACKER.count()"),
    "job_taken_from_a_queue_on_the_object": ("JOBS.next_job()", "return JOBS.next_job()"),
    "item_taken_from_a_heap_on_the_object": ("HEAP.take()", "return HEAP.take()"),
    "item_pushed_on_a_heap_on_the_object_then_peeked": ("HEAP.push(n)", "return HEAP.peek()"),
    "id_drawn_from_an_iterator_on_the_object": ("SEQ.new_id()", "return SEQ.new_id()"),
    "class_attribute_counted_by_a_classmethod": ("Run.bump()", "return Run.bump()"),
    "class_attribute_counted_by_a_classmethod_assigning": (
        "Run.bump_assigning()", "return Run.bump_assigning()"),
    "log_appended_then_a_property_summing_it_read": (
        "TRACKER.log(n)", "TRACKER.log(0)\n    return TRACKER.summed"),
    "counter_bumped_by_calling_the_object": ("CALLS()", "return CALLS()"),
    "class_attribute_counted_through_type_of_self": ("VISITS.bump()", "return VISITS.bump()"),
    "log_appended_and_summed_through_a_getter": (
        "get_tracker().log(n)", "get_tracker().log(0)\n    return get_tracker().total()"),
    "counter_bumped_through_a_getter": ("get_counter().bump()", "return get_counter().bump()"),
    "log_appended_through_a_getter_then_summed_directly": (
        "get_tracker().log(n)", "get_tracker().log(0)\n    return sum(get_tracker().items)"),
    "log_appended_through_a_getter_bound_then_counted": (
        "get_tracker().log(n)", "t = get_tracker()\n    t.log(0)\n    return len(t.items)"),
    "log_appended_through_a_getter_then_a_property_summing_it_read": (
        "get_tracker().log(n)", "get_tracker().log(0)\n    return get_tracker().summed"),
    "counter_bumped_through_a_memo_getter_making_it": (
        "made_counter().bump()", "return made_counter().bump()"),
    "log_appended_and_summed_through_a_memo_getter_making_it": (
        "made_tracker().log(n)", "made_tracker().log(0)\n    return made_tracker().total()"),
    "log_appended_through_a_memo_getter_making_it_then_summed_directly": (
        "made_tracker().log(n)", "made_tracker().log(0)\n    return sum(made_tracker().items)"),
    "log_on_an_object_a_getters_result_holds_appended_and_summed": (
        "get_app().tracker.log(n)", "get_app().tracker.log(0)\n    return get_app().tracker.total()"),
    "log_on_an_object_a_getters_result_holds_then_summed_directly": (
        "get_app().tracker.log(n)",
        "get_app().tracker.log(0)\n    return sum(get_app().tracker.items)"),
    "class_attribute_counted_in_the_step": (
        "Run.count += 1", "Run.count += 1\n    return Run.count"),
    "class_list_attribute_appended_and_summed_in_the_step": (
        "Run.seen.append(n)", "Run.seen.append(0)\n    return sum(Run.seen)"),
    "count_by_key_augmented_then_copied": (
        'COUNTS.bump("a")', 'COUNTS.bump("a")\n    return COUNTS.snapshot()'),
    "inherited_appender": ("CHILD.log(n)", "CHILD.log(0)\n    return CHILD.size()"),
    "decorated_counter": ("TRACED.bump()", "return TRACED.bump()"),
    "tracker_another_object_holds": (
        "APP.tracker.log(n)", "APP.tracker.log(0)\n    return APP.tracker.total()"),
    "tracker_used_by_a_method_of_its_holder": ("APP.epoch(n)", "return APP.epoch(0)"),
    "counter_given_to_a_helper": ("bump(COUNTER)", "return bump(COUNTER)"),
    "tracker_given_to_a_helper_logging_and_summing": (
        "log_and_total(TRACKER, n)", "return log_and_total(TRACKER, 0)"),
    "list_given_to_a_helper_appending_and_counting": (
        "add_to(LOG, n)", "return add_to(LOG, 0)"),
    "counter_in_a_list": ("COUNTERS[0].bump()", "return COUNTERS[0].bump()"),
    "log_appended_by_a_helper_read_under_another_global": (
        "add_to(LOG, n)", "add_to(LOG, 0)\n    return sum(APP.log)"),
    "weights_updated_incrementally_then_used": (
        "MODEL.fit(n)", "MODEL.fit(3)\n    return MODEL.predict(2)"),
    "list_in_nested_buckets_appended_and_counted": (
        "GRID.put(0, 0, n)", "return GRID.put(0, 0, 0)"),
    "counter_by_a_plain_assignment": ("PLAIN.step()", "return PLAIN.step()"),
    "best_so_far_by_max": ("PLAIN.see(n)", "PLAIN.see(0)\n    return PLAIN.best"),
    "attribute_assigned_from_itself_in_the_step": (
        "COUNTER.n = COUNTER.n + n", "COUNTER.n = COUNTER.n + 1\n    return COUNTER.n"),
    # handed to a hook found through an object whose ``__getattr__`` raises: code the
    # build cannot follow, which may read it (and no crash)
    "list_handed_on_through_an_attribute_dict_raising": (
        "notify(LOG, n)", "notify(LOG, 0)\n    return 1"),
    # the reader changes the object too, but reads a part of it only the writer changes
    "weights_set_then_read_by_a_method_keeping_its_answers": (
        "ANSWERS.train(n)", "return ANSWERS.predict(2)"),
    "weights_set_then_read_by_a_method_counting_its_calls": (
        "ANSWERS.train(n)", "return ANSWERS.predict_counted(2)"),
    "attribute_set_then_read_by_a_step_setting_another": (
        "ANSWERS.w = n", "ANSWERS.calls = 0\n    return ANSWERS.w"),
    "weights_fit_by_a_library_then_read_by_a_step_setting_another": (
        "ANSWERS.answers.update(w=n)", "ANSWERS.calls = 0\n    return ANSWERS.answers"),
    "item_set_then_read_by_a_step_setting_another_item": (
        'STATE["model"] = n', 'STATE["preds"] = 1\n    return STATE["model"]'),
    "item_set_by_setdefault_then_got_by_a_step_setting_another_item": (
        'STATE.setdefault("model", n)', 'STATE.setdefault("preds", 1)\n    return STATE.get("model")'),
    "item_put_by_a_classmethod_given_its_key_then_read_by_a_step_putting_another": (
        'Board.put("m", n)', 'Board.put("n", 1)\n    return Board.items["m"]'),
    "item_placed_by_a_method_given_its_key_then_read_by_a_step_placing_another": (
        'BOARD.place(name="m", v=n)', 'BOARD.place("n", 1)\n    return BOARD.slots["m"]'),
    "class_attribute_counted_through_the_class_of_self_then_read_by_name": (
        "VISITS.bump_quietly()", "VISITS.bump_quietly()\n    return Visits.count"),
    "item_of_an_attribute_set_then_read_by_a_step_setting_another_item": (
        'ANSWERS.answers["w"] = n', 'ANSWERS.answers["seen"] = 1\n    return ANSWERS.answers["w"]'),
    "item_set_then_all_summed_by_a_step_setting_another_item": (
        'STATE["model"] = n', 'STATE["preds"] = 1\n    return sum(STATE.values())'),
    # the reader sets an item by a key computed at run time: not the one it reads
    "item_set_then_read_by_a_step_setting_an_item_by_a_computed_key": (
        'STATE["model"] = n', 'key = "PREDS".lower()\n    STATE[key] = 1\n    return STATE["model"]'),
    "item_set_then_got_by_a_step_setdefaulting_a_computed_key": (
        'STATE["model"] = n', 'STATE.setdefault("PREDS".lower(), 1)\n    return STATE.get("model")'),
    "item_put_by_a_helper_given_the_object_and_key_then_read_by_a_step_putting_another": (
        'put_item(STATE, "model", n)', 'put_item(STATE, "preds", 1)\n    return STATE["model"]'),
    "item_put_by_a_helper_given_its_key_then_read_by_a_step_putting_another": (
        'put_state("model", n)', 'put_state("preds", 1)\n    return STATE["model"]'),
    "item_set_by_a_computed_key_then_all_summed_by_a_step_setting_another": (
        'STATE["model"] = n', 'STATE["PREDS".lower()] = 1\n    return sum(STATE.values())'),
    "items_set_by_computed_keys_then_counted_by_a_step_setting_another": (
        'STATE["m" + str(n)] = n', 'STATE["PREDS".lower()] = 1\n    return len(STATE)'),
    "items_set_by_computed_keys_then_listed_by_a_step_setting_another": (
        'STATE["m" + str(n)] = n', 'STATE["PREDS".lower()] = 1\n    return sorted(STATE)'),
    # a library's method that changes a part of its object (``PARTIAL_SETTERS``)
    "item_set_then_read_by_a_step_updating_another_item": (
        'STATE["model"] = n', 'STATE.update(preds=1)\n    return STATE["model"]'),
    "items_updated_then_all_summed_by_a_step_updating_another": (
        'STATE.update(model=n)', 'STATE.update(preds=1)\n    return sum(STATE.values())'),
    "counter_subtracted_then_read": ('TALLY.subtract(a=n)', 'return TALLY["a"]'),
    "set_difference_updated_then_measured": (
        'SEEN_IDS.difference_update(range(n))', 'return len(SEEN_IDS)'),
    "config_option_set_then_got_by_a_step_setting_another": (
        'CONF.set("s", "lr", str(n))', 'CONF.set("s", "seen", "1")\n    return CONF.get("s", "lr")'),
    "header_set_on_a_library_object_then_got_by_a_step_setting_another": (
        'MAILER.msg["X"] = str(n)',
        'key = "x".upper()\n    MAILER.msg[key + "2"] = "1"\n    return MAILER.msg.get(key)'),
    "item_put_by_a_method_then_read_through_the_objects_getitem": (
        'SLOTS.put("m", n)', 'SLOTS.put("N".lower(), 1)\n    return SLOTS["m"]'),
    "item_placed_by_a_method_given_a_computed_key_then_read": (
        'BOARD.place("m", n)', 'BOARD.place("N".lower(), 1)\n    return BOARD.slots["m"]'),
    # the reader updates the dict from another dict, whose keys the code does not say:
    # what it reads may be what the other step set
    "item_set_then_read_by_a_step_updating_from_another_dict": (
        'STATE["model"] = n', 'other = {"preds": 1}\n    STATE.update(other)\n'
        '    return STATE["model"]'),
    "item_set_then_all_summed_by_a_step_updating_from_another_dict": (
        'STATE["model"] = n', 'other = {"preds": 1}\n    STATE.update(other)\n'
        '    return sum(STATE.values())'),
    "both_update_from_other_dicts_then_one_reads_an_item": (
        'mine = {"model": n}\n    STATE.update(mine)',
        'other = {"preds": 1}\n    STATE.update(other)\n    return STATE["model"]'),
    "both_update_through_helpers_of_their_own_then_one_reads_an_item": (
        'fill_state({"model": n})', 'fill_state_too({"preds": 1})\n    return STATE["model"]'),
    # one helper filling once from what it is given: what the reader reads may be what
    # the other's arguments filled
    "both_fill_once_through_one_helper_one_giving_it_items": (
        'load_once({"a": n})', 'return load_once()["a"]'),
    "both_fill_once_through_one_helper_each_giving_it_items": (
        'load_once({"a": n})', 'return load_once({"a": 2})["a"]'),
    "both_fill_once_through_one_helper_one_handing_it_on": (
        'list(map(load_once, [{"a": n}]))', 'return load_once()["a"]'),
}
OBJECT_APART = {  # the same objects, changed without reading back what changes
    "log_appended_by_a_method_reading_a_flag": (
        "TRACKER.log(n)", "TRACKER.log(0)\n    return 1"),
    "log_appended_then_another_attribute_read": (
        "TRACKER.log(n)", "TRACKER.log(0)\n    return TRACKER.name"),
    "attribute_set_then_read": (
        "TRACKER.rename(str(n))", 'TRACKER.rename("b")\n    return TRACKER.name'),
    "list_given_to_a_helper_appending": ("append_to(LOG, n)", "append_to(LOG, 0)\n    return 1"),
    "model_refit_then_used": ("REFIT.fit(n)", "REFIT.fit(3)\n    return REFIT.predict(2)"),
    "memo_filled_by_key": ('MEMO.get("ab")', 'return MEMO.get("abc")'),
    "log_appended_then_a_property_of_another_attribute_read": (
        "TRACKER.log(n)", "TRACKER.log(0)\n    return TRACKER.label"),
    "object_called_logging_its_calls": ("LOGGED(n)", "return LOGGED(2)"),
    "log_appended_through_a_getter_then_renamed": (
        "get_tracker().log(n)", 'get_tracker().log(0)\n    return get_tracker().rename("b")'),
    "log_appended_through_a_getter_then_another_attribute_read": (
        "get_tracker().log(n)", "get_tracker().log(0)\n    return get_tracker().name"),
    "log_appended_through_a_getter_then_a_property_of_another_attribute_read": (
        "get_tracker().log(n)", "get_tracker().log(0)\n    return get_tracker().label"),
    "log_appended_through_a_memo_getter_making_it_then_another_attribute_read": (
        "made_tracker().log(n)", "made_tracker().log(0)\n    return made_tracker().name"),
    "log_appended_through_a_memo_getter_making_it_then_renamed": (
        "made_tracker().log(n)", 'made_tracker().log(0)\n    return made_tracker().rename("b")'),
    "log_on_an_object_a_getters_result_holds_then_another_attribute_read": (
        "get_app().tracker.log(n)", "get_app().tracker.log(0)\n    return get_app().tracker.name"),
    "class_attribute_counted_through_type_of_self_then_another_read": (
        "VISITS.bump_other()", "return VISITS.bump_other()"),
    "class_attribute_counted_then_another_read": (
        "Run.count += 1", "Run.count += 1\n    return Run.other"),
    "class_attribute_set_by_a_classmethod_then_another_read": (
        'Run.set_mode("b")', 'Run.set_mode("c")\n    return Run.other'),
    # both change the object, each reading only what it changes itself, or what no step
    # changes: answers kept by key, a client made on first use
    "answers_kept_by_both_with_the_weights_unchanged": (
        "ANSWERS.predict(1)", "return ANSWERS.predict(2)"),
    "client_made_on_first_use_by_both": ("ANSWERS.client()", "return ANSWERS.client()"),
    "class_attribute_counted_through_the_class_of_self_then_another_read_by_name": (
        "VISITS.bump_quietly()", "VISITS.bump_quietly()\n    return Visits.other"),
    "items_each_set_by_setdefault_and_got_back_by_their_own_step": (
        'STATE.setdefault("model", n)', 'STATE.setdefault("preds", 1)\n    return STATE.get("preds")'),
    "items_each_put_by_a_classmethod_and_read_back_by_their_own_step": (
        'Board.put("m", n)', 'Board.put("n", 1)\n    return Board.items["n"]'),
    "memo_filled_by_a_computed_key_tested_by_in_and_read_back": (
        'k = "M" + str(n)\n    if k not in STATE:\n        STATE[k] = n',
        'k = "PREDS".lower()\n    if k not in STATE:\n        STATE[k] = 1\n    return STATE[k]'),
    "memo_filled_by_a_computed_key_got_and_read_back": (
        'k = "M" + str(n)\n    STATE[k] = STATE.get(k) or n',
        'k = "PREDS".lower()\n    v = STATE.get(k)\n    if v is None:\n        v = STATE[k] = 1\n    return v'),
    "items_each_put_by_a_helper_given_its_key_and_read_back_by_their_own_step": (
        'put_state("model", n)', 'put_state("preds", 1)\n    return STATE["preds"]'),
    "items_each_placed_by_a_method_and_read_back_by_their_own_step": (
        'BOARD.place("m", n)', 'BOARD.place("n", 1)\n    return BOARD.slots["n"]'),
    "items_each_set_and_read_back_by_their_own_step": (
        'STATE["model"] = n', 'STATE["preds"] = 1\n    return STATE["preds"]'),
    "item_kept_by_a_constant_key_by_both": (
        'ANSWERS.answers.setdefault("w", 1)',
        'if "w" not in ANSWERS.answers:\n        ANSWERS.answers["w"] = 2\n'
        '    return ANSWERS.answers["w"]'),
    # a dict both fill once through one helper, from another dict: the same code fills
    # what either reads (a config loaded once)
    "dict_both_fill_once_through_one_helper": (
        'return settings()["a"]', 'return settings()["b"]'),
    "dict_both_fill_once_through_one_helper_called_with_no_argument": (
        'return load_once()["a"]', 'return load_once()["b"]'),
}
OBJECT_HEAD = '''
import collections
import configparser
import functools
import heapq
import itertools

import flowyml as fm


def traced(f):
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        return f(*args, **kwargs)
    return wrapper


class Counter:
    def __init__(self):
        self.n = 0

    def bump(self):
        self.n += 1
        return self.n

    @traced
    def traced_bump(self):
        self.n += 1
        return self.n


class Ids:
    def __init__(self):
        self.last = 0

    def new_id(self):
        self.last += 1
        return f"id{self.last}"


class Tracker:
    def __init__(self):
        self.items = []
        self.name = "t"
        self.verbose = False

    def log(self, v):
        if self.verbose:
            print(v)
        self._add(v)

    def _add(self, v):
        self.items.append(v)

    def rename(self, name):
        self.name = name

    def total(self):
        return sum(self.items)

    @property
    def summed(self):
        return sum(self.items)

    @property
    def label(self):
        return self.name.upper()

    def count(self):
        return self._size()

    def _size(self):
        return len(self.items)


class Jobs:
    def __init__(self):
        self.jobs = list(range(10))

    def next_job(self):
        return self.jobs.pop(0)


class Counts:
    def __init__(self):
        self.counts = {"a": 0}

    def bump(self, k):
        self.counts[k] += 1

    def snapshot(self):
        return dict(self.counts)


class Child(Tracker):
    def size(self):
        return len(self.items)


class Traced(Counter):
    bump = Counter.traced_bump


class App:
    log = []  # (another global's: ``LOG``)

    def __init__(self):
        self.tracker = Tracker()

    def epoch(self, v):
        self.tracker.log(v)
        return self.tracker.total()


class Model:
    def __init__(self):
        self.w = 0.0

    def fit(self, v):
        self.w += v  # (from what it learned before)

    def predict(self, x):
        return self.w * x


class Refit(Model):
    def __init__(self):
        self.w = 0.0
        self.history = []

    def fit(self, v):
        self.w = v * 2.0  # (from this data alone)
        self.history.append(v)


class Board:  # items kept by name, through a classmethod and a method
    items = {"m": 0, "n": 0}

    @classmethod
    def put(cls, name, v):
        cls.items[name] = v

    def __init__(self):
        self.slots = {"m": 0, "n": 0}

    def place(self, name, v):
        self.slots[name] = v


class Answers:  # a model that keeps its answers in itself
    def __init__(self):
        self.w = 0.0
        self.calls = 0
        self.answers = {}
        self._client = None

    def train(self, v):
        self.w = v * 2.0
        self.answers.clear()

    def predict(self, x):
        if x not in self.answers:
            self.answers[x] = self.w * x
        return self.answers[x]

    def predict_counted(self, x):
        self.calls += 1
        return self.w * x

    def client(self):
        if self._client is None:
            self._client = ("client", 1)
        return self._client


class Memo:
    def __init__(self):
        self.cache = {}

    def get(self, k):
        if k not in self.cache:
            self.cache[k] = len(k)
        return self.cache[k]


class Grid:
    def __init__(self):  # (64 x 64 buckets: not every one is looked at)
        self.buckets = [[[] for _ in range(64)] for _ in range(64)]

    def put(self, i, j, v):
        self.buckets[i][j].append(v)
        return len(self.buckets[i][j])


class Plain:
    def __init__(self):
        self.n = 0
        self.best = 0

    def step(self):
        self.n = self.n + 1  # (as ``+=``)
        return self.n

    def see(self, v):
        self.best = max(self.best, v)


class AttrDict(dict):
    def __getattr__(self, key):
        return self[key]  # (a missing key raises KeyError, not AttributeError)


CFG = AttrDict(verbose=False)


def notify(log, v):
    log.append(v)
    if CFG.verbose:
        CFG.hooks.on_log(log)  # (no ``hooks``: the build must not ask)


class Heap:
    def __init__(self):
        self.heap = [3, 1, 2]

    def push(self, v):
        heapq.heappush(self.heap, v)  # (a library function given the attribute)

    def take(self):
        return heapq.heappop(self.heap)

    def peek(self):
        return self.heap[0]


class Sequence:
    def __init__(self):
        self.ids = itertools.count()

    def new_id(self):
        return next(self.ids)


class Run:
    count = 0
    mode = "a"
    other = 1
    seen = []

    @classmethod
    def bump(cls):
        cls.count += 1
        return cls.count

    @classmethod
    def bump_assigning(cls):
        cls.count = cls.count + 1
        return cls.count

    @classmethod
    def set_mode(cls, m):
        cls.mode = m


class Calls:
    def __init__(self):
        self.n = 0

    def __call__(self):
        self.n += 1
        return self.n


class Logged:
    def __init__(self):
        self.calls = []
        self.w = 2

    def __call__(self, x):
        self.calls.append(x)
        return x * self.w


class Visits:
    count = 0
    other = 5

    def bump(self):
        type(self).count += 1
        return type(self).count

    def bump_other(self):
        type(self).count += 1
        return type(self).other

    def bump_quietly(self):
        self.__class__.count += 1


COUNTER, IDS, TRACKER, JOBS, COUNTS = Counter(), Ids(), Tracker(), Jobs(), Counts()
CALLS, LOGGED, VISITS = Calls(), Logged(), Visits()


def get_tracker():
    return TRACKER


def get_counter():
    return COUNTER


@functools.lru_cache(maxsize=None)
def made_tracker():  # made on first use: no instance at build
    return Tracker()


@functools.cache
def made_counter():
    return Counter()


def get_app():
    return APP
HEAP, SEQ = Heap(), Sequence()
GRID, PLAIN = Grid(), Plain()
TALLY = collections.Counter(a=10)
SEEN_IDS = {1, 2, 3}
CONF = configparser.ConfigParser()
CONF.add_section("s")


class Mailer:
    def __init__(self):
        from email.message import Message  # (a library's object, its methods not walked)

        self.msg = Message()


MAILER = Mailer()


class Slots:
    def __init__(self):
        self.slots = {}

    def put(self, k, v):
        self.slots[k] = v

    def __getitem__(self, k):  # (read by ``SLOTS["m"]``: no item of its own)
        return self.slots.get(k)


SLOTS = Slots()
CHILD, TRACED, APP, MEMO = Child(), Traced(), App(), Memo()
MODEL, REFIT, ANSWERS, BOARD = Model(), Refit(), Answers(), Board()
STATE = {"model": 0, "preds": 0}  # a dict steps pass results through
COUNTERS = [Counter()]
LOG = App.log


def record(v):
    TRACKER.log(v)


def bump(counter):
    counter.n += 1
    return counter.n


def log_and_total(tracker, v):
    tracker.log(v)
    return tracker.total()


def add_to(log, v):
    log.append(v)
    return len(log)


def append_to(log, v):
    log.append(v)


def put_item(d, key, v):
    d[key] = v


def put_state(key, v):
    STATE[key] = v


def fill_state(items):
    STATE.update(items)


def fill_state_too(items):
    STATE.update(items)


SETTINGS = {}


def settings():
    if not SETTINGS:  # loaded once
        SETTINGS.update(dict(a=1, b=2))
    return SETTINGS


def load_once(items=None):
    if not SETTINGS:
        SETTINGS.update(items or dict(a=1, b=2))
    return SETTINGS
'''


@pytest.mark.parametrize("pair", sorted(OBJECT_TAKEN))
def test_a_step_reading_back_what_an_objects_methods_change_by_what_it_holds_is_coupled(
        project: Path, pair: str) -> None:
    """``COUNTER.bump()`` doing ``self.n += 1; return self.n``, ``TRACKER.log(0); return
    TRACKER.total()``: what the step computes depends on what the other step did to the
    object first, as for a global counter or log; both are coupled."""
    graph = _built_pair(project, f"taken_{pair}", OBJECT_HEAD, *OBJECT_TAKEN[pair])
    assert _state_parts(graph, "use") and _state_parts(graph, "setup")


@pytest.mark.parametrize("pair", sorted(OBJECT_APART))
def test_steps_changing_an_object_without_reading_back_what_changes_couple_nothing(
        project: Path, pair: str) -> None:
    """Steps appending to a tracker's log (whose method also reads a flag), then reading
    another attribute or nothing; an attribute set: nothing they return comes from what
    the other did, so both are reused."""
    graph = _built_pair(project, f"apart_{pair}", OBJECT_HEAD, *OBJECT_APART[pair])
    assert not _state_parts(graph, "use") and not _state_parts(graph, "setup")


CELL_TAKEN = {  # (writer, reader): a closure's cell, rebound by code that reads it back
    "counter_bumped_and_returned": ("NEXT()", "return NEXT()"),
    "counter_bumped_by_assigning_and_returned": ("NEXT_ASSIGNING()", "return NEXT_ASSIGNING()"),
    "total_added_to_and_returned": ("ADD(n)", "return ADD(0)"),
    "counter_bumped_by_one_closure_read_by_another": ("TICK()", "TICK()\n    return COUNT()"),
    "mode_set_by_one_closure_read_by_another": ("SET_MODE(str(n))", "return GET_MODE()"),
    "counter_bumped_in_a_function_nested_in_the_closure": (
        "BUMP_INNER()", "return BUMP_INNER()"),
    "counter_bumped_through_a_global_bound_method_of_a_factory": (
        "HELD()", "return HELD()"),
    "list_appended_and_summed": ("ADD_ITEM(n)", "return ADD_ITEM(0)"),
    "list_appended_by_one_closure_summed_by_another": ("PUT(n)", "PUT(0)\n    return SUMMED()"),
    "id_drawn_from_an_iterator_the_closure_holds": ("NEW_ID()", "return NEW_ID()"),
}
CELL_APART = {  # the same closures, without reading back what the other step changed
    "counter_bumped_by_both_never_read": ("TICK()", "TICK()\n    return 1"),
    "total_added_to_by_assigning_never_read": ("ACCUMULATE(n)", "ACCUMULATE(0)\n    return 1"),
    "lazy_value_made_once_by_both": ("LOAD()", "return len(LOAD())"),
    "lazy_value_made_by_or_once_by_both": ("LOAD_OR()", "return len(LOAD_OR())"),
    "counter_of_another_factory_call": ("NEXT()", "return OTHER_NEXT()"),
    "list_appended_by_both_never_read": ("PUT(n)", "PUT(0)\n    return 1"),
    "memo_filled_by_key": ('CACHED("ab")', 'return CACHED("abc")'),
}
CELL_HEAD = '''
import itertools

import flowyml as fm


def make_counter():
    n = 0

    def inc():
        nonlocal n
        n += 1
        return n
    return inc


def make_assigning():
    n = 0

    def inc():
        nonlocal n
        n = n + 1
        return n
    return inc


def make_adder():
    total = 0

    def add(v):
        nonlocal total
        total += v
        return total

    def accumulate(v):
        nonlocal total
        total = total + v
    return add, accumulate


def make_ticker():
    n = 0

    def tick():
        nonlocal n
        n += 1

    def count():
        return n
    return tick, count


def make_mode():
    mode = "a"

    def set_mode(v):
        nonlocal mode
        mode = v

    def get_mode():
        return mode
    return set_mode, get_mode


def make_nested():
    n = 0

    def outer():
        def bump():
            nonlocal n
            n += 1
        bump()
        return n
    return outer


def make_loader():
    value = None

    def load():
        nonlocal value
        if value is None:
            value = [1, 2]
        return value
    return load


def make_loader_or():
    value = None

    def load():
        nonlocal value
        value = value or [1, 2]
        return value
    return load


def make_items():
    items = []

    def add(v):
        items.append(v)
        return sum(items)

    def put(v):
        items.append(v)

    def summed():
        return sum(items)
    return add, put, summed


def make_ids():
    ids = itertools.count()

    def new_id():
        return next(ids)
    return new_id


def make_memo():
    cache = {}

    def cached(k):
        if k not in cache:
            cache[k] = len(k)
        return cache[k]
    return cached


class Holder:
    def __init__(self):
        self.call = make_counter()

    def __call__(self):
        return self.call()


NEXT, OTHER_NEXT, NEXT_ASSIGNING = make_counter(), make_counter(), make_assigning()
ADD, ACCUMULATE = make_adder()
TICK, COUNT = make_ticker()
SET_MODE, GET_MODE = make_mode()
BUMP_INNER = make_nested()
LOAD, LOAD_OR = make_loader(), make_loader_or()
HELD = Holder().call
ADD_ITEM, _, _ = make_items()
_, PUT, SUMMED = make_items()
NEW_ID, CACHED = make_ids(), make_memo()
'''


@pytest.mark.parametrize("pair", sorted(CELL_TAKEN))
def test_a_step_reading_back_a_closure_cell_another_step_rebinds_is_coupled(
        project: Path, pair: str) -> None:
    """``NEXT()`` doing ``nonlocal n; n += 1; return n`` in two steps, a ``tick`` and a
    ``count`` sharing a cell: what the second computes depends on how often the first
    called, as for a global counter (``global N; N += 1; return N``); both are coupled
    and re-execute, never reusing a count the other step's new code would change."""
    graph = _built_pair(project, f"cell_{pair}", CELL_HEAD, *CELL_TAKEN[pair])
    assert _state_parts(graph, "use") and _state_parts(graph, "setup")


@pytest.mark.parametrize("pair", sorted(CELL_APART))
def test_steps_rebinding_a_closure_cell_without_reading_it_back_couple_nothing(
        project: Path, pair: str) -> None:
    """A tick both steps call and neither reads, a value made once on first use, and
    two counters of two factory calls (two cells): both steps are reused."""
    graph = _built_pair(project, f"cell_apart_{pair}", CELL_HEAD, *CELL_APART[pair])
    assert not _state_parts(graph, "use") and not _state_parts(graph, "setup")


LOOPED = {  # (writer, reader): the writer changes globals through a loop's variable
    # over a literal of them, or through an item of a sorted copy or of a tuple
    "arrays_of_a_tuple_multiplied_in_place": (
        "for a in (X_TR, X_TE):\n        a *= n", "return float(X_TR.sum())"),
    "lists_of_a_list_appended_to": ("for log in [A, B]:\n        log.append(n)", "return sum(A)"),
    "model_of_a_sorted_copy_trained": (
        "ms = sorted(MODELS.values(), key=lambda m: m.w)\n    ms[0].train(n)",
        'return MODELS["a"].w'),
    "model_a_list_of_pairs_holds_trained": (
        "for name, m in PAIRS:\n        m.train(n)", "return MODEL.w"),
}
LOOPED_APART = {  # the same shapes, changing nothing the reader reads
    "lists_of_a_list_only_measured": ("for log in [A, B]:\n        k = len(log)", "return sum(A)"),
    "arrays_of_a_tuple_multiplied_into_new_ones": (
        "for a in (X_TR, X_TE):\n        b = a * n", "return float(X_TR.sum())"),
    "model_of_a_sorted_copy_asked": (
        "ms = sorted(MODELS.values(), key=lambda m: m.w)\n    ms[0].predict(n)",
        'return MODELS["a"].w'),
    "model_a_list_of_pairs_holds_asked": ("for name, m in PAIRS:\n        m.predict(n)",
                                          "return MODEL.w"),
    "constants_looped_over": ('for c in ("x", "y"):\n        A.append(c)', "return 1"),
}
LOOPED_HEAD = '''
import numpy as np

import flowyml as fm


class Model:
    def __init__(self, w):
        self.w = w

    def train(self, v):
        self.w = v

    def predict(self, v):
        return self.w * v


A, B = [], []
X_TR, X_TE = np.ones(3), np.ones(3)
MODELS = {"a": Model(0), "b": Model(100)}
MODEL = Model(0)
PAIRS = [("main", MODEL)]
'''


@pytest.mark.parametrize("pair", sorted(LOOPED))
def test_globals_changed_through_a_loop_over_them_or_a_copy_couple_their_reader(
        project: Path, pair: str) -> None:
    """``for a in (X_TR, X_TE): a *= k``, ``for log in [A, B]: log.append(v)``,
    ``sorted(MODELS.values())[0].train(v)`` through a local, ``for name, m in PAIRS:
    m.train(v)``: each changes a global another step reads, by another name."""
    graph = _built_pair(project, f"looped_{pair}", LOOPED_HEAD, *LOOPED[pair])
    assert _state_parts(graph, "use") and _state_parts(graph, "setup")


@pytest.mark.parametrize("pair", sorted(LOOPED_APART))
def test_globals_only_read_through_a_loop_over_them_or_a_copy_couple_nothing(
        project: Path, pair: str) -> None:
    graph = _built_pair(project, f"looped_apart_{pair}", LOOPED_HEAD, *LOOPED_APART[pair])
    assert not _state_parts(graph, "use") and not _state_parts(graph, "setup")


def _built_split(project: Path, name: str, write: str, read: str) -> Any:
    return _built_pair(project, f"split_{name}", '''
import flowyml as fm

LOG = []
CACHE = {}
N = 0


def add(v):
    LOG.append(v)


def total():
    return sum(LOG)


def bump():
    global N
    N += 1


def put(k):
    CACHE[k] = len(k)


def reset():
    global LOG
    LOG = []


def add_alias(v):
    log = LOG
    log.append(v)


def _write(sink, msg):
    sink.append(msg)


def log(msg):
    _write(LOG, msg)


class Tracker:
    def log(self, v):
        LOG.append(v)

    def summary(self):
        return len(LOG)


TRACKER = Tracker()


''', write, read)


def _built_pair(project: Path, name: str, head: str, write: str, read: str,
                params: str = "ready") -> Any:
    """The graph of module ``name``: ``head``, then a step ``setup(n)`` running ``write``
    and a step ``use`` after it running ``read`` (its body: it returns)."""
    (project / f"{name}.py").write_text(f'''{head}
@fm.step(outputs="ready")
def setup(n: int = 1):
    {write}
    return True


@fm.step(outputs="val")
def use({params}):
    {read}


pipe = fm.Pipeline("pair", [setup, use])
''')
    return _built(project, name)


BOUND_HEAD = '''
import functools

import flowyml as fm


class Registry:
    def __init__(self):
        self.items = []

    def register(self, v):
        self.items.append(v)

    def size(self):
        return len(self.items)


REG = Registry()
HANDLERS = {"reg": REG.register, "size": REG.size}
ON_REGISTER = REG.register
PARTIAL = functools.partial(REG.register)
HOOKS = [REG.register]
TABLES = {"events": {"reg": REG.register}}


class Hub:
    def __init__(self):
        self.reg = functools.partial(REG.register)


HUB = Hub()


def dispatch(name, *args):
    return HANDLERS[name](*args)


'''
BOUND = {  # (write, read, coupled): a bound method of the user's called as a value
    "called_from_a_dict": ('HANDLERS["reg"](n)', "return len(REG.items)", True),
    "called_as_a_global": ("ON_REGISTER(n)", "return len(REG.items)", True),
    "called_in_a_partial": ("PARTIAL(n)", "return len(REG.items)", True),
    "called_in_a_loop_over_hooks": ("for hook in HOOKS:\n        hook(n)",
                                    "return len(REG.items)", True),
    "called_as_a_partial_an_object_holds": ("HUB.reg(n)", "return len(REG.items)", True),
    "called_from_a_nested_dict": ('TABLES["events"]["reg"](n)', "return len(REG.items)", True),
    "called_by_a_key_known_at_run_time": ('dispatch("reg", n)', "return len(REG.items)", True),
    "read_through_the_table": ("REG.register(n)", 'return HANDLERS["size"]()', True),
    "read_through_the_table_by_a_key_known_at_run_time": (
        "REG.register(n)", 'return dispatch("size")', True),
    "both_called_by_a_key_known_at_run_time": ('dispatch("reg", n)',
                                               'dispatch("reg", 0)\n    return 1', True),
    "table_read_not_called": ('assert "size" in HANDLERS', "return len(REG.items)", False),
    "reading_method_called_from_the_table": ('HANDLERS["size"]()', "return len(REG.items)",
                                             False),
    "both_called_by_name_from_the_table": ('HANDLERS["reg"](n)',
                                           'HANDLERS["reg"](0)\n    return 1', False),
}


@pytest.mark.parametrize("form", sorted(BOUND))
def test_a_bound_method_called_as_a_value_changes_its_object(project: Path, form: str
                                                              ) -> None:
    """``HANDLERS = {"reg": REG.register, "size": REG.size}`` (a dispatch table; a global
    bound method, a ``partial`` of one, a list of hooks, a nested table): calling an
    entry changes ``REG`` as ``REG.register(n)`` does, so a step reading ``REG.items``
    is coupled with it, also through the table's reading entry. An entry called by a
    key known only at run time may be any of them: possibly a change, never a fellow
    writer's. A step reading the table without calling it, or calling only its reading
    entry, changes nothing; two steps each calling the changing entry by name only add
    to it (fellow writers, as with ``REG.register(n)``)."""
    write, read, coupled = BOUND[form]
    graph = _built_pair(project, f"bound_{form}", BOUND_HEAD, write, read)
    assert bool(_state_parts(graph, "use")) is coupled


HELD_CALLABLE_HEAD = '''
import functools

import flowyml as fm

LOG = []


class Registry:
    def __init__(self):
        self.items = []

    def register(self, v):
        self.items.append(v)


REG = Registry()
'''

# the writer step ``setup``, whole: a changing method held by a default or a closure
HELD_CALLABLES = {
    "default_bound_append": ('def setup(push=LOG.append):\n    push(1)\n    return True',
                             "return len(LOG)", True),
    "keyword_only_default_bound_append": (
        'def setup(*, push=LOG.append):\n    push(1)\n    return True', "return len(LOG)",
        True),
    "closure_bound_append": (
        'def make():\n    push = LOG.append\n\n    def setup():\n        push(1)\n'
        '        return True\n    return setup\n\n\nsetup = make()', "return len(LOG)", True),
    "closure_partial_of_insert": (
        'def make():\n    push = functools.partial(LOG.insert, 0)\n\n    def setup():\n'
        '        push(1)\n        return True\n    return setup\n\n\nsetup = make()',
        "return sum(LOG)", True),
    "default_bound_method_of_yours": (
        'def setup(reg=REG.register):\n    reg(1)\n    return True', "return len(REG.items)",
        True),
    "default_bound_method_not_changing": (
        'def setup(copy=LOG.copy):\n    copy()\n    return True', "return len(LOG)", False),
    "default_bound_append_never_read": (
        'def setup(push=LOG.append):\n    return True', "return len(LOG)", False),
}


@pytest.mark.parametrize("form", sorted(HELD_CALLABLES))
def test_a_changing_method_a_default_or_a_closure_holds_couples_the_steps(
        project: Path, form: str) -> None:
    """``def setup(push=LOG.append): push(1)``, a factory's ``push = LOG.append`` closed
    over, a ``partial`` of one, a bound method of yours as a default: calling it changes
    the object it is bound to, as a global bound to it does (``push = LOG.append`` at
    module level), so a step reading ``LOG`` after it is coupled with it. Before, only
    the global form was seen, and the reader kept its old result after the writer's
    edit. A method that changes nothing, or one held but never read, couples nothing."""
    writer, read, coupled = HELD_CALLABLES[form]
    if writer.startswith("def setup"):
        writer = '@fm.step(outputs="ready")\n' + writer
    else:
        writer = writer.replace("    def setup", '    @fm.step(outputs="ready")\n    def setup')
    (project / f"held_{form}.py").write_text(
        f'{HELD_CALLABLE_HEAD}\n\n{writer}\n\n\n@fm.step(outputs="val")\ndef use(ready):\n'
        f'    {read}\n\n\npipe = fm.Pipeline("held", [setup, use])\n')
    graph = _built(project, f"held_{form}")
    assert bool(_state_parts(graph, "use")) is coupled
    assert bool(_state_parts(graph, "setup")) is coupled
