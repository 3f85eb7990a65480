"""``@struct``: the records of the runtime, made with one ``compile`` per class.

Why not ``dataclasses.dataclass``: on the Pythons we support before 3.13 it compiles
each generated method on its own (``__init__``, ``__repr__``, ``__eq__``, ``__hash__``
and, when frozen, ``__setattr__`` and ``__delattr__``: an ``exec`` each, ~0.1 ms). The
two dozen records a run defines cost ~20 ms of start-up that way, a third of a fully
cached 200-step rerun. ``struct`` compiles only ``__init__`` from the class's
annotations (one ``compile`` per class, when its first instance is made); ``__eq__``,
``__hash__``, ``__repr__`` and the frozen setters are shared functions that read the
class's field list. Type checkers
read it as a dataclass (``typing.dataclass_transform``).

What it supports is what the runtime uses: fields in annotation order, after the
fields of a ``struct`` base class; a default, or ``field(default=..,
default_factory=.., compare=.., repr=.., init=..)``; ``frozen``; ``eq`` (with the
dataclass rule for ``__hash__``: frozen and eq hash their compared fields, eq alone is
unhashable); ``__post_init__``. Instances keep their fields in ``__dict__``, so pickling
and ``copy`` work as for a dataclass. ``replace`` and ``field_names`` stand in for
``dataclasses.replace`` and ``dataclasses.fields``.
"""

from __future__ import annotations

import inspect
import operator
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from typing_extensions import dataclass_transform
else:  # only type checkers read it (typing has it from 3.11 on)

    def dataclass_transform(**kwargs: Any) -> Any:
        return lambda f: f


T = TypeVar("T")
_MISSING: Any = type("_Missing", (), {"__repr__": lambda self: "MISSING"})()


class FrozenError(AttributeError):
    """An attempt to set or delete a field of a frozen struct."""


class Field:
    """One field's declaration (what ``field(...)`` returns)."""

    __slots__ = ("compare", "default", "factory", "init", "name", "repr")

    def __init__(self, default: Any, factory: Callable[[], Any] | None, compare: bool,
                 repr: bool, init: bool) -> None:
        self.name = ""
        self.default = default
        self.factory = factory
        self.compare = compare
        self.repr = repr
        self.init = init


def field(*, default: Any = _MISSING, default_factory: Callable[[], Any] | None = None,
          compare: bool = True, repr: bool = True, init: bool = True) -> Any:
    """A field with options, as ``dataclasses.field``."""
    if default is not _MISSING and default_factory is not None:
        raise ValueError("a field cannot have both a default and a default_factory")
    return Field(default, default_factory, compare, repr, init)


@dataclass_transform(field_specifiers=(field,))
def struct(cls: Any = None, /, *, frozen: bool = False, eq: bool = True) -> Any:
    """Make ``cls`` a record: ``__init__``, ``__repr__``, ``__eq__`` (and ``__hash__``,
    frozen ``__setattr__``/``__delattr__``) from its annotations."""

    def wrap(c: type[T]) -> type[T]:
        return _make(c, frozen, eq)

    return wrap if cls is None else wrap(cls)


def field_names(obj: Any) -> tuple[str, ...]:
    """The names of a struct's fields, in order."""
    return tuple(f.name for f in obj.__struct_fields__)


def replace(obj: T, /, **changes: Any) -> T:
    """A copy of ``obj`` with ``changes`` (as ``dataclasses.replace``)."""
    fields = type(obj).__struct_fields__  # type: ignore[attr-defined]
    kwargs = {f.name: getattr(obj, f.name) for f in fields if f.init and f.name not in changes}
    unknown = set(changes) - {f.name for f in fields if f.init}
    if unknown:
        raise TypeError(f"{type(obj).__qualname__} has no init fields {sorted(unknown)}")
    return type(obj)(**kwargs, **changes)


def _fields_of(cls: type) -> list[Field]:
    fields: dict[str, Field] = {}
    for base in reversed(cls.__mro__[1:]):
        for f in getattr(base, "__struct_fields__", ()):
            fields[f.name] = f
    for name, annotation in inspect.get_annotations(cls).items():
        if str(annotation).startswith(("ClassVar", "typing.ClassVar", "InitVar")):
            raise TypeError(f"{cls.__qualname__}.{name}: ClassVar/InitVar are not supported")
        value = cls.__dict__.get(name, _MISSING)
        if isinstance(value, Field):
            f = value
        else:
            if type(value) in (list, dict, set):
                raise ValueError(f"{cls.__qualname__}.{name}: a mutable default is shared "
                                 "by every instance; use field(default_factory=...)")
            f = Field(value, None, True, True, True)
        f.name = name
        fields[name] = f
        if isinstance(value, Field):  # the class attribute becomes the plain default
            if f.default is _MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, f.default)
    return list(fields.values())


def _make(cls: type[T], frozen: bool, eq: bool) -> type[T]:
    fields = _fields_of(cls)
    # ``__name__``: the compiled ``__init__`` belongs to the class's module, not to an
    # anonymous namespace (which the fingerprint would take for a notebook's code)
    env: dict[str, Any] = {"_MISSING": _MISSING, "__name__": cls.__module__}
    params, body, seen_default = [], [], False
    for i, f in enumerate(fields):
        if f.init:
            if f.factory is not None:
                env[f"_f{i}"] = f.factory
                params.append(f"{f.name}=_MISSING")
                value = f"_f{i}() if {f.name} is _MISSING else {f.name}"
                seen_default = True
            elif f.default is not _MISSING:
                env[f"_d{i}"] = f.default
                params.append(f"{f.name}=_d{i}")
                value = f.name
                seen_default = True
            else:
                if seen_default:
                    raise TypeError(f"{cls.__qualname__}: field {f.name!r} without a default "
                                    "follows a field with one")
                params.append(f.name)
                value = f.name
        elif f.factory is not None:
            env[f"_f{i}"] = f.factory
            value = f"_f{i}()"
        elif f.default is not _MISSING:
            env[f"_d{i}"] = f.default
            value = f"_d{i}"
        else:
            continue
        body.append(f"    _d[{f.name!r}] = {value}")
    post_init = any("__post_init__" in c.__dict__ for c in cls.__mro__)
    if post_init:
        body.append("    self.__post_init__()")  # (the generic init does the same)
    src = [f"def __init__(self, {', '.join(params)}):" if params else "def __init__(self):",
           "    _d = self.__dict__", *body]
    methods: dict[str, Any] = {"__init__": _lazy_init(cls, "\n".join(src), env, fields,
                                                      post_init),
                               "__repr__": _repr}
    if eq:
        methods["__eq__"] = _eq
    if frozen:
        methods.update(__setattr__=_frozen_set, __delattr__=_frozen_del)
        if eq:
            methods["__hash__"] = _hash
    own = cls.__dict__
    for name, fn in methods.items():
        if name not in own:
            setattr(cls, name, fn)
    if eq and not frozen and "__hash__" not in own:
        cls.__hash__ = None  # type: ignore[assignment]  # mutable and compared: unhashable
    cls.__struct_fields__ = tuple(fields)  # type: ignore[attr-defined]
    cls.__struct_repr__ = tuple(f.name for f in fields if f.repr)  # type: ignore[attr-defined]
    compared = [f.name for f in fields if f.compare]
    key = operator.attrgetter(*compared) if compared else (lambda self: ())
    cls.__struct_key__ = staticmethod(key)  # type: ignore[attr-defined]
    cls.__match_args__ = tuple(f.name for f in fields if f.init)  # type: ignore[misc,attr-defined]
    return cls


COMPILE_AFTER = 8  # instances made by the generic __init__ before the real one is compiled


def _lazy_init(cls: type, source: str, env: dict[str, Any], fields: list[Field],
               post_init: bool) -> Callable[..., None]:
    """An ``__init__`` that makes the class's first ``COMPILE_AFTER`` instances with a
    generic loop over the fields (~2 µs more each), then compiles the real one and puts
    it on the class: a record a process makes once or twice (the run's outcome, the
    stack, the graph) costs no compile (~0.1 ms each), and one it makes by the hundred
    gets the fast ``__init__``."""
    made = [0]

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        init: Any = cls.__dict__.get("__init__")
        if init is __init__:
            if made[0] < COMPILE_AFTER:
                made[0] += 1
                _generic_init(cls, fields, post_init, self, args, kwargs)
                return
            # two threads may both compile: fine
            where = f"<struct {cls.__module__}.{cls.__qualname__}>"
            exec(compile(source, where, "exec"), env)
            init = env["__init__"]
            init.__qualname__ = f"{cls.__qualname__}.__init__"
            type.__setattr__(cls, "__init__", init)
        init(self, *args, **kwargs)

    __init__.__qualname__ = f"{cls.__qualname__}.__init__"
    return __init__


def _generic_init(cls: type, fields: list[Field], post_init: bool, self: Any,
                  args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """What the compiled ``__init__`` does (the same fields, defaults, factories and
    errors), read from the field list."""
    names = [f.name for f in fields if f.init]
    where = f"{cls.__qualname__}.__init__()"
    if len(args) > len(names):
        least = 1 + sum(1 for f in fields if f.init and f.factory is None
                        and f.default is _MISSING)
        takes = f"{least}" if least == len(names) + 1 else f"from {least} to {len(names) + 1}"
        raise TypeError(f"{where} takes {takes} positional arguments but "
                        f"{len(args) + 1} were given")
    given = dict(zip(names, args, strict=False))  # fewer args than names: defaults
    for k in kwargs:
        if k not in names:
            raise TypeError(f"{where} got an unexpected keyword argument {k!r}")
        if k in given:
            raise TypeError(f"{where} got multiple values for argument {k!r}")
    given.update(kwargs)
    d = self.__dict__
    for f in fields:
        value = given.get(f.name, _MISSING) if f.init else _MISSING
        if value is _MISSING:
            if f.factory is not None:
                value = f.factory()
            elif f.default is not _MISSING:
                value = f.default
            elif f.init:
                raise TypeError(f"{where} missing 1 required positional argument: {f.name!r}")
            else:
                continue
        d[f.name] = value
    if post_init:
        self.__post_init__()


def _repr(self: Any) -> str:
    shown = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.__struct_repr__)
    return f"{self.__class__.__qualname__}({shown})"


def _eq(self: Any, other: Any) -> Any:
    if other.__class__ is not self.__class__:
        return NotImplemented
    key = self.__struct_key__
    return key(self) == key(other)


def _hash(self: Any) -> int:
    return hash(self.__struct_key__(self))


def _frozen_set(self: Any, name: str, value: Any) -> None:
    raise FrozenError(f"cannot assign to field {name!r} of a frozen {self.__class__.__qualname__}")


def _frozen_del(self: Any, name: str) -> None:
    raise FrozenError(f"cannot delete field {name!r} of a frozen {self.__class__.__qualname__}")

