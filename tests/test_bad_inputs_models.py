"""Bad inputs to models and analysis: one table row per case, each asserting its message.

The structure layer's table is in ``tests/test_bad_inputs.py``; rows follow the same
``row(id, call, exception, match)`` convention, ids read ``module/what``.
"""

from __future__ import annotations

import re

import pytest
import torch

from tnreg import trees
from tnreg.analysis import (
    AnalysisError,
    component_norms,
    dense_spectrum,
    drift,
    effective_rank,
    gramians,
    invariants,
    local_component_norms,
    matricization_spectrum,
    node_spectra,
    numerical_rank,
    rank_report,
)
from tnreg.analysis.invariants import cp_squared_norms
from tnreg.models import (
    CP,
    HierarchicalTensorFactorization,
    NetworkModel,
    TensorTrain,
    Tucker,
    deep_matrix_factorization,
)


def row(id_, call, error, match, *, marks=()):
    return pytest.param(call, error, match, id=id_, marks=marks)


# --------------------------------------------------------------------------- models
def _htf(**kwargs):
    return HierarchicalTensorFactorization(trees.balanced(4), 3, 4, **kwargs)


def _cp(**kwargs):
    return CP(3, 3, 2, **kwargs)


def _load(model, values):
    return lambda: model.load_matrices_(values)


MODELS = [
    # shared setup: every model validates init_std, seed, ensemble, dtype, device the same way
    row(
        "models/init-std-nan",
        lambda: _htf(init_std=float("nan")),
        ValueError,
        r"init_std must be a finite number > 0; got nan",
    ),
    row(
        "models/init-std-negative",
        lambda: _htf(init_std=-1.0),
        ValueError,
        r"init_std must be a finite number > 0; got -1.0",
    ),
    row("models/init-std-zero", lambda: _cp(init_std=0), ValueError, r"init_std must be .*got 0"),
    row(
        "models/init-std-str",
        lambda: _cp(init_std="0.1"),
        TypeError,
        r"init_std must be a number or 1 numbers .*got str",
    ),
    row(
        "models/init-std-per-member-inf",
        lambda: _cp(ensemble=2, init_std=[0.1, float("inf")]),
        ValueError,
        r"init_std must be a finite number > 0 \(member 1\); got inf",
    ),
    row(
        "models/init-mean-inf",
        lambda: _htf(init_mean=float("inf")),
        ValueError,
        r"init_mean must be a finite number; got inf",
    ),
    row(
        "models/init-std-wrong-count",
        lambda: _cp(ensemble=2, init_std=[0.1]),
        ValueError,
        r"init_std must be a number or 2 numbers \(one per member\)",
    ),
    row(
        "models/target-norm-negative",
        lambda: _htf(target_norm=-1.0),
        ValueError,
        r"target_norm must be a finite number > 0; got -1.0",
    ),
    row(
        "models/target-norm-nan",
        lambda: _cp(target_norm=float("nan")),
        ValueError,
        r"target_norm must be a finite number > 0; got nan",
    ),
    row(
        "models/seed-float",
        lambda: _htf(seed=1.5),
        TypeError,
        r"seed must be None, an int or a sequence of 1 ints .*got float 1.5",
    ),
    row(
        "models/seed-wrong-count",
        lambda: _cp(ensemble=3, seed=[1, 2]),
        ValueError,
        r"seed must be an int or 3 ints \(one per member\)",
    ),
    row(
        "models/seed-list-of-floats",
        lambda: _cp(ensemble=2, seed=[1.0, 2.0]),
        ValueError,
        r"seed must be an int or 2 ints",
    ),
    row(
        "models/ensemble-zero",
        lambda: _htf(ensemble=0),
        ValueError,
        r"ensemble must be None \(one model\) or a positive int .*got 0",
    ),
    row(
        "models/ensemble-bool",
        lambda: Tucker(3, 3, 2, ensemble=True),
        ValueError,
        r"ensemble must be None \(one model\) or a positive int .*got True",
    ),
    row(
        "models/ensemble-float",
        lambda: TensorTrain(3, 3, 2, ensemble=2.0),
        ValueError,
        r"ensemble must be .*got 2.0",
    ),
    row(
        "models/dtype-int",
        lambda: _htf(dtype=torch.int64),
        TypeError,
        r"dtype must be a floating-point torch.dtype .*got torch.int64",
    ),
    row(
        "models/dtype-str",
        lambda: _cp(dtype="float32"),
        TypeError,
        r"dtype must be a floating-point torch.dtype .*got 'float32'",
    ),
    row(
        "models/device-bad",
        lambda: _cp(device="gpu0"),
        ValueError,
        r"device must be a torch.device or a string such as 'cpu'.*'gpu0'",
    ),
    row(
        "models/dims-zero",
        lambda: _htf(dims=0) if False else CP(3, 0, 2),
        ValueError,
        r"dims\[0\] must be a positive int; got 0",
    ),
    row(
        "models/dims-wrong-length",
        lambda: CP(3, (2, 2), 2),
        ValueError,
        r"dims must have one size per mode: expected 3 .*got 2",
    ),
    row(
        "models/dims-float",
        lambda: CP(3, (2, 2.5, 2), 2),
        ValueError,
        r"dims\[1\] must be a positive int; got 2.5",
    ),
    row(
        "models/dims-str", lambda: CP(3, "abc", 2), TypeError, r"dims must be an int or a sequence"
    ),
    row(
        "models/width-zero",
        lambda: HierarchicalTensorFactorization(trees.balanced(4), 3, 0),
        ValueError,
        r"width of node .* must be a positive int; got 0",
    ),
    row(
        "models/widths-dict-missing",
        lambda: HierarchicalTensorFactorization(trees.balanced(4), 3, {(0, 1): 2}),
        ValueError,
        r"widths must give one width per interior node; missing",
    ),
    row(
        "models/widths-levels-wrong",
        lambda: HierarchicalTensorFactorization(trees.balanced(4), 3, [2, 3, 4]),
        ValueError,
        r"a per-level widths list needs 2 entries",
    ),
    row(
        "models/depth-zero",
        lambda: _htf(depth=0),
        ValueError,
        r"depth must be an int >= 1 \(matrices per node\)",
    ),
    row(
        "models/depth-unknown-node",
        lambda: _htf(depth={"x": 2}),
        ValueError,
        r"depth given for nodes not in the tree: \['x'\]",
    ),
    row(
        "models/output-unknown",
        lambda: _htf(output="sum"),
        ValueError,
        r"unknown output='sum'; valid options: \['trainable', 'ones'\]",
    ),
    row(
        "models/depth-root-fixed-to-ones",
        lambda: _htf(output="ones", depth={(0, 1, 2, 3): 3}),
        ValueError,
        r"depth given for the root \(0, 1, 2, 3\), whose output layer is fixed to ones "
        r"\(output='ones'\) and not trained",
    ),
    row(
        "models/cp-rank-zero",
        lambda: CP(3, 3, 0),
        ValueError,
        r"CP rank must be a positive int \(the number of components\); got 0",
    ),
    row(
        "models/cp-rank-str",
        lambda: CP(3, 3, "2"),
        TypeError,
        r"CP rank must be a positive int \(the number of components\); got str '2'",
    ),
    row(
        "models/tucker-rank-zero",
        lambda: Tucker(3, 3, 0),
        ValueError,
        r"Tucker rank at 0 must be a positive int; got 0",
    ),
    row(
        "models/tucker-ranks-dict-missing",
        lambda: Tucker(3, 3, {0: 2}),
        ValueError,
        r"Tucker ranks as a dict need one rank per mode \[0, 1, 2\]; missing modes \[1, 2\]",
    ),
    row(
        "models/tt-ranks-dict-unknown",
        lambda: TensorTrain(3, 3, {0: 2, 1: 2, 5: 1}),
        ValueError,
        r"TensorTrain ranks as a dict need one rank per bond \[0, 1\]; unknown keys \[5\]",
    ),
    row(
        "models/tt-ranks-count",
        lambda: TensorTrain(4, 3, [2, 2]),
        ValueError,
        r"TensorTrain needs 3 ranks; got 2",
    ),
    row(
        "models/dmf-depth",
        lambda: deep_matrix_factorization(3, 3, 2, 1),
        ValueError,
        r"deep matrix factorization needs depth >= 2 matrices; got 1",
    ),
    row(
        "models/network-not-a-network",
        lambda: NetworkModel("ab,bc", trees.star(2)),
        TypeError,
        r"network must be a TensorNetwork; got str",
    ),
    # evaluation
    row(
        "models/indices-float",
        lambda: _cp()(torch.zeros(2, 3)),
        TypeError,
        r"indices must have an integer dtype; got torch.float32",
    ),
    row(
        "models/indices-list",
        lambda: _cp()([[0, 1, 2]]),
        TypeError,
        r"indices must be a torch integer tensor of shape \(batch, 3\); got list",
    ),
    row(
        "models/indices-shape",
        lambda: _cp()(torch.zeros(2, 4, dtype=torch.long)),
        ValueError,
        r"indices must have shape \(batch, 3\) .*got shape \(2, 4\)",
    ),
    row(
        "models/indices-range",
        lambda: _cp()(torch.tensor([[0, 1, 3]])),
        IndexError,
        r"index 3 out of range for mode 2 of size 3 \(valid: 0..2\)",
    ),
    row(
        "models/indices-meta",
        lambda: _cp()(torch.zeros(2, 3, dtype=torch.long, device="meta")),
        ValueError,
        r"indices are on the meta device, which holds shapes but no values",
    ),
    row(
        "models/tt-indices-meta",
        lambda: TensorTrain(3, 3, 2)(torch.zeros(2, 3, dtype=torch.long, device="meta")),
        ValueError,
        r"indices are on the meta device",
    ),
    row(
        "models/tt-indices-range",
        lambda: TensorTrain(3, 3, 2)(torch.tensor([[0, -1, 0]])),
        IndexError,
        r"index -1 out of range for mode 1",
    ),
    row(
        "models/sensing-count",
        lambda: _cp().forward_sensing([torch.ones(2, 3)]),
        ValueError,
        r"expected 3 sensing vectors \(one per mode\); got 1",
    ),
    row(
        "models/sensing-dtype",
        lambda: _cp().forward_sensing(torch.ones(2, 3, 3, dtype=torch.float64)),
        TypeError,
        r"sensing vectors of mode 0 are torch.float64",
    ),
    row(
        "models/to-dense-too-big",
        lambda: CP(8, 10, 2).to_dense(max_entries=1000),
        ValueError,
        r"to_dense\(\) would build 100,000,000 entries .*max_entries=1,000",
    ),
    # loading parameters
    row(
        "models/load-unknown-node",
        _load(_cp(), {"x": torch.ones(3, 2)}),
        ValueError,
        r"unknown matrices keys \['x'\]",
    ),
    row(
        "models/load-shape",
        _load(_cp(), {0: torch.ones(3, 5)}),
        ValueError,
        r"matrices\[0\]\[0\] must have shape \(3, 2\) or \(1, 3, 2\) .*got \(3, 5\)",
    ),
    row(
        "models/load-nan",
        _load(_cp(), {0: torch.full((3, 2), float("nan"))}),
        ValueError,
        r"matrices\[0\]\[0\] has non-finite entries",
    ),
    row(
        "models/load-fixed-root",
        _load(_cp(), {(0, 1, 2): torch.ones(2, 1)}),
        ValueError,
        r"output is fixed to ones .*cannot be loaded",
    ),
    row(
        "models/load-deep-needs-list",
        _load(_htf(depth=2), {0: torch.ones(3, 4)}),
        ValueError,
        r"matrices\[0\] must be 2 tensor\(s\) \(the node has 2 trainable matrices\)",
    ),
    row(
        "models/load-not-mapping",
        _load(_cp(), [torch.ones(3, 2)]),
        TypeError,
        r"matrices must be a mapping; got list",
    ),
    row(
        "models/load-tensors-unknown",
        lambda: Tucker(3, 3, 2).load_tensors_({"x": 1}),
        ValueError,
        r"unknown tensors keys \['x'\]",
    ),
    row(
        "models/rescale-nan",
        lambda: _nan_model().rescale_(1.0),
        ValueError,
        r"cannot rescale: the node matrices of \[0\] have non-finite entries",
    ),
]


def _nan_model():
    model = _cp()
    with torch.no_grad():
        model.layers()[0][0][0, 0, 0] = float("nan")
    return model


# --------------------------------------------------------------------------- analysis
def _mats(tree, edits, width=2, dims=2):
    from tnreg.testing import random_matrices

    mats = random_matrices(tree, dims, width, seed=0)
    mats.update(edits)
    return mats


ANALYSIS = [
    row(
        "analysis/not-a-model",
        lambda: node_spectra(object()),
        AnalysisError,
        r"expected a tnreg model or a mode tree \(networkx.DiGraph\) with matrices; got object",
    ),
    row(
        "analysis/tree-without-matrices",
        lambda: node_spectra(trees.star(3)),
        AnalysisError,
        r"node matrices are required with a plain tree",
    ),
    row(
        "analysis/root-node",
        lambda: node_spectra(_cp(), nodes=[(0, 1, 2)]),
        AnalysisError,
        r"node \(0, 1, 2\) is the root",
    ),
    row(
        "analysis/unknown-node",
        lambda: node_spectra(_cp(), nodes=["x"]),
        AnalysisError,
        r"unknown node 'x'",
    ),
    row(
        "analysis/nan-parameter",
        lambda: node_spectra(_nan_model()),
        AnalysisError,
        r"layer 0 of node 0 has 1 non-finite entries \(NaN or Inf\)",
    ),
    row(
        "analysis/nan-report",
        lambda: rank_report(_nan_model()),
        AnalysisError,
        r"of node 0 has 1 non-finite entries",
    ),
    row(
        "analysis/dtype-half",
        lambda: node_spectra(_cp(), dtype=torch.float16),
        AnalysisError,
        r"dtype must be torch.float64 \(default\), torch.float32 or None",
    ),
    row(
        "analysis/half-params-kept",
        lambda: node_spectra(_cp(dtype=torch.float16), dtype=None),
        AnalysisError,
        r"is torch.float16, which eigen-solvers do not support",
    ),
    row(
        "analysis/member-range",
        lambda: rank_report(_cp(), member=5),
        AnalysisError,
        r"member must be None or an int in 0..0",
    ),
    row(
        "analysis/star-needed",
        lambda: component_norms(_htf()),
        AnalysisError,
        r"component_norms needs a star \(CP\) tree",
    ),
    row(
        "analysis/cp-squared-star-needed",
        lambda: cp_squared_norms(_htf()),
        AnalysisError,
        r"cp_squared_norms needs a star \(CP\) tree",
    ),
    row(
        "analysis/dense-core-local",
        lambda: local_component_norms(Tucker(3, 3, 2)),
        AnalysisError,
        r"local_component_norms reads local components, which Tucker",
    ),
    row(
        "analysis/dense-core-gramians",
        lambda: gramians(TensorTrain(3, 3, 2)),
        AnalysisError,
        r"gramians needs a product-pooling model",
    ),
    row(
        "analysis/rows-unknown",
        lambda: matricization_spectrum(_cp(), [9]),
        AnalysisError,
        r"rows must be a subset of the network's open indices \[0, 1, 2\] .*unknown \[9\]",
    ),
    row(
        "analysis/rows-missing",
        lambda: matricization_spectrum(_cp().network, list(_cp().tensors().values())),
        AnalysisError,
        r"needs rows",
    ),
    row(
        "analysis/method-unknown",
        lambda: matricization_spectrum(_cp(), [0], method="svd"),
        AnalysisError,
        r"unknown method='svd'; valid options: \['auto', 'gram', 'dense'\]",
    ),
    row(
        "analysis/dense-spectrum-1d",
        lambda: dense_spectrum(torch.ones(3), [0]),
        AnalysisError,
        r"tensor must be a torch.Tensor \(E, d_0, ..., d_N-1\)",
    ),
    row(
        "analysis/dense-spectrum-repeat",
        lambda: dense_spectrum(torch.ones(1, 2, 2), [0, 0]),
        AnalysisError,
        r"repeated \[0\]",
    ),
    row(
        "analysis/matrices-missing-root",
        lambda: node_spectra(trees.star(2), {0: torch.ones(1, 2, 2), 1: torch.ones(1, 2, 2)}),
        AnalysisError,
        r"missing root output layer",
    ),
    row(
        "analysis/matrices-not-3d",
        lambda: node_spectra(trees.star(2), _mats(trees.star(2), {0: torch.ones(2, 2)})),
        AnalysisError,
        r"matrix of node 0 must be a 3-d torch.Tensor \(E, rows, cols\)",
    ),
    row(
        "analysis/matrices-columns",
        lambda: node_spectra(
            trees.star(2), _mats(trees.star(2), {0: torch.ones(1, 2, 3, dtype=torch.float64)})
        ),
        AnalysisError,
        r"matrix of node 0 has 3 columns .*expected the width of its parent",
    ),
    row(
        "analysis/matrices-mixed-dtype",
        lambda: node_spectra(trees.star(2), _mats(trees.star(2), {0: torch.ones(1, 2, 2)})),
        AnalysisError,
        r"matrix of node 0 has ensemble size 1, torch.float32",
    ),
    row(
        "analysis/matrices-not-mapping",
        lambda: node_spectra(trees.star(2), [1, 2]),
        AnalysisError,
        r"matrices must be a mapping node -> \(E, rows, cols\) tensor; got list",
    ),
    row(
        "analysis/layers-empty",
        lambda: invariants(trees.star(2), {0: [], 1: torch.ones(1, 2, 2)}),
        AnalysisError,
        r"layers of node 0 is empty",
    ),
    row(
        "analysis/layers-chain",
        lambda: invariants(
            trees.star(2), {0: [torch.ones(1, 2, 3), torch.ones(1, 4, 2)], 1: torch.ones(1, 2, 2)}
        ),
        AnalysisError,
        r"layers of node 0 do not chain",
    ),
    row(
        "analysis/drift-keys",
        lambda: drift({"a": torch.ones(1)}, {"b": torch.ones(1)}),
        ValueError,
        r"before and after must have the same keys",
    ),
    row(
        "analysis/numerical-rank-negative-rtol",
        lambda: numerical_rank(torch.ones(1, 2), rtol=-1.0),
        ValueError,
        r"rtol",
    ),
    row(
        "analysis/spectrum-nan",
        lambda: effective_rank(torch.tensor([float("nan"), 1.0])),
        ValueError,
        r"finite|NaN",
    ),
]


# --------------------------------------------------------------------------- command line
# (argument, expected one-line message); every one exits with status 2 and no traceback
CLI = [
    (["demo", "--steps", "-5"], r"argument --steps: expected an int >= 0; got -5"),
    (["demo", "--init-std", "0"], r"argument --init-std: expected a finite number > 0; got 0"),
    (["demo", "--target-rank", "0"], r"argument --target-rank: expected an int >= 1; got 0"),
    (["demo", "--lr", "inf"], r"argument --lr: expected a finite number > 0; got inf"),
    (["demo", "--lr", "nan"], r"argument --lr: expected a finite number > 0; got nan"),
    (["demo", "--rtol", "2"], r"argument --rtol: expected a finite number in \(0, 1\); got 2"),
    (["demo", "--order", "1"], r"argument --order: expected an int >= 2; got 1"),
    (["demo", "--dim", "x"], r"argument --dim: expected an int >= 1; got 'x'"),
    (["demo", "--seed", "-1"], r"argument --seed: expected an int >= 0; got -1"),
    (["demo", "--width", "0"], r"argument --width: expected an int >= 1; got 0"),
]


@pytest.mark.parametrize(("call", "error", "match"), [*MODELS, *ANALYSIS])
def test_bad_input(call, error, match) -> None:
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize(("argv", "match"), CLI, ids=[" ".join(a) for a, _ in CLI])
def test_bad_cli_flag(argv, match, capsys) -> None:
    from tnreg.cli import main

    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) <= 2
    assert re.search(match, err), err
