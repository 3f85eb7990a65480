"""Process-wide settings of libraries that change what their functions return.

``sklearn.set_config(transform_output="pandas")`` makes every transformer return a
DataFrame; ``np.seterr(divide="raise")`` turns an ``inf`` into an exception;
``decimal.getcontext().prec = 6`` rounds every ``Decimal`` operation;
``pd.set_option("display.precision", 2)`` changes every ``str(df)``;
``logging.basicConfig(level=logging.DEBUG)`` (or ``logging.disable``) what
``log.isEnabledFor`` says;
``sqlite3.register_converter("point", parse)`` what a query returns;
``csv.register_dialect("mine", delimiter=";")`` how a reader splits;
``dask.config.set({"dataframe.convert-string": False})`` a column's dtype;
``pl.Config.set_tbl_rows(4)`` how a polars frame prints; and the local time
zone, what ``datetime.fromtimestamp`` and ``time.localtime`` return (a catalog shared by
machines in two zones, a ``TZ=`` on one command line). A script sets them
once, at import, where no step's code shows them. A step that reaches such a library
has the settings that differ from the library's defaults as a part of its fingerprint:
changing them re-executes it, and a step whose libraries run on their defaults has no
such part (its key is what it was before this module existed).

``changed(top)`` returns those settings for a top-level module name, ``{}`` when all are
the defaults or the library is not one of these, and ``None`` when they cannot be read
(the caller then warns and re-executes).
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable
from typing import Any

# scikit-learn's documented defaults (sklearn.get_config()); a key it adds later counts
# until it is listed here (a new scikit-learn is a new library version anyway)
_SKLEARN = {
    "assume_finite": False, "working_memory": 1024, "print_changed_only": True,
    "display": "diagram", "pairwise_dist_chunk_size": 256,
    "enable_cython_pairwise_dist": True, "array_api_dispatch": False,
    "transform_output": "default", "enable_metadata_routing": False,
    "skip_parameter_validation": False, "sparse_interface": "spmatrix",
}
_NUMPY_ERR = {"divide": "warn", "over": "warn", "under": "ignore", "invalid": "warn"}
_NUMPY_PRINT = {
    "edgeitems": 3, "threshold": 1000, "floatmode": "maxprec", "precision": 8,
    "suppress": False, "linewidth": 75, "nanstr": "nan", "infstr": "inf", "sign": "-",
    "formatter": None, "legacy": False, "override_repr": None,
}
_DECIMAL = {"prec": 28, "rounding": "ROUND_HALF_EVEN", "Emin": -999999, "Emax": 999999,
            "capitals": 1, "clamp": 0,
            "traps": ["DivisionByZero", "InvalidOperation", "Overflow"]}


# the functions that change these settings, by module: a step calling one changes what
# the steps after it compute (``side_state.settings_set``)
SETTERS: dict[str, tuple[str, ...]] = {
    "numpy": ("set_printoptions", "seterr", "seterrcall"),
    "pandas": ("set_option", "reset_option"),
    "sklearn": ("set_config",),
    "decimal": ("setcontext",),
    "csv": ("register_dialect", "unregister_dialect"),
    "sqlite3": ("register_converter", "register_adapter"),
    "time": ("tzset",),  # the local time zone, from ``TZ`` (``datetime``'s too)
}
SETTER_NAMES = frozenset(n for names in SETTERS.values() for n in names)
# (not ``logging``'s: a step configuring logging for itself is common, and the level
# changes what is printed far more often than what is computed; nor
# ``csv.field_size_limit``, raised by loaders: it makes a reader accept more, not other)


def setters() -> dict[int, tuple[Any, str]]:
    """id -> (setter, its library) for the ``SETTERS`` of the libraries imported so far
    (each held, so no other object gets its id)."""
    loaded = tuple(top for top in SETTERS if top in sys.modules)
    if loaded != _setters_of[0]:
        found = {}
        for top in loaded:
            for name in SETTERS[top]:
                fn = getattr(sys.modules[top], name, None)
                if fn is not None:
                    found[id(fn)] = (fn, top)
        _setters_of[:] = [loaded, found]
    known: dict[int, tuple[Any, str]] = _setters_of[1]
    return known


_setters_of: list[Any] = [(), {}]  # the libraries looked at, and id -> (setter, library)


def _differing(now: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    missing = object()
    return {k: v for k, v in now.items() if defaults.get(k, missing) != v}


def _sklearn() -> dict[str, Any]:
    return _differing(dict(sys.modules["sklearn"].get_config()), _SKLEARN)


def _numpy() -> dict[str, Any]:
    np = sys.modules["numpy"]
    out: dict[str, Any] = {
        f"err.{k}": v for k, v in _differing(np.geterr(), _NUMPY_ERR).items()}
    if "call" in out.values() or "log" in out.values():  # what is called (or written to)
        out["errcall"] = np.geterrcall()
    legacy = np.get_printoptions()
    if legacy.get("legacy") == sys.maxsize:  # numpy 1.x's "no legacy mode"
        legacy["legacy"] = False
    out.update((f"print.{k}", v) for k, v in _differing(legacy, _NUMPY_PRINT).items())
    return out


def _decimal() -> dict[str, Any]:
    ctx = sys.modules["decimal"].getcontext()
    now = {"prec": ctx.prec, "rounding": ctx.rounding, "Emin": ctx.Emin, "Emax": ctx.Emax,
           "capitals": ctx.capitals, "clamp": ctx.clamp,
           "traps": sorted(t.__name__ for t, on in ctx.traps.items() if on)}
    return _differing(now, _DECIMAL)  # flags are the results of past operations: not settings


def _logging() -> dict[str, Any]:
    """The root logger's level (``logging.basicConfig(level=...)``): code that asks
    ``isEnabledFor`` computes by it; handlers and formats are output, not inputs."""
    logging = sys.modules["logging"]
    level = logging.getLogger().level
    out = {} if level == logging.WARNING else {"root.level": level}  # WARNING by default
    if logging.root.manager.disable:  # ``logging.disable(level)``: off at and below it
        out["disable"] = logging.root.manager.disable
    return out


def _dask() -> dict[str, Any]:
    """``dask.config`` values other than the defaults the libraries registered
    (``dask.config.set({"dataframe.convert-string": False})`` at import, a
    ``DASK_*`` variable, a YAML file of the user's): they choose dtypes, shuffle
    methods, what a computation returns. ``distributed``'s own defaults, registered
    when it is imported, are defaults too: keys do not follow what was imported."""
    config = sys.modules["dask.config"]
    return {k: v for k, v in _differing(_flat(config.config), _dask_defaults()).items()
            if k.replace("_", "-") not in _DASK_WHERE_ONLY
            and not k.startswith(_DASK_WHERE_ONLY_PREFIXES)}


# where and how dask computes, not what: a ``distributed.Client`` sets its scheduler as
# the default while it lives (a notebook's, the Dask executor's); the cluster's, its
# deployment's, its logs', its temporary folder's and its error reports' settings
_DASK_WHERE_ONLY = frozenset({"scheduler", "get", "pool", "num-workers",
                              "temporary-directory"})
_DASK_WHERE_ONLY_PREFIXES = ("distributed.", "logging.", "admin.", "visualization.",
                             "jobqueue.", "kubernetes.", "cloudprovider.", "gateway.",
                             "labextension.", "ucx.", "rmm.", "tokenize.", "optimization.",
                             "dataframe.shuffle.compression", "array.svg.")


def _dask_defaults() -> dict[str, Any]:
    """The defaults dask and the libraries built on it registered, as dotted keys."""
    config = sys.modules["dask.config"]
    defaults: dict[str, Any] = {}
    for each in config.defaults:
        config.update(defaults, each)
    return _flat(defaults)


def _flat(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A nested config as dotted keys: ``{"a": {"b": 1}}`` is ``{"a.b": 1}``."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict) and value:
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


# polars' ``Config`` options kept in its Rust core (its ``POLARS_*`` environment
# variables are the rest: absent by default)
_POLARS = {"set_fmt_float": "mixed", "set_float_precision": None,
           "set_thousands_separator": "", "set_decimal_separator": ".",
           "set_trim_decimal_zeros": False}


def _polars() -> dict[str, Any]:
    """``pl.Config`` set at import (``set_tbl_rows``, ``set_fmt_float``): what
    ``str(frame)`` and ``write_csv`` of floats give, and ``POLARS_AUTO_STRUCTIFY``; not
    its logs, warnings, engine or limits (``POLARS_VERBOSE``, ``POLARS_WARN_UNSTABLE``,
    ``POLARS_ENGINE_AFFINITY``, ...)."""
    state = {k: v for k, v in sys.modules["polars"].Config.state(if_set=True).items()
             if not k.startswith("POLARS_") or k.startswith(_POLARS_RESULTS)}
    return _differing(state, _POLARS)


_POLARS_RESULTS = ("POLARS_FMT_", "POLARS_TABLE_", "POLARS_AUTO_STRUCTIFY")


# Options that choose how pandas computes, not what: ``dask.dataframe`` turns numexpr
# off when it is imported (by pandera or distributed too), so counting it would change
# keys with what happened to be imported, and set a worker apart from its driver.
_PANDAS_SPEED_ONLY = frozenset({"compute.use_numexpr"})


def _pandas() -> dict[str, Any]:
    config = sys.modules["pandas"]._config.config  # every option with its default
    out = {}
    with warnings.catch_warnings():  # reading a deprecated option warns
        warnings.simplefilter("ignore")
        for key, option in config._registered_options.items():
            if key in _PANDAS_SPEED_ONLY:
                continue
            value = config.get_option(key)
            if value != option.defval:
                out[key] = value
    return out


def _sqlite3() -> dict[str, Any]:
    """The converters and adapters registered besides the standard library's own (its
    dates): functions of the user's, which turn what a query returns or sends."""
    sqlite3 = _loaded("sqlite3", "_sqlite3")
    out: dict[str, Any] = {f"converter.{name}": fn for name, fn in sqlite3.converters.items()
                           if getattr(fn, "__module__", None) != _SQLITE_OWN}
    for (typ, _), fn in sqlite3.adapters.items():
        # (any other's counts, a library's too: ``register_converter("js", json.loads)``
        # edited to another library function changes what a query returns; pandas'
        # ``to_sql`` registering its own re-executes a notebook's next run once)
        if getattr(fn, "__module__", None) != _SQLITE_OWN:
            out[f"adapter.{typ.__module__}.{typ.__qualname__}"] = (typ, fn)
    return out


def _loaded(*names: str) -> Any:
    """The first of the modules ``names`` imported (a package or its C module)."""
    return next(sys.modules[n] for n in names if n in sys.modules)


_SQLITE_OWN = "sqlite3.dbapi2"  # where the default date converters and adapters are made


def _local_zone() -> dict[str, Any]:
    """The local time zone, when it is not UTC: its name (``TZ``, or where
    ``/etc/localtime`` points in the zone database), which a worker can take, and its
    offsets and abbreviations, which say what the C library made of it."""
    import os
    import time

    names, offsets = list(time.tzname), [time.timezone, time.altzone, time.daylight]
    if offsets[0] == 0 and (offsets[2] == 0 or offsets[1] == 0) and names[0] in _UTC_NAMES:
        return {}
    zone = os.environ.get("TZ")
    if zone is None:
        link = os.path.realpath("/etc/localtime")
        zone = link.partition("zoneinfo/")[2] or None
    return {"zone": zone.lstrip(":") if zone else None, "offsets": offsets, "names": names}


_UTC_NAMES = frozenset({"UTC", "GMT", "UCT", "Universal", "Zulu"})


_CSV_OWN = frozenset({"excel", "excel-tab", "unix"})  # the dialects csv defines
_DIALECT = ("delimiter", "quotechar", "escapechar", "doublequote", "skipinitialspace",
            "lineterminator", "quoting", "strict")


def _csv() -> dict[str, Any]:
    """The dialects registered besides csv's own, by what they say, and the field size
    limit when it is not the default."""
    csv = _loaded("csv", "_csv")
    out: dict[str, Any] = {
        f"dialect.{name}": {k: getattr(csv.get_dialect(name), k) for k in _DIALECT}
        for name in sorted(csv.list_dialects()) if name not in _CSV_OWN}
    if csv.field_size_limit() != _CSV_FIELD_LIMIT:
        out["field_size_limit"] = csv.field_size_limit()
    return out


_CSV_FIELD_LIMIT = 131072


_READERS: dict[str, Callable[[], dict[str, Any]]] = {
    "sklearn": _sklearn, "numpy": _numpy, "decimal": _decimal, "pandas": _pandas,
    "logging": _logging, "sqlite3": _sqlite3, "_sqlite3": _sqlite3,  # (``connect``'s module)
    "csv": _csv, "_csv": _csv, "time": _local_zone, "datetime": _local_zone,
    "dask": _dask, "polars": _polars,
}


def changed(top: str) -> dict[str, Any] | None:
    """The settings of library ``top`` (a top-level module name) that differ from its
    defaults; ``{}`` for none (or a library without such settings), ``None`` when they
    cannot be read."""
    reader = _READERS.get(top)
    if reader is None or top not in sys.modules:
        return {}
    try:
        return reader()
    except Exception:  # an API that moved: say so rather than guess the defaults
        return None


# ------------------------------------------------------------------ applying them


def _apply_sklearn(want: dict[str, Any], now: dict[str, Any]) -> None:
    current = sys.modules["sklearn"].get_config()
    sys.modules["sklearn"].set_config(**{k: want.get(k, _SKLEARN.get(k, current[k]))
                                         for k in set(want) | set(now) if k in current})


def _apply_numpy(want: dict[str, Any], now: dict[str, Any]) -> None:
    np = sys.modules["numpy"]
    keys = set(want) | set(now)
    err = {k: want.get(f"err.{k}", d) for k, d in _NUMPY_ERR.items() if f"err.{k}" in keys}
    if err:
        np.seterr(**err)
    known = np.get_printoptions()
    printing = {k: want.get(f"print.{k}", d) for k, d in _NUMPY_PRINT.items()
                if f"print.{k}" in keys and k in known}
    if printing:
        np.set_printoptions(**printing)


def _apply_decimal(want: dict[str, Any], now: dict[str, Any]) -> None:
    decimal = sys.modules["decimal"]
    ctx = decimal.getcontext()
    for key in set(want) | set(now):
        value = want.get(key, _DECIMAL[key])
        if key == "traps":
            for trap in list(ctx.traps):
                ctx.traps[trap] = trap.__name__ in value
        else:
            setattr(ctx, key, value)


def _apply_pandas(want: dict[str, Any], now: dict[str, Any]) -> None:
    config = sys.modules["pandas"]._config.config
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for key in set(want) | set(now):
            config.set_option(key, want.get(key, config._registered_options[key].defval))


def _apply_logging(want: dict[str, Any], now: dict[str, Any]) -> None:
    logging = sys.modules["logging"]
    logging.getLogger().setLevel(want.get("root.level", logging.WARNING))


def _apply_sqlite3(want: dict[str, Any], now: dict[str, Any]) -> None:
    sqlite3 = _loaded("sqlite3", "_sqlite3")
    for key in now.keys() - want.keys():
        if key.startswith("converter."):
            sqlite3.converters.pop(key.partition(".")[2], None)
        else:
            sqlite3.adapters.pop((now[key][0], sqlite3.PrepareProtocol), None)
    for key, value in want.items():
        if key.startswith("converter."):
            sqlite3.register_converter(key.partition(".")[2], value)
        else:
            sqlite3.register_adapter(*value)


def _apply_csv(want: dict[str, Any], now: dict[str, Any]) -> None:
    csv = _loaded("csv", "_csv")
    for key in now.keys() - want.keys() - {"field_size_limit"}:
        csv.unregister_dialect(key.partition(".")[2])
    csv.field_size_limit(want.get("field_size_limit", _CSV_FIELD_LIMIT))
    for key, params in want.items():
        if key != "field_size_limit":
            csv.register_dialect(key.partition(".")[2], **params)


def _apply_zone(want: dict[str, Any], now: dict[str, Any]) -> None:
    """Take the driver's zone by its name (UTC for none): a worker of a cluster in
    another zone. A zone known only by its offsets cannot be taken (``apply`` says so)."""
    import os
    import time

    zone = want.get("zone") if want else "UTC"
    if zone and hasattr(time, "tzset"):
        os.environ["TZ"] = zone
        time.tzset()


def _apply_dask(want: dict[str, Any], now: dict[str, Any]) -> None:
    defaults = _dask_defaults()
    sys.modules["dask.config"].set(
        {k: want[k] if k in want else defaults.get(k) for k in set(want) | set(now)})


def _apply_polars(want: dict[str, Any], now: dict[str, Any]) -> None:
    import os

    cfg = sys.modules["polars"].Config
    for key in set(want) | set(now):
        value = want.get(key, _POLARS.get(key))
        if key.startswith("POLARS_"):
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        else:
            getattr(cfg, key)(value)


_APPLIERS: dict[str, Callable[[dict[str, Any], dict[str, Any]], None]] = {
    "sklearn": _apply_sklearn, "numpy": _apply_numpy, "decimal": _apply_decimal,
    "pandas": _apply_pandas, "logging": _apply_logging, "sqlite3": _apply_sqlite3,
    "_sqlite3": _apply_sqlite3, "csv": _apply_csv, "_csv": _apply_csv,
    "time": _apply_zone, "datetime": _apply_zone, "dask": _apply_dask, "polars": _apply_polars,
}


def apply(top: str, want: dict[str, Any]) -> bool:
    """Make library ``top``'s settings those of ``want`` (what ``changed(top)`` returned
    in another process: a worker taking its driver's). True when ``changed(top)`` now
    says ``want``."""
    applier = _APPLIERS.get(top)
    if applier is not None and want and top not in sys.modules:
        # the driver's step reaches the library through an input (a polars frame) that
        # this worker has not loaded yet: it will, to decode the input
        import importlib

        try:
            importlib.import_module(top)
        except ImportError:
            return False
    now = changed(top)
    if applier is None or now is None:
        return False
    if now != want:
        try:
            applier(want, now)
        except Exception:  # an API that moved, a value this version refuses
            return False
    return changed(top) == want


# ------------------------------------------------------------------ per thread

# The libraries whose settings each thread has its own of: scikit-learn's
# ``set_config`` (a ``threading.local``), numpy's error state before numpy 2. A new
# thread starts on their defaults, not on its starter's. (``decimal``'s context and
# numpy 2's error state and print options are context variables: a thread run in a
# copy of its starter's context, ``contextvars.copy_context``, has them already.)
PER_THREAD = ("sklearn", "numpy", "decimal")


def thread_settings() -> dict[str, dict[str, Any] | None]:
    """This thread's settings (``changed``) of the ``PER_THREAD`` libraries imported
    so far: for another thread of this process to take (``take``)."""
    return {top: changed(top) for top in PER_THREAD if top in sys.modules}


def take(wanted: dict[str, dict[str, Any] | None]) -> None:
    """Make this thread's settings those of ``wanted`` (``thread_settings`` of another
    thread); one that could not be read there is left as it is here."""
    for top, want in wanted.items():
        if want is not None:
            apply(top, want)
