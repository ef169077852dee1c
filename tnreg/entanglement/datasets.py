"""Data sets for data entanglement: features scaled to [0, 1], labels in {−1, +1}.

Vocabulary
----------
planted data set
    Features in hidden groups: every sample draws one latent value per group, and each feature
    of a group is that latent plus small noise, so features depend strongly within a group and
    not across groups. The features are then randomly permuted; the *planted tree* (a balanced
    tree over each group, then over the groups) is returned in the permuted labels, so the
    grouping a tree search should recover is known.

``digits`` and ``breast-cancer`` are scikit-learn's bundled data sets (``pip install
'tnreg[data]'``; no download): digits' 8 × 8 images in raster order, pixel / 16, label +1 for
digits 5..9 and −1 for 0..4; breast cancer's 30 features min-max scaled, label +1 for benign.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from tnreg.entanglement.measure import EntanglementError, check_data
from tnreg.trees import from_nested

__all__ = ["DATASETS", "Data", "load_data", "load_file", "planted"]

DATASETS = ("digits", "breast-cancer", "planted")


@dataclass(frozen=True)
class Data:
    """Samples ``x`` (M, N) in [0, 1], labels ``y`` (M,) in {−1, +1} or None, and a name.

    ``groups`` and ``tree`` are the hidden feature groups and the planted tree of a planted
    data set (None otherwise).
    """

    x: np.ndarray
    y: np.ndarray | None
    name: str
    groups: tuple[tuple[int, ...], ...] | None = None
    tree: nx.DiGraph | None = None


def _sklearn(loader: str) -> Any:
    try:
        from sklearn import datasets
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(f"{loader} needs scikit-learn: pip install 'tnreg[data]'") from err
    return getattr(datasets, loader)()


def _minmax(x: np.ndarray) -> np.ndarray:
    low, high = x.min(axis=0), x.max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    return np.clip((x - low) / span, 0.0, 1.0)


def load_data(name: str, *, seed: int = 0) -> Data:
    """One of :data:`DATASETS` (``seed`` only matters for ``planted``).

    Examples
    --------
    >>> data = load_data("planted", seed=0)
    >>> data.x.shape, sorted(set(data.y.tolist()))
    ((512, 32), [-1.0, 1.0])
    """
    if name == "digits":
        raw = _sklearn("load_digits")
        return Data(raw.data / 16.0, np.where(raw.target >= 5, 1.0, -1.0), name)
    if name == "breast-cancer":
        raw = _sklearn("load_breast_cancer")
        return Data(
            _minmax(raw.data.astype(np.float64)), np.where(raw.target == 1, 1.0, -1.0), name
        )
    if name == "planted":
        return planted(seed=seed)
    raise EntanglementError(
        f"unknown data set {name!r}; valid names: {list(DATASETS)}, or a .npz/.npy/.csv file"
    )


def planted(
    groups: int = 8,
    size: int = 4,
    samples: int = 512,
    *,
    noise: float = 0.05,
    seed: int,
) -> Data:
    """A planted data set: ``groups`` hidden groups of ``size`` features, randomly permuted.

    Feature f of group k is ``clip(z_k + noise * ε, 0, 1)`` with z_k ~ U[0, 1] per sample and
    ε standard normal; the label is the sign of ``z_0 − 1/2`` (it depends on one group only).

    Returns
    -------
    Data
        With ``groups`` (the permuted feature indices of each group) and ``tree`` (the planted
        tree in permuted labels).

    Examples
    --------
    >>> d = planted(4, 2, 100, seed=1)
    >>> d.x.shape, [len(g) for g in d.groups]
    ((100, 8), [2, 2, 2, 2])
    """
    for name, value, low in (("groups", groups, 1), ("size", size, 1), ("samples", samples, 1)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise EntanglementError(f"planted: {name} must be an int >= {low}; got {value!r}")
    if groups * size < 2:
        raise EntanglementError(f"planted: needs at least 2 features; got {groups} x {size}")
    rng = np.random.default_rng(seed)
    z = rng.random((samples, groups))
    x = np.clip(np.repeat(z, size, axis=1) + noise * rng.standard_normal((samples, groups * size)),
                0.0, 1.0)  # fmt: skip
    y = np.where(z[:, 0] > 0.5, 1.0, -1.0)
    perm = rng.permutation(groups * size)  # column j of the output is planted feature perm[j]
    where = np.argsort(perm)  # planted feature f sits at column where[f]
    hidden = tuple(
        tuple(sorted(int(where[k * size + i]) for i in range(size))) for k in range(groups)
    )
    nested = [_balanced_nested(list(g)) for g in hidden]
    return Data(x[:, perm], y, "planted", hidden, from_nested(_balanced_nested(nested)))


def _balanced_nested(items: list) -> Any:
    """Pair items level by level (a balanced binary nesting); one item is returned as is."""
    while len(items) > 1:
        items = [tuple(items[i : i + 2]) if i + 1 < len(items) else items[i]
                 for i in range(0, len(items), 2)]  # fmt: skip
    return items[0]


def load_file(path: str | Path) -> Data:
    """Samples from a ``.npz`` (arrays ``x`` and optional ``y``), ``.npy`` (x) or ``.csv`` file.

    A ``.csv`` file holds one sample per row; a header row is skipped; with ``y`` in the last
    column name it ``y`` in the header.
    """
    path = Path(path)
    if not path.is_file():
        raise EntanglementError(f"no such data file: {str(path)!r}")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        with np.load(path) as z:
            if "x" not in z:
                raise EntanglementError(f"{path}: a .npz file needs an array 'x'; got {list(z)}")
            x, y = z["x"], (z["y"] if "y" in z else None)
    elif suffix == ".npy":
        x, y = np.load(path), None
    elif suffix == ".csv":
        x, y = _read_csv(path)
    else:
        raise EntanglementError(f"{path}: unknown file type {suffix!r}; use .npz, .npy or .csv")
    x, y = check_data(x, y, where=str(path))
    return Data(x, y, path.stem)


def _read_csv(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    first = path.read_text().splitlines()[:1]
    header = [h.strip() for h in first[0].split(",")] if first else []
    has_header = bool(header) and not _numeric(header[0])
    table = np.loadtxt(path, delimiter=",", skiprows=int(has_header), ndmin=2)
    if has_header and header[-1] == "y":
        return table[:, :-1], table[:, -1]
    return table, None


def _numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
