"""Training step time and the per-step overhead of tracking (tnreg.train).

For each setting: the time of one full-batch GroupRMSprop step (median over repeats), the time
of each built-in tracker at one check, and the overhead of a check every ``k`` steps as a
fraction of the training time (``check / (k · step)``). Prints markdown. Run with
``python bench/run.py bench_train.py`` (or directly; ``--quick`` shrinks the settings).
"""

from __future__ import annotations

import statistics
import sys
import time

import torch

from tnreg.data import completion_task, random_cp_target
from tnreg.models import CP, HierarchicalTensorFactorization
from tnreg.train.losses import loss_function
from tnreg.train.optim import GroupRMSprop
from tnreg.train.step import train_step
from tnreg.train.trackers import TRACKERS, TrackContext, run_trackers
from tnreg.trees import balanced


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _median_ms(fn, repeats: int, device: torch.device) -> float:
    fn()  # warm up (plans, allocations)
    times = []
    for _ in range(repeats):
        _sync(device)
        t0 = time.perf_counter()
        fn()
        _sync(device)
        times.append(1e3 * (time.perf_counter() - t0))
    return statistics.median(times)


def _settings(quick: bool):
    """(name, model factory, data) triples: docs/design.md §6's CP setting and an HTF one."""
    cp_data = completion_task(random_cp_target(4, 10, 5, seed=0), 2000, 500, seed=0)
    rank = 100 if quick else 1000
    width = 32 if quick else 128
    htf_data = completion_task(random_cp_target(4, 16, 5, seed=1), 2048, 512, seed=1)
    return [
        (f"CP order 4, d=10, R={rank}, 2000 entries",
         lambda dev: CP(4, 10, rank=rank, init_std=5e-3, seed=0, dtype=torch.float64, device=dev),
         cp_data),
        (f"HTF order 4, d=16, binary, widths {width}, 2048 entries",
         lambda dev: HierarchicalTensorFactorization(
             balanced(4), 16, width, init_std=1e-2, seed=0, dtype=torch.float64, device=dev),
         htf_data),
    ]  # fmt: skip


def bench(name: str, build, data, device: torch.device, repeats: int) -> list[str]:
    model = build(device)
    idx = data.train_indices.to(device)
    values = data.train_values.to(device, torch.float64)
    plan = model.schedule_indices(idx)
    opt = GroupRMSprop(model.parameters(), lr=1e-2)
    loss = loss_function("mse")
    step_ms = _median_ms(lambda: train_step(model, plan, values, opt, loss), repeats, device)
    context = TrackContext(
        step=0, data=data, train_inputs=plan, train_values=values,
        test_inputs=model.schedule_indices(data.test_indices.to(device)),
        test_values=data.test_values.to(device, torch.float64), loss_fn=loss,
    )  # fmt: skip
    rows = [f"| {name} | step | {step_ms:.2f} | |"]
    total = 0.0
    for tname, fn in TRACKERS.items():

        def check(fn=fn) -> None:
            context.step += 1  # a fresh check: no cached predictions
            run_trackers(model, context, [fn], 1)

        ms = _median_ms(check, repeats, device)
        total += ms
        rows.append(f"| | tracker `{tname}` | {ms:.2f} | |")
    for k in (10, 100):
        rows.append(f"| | all trackers every {k} steps | {total:.2f} | "
                    f"{100 * total / (k * step_ms):.1f}% |")  # fmt: skip
    return rows


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    repeats = 5 if quick else 20
    print(f"## Training step and tracking overhead ({device}, float64, torch threads "
          f"{torch.get_num_threads()})\n")  # fmt: skip
    print("| setting | what | ms | overhead vs training |")
    print("|---|---|---|---|")
    for name, build, data in _settings(quick):
        for row in bench(name, build, data, device, repeats):
            print(row)
    print("\nOverhead = time of one check / (k x step time). Trackers are run one at a time "
          "here, so the train predictions are recomputed by each one that needs them; in fit() "
          "they are shared within a check.")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
