"""Optimizers: plain and mini-batch GD, SGD with momentum, Adam and the papers' GroupRMSprop.

Vocabulary
----------
ensemble member
    Every parameter of a tnreg model carries a leading axis of size E (E = 1 for a single
    model); member e's parameters are the slices ``p[e]``. The loss is the sum of the members'
    losses, so each slice's gradient is its own member's.
GroupRMSprop
    The adaptive-step gradient descent of Razin et al. (2021, 2022), docs/design.md §6: one scalar
    ``v_t = α v_{t-1} + (1 - α) Σ_params ||∇||²`` (``v_0 = 0``), step size
    ``lr / (sqrt(v_t / (1 - α^t)) + eps)``, then ``θ ← θ - step · ∇`` for every parameter.
    It is gradient descent with a time-varying step: a time-reparameterized discretization of
    gradient flow. Here ``v`` has one entry per ensemble member, so members stay independent:
    each member's squared norms are summed as a single model's are
    (:func:`tnreg.models.engine.members.row_sums`), so a member's steps are bit for bit those of
    the single model.

Every ``step()`` runs on tensors only (no ``.item()``, no branching on values), so it can be
captured in a CUDA graph.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

from tnreg.models.engine.members import row_sums

__all__ = ["GroupRMSprop", "make_optimizer"]


class GroupRMSprop(torch.optim.Optimizer):
    """Gradient descent with one adaptive scalar step per ensemble member (docs/design.md §6).

    Parameters
    ----------
    params
        Parameters, each with a leading ensemble axis of the same size E (``per_member=True``),
        or any shapes (``per_member=False``: one scalar for all, the single-model formula).
    lr, alpha, eps
        Learning rate, decay of the squared-gradient average and the denominator's eps.
    per_member
        Keep one ``v`` per leading-axis slice (default) or one for everything.

    Raises
    ------
    ValueError
        On a non-positive ``lr``, ``alpha`` outside [0, 1), negative ``eps``, or parameters whose
        leading axes differ while ``per_member=True``.

    Examples
    --------
    >>> w = torch.nn.Parameter(torch.tensor([[3.0], [4.0]]))  # two members, one weight each
    >>> opt = GroupRMSprop([w], lr=0.1)
    >>> w.grad = torch.tensor([[1.0], [2.0]])
    >>> opt.step()
    >>> opt.state_dict()["state"][0]["v"]  # (1 - 0.99) * grad², per member
    tensor([0.0100, 0.0400])
    >>> w.detach()  # each member moved by lr * grad / |grad| (up to eps)
    tensor([[2.9000],
            [3.9000]])
    """

    def __init__(
        self,
        params: Iterable[torch.Tensor],
        *,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-6,
        per_member: bool = True,
    ) -> None:
        if not lr > 0:
            raise ValueError(f"GroupRMSprop: lr must be > 0; got {lr!r}")
        if not 0 <= alpha < 1:
            raise ValueError(f"GroupRMSprop: alpha must be in [0, 1); got {alpha!r}")
        if not eps >= 0:
            raise ValueError(f"GroupRMSprop: eps must be >= 0; got {eps!r}")
        super().__init__(params, {"lr": lr, "alpha": alpha, "eps": eps})
        self.per_member = per_member
        tensors = [p for g in self.param_groups for p in g["params"]]
        leading = sorted({p.shape[0] if p.ndim else 1 for p in tensors})
        if per_member and len(leading) > 1:
            raise ValueError(
                f"GroupRMSprop(per_member=True) needs one leading ensemble axis size for all "
                f"parameters; got sizes {leading}. Pass per_member=False for a plain model"
            )
        self.members = leading[0] if per_member and tensors else 1
        ref = tensors[0]
        # the whole state lives on the first parameter's slot (one v for all groups)
        self.state[ref]["v"] = torch.zeros(self.members, dtype=ref.dtype, device=ref.device)
        self.state[ref]["t"] = torch.zeros((), dtype=ref.dtype, device=ref.device)
        self._ref = ref

    def _sq_norms(self, grads: list[torch.Tensor]) -> torch.Tensor:
        if self.per_member:
            total = sum(row_sums(g.reshape(self.members, -1).square()) for g in grads)
        else:
            total = sum(g.square().sum() for g in grads).reshape(1)
        return total

    @torch.no_grad()
    def step(self, closure=None):  # type: ignore[override]
        """One update from the current ``.grad`` (missing grads count as zero)."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        state = self.state[self._ref]
        params = [p for g in self.param_groups for p in g["params"] if p.grad is not None]
        group = self.param_groups[0]
        alpha, lr, eps = group["alpha"], group["lr"], group["eps"]
        state["t"].add_(1)
        v = state["v"]
        v.mul_(alpha).add_(self._sq_norms([p.grad for p in params]), alpha=1 - alpha)
        correction = 1 - torch.pow(alpha, state["t"])
        step = lr / ((v / correction).sqrt() + eps)  # (E,)
        for p in params:
            scale = step.reshape(-1, *([1] * (p.ndim - 1))) if self.per_member else step
            p.sub_(p.grad * scale)
        return loss

    def step_sizes(self) -> torch.Tensor:
        """The step size ``lr / (sqrt(v_t / (1 - α^t)) + eps)`` of the last update, ``(E,)``."""
        state = self.state[self._ref]
        group = self.param_groups[0]
        t = torch.clamp(state["t"], min=1)
        correction = 1 - torch.pow(group["alpha"], t)
        return group["lr"] / ((state["v"] / correction).sqrt() + group["eps"])


def make_optimizer(
    name: str,
    params: Iterable[torch.Tensor],
    *,
    lr: float,
    momentum: float = 0.0,
    alpha: float = 0.99,
    eps: float = 1e-6,
    max_weight: float | None = None,
) -> torch.optim.Optimizer:
    """The optimizer ``name`` of :data:`tnreg.train.config.OPTIMIZERS` on ``params``.

    ``"gd"`` is :class:`torch.optim.SGD` without momentum (full- or mini-batch by the data fed
    to it), ``"sgd"`` adds ``momentum``, ``"adam"`` is :class:`torch.optim.Adam` (elementwise,
    so ensemble members stay independent) and ``"group_rmsprop"`` is :class:`GroupRMSprop`.
    ``max_weight`` clamps every parameter entry to ``[-max_weight, max_weight]`` after each
    step (a step post-hook, so captured steps clamp too), as Razin et al. (2021) do for the
    order-784 image tensors.

    Raises
    ------
    ValueError
        On an unknown name.

    Examples
    --------
    >>> make_optimizer("adam", [torch.nn.Parameter(torch.zeros(2))], lr=1e-3).__class__.__name__
    'Adam'
    """
    params = list(params)
    if max_weight is not None and not (isinstance(max_weight, (int, float)) and max_weight > 0):
        raise ValueError(f"max_weight must be a number > 0 or None; got {max_weight!r}")
    if name == "gd":
        opt: torch.optim.Optimizer = torch.optim.SGD(params, lr=lr)
    elif name == "sgd":
        opt = torch.optim.SGD(params, lr=lr, momentum=momentum)
    elif name == "adam":  # capturable: the step count stays on the device (CUDA graphs)
        opt = torch.optim.Adam(params, lr=lr, capturable=bool(params) and params[0].is_cuda)
    elif name == "group_rmsprop":
        opt = GroupRMSprop(params, lr=lr, alpha=alpha, eps=eps)
    else:
        raise ValueError(
            f"unknown optimizer {name!r}; valid options: ['gd', 'sgd', 'adam', 'group_rmsprop']"
        )
    if max_weight is not None:
        bound = float(max_weight)

        @torch.no_grad()
        def clamp(optimizer, args, kwargs) -> None:
            for group in optimizer.param_groups:
                torch._foreach_clamp_min_(group["params"], -bound)
                torch._foreach_clamp_max_(group["params"], bound)

        opt.register_step_post_hook(clamp)
    return opt
