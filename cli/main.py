"""The ``attrib`` command line: the click group, its registered commands (run, validate,
generate, plan, report, models, explain: each in a ``*_cmd`` module of its own) and the
console script's entry point.

Heavy libraries (polars, numba, pyspark) are imported inside the commands, so ``attrib
--help`` stays fast.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from attrib._threads import join_background
from cli._errors import (
    exit_broken_pipe,
    exit_without_room,
    flush_or_drop_stderr,
    say_while_failing,
)
from cli._options import OWN_PROCESS
from cli.generate_cmd import generate
from cli.models_cmd import explain, models
from cli.plan_cmd import plan
from cli.report_cmd import report
from cli.run_cmd import run
from cli.validate_cmd import validate

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@contextmanager
def gc_paused() -> Iterator[None]:
    """Python's cyclic GC off for the command being run, back as it was after (also after an
    error).

    Importing polars and numba and numba's first kernel call make ~1M long-lived objects
    that the GC would scan ~300 times (~0.12 s, 6% of a sample run); a job makes almost no
    cyclic garbage (a cold numba compile's, ~0.1 GB, at most). The survivors then join the
    oldest generation unscanned (``freeze`` and ``unfreeze`` move lists, they scan nothing),
    so the first collection after the command does not pay for them either. A process that
    calls the CLI (a notebook, CliRunner) still collects its own garbage afterwards.
    """
    enabled, frozen = gc.isenabled(), gc.get_freeze_count()
    gc.disable()
    try:
        yield
    finally:
        if not frozen:  # a caller's own frozen objects stay frozen
            gc.freeze()
            gc.unfreeze()
        if enabled:
            gc.enable()


class Group(click.Group):
    """The ``attrib`` group: click's own output (``--help``, ``--version``) into a closed pipe
    exits 141 like the commands' (click's ``main`` would exit 1, the code of ``--strict``)."""

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:  # attrib --help, attrib --version
            return super().make_context(*args, **kwargs)
        except BrokenPipeError:
            exit_broken_pipe()
        except OSError as exc:  # --help >/dev/full
            exit_without_room(exc)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta[_RAW_ARGS] = list(args)  # the command line as given, for ``invoke``
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:  # attrib run --help (the commands' own output goes through handle_errors)
            return super().invoke(ctx)
        except BrokenPipeError:
            exit_broken_pipe()
        except click.exceptions.Exit:
            raise
        except OSError as exc:  # attrib run --help >/dev/full
            exit_without_room(exc)
        except click.UsageError as exc:  # click's own (--lookback-days -1): JSON if asked
            raw = ctx.meta.get(_RAW_ARGS, [])
            # (an option given last without its value: click's error has no context)
            command = exc.ctx.info_name if exc.ctx is not None else _command_of(raw)
            if command in _JSON_COMMANDS and _asks_json(raw):
                from attrib.errors import UsageError

                path = exc.ctx.command_path if exc.ctx is not None else f"attrib {command}"
                hint = f"see '{path} --help'"
                document = {"ok": False, **UsageError(exc.format_message(), hint=hint).to_dict()}
                say_while_failing(json.dumps(document), err=False)  # (a reader gone: still 2)
            raise


_RAW_ARGS = "attrib.raw_args"
#: the commands whose ``--format json`` writes a JSON document (generate's --format is a file's)
_JSON_COMMANDS = ("run", "validate", "plan")


def _command_of(args: list[str]) -> str | None:
    """The command a command line names: its first word that is no option."""
    return next((a for a in args if not a.startswith("-")), None)


def _asks_json(args: list[str]) -> bool:
    """Whether a command line asks for ``--format json`` (read before click could parse it)."""
    pairs = zip(args, [*args[1:], ""], strict=True)
    return any(a == "--format=json" or (a == "--format" and b == "json") for a, b in pairs)


@click.group(
    cls=Group,
    context_settings=CONTEXT,
    epilog="""\b
Examples:
  attrib run                              # the shipped sample data -> ./attrib-out
  attrib run exports/ --out out/ --models first_touch,linear,markov
  attrib validate exports/
  attrib generate demo/ --customers 5000 --seed 1
  attrib models
Docs: README.md. Exit codes: 0 ok, 1 checks failed (--strict), 2 usage/input/config error,
3 computation error, 4 output error, 5 internal error, 130 interrupted, 141 output pipe closed.""",
)
@click.version_option(package_name="attrib")
def cli() -> None:
    """attrib: multichannel attribution and ROI analytics for B2B marketing."""
    click.get_current_context().with_resource(gc_paused())  # for the command, not after


cli.add_command(run)
cli.add_command(validate)
cli.add_command(models)
cli.add_command(explain)
cli.add_command(generate)
cli.add_command(plan)
cli.add_command(report)


def main() -> None:  # pragma: no cover - console entry point
    """The ``attrib`` console script: the CLI in a process of its own, so an in-memory run may
    tune the process's allocator (``cli._malloc``) and the process may end without a final
    garbage collection.

    The interpreter's shutdown collects every tracked object more than once (the imports of
    polars and numba leave ~200k of them): 0.6-1.0 s at the end of every run, for memory the
    process is about to give back anyway. Frozen objects are not scanned, so freezing them
    first skips it. ``atexit`` handlers still run and non-cyclic objects are still freed;
    objects caught in reference cycles are not finalized (the outputs are closed and
    renamed by then).

    Every way out (success, an error's exit code, Ctrl-C) first waits for the threads the
    command started in the background (numba's set-up: an input error can end the command
    while it still imports numba, and an interpreter torn down under it can crash), then
    freezes, so that the objects of the thread's imports are frozen too.
    """
    try:
        cli(prog_name="attrib", obj={OWN_PROCESS: True})
    finally:
        join_background()
        gc.freeze()
        flush_or_drop_stderr()


if __name__ == "__main__":  # pragma: no cover
    main()
