"""Benchmark: how long a user waits for each preset's figures (``tnreg reproduce NAME --quick``).

Vocabulary: a *preset* is one of :data:`tnreg.experiments.presets.PRESETS`; its *quick* variant is
the CPU setting. The wait is the wall-clock time of :func:`tnreg.experiments.reproduce` from the
call to the last figure written: building the data, training every run (with its trackers and
checkpoints), the summary and the PNG + PDF figures. Each preset runs once (they take minutes),
into a temporary folder, in this process, in float64 as the presets say.

Run ``python bench/bench_presets.py [NAME ...] [--device cpu|cuda] [--full]`` (or
``python bench/run.py bench_presets.py`` for every quick preset on the CPU); prints markdown.
``htf-incremental-paper`` (nothing rises by design) is left out unless named.
Times depend on the machine's load: on a shared machine, say so when you record them.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout
import torch

from tnreg.experiments import PRESETS, reproduce

SLOW = ("htf-incremental-paper",)  # nothing rises by design
DEFAULT = [name for name in PRESETS if name not in SLOW]


def _steps(name: str, quick: bool) -> str:
    specs = PRESETS[name].runs(quick)
    return f"{len(specs)} × {specs[0].config['steps']}"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "names", nargs="*", default=DEFAULT, help="presets (default: all but paper)"
    )
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"), help="device")
    parser.add_argument("--full", action="store_true", help="the full variants, not quick")
    args = parser.parse_args(argv)
    quick = not args.full
    print(f"## Wait for `tnreg reproduce NAME{' --quick' if quick else ''}` ({args.device}, "
          f"{torch.get_num_threads()} threads)\n")  # fmt: skip
    print("| preset | runs × steps | wall time (s) | of which figures (s) |")
    print("|---|---|---|---|")
    for name in args.names:
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            result = reproduce(name, quick=quick, out=Path(tmp) / name, device=args.device,
                               echo=lambda _: None)  # fmt: skip
            total = time.perf_counter() - t0
            t1 = time.perf_counter()
            from tnreg.experiments.reproduce import _figures  # the figure step alone, redrawn

            _figures(PRESETS[name], result.run_dirs, Path(tmp) / "again", ("png", "pdf"))
            figures = time.perf_counter() - t1
        print(f"| {name} | {_steps(name, quick)} | {total:.0f} | {figures:.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
