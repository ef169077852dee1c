"""Trackers: what a run records every ``track_every`` steps.

Vocabulary
----------
tracker
    A callable ``(model, context) -> dict[str, float | Tensor]`` run under ``torch.no_grad``;
    each value is a number or a ``(E,)`` tensor (one value per ensemble member). Built-in ones
    are named in :data:`TRACKERS`; a user tracker is a few lines::

        def weight_max(model, context):
            return {"weight_max": torch.stack([p.abs().amax() for p in model.parameters()]).max()}

context
    :class:`TrackContext`: the step, the data on the model's device, the config, the loss, a
    ``state`` dict that persists across checks and is saved in checkpoints (e.g. the invariants
    at step 0) and :meth:`TrackContext.predict`, which evaluates the model once per split and
    check however many trackers ask.
metric names
    ``loss``, ``train_mse``, ``test_mse``, ``normalized_error`` (``||W - W*|| / ||W*||``:
    exactly over all entries when the target is given and the tensor has at most
    :data:`EXACT_ERROR_MAX` entries, else on the test entries), ``param_norm``,
    ``erank/<node>``, ``rank/<node>`` (numerical rank, rtol ``config.rank_rtol``),
    ``sigma/<node>/<k>`` (top-k singular values, k = 0 largest), ``component/<k>`` (CP: top-k
    component norms), ``local/<node>/<k>`` (top-k local component norms at interior nodes),
    ``invariant_drift`` (max abs change of the conserved quantities since step 0). ``<node>``
    is :func:`tnreg.trees.node_names`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from tnreg import trees
from tnreg.models.engine.members import row_sums
from tnreg.train.losses import LossFn
from tnreg.train.step import evaluate

__all__ = [
    "EXACT_ERROR_MAX",
    "TRACKERS",
    "TrackContext",
    "Tracker",
    "hierarchical_rank_of",
    "resolve_trackers",
    "run_trackers",
]

EXACT_ERROR_MAX = 2**16

Tracker = Callable[[torch.nn.Module, "TrackContext"], Mapping[str, Any]]


@dataclass
class TrackContext:
    """What trackers see at a check (see the module docstring).

    Attributes
    ----------
    step
        Optimizer steps taken so far.
    data
        The dataset (``train_indices``, ``train_values``, ``test_*``, optionally ``target``).
    train_inputs, train_values, test_inputs, test_values
        The splits on the model's device and dtype (``test_*`` may be ``None``).
    loss_fn
        The per-member training loss.
    top_k, rank_rtol
        How many singular values / norms to keep; rtol of the numerical ranks.
    state
        Persistent tracker state, saved in checkpoints (keep tensors or plain values here).
    cache
        Scratch space that lives as long as the run (not saved), e.g. the exact-error entries.
    """

    step: int
    data: Any
    train_inputs: Any
    train_values: torch.Tensor
    test_inputs: Any
    test_values: torch.Tensor | None
    loss_fn: LossFn
    top_k: int = 5
    rank_rtol: float = 1e-3
    state: dict[str, Any] = field(default_factory=dict)
    cache: dict[str, Any] = field(default_factory=dict)
    predictions: dict[tuple[str, int], torch.Tensor] = field(default_factory=dict)

    def predict(self, model: torch.nn.Module, split: str) -> torch.Tensor:
        """Model output ``(E, B)`` on ``"train"`` or ``"test"``, computed once per check."""
        key = (split, self.step)
        if key not in self.predictions:
            inputs = self.train_inputs if split == "train" else self.test_inputs
            self.predictions = {k: v for k, v in self.predictions.items() if k[1] == self.step}
            self.predictions[key] = evaluate(model, inputs)
        return self.predictions[key]


def _has_tree(model: torch.nn.Module) -> bool:
    return hasattr(model, "tree") and hasattr(model, "matrices") and hasattr(model, "layers")


def track_loss(model: torch.nn.Module, context: TrackContext) -> dict[str, Any]:
    """``loss``: the training loss on the whole training set."""
    return {"loss": context.loss_fn(context.predict(model, "train"), context.train_values)}


def _exact_entries(model: torch.nn.Module, context: TrackContext) -> Any:
    """All multi-indices and the target's values there, when cheap (cached in the context)."""
    if "exact" in context.cache:
        return context.cache["exact"]
    target = getattr(context.data, "target", None)
    dims = getattr(model, "dims", None)
    found = None
    total = 1
    for d in dims or (EXACT_ERROR_MAX + 1,):
        total *= d
    if callable(target) and dims is not None and total <= EXACT_ERROR_MAX:
        grids = torch.cartesian_prod(*(torch.arange(d) for d in dims)).reshape(total, len(dims))
        values = torch.as_tensor(target(grids)).to(context.train_values)
        found = (grids.to(context.train_values.device), values.reshape(-1))
    context.cache["exact"] = found
    return found


def _mean(x: torch.Tensor) -> torch.Tensor:
    """Per-member mean of an (E, B) tensor, summed as for a single model (members agree
    bit for bit with single runs, see :func:`tnreg.models.engine.members.row_sums`)."""
    return row_sums(x) / x.shape[1]


def track_errors(model: torch.nn.Module, context: TrackContext) -> dict[str, Any]:
    """``train_mse``, ``test_mse`` (with a test split) and ``normalized_error``."""
    out: dict[str, Any] = {}
    train = context.predict(model, "train")
    out["train_mse"] = _mean((train - context.train_values).square())
    pred, ref = train, context.train_values
    if context.test_values is not None and context.test_values.numel():
        pred, ref = context.predict(model, "test"), context.test_values
        out["test_mse"] = _mean((pred - ref).square())
    exact = _exact_entries(model, context)
    if exact is not None:
        pred, ref = evaluate(model, exact[0]), exact[1]
    out["normalized_error"] = row_sums((pred - ref).square()).sqrt() / ref.square().sum().sqrt()
    return out


def track_param_norm(model: torch.nn.Module, context: TrackContext) -> dict[str, Any]:
    """``param_norm``: the Euclidean norm of all parameters of each member."""
    params = list(model.parameters())
    members = params[0].shape[0]
    total = sum(row_sums(p.detach().reshape(members, -1).square()) for p in params)
    return {"param_norm": total.sqrt()}


def track_spectra(model: torch.nn.Module, context: TrackContext) -> dict[str, Any]:
    """``erank/<node>``, ``rank/<node>`` and ``sigma/<node>/<k>`` at every non-root node."""
    if not _has_tree(model):
        return {}
    from tnreg.analysis import effective_rank, numerical_rank
    from tnreg.analysis.spectra import node_scaled_spectra

    names = trees.node_names(model.tree)
    out: dict[str, Any] = {}
    for v, s in node_scaled_spectra(model).items():
        name = names[v]
        out[f"erank/{name}"] = effective_rank(s.relative)
        out[f"rank/{name}"] = numerical_rank(s.relative, rtol=context.rank_rtol)
        top = s.relative[:, : context.top_k] * s.log_max.exp().unsqueeze(-1)
        out.update({f"sigma/{name}/{k}": top[:, k] for k in range(top.shape[1])})
    return out


def track_components(model: torch.nn.Module, context: TrackContext) -> dict[str, Any]:
    """``component/<k>`` on a star tree (CP), else ``local/<node>/<k>`` at interior nodes."""
    if not _has_tree(model):
        return {}
    from tnreg.analysis import local_component_norms

    tree = model.tree
    names = trees.node_names(tree)
    top = trees.root(tree)
    local = local_component_norms(model, sort=True)
    star = all(trees.is_leaf(tree, c) for c in trees.children(tree, top))
    out: dict[str, Any] = {}
    for v, norms in local.items():
        norms = norms[:, : context.top_k]
        prefix = "component" if star else f"local/{names[v]}"
        out.update({f"{prefix}/{k}": norms[:, k] for k in range(norms.shape[1])})
    return out


def track_invariants(model: torch.nn.Module, context: TrackContext) -> dict[str, Any]:
    """``invariant_drift``: max abs change of the conserved quantities since the first check."""
    if not _has_tree(model):
        return {}
    from tnreg.analysis import drift, invariants

    now = {k: v.detach().clone() for k, v in invariants(model).items()}
    if "invariants0" not in context.state:
        context.state["invariants0"] = now
    drifts = drift(context.state["invariants0"], now)
    if not drifts:
        return {}
    return {"invariant_drift": torch.stack(list(drifts.values())).amax(0)}


TRACKERS: dict[str, Tracker] = {
    "loss": track_loss,
    "errors": track_errors,
    "param_norm": track_param_norm,
    "spectra": track_spectra,
    "components": track_components,
    "invariants": track_invariants,
}


def resolve_trackers(names: Sequence[str], extra: Sequence[Tracker] = ()) -> list[Tracker]:
    """Built-in trackers by name, then the user's ``extra`` callables.

    Raises
    ------
    ValueError
        On an unknown name, or an extra that is not callable.
    """
    out = []
    for name in names:
        if name not in TRACKERS:
            raise ValueError(f"unknown tracker {name!r}; valid options: {list(TRACKERS)}")
        out.append(TRACKERS[name])
    for fn in extra:
        if not callable(fn):
            raise ValueError(
                f"trackers must be callables (model, context) -> dict; got {type(fn).__name__}"
            )
        out.append(fn)
    return out


def _as_member_tensor(name: str, value: Any, members: int) -> torch.Tensor:
    t = torch.as_tensor(value).detach()
    if t.ndim == 0:
        t = t.expand(members)
    if t.shape != (members,):
        raise ValueError(
            f"tracker value {name!r} must be a number or a ({members},) tensor (one per "
            f"ensemble member); got shape {tuple(t.shape)}"
        )
    return t


def run_trackers(
    model: torch.nn.Module, context: TrackContext, trackers: Sequence[Tracker], members: int
) -> dict[str, list[float | int]]:
    """Run every tracker; returns metric -> one Python number per member (in tracker order).

    Floats are moved to the host in one transfer and integers (ranks) in another.

    Raises
    ------
    ValueError
        If two trackers return the same metric name, or a value has the wrong shape.
    """
    values: dict[str, torch.Tensor] = {}
    with torch.no_grad():
        for fn in trackers:
            for name, value in fn(model, context).items():
                if name in values:
                    raise ValueError(f"two trackers return the metric {name!r}; rename one")
                values[name] = _as_member_tensor(name, value, members)
    ints = [k for k, v in values.items() if not v.is_floating_point()]
    floats = [k for k in values if k not in ints]
    out: dict[str, list] = {}
    for keys, dtype in ((floats, torch.float64), (ints, torch.int64)):
        if keys:
            stacked = torch.stack([values[k].to(dtype) for k in keys]).cpu().tolist()
            out.update(zip(keys, stacked))
    return {k: out[k] for k in values}


def hierarchical_rank_of(metrics: Mapping[str, Sequence[Any]], member: int = 0) -> tuple[int, ...]:
    """The ``rank/<node>`` values of one member, in column order (for the progress bar)."""
    return tuple(int(v[member]) for k, v in metrics.items() if k.startswith("rank/"))
