"""``tnreg locality``: train with and without the locality regularizer, sweep, plot, probe.

Examples (see ``tnreg locality --help``)::

    tnreg locality --task pathfinder --path-length 3,5,7,9 --reg 0,3,9 --seeds 3 --out runs/pf
    tnreg locality --path-length 3 --reg 0 --seeds 1 --scale 0.32 --model small \\
        --n-train 4000 --n-test 2000 --epochs 30 --patience 5 --out runs/control

The defaults are the authors' protocol (ResNet-18 on 150×150 Pathfinder; see
:mod:`tnreg.locality.runner`). Every combination of the comma-separated difficulties and λ values
runs ``--seeds`` seeds; the output directory gets one resumable run directory per run,
``results.csv`` and (with matplotlib) ``accuracy.png``. A bad flag value is a one-line error
naming the flag, the value and the allowed range (exit status 2).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["add_parser", "main_locality"]


def _int_in(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected an integer in [{low}, {high}]; got {text!r}"
            ) from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"expected an integer in [{low}, {high}]; got {value}")
        return value

    parse.__name__ = "int"
    return parse


def _float_in(low: float, high: float, *, open_low: bool = False) -> Callable[[str], float]:
    bracket = "(" if open_low else "["

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        ok = math.isfinite(value) and (value > low if open_low else value >= low) and value <= high
        if not ok:
            raise argparse.ArgumentTypeError(
                f"expected a number in {bracket}{low:g}, {high:g}]; got {text!r}"
            )
        return value

    parse.__name__ = "float"
    return parse


def _list_of(item: Callable[[str], Any]) -> Callable[[str], list[Any]]:
    def parse(text: str) -> list[Any]:
        parts = [p for p in text.split(",") if p.strip()]
        if not parts:
            raise argparse.ArgumentTypeError(f"expected a comma-separated list; got {text!r}")
        return [item(p.strip()) for p in parts]

    parse.__name__ = "list"
    return parse


def _add_task_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--task", choices=["pathfinder", "same-class"], default="pathfinder", help="task"
    )
    p.add_argument(
        "--path-length",
        type=_list_of(_int_in(1, 32)),
        default=[9],
        help="Pathfinder path lengths in paddles, e.g. 3,5,7,9 (1..32)",
    )
    p.add_argument(
        "--scale",
        type=_float_in(0.05, 4),
        default=1.0,
        help="Pathfinder image side 150*scale pixels, every length scaled with it",
    )
    p.add_argument(
        "--window",
        type=_float_in(160, 3000),
        default=300.0,
        help="Pathfinder window side in units: smaller crops the same task (paper: 300)",
    )
    p.add_argument(
        "--distance",
        type=_list_of(_int_in(0, 4096)),
        default=[160],
        help="Is-Same-Class gaps between the two images in pixels",
    )
    p.add_argument("--canvas", type=_int_in(8, 4096), default=224, help="Is-Same-Class canvas side")
    p.add_argument(
        "--cifar-root",
        default="",
        help="Is-Same-Class: directory of the CIFAR-10 python pickles (empty: bundled digits)",
    )
    p.add_argument("--n-train", type=_int_in(2, 10**7), default=10000, help="train images")
    p.add_argument("--n-val", type=_int_in(0, 10**7), default=1000, help="validation images")
    p.add_argument("--n-test", type=_int_in(1, 10**7), default=10000, help="test images")
    p.add_argument("--data-seed", type=_int_in(0, 10**6), default=0, help="seed of the data sets")


def _add_training_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--reg",
        type=_list_of(_float_in(0, 1e6)),
        default=[0.0, 3.0],
        help="regularization coefficients λ, e.g. 0,3,9",
    )
    p.add_argument("--seeds", type=_int_in(1, 1000), default=3, help="seeds 0..N-1 per setting")
    p.add_argument("--first-seed", type=_int_in(0, 10**6), default=0, help="first seed")
    p.add_argument(
        "--model", choices=["small", "resnet18", "resnet34"], default="resnet18", help="network"
    )
    p.add_argument(
        "--width",
        type=_float_in(0, 64, open_low=True),
        default=1.0,
        help="width multiplier (small CNN: 16 channels at 1)",
    )
    p.add_argument("--depth", type=_int_in(1, 8), default=4, help="small CNN stages")
    p.add_argument("--epochs", type=_int_in(1, 10**4), default=150, help="most epochs")
    p.add_argument(
        "--patience",
        type=_int_in(0, 10**4),
        default=20,
        help="stop this many epochs after the first with 100%% train accuracy",
    )
    p.add_argument("--batch-size", type=_int_in(2, 65536), default=64, help="batch size")
    p.add_argument(
        "--optimizer", choices=["sgd", "adam"], default="sgd", help="SGD with momentum, or Adam"
    )
    p.add_argument(
        "--lr", type=_float_in(0, 10, open_low=True), default=1e-2, help="constant learning rate"
    )
    p.add_argument("--momentum", type=_float_in(0, 1), default=0.9, help="SGD momentum")
    p.add_argument(
        "--patch-size", type=_int_in(1, 512), default=2, help="side of the regularizer's patches"
    )
    p.add_argument(
        "--min-distance",
        type=_float_in(0, 1e4),
        default=0.0,
        help="least distance between the centres of patches I and J (0: any disjoint J)",
    )
    p.add_argument(
        "--penalty-batch",
        type=_int_in(0, 1 << 20),
        default=0,
        help="compute the penalty on the first N samples of each batch (0: the whole batch)",
    )
    p.add_argument(
        "--snapshots",
        action="store_true",
        help="keep the weights after every epoch (snapshots/epoch-NNN.pt in each run directory)",
    )
    p.add_argument(
        "--data-cache",
        default="",
        help="directory keeping the generated data sets on disk (empty: memory only)",
    )
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1 ...")
    p.add_argument(
        "--threads", type=_int_in(0, 1024), default=0, help="torch CPU threads (0: torch's default)"
    )


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``locality`` command to an argparse ``subparsers`` object and return its parser."""
    p = subparsers.add_parser(
        "locality",
        help="countering locality in CNNs: the regularizer on Pathfinder / Is-Same-Class",
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    _add_task_flags(p)
    _add_training_flags(p)
    p.add_argument("--out", type=Path, default=Path("runs/locality"), help="output directory")
    p.add_argument("--progress", action="store_true", help="print one line per epoch")
    p.add_argument("--no-plot", action="store_true", help="skip accuracy.png")
    p.add_argument(
        "--probe",
        action="store_true",
        help="after training, probe the separation rank against patch distance",
    )
    p.set_defaults(run=main_locality)
    return p


def main_locality(args: argparse.Namespace) -> int:
    """Run the grid the parsed ``args`` describe; returns the exit status."""
    import torch

    from tnreg.locality.grid import plot_sweep, sweep
    from tnreg.locality.runner import LocalityConfig

    if args.threads:
        torch.set_num_threads(args.threads)
    difficulties = args.path_length if args.task == "pathfinder" else args.distance
    names = (
        "task",
        "scale",
        "window",
        "canvas",
        "cifar_root",
        "n_train",
        "n_val",
        "n_test",
        "data_seed",
    )
    names += ("model", "width", "depth", "epochs", "patience", "batch_size", "optimizer", "lr")
    names += ("momentum", "patch_size", "min_distance", "penalty_batch", "snapshots")
    names += ("data_cache", "device", "progress", "probe")
    base = LocalityConfig(**{k: getattr(args, k) for k in names})
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    rows = sweep(base, difficulties=difficulties, regs=args.reg, seeds=seeds, out=args.out)
    print(f"results: {args.out / 'results.csv'}")
    if not args.no_plot:
        try:
            print(f"plot: {plot_sweep(rows, args.out / 'accuracy.png')}")
            if args.probe:
                from tnreg.locality.probe import plot_locality_profile

                probes = {r["name"]: r["probe"] for r in rows}
                print(f"probe plot: {plot_locality_profile(probes, args.out / 'probe.png')}")
        except ImportError:
            print("plot skipped: matplotlib is not installed (pip install tnreg[plot])")
    return 0
