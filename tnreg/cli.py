"""The ``tnreg`` command line.

``tnreg train CONFIG.toml`` trains a model into a run directory (see :mod:`tnreg.train`);
``tnreg analyze RUN_DIR`` prints the rank report of its checkpoint.

``tnreg demo`` builds a mode tree, prints it, plans a batched contraction of the hierarchical
factorization on it, prints the cost report, trains the factorization from small initialization
on a completion task of low hierarchical rank and prints the learned vs target rank at every
node (:mod:`tnreg.experiments.demo`). ``tnreg plot RUN_DIR...`` draws a run's figures and
``tnreg reproduce NAME`` runs a paper experiment (:mod:`tnreg.experiments`).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
import time
from collections.abc import Sequence

from tnreg.errors import report_error

__all__ = ["build_parser", "main"]


def _demo(args: argparse.Namespace) -> int:
    from tnreg.experiments.demo import DemoSettings, run_demo

    settings = DemoSettings(**{k: v for k, v in vars(args).items() if k not in ("command", "run")})
    try:
        return run_demo(settings)
    except (ValueError, TypeError, OSError) as err:
        return report_error("demo", err)


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Examples kept as written; every flag's default shown unless its help names it."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default" in text or action.default in (None, argparse.SUPPRESS, [], False):
            return text
        return f"{text} (default: %(default)s)"


class _Parser(argparse.ArgumentParser):
    """Bad flags give one line (the flag, the value, what is allowed) and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


TRAIN_EXAMPLE = """\
examples:
  tnreg train cp.toml --set lr=1e-3 --set model.init_std=5e-3 --out runs/cp-small
  tnreg train runs/cp-small/config.json --out runs/cp-again   # the same run again
  tnreg train --resume runs/cp-small --set steps=40000         # continue, with more steps

The TOML file holds training keys at the top level and [model] and [data] tables
(see tnreg.train.config); --set takes TOML literals (1e-3, true, [4, 4], cp).
"""

ANALYZE_EXAMPLE = """\
examples:
  tnreg analyze runs/cp-small
  tnreg analyze runs/cp-small/checkpoints/best.pt --rtol 1e-4 --member 0
"""


def _train_config(args: argparse.Namespace):
    from tnreg.train.config import ConfigError, load_config
    from tnreg.train.rundir import RunDir

    if args.resume is not None:
        source = RunDir.open(args.resume).config_path
        if args.config is not None:
            raise ConfigError(
                f"pass either CONFIG or --resume, not both (got {args.config!r} and "
                f"--resume {args.resume!r}); change settings of a resumed run with --set"
            )
    elif args.config is None:
        raise ConfigError("missing CONFIG (a TOML file or a run's config.json), or --resume DIR")
    else:
        source = args.config
    return load_config(source, args.set)


def _default_out(config_path: str | None) -> str:
    from pathlib import Path

    stem = Path(config_path).stem if config_path else "run"
    stem = Path(config_path).parent.name if stem == "config" else stem
    return str(Path("runs") / f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}")


def _train(args: argparse.Namespace) -> int:
    from tnreg.analysis import rank_report
    from tnreg.train import build_model, fit
    from tnreg.train.config import resolve_device, resolve_dtype

    try:
        config = _train_config(args)
        from tnreg.data import make_dataset

        data = make_dataset(config.data)
        config.data = data.config  # fully resolved: config.json reproduces the run
        device, dtype = resolve_device(config.device), resolve_dtype(config.dtype)
        model = build_model(config.model, dtype=dtype, device=device)
        out = args.resume or args.out or _default_out(args.config)
        if args.no_progress:
            config.progress = False
        print(f"{model!r}\ntraining on {config.device} ({config.dtype}) -> {out}", flush=True)
        callbacks = _tensorboard(args.tensorboard)
        result = fit(model, data, config, run_dir=out, resume=args.resume is not None,
                     callbacks=callbacks)  # fmt: skip
        for callback in callbacks:
            callback.close()
    except (ValueError, TypeError, OSError) as err:
        return report_error("train", err)
    print(result.message)
    print(_final_metrics(result))
    if hasattr(result.model, "tree"):
        print(f"\nRank report (numerical rank with rtol {config.rank_rtol}):")
        print(rank_report(result.model, rtol=config.rank_rtol))
        _print_cp_norms(result.model, config.rank_rtol, None)
    print(f"\nrun directory: {result.run_dir}")
    return {"nonfinite": 1, "interrupted": 130}.get(result.stop_reason, 0)


def _load_checkpoint(path_text: str, which: str):
    from pathlib import Path

    from tnreg.train.rundir import RunDir, RunDirError

    path = Path(path_text)
    if path.is_dir():
        return RunDir.open(path).load_checkpoint(which)
    if not path.is_file():
        raise RunDirError(f"no run directory or checkpoint at {path_text!r}")
    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # any unpickling failure: not a checkpoint
        raise RunDirError(f"{path_text!r} is not a tnreg checkpoint: {err}") from None


def _analyze(args: argparse.Namespace) -> int:
    from tnreg.analysis import rank_report
    from tnreg.train.config import resolve_dtype
    from tnreg.train.rundir import RunDirError, model_from_spec

    try:
        state = _load_checkpoint(args.path, args.checkpoint)
        if not isinstance(state, dict) or "model" not in state:
            raise RunDirError(f"{args.path!r} is not a tnreg checkpoint (no 'model' entry)")
        if state.get("model_spec") is None:
            raise RunDirError(
                f"the checkpoint at {args.path!r} holds a model that is not a tnreg "
                f"factorization; load its state dict in Python instead"
            )
        model = model_from_spec(state["model_spec"], dtype=resolve_dtype(state["dtype"]))
        model.load_state_dict(state["model"])
        rtol = args.rtol if args.rtol is not None else state["config"].get("rank_rtol", 1e-3)
        report = rank_report(model, rtol=rtol, member=args.member)
    except (ValueError, TypeError, OSError) as err:
        return report_error("analyze", err)
    print(f"{model!r} at step {state['step']}\n")
    print(f"Rank report (numerical rank with rtol {rtol}):")
    print(report)
    _print_cp_norms(model, rtol, args.member)
    return 0


def _tensorboard(log_dir: str | None) -> list:
    """The TensorBoard callback for ``--tensorboard DIR`` (none without the flag)."""
    if log_dir is None:
        return []
    from tnreg.train.tensorboard import TensorBoardCallback

    try:
        return [TensorBoardCallback(log_dir)]
    except ImportError as err:
        raise OSError(str(err)) from None


def _final_metrics(result) -> str:
    """The last check's loss and errors, one line per ensemble member."""
    keys = ("loss", "train_mse", "test_mse", "normalized_error")
    final = {k: result.final[k] for k in keys if k in result.final}
    members = len(next(iter(final.values()), []))
    lines = [f"final metrics at step {result.steps}:"]
    for e in range(members):
        values = "  ".join(f"{k} {v[e]:.4g}" for k, v in final.items())
        lines.append(f"  {'' if members == 1 else f'member {e}: '}{values}")
    return "\n".join(lines) if members else "final metrics: none recorded"


def _print_cp_norms(model, rtol: float, member: int | None) -> None:
    """For a CP model: its component norms and how many are non-negligible."""
    from tnreg.analysis.cp_report import cp_component_report, is_cp

    if is_cp(model):
        print("\n" + cp_component_report(model, rtol=rtol, member=member))


def _int_at_least(low: int):
    """An argparse type: an int >= ``low`` (argparse names the flag and exits with status 2)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an int >= {low}; got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"expected an int >= {low}; got {value}")
        return value

    return parse


def _positive_float(below: float = math.inf):
    """An argparse type: a finite float > 0 (and < ``below`` when given)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number; got {text!r}") from None
        if not (math.isfinite(value) and 0 < value < below):
            rng = "> 0" if below == math.inf else f"in (0, {below:g})"
            raise argparse.ArgumentTypeError(f"expected a finite number {rng}; got {text}")
        return value

    return parse


def _add_demo(sub) -> None:
    demo = sub.add_parser(
        "demo",
        help="tree -> network -> plan -> train -> node ranks (what `make demo` runs)",
        description="Train a hierarchical tensor factorization from small init on a target of "
        "low hierarchical rank; print each stage, the learned vs target rank at every node, "
        "and where the figures are.",
        epilog="examples:\n  tnreg demo\n  tnreg demo --steps 6000 --init-std 0.02 --out runs/demo",
        formatter_class=_Formatter,
    )
    demo.add_argument("--order", type=_int_at_least(2), default=4, help="number of modes")
    demo.add_argument("--dim", type=_int_at_least(1), default=6, help="size of every mode")
    demo.add_argument(
        "--width", type=_int_at_least(1), default=16, help="channels per interior node"
    )
    demo.add_argument(
        "--target-rank",
        type=_int_at_least(1),
        default=2,
        help="hierarchical rank of the target at every node",
    )
    demo.add_argument("--samples", type=_int_at_least(1), default=600, help="observed entries")
    demo.add_argument("--steps", type=_int_at_least(0), default=3000, help="training steps")
    demo.add_argument(
        "--init-std", type=_positive_float(), default=0.05, help="init std of the weights"
    )
    demo.add_argument(
        "--lr", type=_positive_float(), default=1e-2, help="learning rate (group_rmsprop)"
    )
    demo.add_argument("--eps", type=_positive_float(), default=1e-14, help="eps of group_rmsprop")
    demo.add_argument(
        "--rtol", type=_positive_float(1.0), default=1e-2, help="rtol of the numerical ranks"
    )
    demo.add_argument("--seed", type=_int_at_least(0), default=0, help="random seed")
    demo.add_argument(
        "--out", metavar="DIR", default=None,
        help="run directory (default: runs/demo-<date-time>)",
    )  # fmt: skip
    demo.add_argument(
        "--no-figures", dest="figures", action="store_false",
        help="skip the figures (default: draw them)",
    )  # fmt: skip
    demo.set_defaults(run=_demo)


def _add_train(sub) -> None:
    train = sub.add_parser(
        "train",
        help="train a model from a TOML config into a run directory",
        description="Train the model of CONFIG on its data; write a run directory.",
        epilog=TRAIN_EXAMPLE,
        formatter_class=_Formatter,
    )
    train.add_argument(
        "config",
        nargs="?",
        metavar="CONFIG",
        help="TOML config file or a run's config.json (default: none with --resume)",
    )
    train.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE",
        help="override a config key (repeatable): lr=1e-3, model.init_std=5e-3, data.seed=1 "
        "(default: none)",
    )  # fmt: skip
    train.add_argument(
        "--out", metavar="DIR", default=None,
        help="run directory to create (default: runs/<config name>-<date-time>)",
    )  # fmt: skip
    train.add_argument(
        "--resume", metavar="DIR", default=None,
        help="continue the run in DIR from its last checkpoint, with its config.json plus --set "
        "(default: a new run)",
    )  # fmt: skip
    train.add_argument(
        "--no-progress",
        action="store_true",
        help="hide the progress bar (default: shown on a terminal)",
    )
    train.add_argument(
        "--tensorboard", metavar="DIR", default=None,
        help="also write TensorBoard event files to DIR (needs tnreg[tensorboard]; default: none)",
    )  # fmt: skip
    train.set_defaults(run=_train)


def _add_analyze(sub) -> None:
    analyze = sub.add_parser(
        "analyze",
        help="print the per-node rank report of a run or checkpoint",
        description="Load a model from a run directory or checkpoint; print its rank report.",
        epilog=ANALYZE_EXAMPLE,
        formatter_class=_Formatter,
    )
    analyze.add_argument("path", metavar="RUN_DIR_OR_CHECKPOINT", help="run directory or .pt file")
    analyze.add_argument(
        "--checkpoint", choices=("last", "best"), default="last",
        help="which checkpoint of a run directory",
    )  # fmt: skip
    analyze.add_argument(
        "--rtol", type=float, default=None,
        help="rtol of the numerical ranks (default: the run's rank_rtol)",
    )  # fmt: skip
    analyze.add_argument(
        "--member", type=int, default=None, help="report one ensemble member (default: all members)"
    )
    analyze.set_defaults(run=_analyze)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="tnreg", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _add_demo(sub)
    _add_train(sub)
    _add_analyze(sub)
    from tnreg.locality.cli import add_parser as _add_locality

    _add_locality(sub)
    from tnreg.theory.cli import add_parser as _add_verify  # tnreg verify

    _add_verify(sub)
    from tnreg.experiments.commands import add_plot, add_reproduce

    add_plot(sub, _Formatter)
    add_reproduce(sub, _Formatter)
    from tnreg.sweep.cli import add_sweep

    add_sweep(sub, _Formatter)
    from tnreg.entanglement.cli import add_parser as add_entanglement

    add_entanglement(sub)
    return parser


def build_parser() -> argparse.ArgumentParser:
    """The ``tnreg`` argument parser with every subcommand (the docs' CLI reference reads it)."""
    return _parser()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``tnreg`` command line; returns the exit status.

    A reader that stops early (``tnreg ... | head``) ends the command quietly with status 141
    (128 + SIGPIPE, as shell tools do) instead of a traceback.
    """
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except BrokenPipeError:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            devnull = os.open(os.devnull, os.O_WRONLY)  # the exit-time flush must not fail
            os.dup2(devnull, sys.stdout.fileno())
        return 141


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
