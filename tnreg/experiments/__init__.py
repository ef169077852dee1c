"""The papers' experiments: presets, ``tnreg reproduce`` and the demo.

Nothing in tnreg's core imports this package; it builds on :mod:`tnreg.train`,
:mod:`tnreg.data` and :mod:`tnreg.plots`.

- :mod:`tnreg.experiments.presets`: :data:`PRESETS` (``cp-incremental``, ``htf-incremental``,
  ``htf-incremental-paper``, ``mf-incremental``, ``rank-complexity``), full and quick.
- :mod:`tnreg.experiments.reproduce`: :func:`reproduce` trains a preset, draws its figures and
  prints its summary.
- :mod:`tnreg.experiments.summary`: rise steps, final norms and errors read from a run.
- :mod:`tnreg.experiments.demo`: what ``tnreg demo`` (``make demo``) runs.
- :mod:`tnreg.experiments.commands`: the ``plot`` and ``reproduce`` subcommands.
"""

from tnreg.experiments.presets import PRESETS, Preset, RunSpec, get_preset
from tnreg.experiments.reproduce import ReproduceResult, reproduce
from tnreg.experiments.summary import rise_steps

__all__ = [
    "PRESETS",
    "Preset",
    "ReproduceResult",
    "RunSpec",
    "get_preset",
    "reproduce",
    "rise_steps",
]
