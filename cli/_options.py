"""What several commands share: their common options (``--format``, the input tables,
``--event-log``), DATA_DIR's type, the shipped sample when no input is given, and the checks
of options that exclude each other.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import click

from cli._errors import say_while_failing

DEFAULT_OUT = "attrib-out"
#: key of the click context's ``obj``: set when the CLI runs in a process of its own
OWN_PROCESS = "own_process"


def _refuse_empty(
    kind: click.ParamType,
    value: Any,
    param: click.Parameter | None,
    ctx: click.Context | None,
    names: str,
    then: str = "",
) -> None:
    """Exit 2 for an empty path: read as the current folder, ``--out "$OUT"`` with ``$OUT``
    unset wrote a run's outputs into it, and ``--touchpoints ""`` searched it for files."""
    if isinstance(value, str) and not value.strip():
        kind.fail(f"an empty path names no {names} (an unset variable?){then}", param, ctx)


class PathArg(click.Path):
    """A path option or argument; an empty one is refused (``_refuse_empty``)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        here = "; give one, or '.' for the current folder" if self.dir_okay else "; give one"
        _refuse_empty(self, value, param, ctx, "file or folder", here)
        return super().convert(value, param, ctx)


class _TableSource(click.types.StringParamType):
    """A table's file, folder or glob (``--touchpoints``); an empty one is refused."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        _refuse_empty(self, value, param, ctx, "file, folder or glob")
        return super().convert(value, param, ctx)


class _DataDir(PathArg):
    """DATA_DIR: a folder. A file given there (``attrib run exports/deals.csv``) is told how
    to name one table's file, not only click's "Directory ... is a file"."""

    def __init__(self) -> None:
        super().__init__(file_okay=False, path_type=Path)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str | Path) and (glob := _expanded_glob(Path(value), ctx)):
            # `--touchpoints logs/2026-*.parquet`: the shell gave the option the first file
            # and the next one landed here
            option, first = glob
            pattern = str(first.parent / f"*{first.suffix}")
            self.fail(
                f"{str(value)!r} is a file, not a data folder: was a glob after {option} left"
                f" unquoted? The shell expands it into files ({first}, {value}, ...), the"
                f" second read as DATA_DIR; quote it: {option} '{pattern}' (or the pattern"
                " meant)",
                param,
                ctx,
            )
        if isinstance(value, str | Path) and Path(value).is_file():
            self.fail(
                f"{str(value)!r} is a file, not a data folder: give the folder that holds "
                "touchpoints.*, deals.*, ..., or name each table's file with --touchpoints "
                "FILE, --deals FILE, ... (see --help)",
                param,
                ctx,
            )
        return super().convert(value, param, ctx)


def _expanded_glob(value: Path, ctx: click.Context | None) -> tuple[str, Path] | None:
    """(option, its file) when a table option names a file of ``value``'s folder and kind:
    the shell's expansion of an unquoted glob, its second file read as DATA_DIR."""
    if ctx is None or not value.is_file():
        return None
    for table in ("touchpoints", "deals", "costs", "stages", "targets"):
        given = ctx.params.get(table)
        if given is None:
            continue
        first = Path(given)
        if first.parent == value.parent and first.suffix == value.suffix and first != value:
            return f"--{table}", first
    return None


class FiniteFloatRange(click.FloatRange):
    """A float in a range that is also a number: click's range lets ``nan`` through (every
    comparison with it is false) and ``inf`` past an open upper end."""

    name = "number"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{number!r} is not a finite number", param, ctx)
        return number


def _given(options: Mapping[str, object]) -> list[str]:
    """The names of the options that were given (not None, not a false flag)."""
    return [n for n, value in options.items() if value is not None and value is not False]


def _check_option_pairs(options: Mapping[str, object]) -> None:
    """Options that would be ignored beside another (exit 2): ``options`` maps every option
    to its value, None when not given."""
    from attrib.errors import UsageError
    from attrib.run import refuse_ignored_pairs

    given = set(_given(options))
    # the library's rules (the Python API's too), its argument names spelt as options
    refuse_ignored_pairs(
        {n.removeprefix("--").replace("-", "_") for n in given},
        lambda name: "--" + name.replace("_", "-"),
    )
    if "--seed" in given and "--bootstrap" not in given:
        raise UsageError("--seed without --bootstrap does nothing", hint="add --bootstrap N")


def output_format(what: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """The ``--format table|json`` option of a command whose stdout shows ``what``."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(["table", "json"]),
        default="table",
        show_default=True,
        help=f"{what} on stdout: human table or JSON.",
    )


#: ``--strict/--no-strict`` of the commands that read the inputs (run, validate, plan):
#: None where neither is given, so that the config's ``[options] strict`` holds
strict_option = click.option(
    "--strict/--no-strict",
    default=None,
    help="Exit 1 if any input row is rejected; --no-strict turns off the config's [options]"
    " strict [default: the config's, else off].",
)


def table_options(command: Callable[..., None]) -> Callable[..., None]:
    """The options that name a run's input files one by one (``run``, ``validate``, ``plan``)."""
    for option in reversed(
        (
            click.option(
                "--touchpoints",
                default=None,
                type=_TableSource(),
                help="Touchpoints file, folder or glob (overrides DATA_DIR).",
            ),
            click.option(
                "--deals", default=None, type=_TableSource(), help="Deals file, folder or glob."
            ),
            click.option(
                "--costs", default=None, type=_TableSource(), help="Costs file, folder or glob."
            ),
            click.option(
                "--stages", default=None, type=_TableSource(), help="Stages file, folder or glob."
            ),
            click.option(
                "--targets",
                default=None,
                type=_TableSource(),
                help="Targets file, folder or glob (kpi, period, target).",
            ),
            click.option(
                "--config",
                "config_path",
                default=None,
                type=PathArg(dir_okay=False, path_type=Path),
                help="Run config TOML (default: DATA_DIR/channels.toml).",
            ),
        )
    ):
        command = option(command)
    return command


def _sample_dir() -> Path:
    """The shipped sample data: ``data_samples/`` beside the package (source checkout)."""
    here = Path(__file__).resolve().parent.parent / "data_samples"
    return here if here.is_dir() else Path.cwd() / "data_samples"


event_log_option = click.option(
    "--event-log",
    "event_log",
    default=None,
    type=PathArg(dir_okay=False, path_type=Path),
    help="Single B2C event log (cookie, time, channel, conversion, conversion_value).",
)


def _data_or_sample(data_dir: Path | None, *given: object) -> Path | None:
    """DATA_DIR, or the shipped sample when neither it nor any input option is given, said on
    stderr as a warning, with ``-q`` and ``--format json`` too: a scheduled job whose DATA_DIR
    got lost would publish the sample's numbers as its own. A costs, stages, targets or
    config file alone is not mixed into the sample: the run then asks for the touches and
    deals."""
    if data_dir is not None or any(g is not None and g != () for g in given):
        return data_dir
    sample = _sample_dir()
    say_while_failing(  # (a stderr that takes nothing more: the run goes on)
        f"warning: no DATA_DIR given: using the shipped sample data in {sample}/",
        err=True,
        color="yellow",
    )
    return sample
