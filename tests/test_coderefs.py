"""``pickle_globals``: the code a pickle names, read from its opcodes."""

from __future__ import annotations

import collections
import io
import pickle
import pickletools

import pytest

from flowyml.core.coderefs import pickle_globals


class Thing:
    class Inner:
        pass

    def __init__(self) -> None:
        self.inner = Thing.Inner()


def helper(x: int) -> int:
    return x


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_user_globals_are_found_in_every_protocol(protocol: int) -> None:
    value = {
        "thing": Thing(),
        "again": Thing(),  # memoized: the second reference is a BINGET
        "fn": helper,
        "cls": Thing.Inner,
        "od": collections.OrderedDict(a=1),  # standard library: left out
        "t": (1, 2.5, "s", b"b", {1}, frozenset({2}), bytearray(b"x")),  # builtins
    }
    data = pickle.dumps(value, protocol=protocol)
    # protocols 0-3 name a nested class as getattr(Thing, "Inner"): Thing's code holds it
    nested = [f"{__name__}:Thing.Inner"] if protocol >= 4 else []
    assert pickle_globals(data) == sorted([f"{__name__}:Thing", f"{__name__}:helper", *nested])


def test_plain_data_references_nothing() -> None:
    assert pickle_globals(pickle.dumps([1, "a", {"k": (None, True)}], protocol=5)) == []


def test_stack_global_uses_the_memoized_module_string() -> None:
    data = pickle.dumps([Thing(), helper], protocol=4)
    ops = [op.name for op, _, _ in pickletools.genops(data)]
    assert "STACK_GLOBAL" in ops and "BINGET" in ops  # the module name is fetched from the memo
    assert pickle_globals(data) == [f"{__name__}:Thing", f"{__name__}:Thing.Inner", f"{__name__}:helper"]


def test_third_party_globals_are_kept() -> None:
    np = pytest.importorskip("numpy")
    refs = pickle_globals(pickle.dumps(np.arange(3), protocol=5))
    assert refs and all(r.startswith("numpy") for r in refs)


def test_a_file_object_is_read_sequentially() -> None:
    data = pickle.dumps(Thing(), protocol=5)
    assert pickle_globals(io.BytesIO(data)) == pickle_globals(data)


def test_not_a_pickle_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        pickle_globals(b"\x80\x05not a pickle")
    with pytest.raises(ValueError):
        pickle_globals(pickle.dumps(Thing(), protocol=5)[:-3])  # truncated


def test_the_scan_says_whether_a_pickle_builds_a_set() -> None:
    from flowyml.core.coderefs import scan_pickle

    assert scan_pickle(pickle.dumps({"a": [1, (2,)]}, protocol=5)) == ([], False)
    assert scan_pickle(pickle.dumps({"a": [{"x"}]}, protocol=5))[1] is True
    assert scan_pickle(pickle.dumps((frozenset(),), protocol=5))[1] is True
