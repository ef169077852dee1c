"""The ``tnreg verify`` claim of data entanglement: lower entanglement, better accuracy.

The claim is registered in :data:`tnreg.theory.registry.REGISTRY` when this module is imported
(``tnreg verify`` imports it with the built-in catalog). Its status is *hypothesis*: the
paper's theorems bound how well a tree tensor network of width R *can* fit data of low
entanglement; they say nothing about what gradient descent reaches, nor about test accuracy.
"""

from __future__ import annotations

import statistics

from tnreg.entanglement.accuracy import split_data, train_on_tree
from tnreg.entanglement.datasets import load_data
from tnreg.entanglement.measure import data_entanglement
from tnreg.entanglement.search import fit_tree
from tnreg.theory.registry import Control, Measurement, register
from tnreg.trees import balanced, random_tree

__all__ = ["entanglement_accuracy"]

WIDTH = 2


def _accuracy(tree, split: tuple, seeds: range, steps: int) -> float:
    x_tr, y_tr, x_te, y_te = split
    runs = [train_on_tree(tree, x_tr, y_tr, x_te, y_te, width=WIDTH, steps=steps, seed=s)[2]
            for s in seeds]  # fmt: skip
    return statistics.mean(runs)


@register(
    "entanglement-accuracy",
    citation="Alexander, De La Vega, Razin & Cohen 2023 (NeurIPS), 'What makes data suitable "
    "for a locally connected neural network?' (statement paraphrased; numbers not verified)",
    statement="hypothesis: at equal width, a tree tensor network trained on the mode tree of "
    "lower data entanglement (summed over nodes) reaches a test accuracy at least as high as on "
    "the canonical tree",
    status="hypothesis",
    setting="breast cancer (sklearn), split seed 0, 30 % test, θ = 0.085; HTF sensing model of "
    "width 2 (mode size 2, logistic loss, Adam 3e-3) on the canonical tree and on the 'refined' "
    "searched tree (searched on the training part); quick: 1 seed, 60 steps, search on 128 "
    "samples with 200 evaluations; full: 3 seeds, 300 steps, 256 samples, 2000 evaluations; "
    "control: a random tree (more entangled than the canonical one) in place of the searched one; "
    "if it gains as well, the gain cannot be credited to lower entanglement",
    tolerance=0.0,
    rule="H(searched) < H(canonical) and acc(searched) − acc(canonical) >= tol",
)
def entanglement_accuracy(quick: bool) -> Measurement:
    """Train on the canonical, the searched and a random tree; compare test accuracies."""
    data = load_data("breast-cancer")
    split = split_data(data.x, data.y, test_fraction=0.3, seed=0)
    x_tr, y_tr = split[0], split[1]
    seeds, steps = (range(1), 60) if quick else (range(3), 300)
    samples, budget = (128, 200) if quick else (256, 2000)
    n = x_tr.shape[1]
    trees = {
        "canonical": balanced(n),
        "searched": fit_tree(
            x_tr, y_tr, strategy="refined", max_samples=samples, budget=budget
        ).tree,
        "random": random_tree(n, seed=0, max_arity=2),
    }
    h = {k: data_entanglement(x_tr, y_tr, t, max_samples=samples).total() for k, t in trees.items()}
    acc = {k: _accuracy(t, split, seeds, steps) for k, t in trees.items()}
    gain, control_gain = acc["searched"] - acc["canonical"], acc["random"] - acc["canonical"]
    held = bool(h["searched"] < h["canonical"] and gain >= 0.0)
    control_held = bool(control_gain >= 0.0)  # a more entangled tree must not gain as well
    detail = ", ".join(f"{k}: H {h[k]:.3f}, test acc {acc[k]:.3f}" for k in trees)
    control = Control(
        "a random tree (more entangled) in place of the searched one: must not gain",
        float(control_gain),
        holds=control_held,
    )
    return Measurement(0.0, float(gain), held, detail=detail + f" ({len(seeds)} seed(s))",
                       control=control)  # fmt: skip
