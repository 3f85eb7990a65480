"""``@step``: turn a plain function into a Step spec.

The decorator only attaches metadata. Calling the decorated object calls the plain
function, so steps stay unit-testable as ordinary Python.
"""

from __future__ import annotations

import functools
import inspect
import sys
import types
import warnings
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, overload

from .declared import schemas_possible
from .errors import ParameterError
from .names import check_name, closest, split_ref
from .struct import struct
from .userframe import outside_stacklevel

F = TypeVar("F", bound=Callable[..., Any])

_NO_DEFAULT = inspect.Parameter.empty
# what ``inspect.iscoroutinefunction`` / ``isasyncgenfunction`` / ``isgeneratorfunction``
# look for in a plain function's code
_LAZY_FLAGS = inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR | inspect.CO_GENERATOR


@struct(frozen=True)
class InputSpec:
    """Where one parameter of a step wants its asset from."""

    param: str
    asset: str
    selector: str | None = None  # None: from a step of this pipeline; else catalog version/alias

    @property
    def from_catalog(self) -> bool:
        return self.selector is not None

    def __str__(self) -> str:
        return self.asset if self.selector is None else f"{self.asset}@{self.selector}"


@struct(frozen=True)
class ParamSpec:
    name: str
    default: Any = _NO_DEFAULT
    annotation: Any = _NO_DEFAULT

    @property
    def has_default(self) -> bool:
        return self.default is not _NO_DEFAULT


# what ``functools.wraps``/``update_wrapper`` set on a wrapper (``__type_params__`` from
# Python 3.12): the wrapped function's, not the wrapper's own attributes
WRAPS_ATTRS = frozenset({"__wrapped__", "__type_params__", *functools.WRAPPER_ASSIGNMENTS})
# a Step's attributes that are its function's, not its own state (``__flowyml_code__``)
_COPIED = WRAPS_ATTRS | {"func"}


class Step:
    """A function plus its declaration: inputs, outputs, parameters and options."""

    func: Callable[..., Any]
    name: str
    outputs: tuple[str, ...]
    input_map: Mapping[str, InputSpec]
    params: tuple[ParamSpec, ...]
    cache: bool
    retries: int
    timeout: float | None
    map_over: str | None

    def __init__(
        self,
        func: Callable[..., Any],
        *,
        outputs: str | tuple[str, ...] | list[str] | None = None,
        inputs: Mapping[str, str] | None = None,
        name: str | None = None,
        cache: bool = True,
        retries: int = 0,
        timeout: float | None = None,
        map_over: str | None = None,
    ) -> None:
        if not callable(func):
            raise ParameterError(f"@step must decorate a function, got {func!r}")
        _refuse_lazy_results(func)
        functools.update_wrapper(self, func)
        self.func = func
        fname = _callable_name(func)
        lam = name is None and fname == "<lambda>"
        if lam:
            # a lambda has no usable name: take its (first) output's
            outs_list = [outputs] if isinstance(outputs, str) else list(outputs or [])
            first = outs_list[0] if outs_list else None
            if first is None:
                raise ParameterError("a lambda step needs outputs= (or name=) to be named")
            fname = first
        self.name = _step_name(name, fname, hint=not lam)
        if outputs is None:
            outs: tuple[str, ...] = (self.name,)
        elif isinstance(outputs, str):
            outs = (outputs,)
        else:
            outs = tuple(outputs)
        if not outs:
            raise ParameterError(f"step {self.name!r}: outputs must name at least one asset")
        for o in outs:
            check_name(o, f"output name of step {self.name!r}")
        if len(outs) > 1 and len(set(outs)) != len(outs):
            raise ParameterError(f"step {self.name!r}: an output name is repeated in {outs}")
        self.outputs = outs
        if retries < 0:
            raise ParameterError(f"step {self.name!r}: retries must be >= 0, got {retries}")
        if timeout is not None and timeout <= 0:
            raise ParameterError(f"step {self.name!r}: timeout must be > 0 seconds")
        self.cache = bool(cache)
        self.retries = int(retries)
        self.timeout = timeout
        self.params = _params_of(func, self.name)
        # (most steps map no input and map over none: no set of parameter names)
        names = {p.name for p in self.params} if inputs or map_over is not None else set()
        mapping: dict[str, InputSpec] = {}
        if inputs is not None and not isinstance(inputs, Mapping):
            raise ParameterError(
                f"step {self.name!r}: inputs= maps parameters to assets, e.g. "
                f"inputs={{'df': 'raw_data'}}, got {type(inputs).__name__} {inputs!r}; a "
                "parameter named like its asset needs no entry (inputs come from parameter "
                "names)"
            )
        for param, ref in (inputs or {}).items():
            if param not in names:
                raise ParameterError(
                    f"step {self.name!r}: inputs= maps {param!r}, which is not a parameter "
                    f"of {self.name}(); its parameters are {sorted(names)}"
                )
            if not isinstance(ref, str):
                raise ParameterError(f"step {self.name!r}: inputs[{param!r}] must be a string")
            asset, selector = split_ref(ref)
            mapping[param] = InputSpec(param, asset, selector)
        self.input_map = mapping
        if map_over is not None and map_over not in names:
            close = closest(str(map_over), sorted(names))
            raise ParameterError(
                f"step {self.name!r}: map_over={map_over!r} is not a parameter of {self.name}()"
                + (f" (did you mean {close!r}?)" if close else "")
            )
        self.map_over = map_over

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.func(*args, **kwargs)

    def __flowyml_code__(self) -> tuple[Callable[..., Any], dict[str, Any]]:
        """What a step counts as in a key when code reaches it (by name, or held in a
        value: a list of stages): its function, which calling it calls, and what else it
        holds (its declaration, attributes set on it), which code may read; not what
        ``update_wrapper`` copied from the function (its docstring is not code), nor
        the private attributes FlowyML keeps on a step as it runs (``_contracts``)."""
        return self.func, {k: v for k, v in vars(self).items()
                           if k not in _COPIED and not k.startswith("_")}

    def __repr__(self) -> str:
        return f"<Step {self.name} -> {', '.join(self.outputs)}>"

    def options(self) -> dict[str, Any]:
        """The declaration, as plain data (part of the code fingerprint). Declared table
        schemas count too (``contracts.py``): editing one re-executes, so re-validates."""
        options: dict[str, Any] = {
            "name": self.name,
            "outputs": list(self.outputs),
            "inputs": {k: str(v) for k, v in sorted(self.input_map.items())}
            if self.input_map else {},  # (most steps map none: no sort, no comprehension)
            "map_over": self.map_over,
        }
        schemas = None
        if schemas_possible():
            from .contracts import declaration

            schemas = declaration(self)
        if schemas is not None:  # absent otherwise: keys of steps without schemas stay
            options["schemas"] = schemas
        return options


class RedefinedStepWarning(UserWarning):
    """A pipeline holds an older definition of a step than its module (or notebook)
    has now: the run uses the one the pipeline holds."""


def newer_definition(step: Step) -> str | None:
    """Where a definition of ``step``'s function newer than the one it holds is, if the
    function's module now has one under its name with other code: a notebook cell
    run again after the ``Pipeline`` was made, or a module reloaded (``%autoreload``,
    ``importlib.reload``) after ``from module import step``. (``%autoreload`` patches
    functions in place, not the ``Step`` around one.) None otherwise."""
    func = step.func
    if isinstance(func, types.MethodType):
        return _method_step_remade(step)
    name = getattr(func, "__qualname__", "")
    code = getattr(func, "__code__", None)
    if code is None or not name.isidentifier():  # (a method, a function made in one)
        return None
    mod = sys.modules.get(getattr(func, "__module__", None) or "")
    current = vars(mod).get(name) if mod is not None else None
    if mod is None or current is None or current is step:
        return None
    current = getattr(current, "func", current)
    new_code = getattr(current, "__code__", None)
    if current is func or not isinstance(new_code, types.CodeType) or new_code == code:
        return None  # (the same cell run again unedited: equal code)
    return mod.__name__


def _method_step_remade(step: Step) -> str | None:
    """The module of a step made from a bound method (``fm.step(...)(model.predict)``)
    that no name of that module holds any more, where another step of its name is held:
    the cell that made it was run again, with another instance. (A step still held
    beside another of its name is a variant, in another pipeline: none is newer.)"""
    mod = sys.modules.get(getattr(step.func, "__module__", None) or "")
    if mod is None:
        return None
    other = False
    for value in list(vars(mod).values()):
        if value is step:
            return None
        if isinstance(value, Step) and value.name == step.name and value.func != step.func:
            other = True
    return mod.__name__ if other else None


def warn_redefined(steps: list[Step], pipeline: str) -> None:
    """Warn, once per step and definition, about steps that ``newer_definition`` finds."""
    for st in steps:
        where = newer_definition(st)
        if where is None or (id(st.func), where) in _redefined_said:
            continue
        _redefined_said.add((id(st.func), where))
        fname = st.func.__qualname__
        if isinstance(st.func, types.MethodType):
            text = (f"pipeline {pipeline!r} holds an older step {st.name!r}: {where} now "
                    f"holds another step of that name, made since the pipeline was (a cell "
                    f"run again: {fname} of another instance). This run uses the older "
                    "one; make the pipeline again (re-run its cell) to use the new one")
        elif where == "__main__":
            text = (f"pipeline {pipeline!r} holds an older definition of step {st.name!r}: "
                    f"{fname!r} was defined again since the pipeline was made (a notebook "
                    "cell run again), with other code. This run uses the older one; make "
                    "the pipeline again (re-run its cell) to use the new one")
        else:
            text = (f"pipeline {pipeline!r} holds an older definition of step {st.name!r} "
                    f"than module {where} has now ({where} was reloaded, by %autoreload "
                    f"or importlib.reload, after `from {where} import {fname}`: a reload "
                    "cannot update a step imported by name). This run uses the older one; "
                    f"use {where}.{fname} (import the module, not the name), or import it "
                    "again and make the pipeline again")
        warnings.warn(text, RedefinedStepWarning, stacklevel=outside_stacklevel())


_redefined_said: set[tuple[int, str]] = set()


def _refuse_lazy_results(func: Any) -> None:
    """An ``async def`` or generator function returns a coroutine or generator, which
    no store can keep: said at decoration, with the fix, rather than when storing."""
    if type(func) is types.FunctionType and not func.__dict__ and not (
            func.__code__.co_flags & _LAZY_FLAGS):
        # a plain function with no attributes (no ``__wrapped__``, no coroutine mark):
        # its code's flags say it all (most steps; a module of them imports every run)
        return
    target = inspect.unwrap(func) if isinstance(func, types.FunctionType) else func
    name = getattr(func, "__name__", repr(func))
    if inspect.iscoroutinefunction(target) or inspect.isasyncgenfunction(target):
        raise ParameterError(
            f"step {name!r} is an async function, which FlowyML does not await: make it a "
            "plain function that runs its coroutine (return asyncio.run(main()))")
    if inspect.isgeneratorfunction(target):
        raise ParameterError(
            f"step {name!r} is a generator function (it yields): a step returns its "
            "outputs, so return a list of what it yields (return list(...))")


def _callable_name(func: Any) -> str:
    """A default step name: the function's, the partial's function's, the method's, or
    a callable instance's class name."""
    while isinstance(func, functools.partial):
        func = func.func
    name = getattr(func, "__name__", None)
    if isinstance(name, str):
        return name
    return type(func).__name__


def _step_name(name: str | None, fname: str, hint: bool) -> str:
    """``name``, else ``fname`` (the function's; a lambda's first output's); a function
    name that is no valid step name (``def entraîner``: names become store prefixes,
    ASCII only) says, with ``hint``, how to keep the function as it is."""
    if name is not None or not hint:
        return check_name(name or fname, "step name")
    try:
        return check_name(fname, "step name")
    except ParameterError as exc:
        raise ParameterError(
            f"{exc}; the step takes its function's name: give it a valid one with "
            f"@fm.step(name=...)") from None


def _params_of(func: Callable[..., Any], step_name: str) -> tuple[ParamSpec, ...]:
    fast = _plain_params(func)
    if fast is not None:
        return fast
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError) as exc:  # builtins and some C callables
        raise ParameterError(f"step {step_name!r}: cannot read the signature: {exc}") from None
    out = []
    for p in sig.parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise ParameterError(
                f"step {step_name!r}: {'*' if p.kind is p.VAR_POSITIONAL else '**'}{p.name} "
                "cannot be wired by name; "
                "declare each input as a named parameter"
            )
        if p.kind is p.POSITIONAL_ONLY:
            raise ParameterError(
                f"step {step_name!r}: positional-only parameter {p.name!r} cannot be passed "
                "by name; remove the '/'"
            )
        out.append(ParamSpec(p.name, p.default, p.annotation))
    return tuple(out)


def _plain_params(func: Any) -> tuple[ParamSpec, ...] | None:
    """What ``inspect.signature`` would say of a plain function whose parameters can
    all be passed by name, read from its code object (~10x faster: a module of steps
    is imported on every run); None for anything else (the general path decides)."""
    if type(func) is not types.FunctionType or hasattr(func, "__wrapped__") or hasattr(
            func, "__signature__"):
        return None
    code = func.__code__
    if code.co_flags & (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS) or code.co_posonlyargcount:
        return None
    n = code.co_argcount
    names = code.co_varnames[: n + code.co_kwonlyargcount]
    defaults = func.__defaults__ or ()
    kwdefaults = func.__kwdefaults__ or {}
    notes = func.__annotations__
    if not defaults and not kwdefaults and not notes:  # (most steps: names alone)
        return tuple(map(ParamSpec, names))
    first_default = n - len(defaults)
    return tuple(
        ParamSpec(name,
                  defaults[i - first_default] if first_default <= i < n
                  else kwdefaults.get(name, _NO_DEFAULT) if i >= n else _NO_DEFAULT,
                  notes.get(name, _NO_DEFAULT))
        for i, name in enumerate(names))


@overload
def step(func: F, /) -> Step: ...


@overload
def step(
    *,
    outputs: str | tuple[str, ...] | list[str] | None = None,
    inputs: Mapping[str, str] | None = None,
    name: str | None = None,
    cache: bool = True,
    retries: int = 0,
    timeout: float | None = None,
    map_over: str | None = None,
) -> Callable[[F], Step]: ...


def step(func: Any = None, /, **options: Any) -> Any:
    """Declare a step. Bare ``@step`` names the single output after the function.

    ``outputs``: one asset name, or a tuple of names (a tuple return is split across
    them). ``inputs``: parameter -> asset name, optionally ``name@VERSION``,
    ``name@latest`` or ``name@ALIAS`` to take an artifact from the catalog.
    ``cache=False`` always re-executes. ``retries``/``timeout`` bound a flaky step.
    ``map_over``: run once per element of that list-valued input.
    """
    if func is not None:
        return Step(func, **options)
    return lambda f: Step(f, **options)
