"""Out-of-core scale test: `attrib run` with the bucketed engine on a larger-than-memory export.

Generates (once, cached under benchmarks/data/) a synthetic export in chunks of about 10M
touchpoints: each chunk is one `attrib.synth.generate_frames` draw with its own seed and id
prefix, written as one Parquet part per table (touchpoints/, deals/, stages/); costs are the
chunks' monthly spend summed. Then it runs `attrib run --buckets K` (all rule-based models)
in a child process and prints wall time, peak RSS (kernel rusage of the child) and rows.

    python benchmarks/bench_scale.py --chunks 30 --buckets 96      # ~300M touchpoints

A 1-chunk export also runs in memory with `--check`, which compares the bucketed summaries
with the in-memory ones (the engine-equivalence tests do the same at small scale).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import polars as pl

HERE = Path(__file__).resolve().parent
RULE_BASED = (
    "first_touch,last_touch,last_non_direct,linear,time_decay,position_based,w_shaped,full_path"
)
CUSTOMERS_PER_CHUNK = 1_760_000  # about 10M touchpoints (5.67 touches per customer)
ID_COLUMNS = {
    "touchpoints": ("customer_id", "account_id"),
    "deals": ("deal_id", "customer_id", "account_id"),
    "stages": ("customer_id", "account_id"),
}


def generate(folder: Path, chunks: int, customers: int) -> None:
    """Write ``chunks`` independent draws as Parquet parts, ids prefixed by chunk number."""
    from attrib.synth import channels_toml, generate_frames

    for i in range(chunks):
        part = f"part-{i:03d}.parquet"
        if all((folder / t / part).exists() for t in (*ID_COLUMNS, "chunk_costs")):
            continue
        t0 = time.perf_counter()
        frames = generate_frames(customers=customers, seed=1000 + i)
        for table, ids in ID_COLUMNS.items():
            frame = frames[table].with_columns(
                pl.format("k{}-{}", pl.lit(i), pl.col(c)).alias(c)
                for c in ids
                if c in frames[table].columns
            )
            (folder / table).mkdir(parents=True, exist_ok=True)
            frame.write_parquet(folder / table / part, compression="zstd")
        (folder / "chunk_costs").mkdir(parents=True, exist_ok=True)  # not an attrib table
        frames["costs"].write_parquet(folder / "chunk_costs" / part)
        print(f"chunk {i}: {time.perf_counter() - t0:.1f}s", file=sys.stderr, flush=True)
    costs = pl.read_parquet(folder / "chunk_costs" / "*.parquet")
    keys = [c for c in costs.columns if c != "spend"]
    costs.group_by(keys).agg(pl.col("spend").sum()).sort(keys).write_parquet(
        folder / "costs.parquet"
    )
    (folder / "channels.toml").write_text(channels_toml(), encoding="utf-8")


def timed(cmd: list[str]) -> tuple[float, float, str]:
    """(wall seconds, peak RSS GiB, stderr) of one child process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"command failed: {' '.join(cmd)}\n{err}")
    return wall, usage.ru_maxrss / 1024**2, err


def rows(folder: Path, table: str) -> int:
    return pl.scan_parquet(folder / table / "*.parquet").select(pl.len()).collect().item()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=30)
    parser.add_argument("--customers", type=int, default=CUSTOMERS_PER_CHUNK)
    parser.add_argument("--buckets", type=int, default=96)
    parser.add_argument("--models", default=RULE_BASED)
    parser.add_argument("--check", action="store_true", help="also run in memory and compare")
    parser.add_argument("--generate-only", action="store_true")
    args = parser.parse_args()
    folder = HERE / "data" / f"scale-{args.chunks}x{args.customers}"
    generate(folder, args.chunks, args.customers)
    if args.generate_only:
        return
    n_touches = rows(folder, "touchpoints")
    size = sum(p.stat().st_size for p in folder.rglob("*.parquet")) / 1024**3
    print(
        f"data: {n_touches:,} touchpoints, {rows(folder, 'deals'):,} deals, "
        f"{rows(folder, 'stages'):,} stage rows, {size:.2f} GiB of Parquet",
        flush=True,
    )
    attrib = [sys.executable, "-m", "cli.main"]
    out = HERE / "out-scale"
    cmd = [*attrib, "run", str(folder), "--out", str(out), "--models", args.models]
    wall, peak, err = timed([*cmd, "--buckets", str(args.buckets), "-v"])
    stages = [line.strip() for line in err.splitlines() if line.strip().endswith("s")][-12:]
    print("\n".join(stages))
    print("| touchpoints | buckets | wall s | peak RSS GiB |")
    print("|---:|---:|---:|---:|")
    print(f"| {n_touches:,} | {args.buckets} | {wall:.1f} | {peak:.2f} |")
    if args.check:
        bucketed = pl.read_parquet(out / "channel_summary.parquet")
        mem_out = HERE / "out-scale-mem"
        wall_m, peak_m, _ = timed([*cmd[:5], "--out", str(mem_out), *cmd[7:], "-q"])
        in_memory = pl.read_parquet(mem_out / "channel_summary.parquet")
        num = [c for c, t in in_memory.schema.items() if t.is_float()]
        diff = max(
            (
                ((bucketed[c] - in_memory[c]).abs() / in_memory[c].abs().clip(1e-12)).max() or 0.0
                for c in num
            ),
            default=0.0,
        )
        print(f"in memory: {wall_m:.1f} s, {peak_m:.2f} GiB; max relative difference {diff:.2e}")


if __name__ == "__main__":
    main()
