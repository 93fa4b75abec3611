"""Time the Spark engine (local mode) against the local engine, and its bucket scaling.

For each scale it generates (once, cached under benchmarks/data/) a synthetic Parquet export,
then runs in fresh child processes: the local in-memory engine (``attrib.run.run``), and
``attrib.engines.spark.run_spark`` on ``local[N]`` with several bucket counts. Every run
computes the same models and writes its outputs. A sampler polls /proc every 0.2 s for the
peak RSS of the driver process and of its whole process tree (driver + JVM + Python workers).
A warm-up run compiles (and caches) the numba kernels first, so figures are warm.

    python benchmarks/bench_spark.py --touches 1e6 1e7 --buckets 2 8 32
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TOUCHES_PER_CUSTOMER = 5.67  # generator output (data_samples: 17,004 touches / 3,000 customers)
MODELS = "first_touch,last_touch,linear,time_decay,position_based,w_shaped,markov"
PAGE = os.sysconf("SC_PAGE_SIZE")

LOCAL = """
import sys
from attrib.run import run
run(sys.argv[1], out=sys.argv[2], models=sys.argv[3])
"""
SPARK = """
import sys, warnings
warnings.simplefilter("ignore")
from attrib.engines.spark import run_spark, spark_session
spark = spark_session(master=sys.argv[5])
spark.conf.set("spark.sql.shuffle.partitions", sys.argv[4])
run_spark(sys.argv[1], out=sys.argv[2], models=sys.argv[3], buckets=int(sys.argv[4]), spark=spark)
"""


def dataset(touches: float) -> Path:
    """Generate (once) a Parquet export with about ``touches`` touchpoints."""
    folder = HERE / "data" / f"t{int(touches):d}"
    if not (folder / "touchpoints.parquet").exists():
        from attrib.synth import generate

        t0 = time.perf_counter()
        generate(folder, customers=int(touches / TOUCHES_PER_CUSTOMER), seed=11, fmt="parquet")
        print(f"generated {folder} in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    return folder


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as fh:
            return int(fh.read().split()[1]) * PAGE
    except OSError:
        return 0


def _descendants(root: int) -> list[int]:
    parent: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    stat = fh.read()
                parent[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    found, frontier = [root], [root]
    while frontier:
        frontier = [p for p, pp in parent.items() if pp in frontier]
        found += frontier
    return found


def measure(cmd: list[str]) -> tuple[float, float, float]:
    """(wall s, peak driver RSS GiB, peak process-tree RSS GiB) of one child command."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = {"driver": 0, "tree": 0}
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak["driver"] = max(peak["driver"], _rss(proc.pid))
            peak["tree"] = max(peak["tree"], sum(_rss(p) for p in _descendants(proc.pid)))
            done.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = proc.communicate()
    wall = time.perf_counter() - t0
    done.set()
    sampler.join()
    if proc.returncode != 0:
        lines = [ln for ln in err.decode().splitlines() if "Error" in ln or "error" in ln]
        print(f"FAILED after {wall:.0f}s: {lines[-1] if lines else ''}", file=sys.stderr)
        return float("nan"), peak["driver"] / 1024**3, peak["tree"] / 1024**3
    return wall, peak["driver"] / 1024**3, peak["tree"] / 1024**3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--touches", type=float, nargs="+", default=[1e6, 1e7])
    parser.add_argument("--buckets", type=int, nargs="+", default=[2, 8, 32])
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--models", default=MODELS)
    parser.add_argument("--no-local", action="store_true", help="skip the local engine runs")
    parser.add_argument("--driver-memory", default="8g", help="local mode: the one JVM's heap")
    args = parser.parse_args()
    os.environ["ATTRIB_SPARK_DRIVER_MEMORY"] = args.driver_memory
    py = sys.executable
    out = HERE / "out" / "spark"
    print(f"# {platform.platform()}, {os.cpu_count()} cores, python {sys.version.split()[0]}")
    print(f"# models: {args.models}; Spark {args.master}, driver memory {args.driver_memory}")
    warm = dataset(1e5)
    measure([py, "-c", LOCAL, str(warm), str(out / "warm"), args.models])
    rows = []
    for touches in args.touches:
        data = dataset(touches)
        if not args.no_local:
            cmd = [py, "-c", LOCAL, str(data), str(out / "local"), args.models]
            wall, drv, tree = measure(cmd)
            rows.append((f"{touches:.0e}", "local (in memory)", "-", wall, drv, tree))
            print(*rows[-1], sep=" | ", flush=True)
        for b in args.buckets:
            cmd = [py, "-c", SPARK, str(data), str(out / f"spark{b}"), args.models, str(b)]
            wall, drv, tree = measure([*cmd, args.master])
            rows.append((f"{touches:.0e}", f"spark {args.master}", str(b), wall, drv, tree))
            print(*rows[-1], sep=" | ", flush=True)
    print()
    print("| touches | engine | buckets | wall s | driver peak RSS GiB | tree peak RSS GiB |")
    print("|---|---|---|---|---|---|")
    for t, engine, b, wall, drv, tree in rows:
        print(f"| {t} | {engine} | {b} | {wall:.1f} | {drv:.2f} | {tree:.2f} |")


if __name__ == "__main__":
    main()
