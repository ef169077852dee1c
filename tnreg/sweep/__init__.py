"""Sweeps: many training runs from one file, on this machine or on a Ray cluster.

- :mod:`tnreg.sweep.spec`: sweep files (a base config, axes, seeds) -> :class:`SweepSpec`.
- :mod:`tnreg.sweep.points`: the points of a sweep and their names.
- :mod:`tnreg.sweep.packing`: runs that differ only in seed or init scale, as one ensemble.
- :mod:`tnreg.sweep.runner`: one task in one process: train, resume or skip, never raise.
- :mod:`tnreg.sweep.local` / :mod:`tnreg.sweep.ray_engine`: the engines.
- :mod:`tnreg.sweep.execute`: :func:`run_sweep` into a sweep directory.
- :mod:`tnreg.sweep.results` / :mod:`tnreg.sweep.report`: ``results.csv``, tables, figures.
"""

from tnreg.sweep.execute import ENGINES, SweepResult, make_engine, plan, run_sweep
from tnreg.sweep.points import Point, expand
from tnreg.sweep.results import read_results
from tnreg.sweep.spec import SweepError, SweepSpec, load_sweep, spec_from_dict

__all__ = [
    "ENGINES",
    "Point",
    "SweepError",
    "SweepResult",
    "SweepSpec",
    "expand",
    "load_sweep",
    "make_engine",
    "plan",
    "read_results",
    "run_sweep",
    "spec_from_dict",
]
