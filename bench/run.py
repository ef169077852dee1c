"""Run tnreg's benchmarks: every ``bench/bench_*.py`` (or the ones named) in its own process.

Usage: ``python bench/run.py [bench_planner.py ...]``. Each script prints markdown; paste the
output into ``BENCHMARKS.md`` together with the machine and library versions printed first.
"""

from __future__ import annotations

import datetime
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _versions() -> str:
    found = []
    for pkg in ("torch", "opt_einsum", "cotengra", "numpy"):
        try:
            found.append(f"{pkg} {metadata.version(pkg)}")
        except metadata.PackageNotFoundError:
            found.append(f"{pkg} (not installed)")
    return ", ".join(found)


def _cpu() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        model = next(
            (ln.split(":", 1)[1].strip() for ln in out.splitlines() if "Model name" in ln), ""
        )
    except OSError:
        model = ""
    return model or platform.processor() or platform.machine()


def main(argv: list[str]) -> int:
    """Run the named bench scripts (all if none); return the number that failed."""
    scripts = [HERE / Path(a).name for a in argv] or sorted(HERE.glob("bench_*.py"))
    python = platform.python_version()
    print(f"date {datetime.date.today()}; CPU {_cpu()}; python {python}; {_versions()}\n")
    failed = 0
    for script in scripts:
        if not script.is_file():
            available = sorted(p.name for p in HERE.glob("bench_*.py"))
            print(f"no such benchmark: {script.name}; available: {available}")
            failed += 1
            continue
        result = subprocess.run([sys.executable, str(script)], check=False)
        failed += result.returncode != 0
    return failed


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
