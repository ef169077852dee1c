"""Tests of tnreg.einsum: the one parser and label -> symbol map behind networks and plans."""

from __future__ import annotations

import numpy as np
import opt_einsum
import pytest

from tnreg import einsum
from tnreg.contract import plan
from tnreg.network import TensorNetwork

# (equation, shapes): explicit, implicit, spaces, scalars, numpy sizes, unicode symbols
VALID = [
    ("ab,bc->ac", [(2, 3), (3, 4)]),
    ("ab,bc", [(2, 3), (3, 4)]),
    ("ba,cb", [(3, 2), (4, 3)]),
    ("ab, bc -> ca", [(2, 3), (3, 4)]),
    ("ab,ab,ab->a", [(2, 3)] * 3),
    ("i,i", [(4,), (4,)]),
    ("i,i->", [(4,), (4,)]),
    ("->", [()]),
    ("ir,jr,kr->ijk", [(2, 3), (4, 3), (5, 3)]),
    ("ab->ba", [(np.int64(2), np.int32(3))]),
    ("αβ,βγ->αγ", [(2, 3), (3, 2)]),
]


@pytest.mark.parametrize(("eq", "shapes"), VALID)
def test_parse_matches_numpy_and_both_consumers(eq, shapes):
    inputs, output, sizes = einsum.parse(eq, shapes)
    assert all(type(size) is int for size in sizes.values())
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal([int(d) for d in s]) for s in shapes]
    expected = np.einsum(eq.replace(" ", "").translate(str.maketrans("αβγ", "xyz")), *arrays)
    net = TensorNetwork.from_equation(eq, *shapes)
    assert net.inputs == inputs and net.output == output and net.size_dict == sizes
    p = plan(eq, *shapes)
    assert p.inputs == inputs and p.output == output and dict(p.size_dict) == sizes
    np.testing.assert_allclose(p(*arrays), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.einsum(net.equation()[0], *arrays), expected, rtol=1e-12)


def test_implicit_output_is_numpys_rule():
    assert einsum.parse("cb,ba", [(2, 3), (3, 4)])[1] == ("a", "c")


def test_symbols_in_order_of_first_appearance():
    table = einsum.symbols([("r", 0), "x", ("r", 0), 7, "x"])
    assert table == {("r", 0): "a", "x": "b", 7: "c"}
    many = einsum.symbols(range(60))
    assert list(many.values()) == [opt_einsum.get_symbol(k) for k in range(60)]


def test_to_equation_with_hashable_labels():
    eq, table = einsum.to_equation([("i", ("r", 0)), (("r", 0), 5)], (5, "i"))
    assert eq == "ab,bc->ca" and table == {"i": "a", ("r", 0): "b", 5: "c"}
    assert einsum.to_equation([()], ()) == ("->", {})


def test_network_and_plan_use_the_same_symbols():
    inputs, output = [("i", "r"), ("j", "r"), ("r", "k")], ("k", "j", "i")
    net = TensorNetwork()
    for name, term in enumerate(inputs):
        net.add_tensor(name, term, dict.fromkeys(term, 2))
    net.set_output(output)
    p = plan(net)
    assert net.equation() == (p.eq, dict(p.symbols)) == einsum.to_equation(inputs, output)


def test_check_size_accepts_numpy_integers():
    assert einsum.check_size(np.int64(3), "here") == 3
    assert type(einsum.check_size(np.uint8(3), "here")) is int


def test_error_class_is_the_callers():
    class Mine(ValueError):
        pass

    with pytest.raises(Mine, match="ellipsis"):
        einsum.parse("a...", [(2,)], error=Mine)
