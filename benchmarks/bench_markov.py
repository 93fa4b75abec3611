"""Benchmark of the data-driven models (Markov, Shapley, bootstrap) against ChannelAttribution
and DP6 MAM, on ChannelAttribution's own sample and on ~1M generated journeys.

Run in a separate environment holding the optional comparison tools (never project deps):

    python3 -m venv /tmp/bench-venv
    /tmp/bench-venv/bin/pip install channelattribution matplotlib marketing-attribution-models
    /tmp/bench-venv/bin/pip install -e .
    ATTRIB_DATASETS=/work/shared/datasets /tmp/bench-venv/bin/python benchmarks/bench_markov.py

Each case runs in its own subprocess so that its peak memory (``ru_maxrss``) is its own.
``--journeys`` sets the synthetic size (default 1,000,000); ``--quick`` skips the slow
accurate ChannelAttribution run. Prints Markdown tables (pasted into RESULTS_markov.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve()


def _data_csv() -> Path:
    root = os.environ.get("ATTRIB_DATASETS")
    if not root:
        sys.exit("set ATTRIB_DATASETS to the folder of the shared datasets")
    p = Path(root) / "channelattribution-pathdata" / "Data.csv"
    if not p.is_file():
        sys.exit(f"{p} not found")
    return p


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


#: Process CPU seconds (all threads) of the fastest call of the latest ``_best``.
LAST_CPU = [0.0]


def _best(fn, repeat: int = 3) -> tuple[float, object]:
    """Best wall time of ``repeat`` calls (the first call also warms numba and caches)."""
    times, cpus, out = [], [], None
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        times.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    LAST_CPU[0] = cpus[int(np.argmin(times))]
    return min(times), out


# -- synthetic journeys --------------------------------------------------------------------------
def synth_batch(n: int, n_channels: int, seed: int):
    """``n`` random journeys over ``n_channels`` channels; conversion odds rise with channels."""
    import polars as pl

    from attrib.encoded import (
        STATUS_NONE,
        STATUS_WON,
        Dictionaries,
        Journeys,
        last_touches_of_closed,
    )

    rng = np.random.default_rng(seed)
    lens = np.minimum(1 + rng.geometric(0.3, size=n), 20).astype(np.int64)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lens, out=offsets[1:])
    pop = 1.0 / np.arange(1, n_channels + 1) ** 0.7
    channel = (1 + rng.choice(n_channels, size=int(offsets[-1]), p=pop / pop.sum())).astype(
        np.int32
    )
    effect = np.linspace(0.6, -0.4, n_channels)
    score = np.add.reduceat(effect[channel - 1], offsets[:-1]) / np.sqrt(lens)
    p = 1.0 / (1.0 + np.exp(-(score - 1.5)))
    won = rng.random(n) < p
    n_c = n_channels + 1
    names = ("(none)", *(f"ch{i:02d}" for i in range(1, n_c)))
    dicts = Dictionaries(
        channels=names,
        is_marketing=np.ones(n_c, dtype=bool),
        is_direct=np.zeros(n_c, dtype=bool),
        campaign_channel=np.arange(n_c, dtype=np.int32),
        campaign_names=tuple("(none)" for _ in names),
    )
    z = np.zeros(n, dtype=np.int64)
    return Journeys(
        offsets=offsets,
        channel=channel,
        campaign=channel.copy(),
        ts=np.zeros(channel.size, dtype=np.int64),
        status=(status := np.where(won, STATUS_WON, STATUS_NONE).astype(np.int8)),
        weight=np.ones(n),
        amount=np.where(won, rng.lognormal(4, 1, size=n), 0.0),
        end_ts=z,
        created_ts=z,
        n_created=lens,
        lead_pos=np.full(n, -1, dtype=np.int64),
        opp_pos=np.full(n, -1, dtype=np.int64),
        close_pos=last_touches_of_closed(offsets, status),
        table=pl.DataFrame({"journey_id": np.arange(n)}),
        dicts=dicts,
    )


def _path_table(batch, file: Path) -> int:
    """Write the batch as a ChannelAttribution path table; returns the number of paths."""
    import polars as pl

    names = np.array(batch.dicts.channels, dtype=object)
    jix = np.repeat(np.arange(batch.n_journeys), np.diff(batch.offsets))
    touches = pl.DataFrame({"j": jix, "c": names[batch.channel].astype(str)})
    paths = touches.group_by("j", maintain_order=True).agg(pl.col("c").str.join(" > "))
    jt = pl.DataFrame(
        {
            "j": np.arange(batch.n_journeys),
            "won": batch.status == 2,
            "amount": batch.amount,
        }
    ).join(paths, on="j")
    table = (
        jt.group_by(pl.col("c").alias("path"))
        .agg(
            pl.col("won").sum().cast(pl.Int64).alias("total_conversions"),
            pl.col("amount").sum().alias("total_conversion_value"),
            (~pl.col("won")).sum().cast(pl.Int64).alias("total_null"),
        )
        .sort("path")
    )
    table.write_csv(file, separator=";")
    return table.height


# -- cases (each run in a subprocess) ---------------------------------------------------------
def case_paths_markov(args) -> dict:
    """attrib on the aggregated sample: read, order-1 Markov, heuristics, all warm."""
    from attrib.credit import credit_model, fit_model
    from attrib.models import get_model
    from attrib.paths import read_paths

    f = _data_csv()
    t_read, batch = _best(lambda: read_paths(f))
    model = get_model("markov")
    t_fit, _ = _best(lambda: model.fit_finalize(model.fit_map(batch), batch.dicts), 5)
    cpu_fit = LAST_CPU[0]

    def read_and_fit():
        b = read_paths(f)
        return model.fit_finalize(model.fit_map(b), b.dicts)

    t_all, _ = _best(read_and_fit)
    out = {"read_s": t_read, "markov_fit_s": t_fit, "read_plus_markov_s": t_all}
    out["markov_fit_cpu_s"] = cpu_fit
    for name in ("first_touch", "last_touch", "linear", "shapley"):
        m = get_model(name)
        t, _ = _best(lambda m=m: credit_model(m, [batch], fit_model(m, [batch], batch.dicts)))
        out[f"{name}_s"] = t
    out["peak_mb"] = _peak_mb()
    return out


def case_compare(args) -> dict:
    """attrib vs ChannelAttribution (and DP6 MAM when installed) on the sample."""
    import pandas as pd

    from attrib.credit import credit_model, fit_model
    from attrib.models import get_model
    from attrib.paths import read_paths

    f = _data_csv()
    batch = read_paths(f)
    names = list(batch.dicts.channels[1:])
    res: dict = {"channels": names}

    def credit(name, **kw):
        m = get_model(name, **kw)
        c = credit_model(m, [batch], fit_model(m, [batch], batch.dicts))
        return c.channel[1:, 0], c.channel[1:, 1], c.fitted

    for name in ("first_touch", "last_touch", "linear", "markov"):
        conv, val, fitted = credit(name)
        res[f"attrib_{name}"] = [conv.tolist(), val.tolist()]
    res["attrib_markov_re"] = fitted.scores[1:].tolist()
    res["attrib_markov_value_weighted"] = credit("markov", value_weighted=True)[1].tolist()

    df = pd.read_csv(f, sep=";")
    try:
        from ChannelAttribution import heuristic_models, markov_model
    except ImportError as e:  # pragma: no cover - optional tool
        res["ca_error"] = str(e)
    else:
        kw = {"var_value": "total_conversion_value", "flg_pro": False}
        h = heuristic_models(df, "path", "total_conversions", **kw).set_index("channel_name")
        for ours, theirs in (
            ("first_touch", "first"),
            ("last_touch", "last"),
            ("linear", "linear"),
        ):
            h2 = h.reindex(names)
            res[f"ca_{ours}"] = [
                h2[f"{theirs}_touch_conversions"].tolist(),
                h2[f"{theirs}_touch_value"].tolist(),
            ]
        kw["var_null"] = "total_null"
        runs, vruns, times = [], [], []
        for seed in range(5):
            t = time.perf_counter()
            r = markov_model(df, "path", "total_conversions", verbose=0, seed=seed, **kw)
            times.append(time.perf_counter() - t)
            r = r.set_index("channel_name").reindex(names)
            runs.append(r["total_conversions"].tolist())
            vruns.append(r["total_conversion_value"].tolist())
        res["ca_markov_default"] = runs
        res["ca_markov_default_value"] = vruns
        res["ca_markov_default_s"] = min(times)
        if not args.quick:
            t = time.perf_counter()
            r = markov_model(df, "path", "total_conversions", verbose=0, nsim_start=1e7, **kw)
            res["ca_markov_1e7_s"] = time.perf_counter() - t
            r = r.set_index("channel_name").reindex(names)
            res["ca_markov_1e7"] = r["total_conversions"].tolist()
            res["ca_markov_1e7_value"] = r["total_conversion_value"].tolist()
    try:
        import polars as pl
        from mam import MAM
    except ImportError as e:  # pragma: no cover - optional tool
        res["mam_error"] = str(e)
    else:
        raw = pl.read_csv(f, separator=";")
        grouped = pl.concat(
            [
                raw.select(
                    "path",
                    pl.lit(True).alias("conv"),
                    pl.col("total_conversions").alias("n"),
                    pl.col("total_conversion_value").alias("value"),
                ),
                raw.select(
                    "path",
                    pl.lit(False).alias("conv"),
                    pl.col("total_null").alias("n"),
                    pl.lit(0.0).alias("value"),
                ),
            ]
        ).filter(pl.col("n") > 0)
        t = time.perf_counter()
        mam = MAM(
            grouped,
            format_type="grouped_journey",
            channels_colname="path",
            journey_with_conv_colname="conv",
            occurrences_colname="n",
            conversion_value_colname="value",
        )
        mk = mam.run_markov(transition_to_same_state=False)
        res["mam_markov_s"] = time.perf_counter() - t
        re = mk.metadata["removal_effect"]["removal_effect"]
        res["mam_markov_re"] = [float(re.get(n, float("nan"))) for n in names]
    res["peak_mb"] = _peak_mb()
    return res


def case_synth(args) -> dict:
    """attrib on generated journeys: Markov order 1 and 4, exact Shapley (15 channels)."""
    from attrib.models.markov import MarkovAttribution
    from attrib.models.shapley import ShapleyAttribution

    kind = args.case
    n = args.journeys
    if kind == "synth_shapley15":
        batch = synth_batch(n, 15, seed=2)
        model = ShapleyAttribution()
    else:
        batch = synth_batch(n, 12, seed=1)
        model = MarkovAttribution(order=4 if kind == "synth_markov4" else 1)
    base_mb = _peak_mb()
    small = synth_batch(2000, batch.dicts.n_channels - 1, seed=9)
    model.fit_finalize(model.fit_map(small), small.dicts)  # compile / load cached kernels
    t, fitted = _best(lambda: model.fit_finalize(model.fit_map(batch), batch.dicts), 2)
    return {
        "cpu_s": LAST_CPU[0],
        "journeys": n,
        "touches": batch.n_touches,
        "seconds": t,
        "info": {k: v for k, v in fitted.info.items() if isinstance(v, int | float | str)},
        "data_peak_mb": base_mb,
        "peak_mb": _peak_mb(),
    }


def case_write_table(args) -> dict:
    """Write the generated journeys (12 channels) as a ChannelAttribution path table."""
    batch = synth_batch(args.journeys, 12, seed=1)
    return {"paths": _path_table(batch, Path(args.table)), "peak_mb": _peak_mb()}


def case_table_attrib(args) -> dict:
    """attrib on the generated path table: read_paths, then order-1 Markov (warm)."""
    from attrib.models.markov import MarkovAttribution
    from attrib.paths import read_paths

    t_read, pb = _best(lambda: read_paths(args.table), 2)
    read_cpu = LAST_CPU[0]
    model = MarkovAttribution()
    t_fit, fitted = _best(lambda: model.fit_finalize(model.fit_map(pb), pb.dicts), 3)
    fit_cpu = LAST_CPU[0]
    total = float(pb.values()[:, 0].sum())
    return {
        "read_s": t_read,
        "read_cpu_s": read_cpu,
        "markov_s": t_fit,
        "markov_cpu_s": fit_cpu,
        "channels": list(pb.dicts.channels[1:]),
        "attrib": (fitted.scores[1:] / fitted.scores[1:].sum() * total).tolist(),
        "peak_mb": _peak_mb(),
    }


def case_table_ca(args) -> dict:
    """ChannelAttribution's default markov_model on the generated path table."""
    import pandas as pd
    from ChannelAttribution import markov_model

    df = pd.read_csv(args.table, sep=";")
    t = time.perf_counter()
    r = markov_model(
        df, "path", "total_conversions", var_null="total_null", verbose=0, flg_pro=False
    )
    return {
        "ca_s": time.perf_counter() - t,
        "ca": r.set_index("channel_name")["total_conversions"].to_dict(),
        "peak_mb": _peak_mb(),
    }


def case_table_mam(args) -> dict:
    """DP6 MAM (2.x) first/last/linear/Markov on the generated path table."""
    import polars as pl
    from mam import MAM

    raw = pl.read_csv(args.table, separator=";")
    t = time.perf_counter()
    grouped = pl.concat(
        [
            raw.select("path", pl.lit(True).alias("conv"), pl.col("total_conversions").alias("n")),
            raw.select("path", pl.lit(False).alias("conv"), pl.col("total_null").alias("n")),
        ]
    ).filter(pl.col("n") > 0)
    mam = MAM(
        grouped,
        format_type="grouped_journey",
        channels_colname="path",
        journey_with_conv_colname="conv",
        occurrences_colname="n",
    )
    mam.run_first_click()
    mam.run_last_click()
    mam.run_linear()
    mam.run_markov(transition_to_same_state=False)
    return {"mam_s": time.perf_counter() - t, "peak_mb": _peak_mb()}


def case_bootstrap(args) -> dict:
    """200 bootstrap replicates on the sample for first/last/linear/markov/shapley."""
    from attrib.bootstrap import bootstrap_intervals
    from attrib.models import get_model
    from attrib.paths import read_paths

    batch = read_paths(_data_csv())
    models = [get_model(n) for n in ("first_touch", "last_touch", "linear", "markov", "shapley")]
    bootstrap_intervals(models, batch, 2, seed=0)  # warm
    t, _ = _best(lambda: bootstrap_intervals(models, batch, 200, seed=0), 1)
    return {"replicates": 200, "models": 5, "seconds": t, "peak_mb": _peak_mb()}


def case_bootstrap_synth(args) -> dict:
    """100 bootstrap replicates on the generated journeys, same five models."""
    from attrib.bootstrap import bootstrap_intervals
    from attrib.models import get_model

    batch = synth_batch(args.journeys, 12, seed=1)
    base_mb = _peak_mb()
    models = [get_model(n) for n in ("first_touch", "last_touch", "linear", "markov", "shapley")]
    small = synth_batch(2000, 12, seed=9)
    bootstrap_intervals(models, small, 2, seed=0)  # warm
    t, _ = _best(lambda: bootstrap_intervals(models, batch, 100, seed=0), 1)
    return {
        "cpu_s": LAST_CPU[0],
        "replicates": 100,
        "models": 5,
        "journeys": args.journeys,
        "seconds": t,
        "data_peak_mb": base_mb,
        "peak_mb": _peak_mb(),
    }


CASES = {
    "paths_markov": case_paths_markov,
    "compare": case_compare,
    "synth_markov1": case_synth,
    "synth_markov4": case_synth,
    "synth_shapley15": case_synth,
    "write_table": case_write_table,
    "table_attrib": case_table_attrib,
    "table_ca": case_table_ca,
    "table_mam": case_table_mam,
    "bootstrap": case_bootstrap,
    "bootstrap_synth": case_bootstrap_synth,
}


# -- orchestration ---------------------------------------------------------------------------
def _run(case: str, args) -> dict:
    cmd = [sys.executable, str(HERE), "--case", case, "--journeys", str(args.journeys)]
    cmd += ["--table", str(args.table)]
    if args.quick:
        cmd.append("--quick")
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"error": (proc.stderr or proc.stdout)[-2000:]}
    return json.loads(lines[-1])


def _pct(a: float, b: float) -> str:
    return f"{100.0 * (a - b) / b:+.2f}%" if b else "n/a"


def report(args) -> None:
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")  # fmt: skip
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}\n")
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        args.table = str(Path(tmp) / "paths.csv")
        wanted = set(args.cases.split(",")) if args.cases else set(CASES)
        r = {c: _run(c, args) if c in wanted else {} for c in CASES}
    errors = {c: v["error"] for c, v in r.items() if "error" in v}
    for c, e in errors.items():
        print(f"case {c} failed:\n{e}\n")

    cmp_ = r["compare"]
    if "channels" in cmp_:
        names = cmp_["channels"]
        print("### Heuristics on Data.csv: attrib vs ChannelAttribution (conversions, value)\n")
        print("| model | max abs diff conversions | max abs diff value |")
        print("|---|---|---|")
        for m in ("first_touch", "last_touch", "linear"):
            if f"ca_{m}" in cmp_:
                a, c = np.array(cmp_[f"attrib_{m}"]), np.array(cmp_[f"ca_{m}"])
                d = np.abs(a - c).max(axis=1)
                print(f"| {m} | {d[0]:.3g} | {d[1]:.3g} |")
        print()
        if "ca_markov_default" in cmp_:
            ours = np.array(cmp_["attrib_markov"][0])
            runs = np.array(cmp_["ca_markov_default"])
            mean, sd = runs.mean(axis=0), runs.std(axis=0, ddof=1)
            acc = np.array(cmp_.get("ca_markov_1e7", [np.nan] * len(names)))
            print("### Order-1 Markov on Data.csv: attributed conversions\n")
            print(
                "| channel | attrib (exact) | CA default, mean of 5 seeds | CA sd | "
                "attrib - CA mean (in sd) | CA nsim 1e7 | attrib vs 1e7 |"
            )
            print("|---|---|---|---|---|---|---|")
            for i, n in enumerate(names):
                z = (ours[i] - mean[i]) / sd[i] if sd[i] > 0 else float("nan")
                print(
                    f"| {n} | {ours[i]:.2f} | {mean[i]:.2f} | {sd[i]:.2f} | {z:+.2f} | "
                    f"{acc[i]:.2f} | {_pct(ours[i], acc[i])} |"
                )
            print()
        if "ca_markov_default_value" in cmp_:
            ours = np.array(cmp_["attrib_markov_value_weighted"])
            plain = np.array(cmp_["attrib_markov"][1])
            runs = np.array(cmp_["ca_markov_default_value"])
            mean, sd = runs.mean(axis=0), runs.std(axis=0, ddof=1)
            acc = np.array(cmp_.get("ca_markov_1e7_value", [np.nan] * len(names)))
            print("### Order-1 Markov on Data.csv: attributed revenue (conversion value)\n")
            print(
                "| channel | attrib value_weighted | attrib default (conversion RE) | "
                "CA default, mean of 5 seeds | CA sd | value_weighted - CA mean (in sd) | "
                "CA nsim 1e7 | value_weighted vs 1e7 |"
            )
            print("|---|---|---|---|---|---|---|---|")
            for i, n in enumerate(names):
                z = (ours[i] - mean[i]) / sd[i] if sd[i] > 0 else float("nan")
                print(
                    f"| {n} | {ours[i]:.1f} | {plain[i]:.1f} | {mean[i]:.1f} | {sd[i]:.1f} | "
                    f"{z:+.2f} | {acc[i]:.1f} | {_pct(ours[i], acc[i])} |"
                )
            print()
        if "mam_markov_re" in cmp_:
            a, b = np.array(cmp_["attrib_markov_re"]), np.array(cmp_["mam_markov_re"])
            print(
                f"DP6 MAM 2.x Markov (exact matrix inverse, self-loops dropped) vs attrib removal "
                f"effects: max abs diff {np.nanmax(np.abs(a - b)):.3g}; "
                f"MAM time {cmp_['mam_markov_s']:.2f} s\n"
            )
        elif "mam_error" in cmp_:
            print(f"DP6 MAM not available: {cmp_['mam_error']}\n")

    print("### Timings\n")
    print("| what | data | time (s) | peak RSS (MB) | target |")
    print("|---|---|---|---|---|")
    pm = r["paths_markov"]
    if "read_s" in pm:
        print(f"| read_paths | Data.csv (10k rows) | {pm['read_s']:.4f} | {pm['peak_mb']:.0f} | |")
        print(
            f"| Markov order 1, fit+solve, warm | Data.csv path table | {pm['markov_fit_s']:.4f} "
            f"(cpu {pm['markov_fit_cpu_s']:.4f}) | {pm['peak_mb']:.0f} | < 0.3 s |"
        )
        print(f"| read + Markov order 1, warm | Data.csv | {pm['read_plus_markov_s']:.4f} | | |")
        for m in ("first_touch", "last_touch", "linear", "shapley"):
            print(f"| {m} (fit + credit) | Data.csv | {pm[f'{m}_s']:.4f} | | |")
    if "ca_markov_default_s" in cmp_:
        print(f"| ChannelAttribution markov_model default | Data.csv | "
              f"{cmp_['ca_markov_default_s']:.3f} | | |")  # fmt: skip
    if "ca_markov_1e7_s" in cmp_:
        print(f"| ChannelAttribution markov_model nsim_start=1e7 | Data.csv | "
              f"{cmp_['ca_markov_1e7_s']:.2f} | | |")  # fmt: skip
    if "mam_markov_s" in cmp_:
        print(f"| DP6 MAM run_markov (incl. preprocessing) | Data.csv | "
              f"{cmp_['mam_markov_s']:.3f} | | |")  # fmt: skip
    targets = {"synth_markov1": "", "synth_markov4": "< 30 s", "synth_shapley15": "< 10 s"}
    labels = {
        "synth_markov1": "Markov order 1, 12 channels",
        "synth_markov4": "Markov order 4, 12 channels",
        "synth_shapley15": "Shapley exact, 15 channels",
    }
    for c, label in labels.items():
        v = r[c]
        if "seconds" in v:
            extra = ", ".join(f"{k}={v['info'][k]}" for k in ("n_states", "n_coalitions")
                              if k in v["info"])  # fmt: skip
            print(
                f"| {label} ({extra}) | {v['journeys']:,} journeys, {v['touches']:,} touches | "
                f"{v['seconds']:.2f} (cpu {v['cpu_s']:.2f}) | {v['peak_mb']:.0f} "
                f"(data alone {v['data_peak_mb']:.0f}) "
                f"| {targets[c]} |"
            )
    wt, ta, tc, tm = r["write_table"], r["table_attrib"], r["table_ca"], r["table_mam"]
    if "markov_s" in ta:
        n_p = f"{wt['paths']:,} paths"
        print(f"| read_paths | generated path table, {n_p} | {ta['read_s']:.2f} "
              f"(cpu {ta['read_cpu_s']:.2f}) | | |")  # fmt: skip
        print(f"| read_paths + Markov order 1 (warm) | {n_p} | {ta['read_s'] + ta['markov_s']:.2f} "
              f"| {ta['peak_mb']:.0f} | |")  # fmt: skip
        print(f"| Markov order 1 on the path table (warm) | {n_p} | {ta['markov_s']:.3f} "
              f"(cpu {ta['markov_cpu_s']:.3f}) | | < 0.3 s |")  # fmt: skip
        if "ca_s" in tc:
            print(f"| ChannelAttribution markov_model default | {n_p} | {tc['ca_s']:.2f} "
                  f"| {tc['peak_mb']:.0f} | |")  # fmt: skip
        if "mam_s" in tm:
            print(f"| DP6 MAM first/last/linear/Markov | {n_p} | {tm['mam_s']:.2f} "
                  f"| {tm['peak_mb']:.0f} | |")  # fmt: skip
    bs = r["bootstrap"]
    if "seconds" in bs:
        print(f"| bootstrap {bs['replicates']} replicates x {bs['models']} models | Data.csv | "
              f"{bs['seconds']:.2f} | {bs['peak_mb']:.0f} | |")  # fmt: skip
    bz = r["bootstrap_synth"]
    if "seconds" in bz:
        print(f"| bootstrap {bz['replicates']} replicates x {bz['models']} models | "
              f"{bz['journeys']:,} generated journeys | {bz['seconds']:.2f} "
              f"(cpu {bz['cpu_s']:.2f}) | {bz['peak_mb']:.0f} "
              f"(data alone {bz['data_peak_mb']:.0f}) | |")  # fmt: skip
    if "ca" in tc and "attrib" in ta:
        a = np.array(ta["attrib"])
        c = np.array([tc["ca"].get(n, np.nan) for n in ta["channels"]])
        rel = np.abs(c - a) / a
        print(
            f"\nGenerated path table ({wt['paths']:,} paths): ChannelAttribution default vs exact "
            f"attrib, per-channel relative deviation max {np.nanmax(rel):.2%}, median "
            f"{np.nanmedian(rel):.2%}."
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", choices=sorted(CASES))
    ap.add_argument("--journeys", type=int, default=1_000_000)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--cases", default="", help="comma list of cases to run (default: all)")
    ap.add_argument("--table", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.case:
        print(json.dumps(CASES[args.case](args)))
    else:
        report(args)


if __name__ == "__main__":
    main()
