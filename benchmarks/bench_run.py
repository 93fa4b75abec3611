"""Time and size the main job (`attrib run`, rule-based models) at several scales.

For each scale it generates a synthetic export (Parquet, cached under benchmarks/data/),
then runs in fresh child processes: (1) a bare Polars read + sort by (customer_id, ts) of the
touchpoints — the floor any journey builder must pay — and (2) `attrib run` with every
rule-based model. It prints wall time, peak RSS (from the kernel's rusage of each child) and
the ratio. Numba kernels are compiled (and cached) by a warm-up run first, so figures are warm.

Input row order matters to the bare sort: the generator writes touchpoints grouped by
customer (already in sort order: the sort is cheap), while an event-log or CRM export usually
comes in time order. ``--order time`` runs on a copy of the same data with its touchpoints
sorted by ``ts``; ``--order both`` (the default) measures both.

    python benchmarks/bench_run.py --touches 1e6 1e7 --order both
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RULE_BASED = (
    "first_touch,last_touch,last_non_direct,linear,time_decay,position_based,w_shaped,full_path"
)
TOUCHES_PER_CUSTOMER = 5.67  # measured on the generator's output (data_samples: 17,004 / 3,000)


def timed(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS in GiB) of one child process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        err = proc.stderr.read().decode() if proc.stderr else ""
        raise SystemExit(f"command failed: {' '.join(cmd)}\n{err}")
    return wall, usage.ru_maxrss / 1024**2


def dataset(touches: float) -> Path:
    """Generate (once) a Parquet export with about ``touches`` touchpoints."""
    customers = int(touches / TOUCHES_PER_CUSTOMER)
    folder = HERE / "data" / f"t{int(touches):d}"
    if not (folder / "touchpoints.parquet").exists():
        from attrib.synth import generate

        t0 = time.perf_counter()
        generate(folder, customers=customers, seed=11, fmt="parquet")
        print(f"generated {folder} in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    return folder


def time_ordered(folder: Path) -> Path:
    """A copy of ``folder`` whose touchpoints are in time order, as most exports come."""
    import polars as pl

    target = folder.with_name(folder.name + "-by-time")
    if not (target / "touchpoints.parquet").exists():
        target.mkdir(parents=True, exist_ok=True)
        for path in folder.iterdir():
            if path.name != "touchpoints.parquet":
                shutil.copy(path, target / path.name)
        touches = pl.read_parquet(folder / "touchpoints.parquet")
        touches.sort("ts", maintain_order=True).write_parquet(target / "touchpoints.parquet")
    return target


BARE = (
    "import polars as pl, sys; "
    "df = pl.read_parquet(sys.argv[1]).sort('customer_id', 'ts'); "
    "print(df.height)"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--touches", nargs="+", type=float, default=[1e6, 1e7])
    parser.add_argument("--models", default=RULE_BASED)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--order", choices=["customer", "time", "both"], default="both")
    args = parser.parse_args()
    attrib = [sys.executable, "-m", "cli.main"] if shutil.which("attrib") is None else ["attrib"]
    out = HERE / "out"
    timed([*attrib, "run", str(HERE.parent / "data_samples"), "--out", str(out), "-q"])  # warm-up
    rows = []
    orders = ["customer", "time"] if args.order == "both" else [args.order]
    for touches in args.touches:
        generated = dataset(touches)
        for order in orders:
            folder = generated if order == "customer" else time_ordered(generated)
            import polars as pl

            n = pl.scan_parquet(folder / "touchpoints.parquet").select(pl.len()).collect().item()
            best_bare = best_run = (float("inf"), 0.0)
            for _ in range(args.repeat):
                bare = timed([sys.executable, "-c", BARE, str(folder / "touchpoints.parquet")])
                cmd = [*attrib, "run", str(folder), "--out", str(out), "--models", args.models]
                run = timed([*cmd, "-q"])
                best_bare = min(best_bare, bare)
                best_run = min(best_run, run)
            rows.append((n, order, *best_bare, *best_run))
    print()
    print(
        "| touchpoints | input order | bare read+sort s | bare peak GiB | attrib run s"
        " | attrib peak GiB | run / sort |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|")
    for n, order, bs, bm, rs, rm in rows:
        print(f"| {n:,} | {order} | {bs:.2f} | {bm:.2f} | {rs:.2f} | {rm:.2f} | {rs / bs:.2f}× |")


if __name__ == "__main__":
    main()
