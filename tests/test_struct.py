"""``core.struct``: the runtime's records behave as the dataclasses they replace."""

from __future__ import annotations

import copy
import pickle
from typing import Any

import pytest

from flowyml.core.struct import FrozenError, field, field_names, replace, struct


@struct(frozen=True)
class Ref:
    name: str
    size: int = 0
    meta: dict[str, Any] = field(default_factory=dict, compare=False)
    data: bytes | None = field(default=None, compare=False, repr=False)


@struct
class Rec:
    step: str
    outputs: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.seen = True


@struct
class Child(Rec):
    extra: str = "x"


def test_fields_defaults_and_factories() -> None:
    a, b = Rec("s"), Rec("s")
    assert a.outputs == [] and a.outputs is not b.outputs  # a fresh list each
    assert field_names(Ref) == ("name", "size", "meta", "data")
    assert Ref("n", 3, {"k": 1}).meta == {"k": 1}
    assert a.seen  # __post_init__ ran


def test_equality_hash_and_repr_follow_the_declared_options() -> None:
    assert Ref("n", 1, {"a": 1}, b"x") == Ref("n", 1)  # meta/data not compared
    assert Ref("n", 1) != Ref("n", 2) and Ref("n") != ("n", 0)
    assert hash(Ref("n", 1, {"a": 1})) == hash(Ref("n", 1))  # frozen + eq: hashable
    assert Rec.__hash__ is None  # mutable + eq: unhashable, as a dataclass
    assert repr(Ref("n", 1)) == "Ref(name='n', size=1, meta={})"  # data: repr=False


def test_frozen_refuses_assignment() -> None:
    r = Ref("n")
    with pytest.raises(FrozenError, match="frozen Ref"):
        r.size = 2  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del r.name  # type: ignore[misc]


def test_pickle_copy_and_replace_round_trip() -> None:
    r = Ref("n", 2, {"k": [1]}, b"d")
    back = pickle.loads(pickle.dumps(r))
    assert back == r and back.meta == r.meta and back.data == b"d"
    assert copy.copy(r) == r
    moved = replace(r, size=5)
    assert moved.size == 5 and moved.meta == {"k": [1]} and r.size == 2
    with pytest.raises(TypeError, match="no init fields"):
        replace(r, nope=1)


def test_a_subclass_extends_the_fields_of_its_base() -> None:
    c = Child("s", ["o"], "e")
    assert (c.step, c.outputs, c.extra, c.seen) == ("s", ["o"], "e", True)
    assert Child("s") != Rec("s")  # another class is never equal


def test_declaration_mistakes_fail_when_the_class_is_made() -> None:
    with pytest.raises(ValueError, match="default_factory"):

        @struct
        class Shared:
            items: list[int] = []

    with pytest.raises(TypeError, match="follows a field with one"):

        @struct
        class Order:
            a: int = 0
            b: int  # type: ignore[misc]


def test_init_is_compiled_once_the_class_is_in_use() -> None:
    """A record made once or twice costs no compile: its first ``COMPILE_AFTER``
    instances are made by a generic ``__init__``, then the real one (with its signature)
    is put on the class, for every later instance and subclass."""
    import inspect

    from flowyml.core.struct import COMPILE_AFTER

    @struct
    class Lazy:
        a: int
        b: str = "x"

    assert "*args" in str(inspect.signature(Lazy))  # not compiled yet
    first = Lazy(1)
    assert (first.a, first.b) == (1, "x")
    assert "*args" in str(inspect.signature(Lazy))  # still generic
    for i in range(COMPILE_AFTER):
        Lazy(i)
    assert str(inspect.signature(Lazy)) == "(a, b='x')"
    assert Lazy(2, "y").b == "y"
    # it belongs to the class's module (FlowyML's own structs are not a notebook's code
    # to the fingerprint, before or after the compile)
    assert Lazy.__init__.__module__ == Lazy.__module__ == __name__

    class Plain(Lazy):  # not a struct: inherits the compiled __init__
        pass

    assert Plain(3).a == 3
    with pytest.raises(TypeError):
        Lazy()  # type: ignore[call-arg]

    @struct
    class Lazy2:
        a: int

    class Sub(Lazy2):  # the first instances are a plain subclass's
        pass

    assert [Sub(5).a for _ in range(COMPILE_AFTER + 1)][-1] == 5 and Lazy2(6).a == 6


def _made(cls: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        obj = cls(*args, **kwargs)
    except TypeError as exc:
        return ("TypeError", str(exc).split("()", 1)[-1])
    return (obj.__dict__, obj)


def test_the_generic_init_and_the_compiled_one_agree() -> None:
    """Defaults, factories, init=False fields, __post_init__ and the argument errors
    are the same before and after the class's ``__init__`` is compiled."""
    from flowyml.core.struct import COMPILE_AFTER

    calls = [((), {}), (("s",), {}), (("s", ["o"]), {}), ((), {"step": "s"}),
             (("s",), {"outputs": ["p"], "extra": "e"}), (("s", ["o"], "e", "z"), {}),
             (("s",), {"nope": 1}), (("s",), {"step": "t"}), (("s",), {"extra": "e"})]

    def fresh() -> type:
        @struct
        class Made:
            step: str
            outputs: list[str] = field(default_factory=list)
            extra: str = "x"
            hidden: int = field(default=3, init=False)
            later: list[int] = field(default_factory=list, init=False)

            def __post_init__(self) -> None:
                self.seen = len(self.outputs)

        return Made

    generic = [_made(fresh(), *a, **k) for a, k in calls]
    compiled_cls = fresh()
    for _ in range(COMPILE_AFTER):
        compiled_cls("warm")
    compiled = [_made(compiled_cls, *a, **k) for a, k in calls]
    assert [g[0] for g in generic] == [c[0] for c in compiled]
    assert [g for g in generic if g[0] == "TypeError"] == [
        c for c in compiled if c[0] == "TypeError"]  # the same messages
    assert generic[1][0] == {"step": "s", "outputs": [], "extra": "x", "hidden": 3,
                             "later": [], "seen": 0}
