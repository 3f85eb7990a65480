"""Does a worker process compute with the state its step's cache key describes?

The key of a step is taken in the driver, at build: its code, and the values of the
globals, settings and environment that code reaches, as they are in the driver. A
worker process (``processes``, Dask, a step with a timeout) imports the user's modules
afresh: what a script or notebook set after importing them (``config.LR = 0.1`` under
``if __name__ == "__main__"``, ``np.set_printoptions`` in the script), what an earlier
step changed in that worker, a value made at import (a time, a random number), or a
file edited since the driver imported it, are different there. A result computed with
the worker's state and filed under the driver's key would be a wrong cache entry, and
a result other than the inline executor's.

So a worker takes the step's fingerprint again before it runs the step, and refuses
(``WorkerStateError``) when a part differs from the driver's, except library settings
(``core.settings``: numpy's print options, a pandas option, the root logger's level
from ``logging.basicConfig`` in the script), which it takes from the driver, as it
takes the driver's command line. A value the worker once had as the driver has it,
and that steps run in the worker changed since (a helper's memo, a model a step fits,
a call counter), is accepted: inline steps, too, run with what earlier steps left,
under keys taken before the run. Not compared: opaque parts (random by construction:
such a step re-executes anyway), random generators (every draw changes them; so a
script that seeds one before ``run()`` does not seed the workers', the README says
so) and decorator texts (see ``_compared``).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import WorkerStateError
from .fingerprint import recheck_parts
from .ownership import user_label
from .parts import OPAQUE, Fingerprint, part_label
from .settings import apply, changed
from .struct import struct


def _compared(key: str, value: str) -> bool:
    # Not compared: the declaration (the ``@step`` arguments travel with the step,
    # whole), and decorator texts: code shipped by value (a step in ``__main__``) keeps
    # only the globals its body reads, so a worker cannot resolve ``@fm.step`` to tell
    # FlowyML's own decorator from another. The decorators' wrappers, their code and
    # closures, are parts of their own and are compared.
    return not (value.startswith(OPAQUE) or key == "declaration"
                or key.startswith(("rng ", "decorator ")))


@struct
class DriverState:
    """What a worker checks its state against, sent with a step's task."""

    root: str  # the project root the key was taken under
    parts: dict[str, str]  # the key's parts a worker compares (``_compared``)
    # library -> its settings that are not the defaults (``settings.changed``), for the
    # libraries whose settings are a part of the key
    settings: dict[str, dict[str, Any]]


def driver_state(compared: Fingerprint, keyed: Fingerprint, root: str,
                 settings: dict[str, dict[str, Any] | None]) -> DriverState:
    """The driver's side for a step: ``compared`` is its fingerprint taken at build,
    ``keyed`` the one its key was made of (with the settings of its inputs' libraries,
    which the worker takes too). ``settings`` is the run's cache of the libraries'
    settings, read for the first task that needs them."""
    parts = {k: v for k, v in compared.parts.items() if _compared(k, v)}
    mine: dict[str, dict[str, Any]] = {}
    for key, value in keyed.parts.items():
        if key.startswith("settings ") and not value.startswith(OPAQUE):
            top = key[len("settings "):]
            if top not in settings:
                settings[top] = changed(top)
            now = settings[top]
            if now is not None:
                mine[top] = now
    return DriverState(root, parts, mine)


# Parts that are state (values), not code: a worker that once had the driver's value
# of one accepts it changed since, by the steps that ran in it, as inline steps run
# with what earlier steps left (``_seen``)
_STATE_KINDS = ("constant ", "attribute ", "instance ", "closure ", "defaults ", "bound ",
                "attributes ", "partial ")
# (root, part key) -> the driver's value this process once had for that part
_seen: dict[tuple[str, str], str] = {}


def differing_parts(step: Any, values: Mapping[str, Any], root: str,
                    expected: Mapping[str, str]) -> list[str]:
    """The keys of the parts of ``step``'s fingerprint, taken here, that differ from
    ``expected`` (the driver's), either way."""
    parts, generators, unresolved = recheck_parts(step, values, Path(root))
    differ = []
    for k, v in parts.items():
        if not _compared(k, v) or k in generators:
            continue
        want = expected.get(k)
        if want == v:
            if k.startswith(_STATE_KINDS):
                _seen[root, k] = v
        elif want is None and k.startswith("library "):
            # a library's version counts where both sides reach it (a Dask worker with
            # another numpy); reached here only, it comes with state that differs
            continue
        elif want is None or _seen.get((root, k)) != want:
            differ.append(k)
    # A part only the driver has: not one for an element of a ``map_over`` step (the
    # driver's key counts what every element reaches), except library settings, which
    # do not depend on the element; nor for what the class bodies of the driver's
    # ``__main__`` (a script, a notebook) name, which are not in this process's
    # ``__main__`` to be looked up: those classes came by value, whole.
    element = getattr(step, "map_over", None) is not None
    shipped = user_label(Path(root), "__main__",
                         getattr(sys.modules.get("__main__"), "__file__", None))

    def looked_up_in_main(key: str) -> bool:
        where, _, qual = key.partition(" ")[2].rpartition(":")
        return where == shipped and qual.partition(".")[0] in unresolved

    differ += [k for k in expected if k not in parts and not k.startswith("library ")
               # (a reader the driver could not watch, which a worker may hold wrapped:
               # the driver re-executes the step anyway)
               and not (k.startswith("reader ") and expected[k].startswith(OPAQUE))
               and (k.startswith("settings ") or not (element or looked_up_in_main(k)))]
    return differ


def check_worker_state(step: Any, values: Mapping[str, Any], driver: DriverState) -> None:
    """Make this process's library settings the driver's (as its command line is), then
    raise ``WorkerStateError`` naming what else differs, before the step runs here."""
    unset = [f"settings {top}" for top, want in driver.settings.items() if not apply(top, want)]
    differ = differing_parts(step, values, driver.root, driver.parts)
    # settings of a library the step reaches that are not the defaults here, where the
    # driver has the defaults (an earlier job of a long-lived worker set them)
    reset = [k for k in differ if k.startswith("settings ") and k not in unset
             and k[len("settings "):] not in driver.settings]
    if reset:
        for key in reset:
            apply(key[len("settings "):], {})
        differ = differing_parts(step, values, driver.root, driver.parts)
    differ = sorted(set(differ) | set(unset))
    if not differ:
        return
    what = ", ".join(part_label(k) for k in sorted(differ))
    raise WorkerStateError(
        f"step {step.name!r} cannot run in a worker process: there, {what} "
        f"{'is' if len(differ) == 1 else 'are'} not what {'it is' if len(differ) == 1 else 'they are'} "
        "in this process, where the step's cache key was taken. A worker imports your modules "
        "afresh, so what your script or notebook set after importing them, what another step "
        "changed, a value made at import (a time, a random number) and a file edited since "
        f"this process imported it are not the same there. {_fix(step)}"
    )


def _fix(step: Any) -> str:
    """What to do: running inline helps only a step that runs in this process there,
    which a step with a timeout never does (only a process can be stopped)."""
    if getattr(step, "timeout", None) is None:
        return ("Pass such values as step parameters, set them in the module itself, or "
                "run with executor='inline'")
    return ("Pass such values as step parameters, or set them in the module itself. "
            "(A step with timeout= runs in a process of its own on every executor, "
            "inline too, so that it can be stopped: without timeout=, on the inline "
            "executor, it would run in this process)")
