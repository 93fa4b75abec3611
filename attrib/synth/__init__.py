"""Synthetic B2B marketing data with known channel effects (touchpoints, deals, stages, costs).

The generator is fully vectorised (numpy draws, Polars sorting and string building) so that it
makes ten million touchpoints in seconds, and it is deterministic: the same arguments give
byte-identical files. The generative process is documented in ``docs/SYNTH.md``; every
probability it uses is a named constant in ``attrib.synth.spec``, and each channel's true
effect on the log-odds of conversion is in ``TRUE_CHANNEL_EFFECTS`` so that data-driven
models can be checked against a known ranking.
"""

from __future__ import annotations

from pathlib import Path

from attrib.columns import TABLES
from attrib.errors import OutputError, UsageError
from attrib.outputs import check_out_folder
from attrib.synth.process import generate_frames
from attrib.synth.spec import (
    CHANNELS,
    PAID_CHANNELS,
    STAGES,
    TRUE_CHANNEL_EFFECTS,
    ChannelSpec,
    channels_toml,
)

__all__ = [
    "CHANNELS",
    "PAID_CHANNELS",
    "STAGES",
    "TRUE_CHANNEL_EFFECTS",
    "ChannelSpec",
    "channels_toml",
    "generate",
    "generate_frames",
]


def generate(
    out_dir: str | Path,
    *,
    customers: int = 2000,
    seed: int = 7,
    fmt: str = "csv",
    start: str = "2025-01-01",
    months: int = 12,
) -> dict[str, int]:
    """Write the synthetic tables and ``channels.toml`` to ``out_dir``; return rows per table.

    ``fmt`` is ``"csv"`` (timestamps as ``YYYY-MM-DD HH:MM:SS``, amounts with 2 decimals) or
    ``"parquet"``. The same arguments always give byte-identical files.
    """
    if fmt not in ("csv", "parquet"):
        raise UsageError(f"--format (fmt=) must be 'csv' or 'parquet'; got {fmt!r}", hint="use csv")
    out = Path(out_dir)
    check_out_folder(out, "OUT_DIR as")  # a file there: an output error, before any work
    # another format's tables beside these would make the folder ambiguous to `attrib run`
    others = sorted(
        p.name
        for name in TABLES
        for p in (out.glob(f"{name}.*") if out.is_dir() else [])
        if p.is_file() and p.name != f"{name}.{fmt}"
    )
    if others:
        raise UsageError(
            f"{out} already holds {', '.join(others)}: beside new {fmt} tables, `attrib run` "
            "could not tell which to read",
            file=str(out),
            hint="generate into an empty folder, or remove those files",
        )
    frames = generate_frames(customers=customers, seed=seed, start=start, months=months)
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name, frame in frames.items():
            path = out / f"{name}.{fmt}"
            if fmt == "csv":
                frame.write_csv(
                    path,
                    datetime_format="%Y-%m-%d %H:%M:%S",
                    date_format="%Y-%m-%d",
                    float_precision=2,
                )
            else:
                frame.write_parquet(path, compression="zstd", statistics=True)
        (out / "channels.toml").write_text(channels_toml(), encoding="utf-8")
    except OSError as e:
        raise OutputError(
            f"cannot write synthetic data: {e}", file=str(out), hint="check the folder"
        ) from e
    return {name: frame.height for name, frame in frames.items()}
