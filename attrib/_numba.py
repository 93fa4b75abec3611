"""The one place JIT options are set: every kernel uses ``njit`` from here.

``cache=True`` keeps compiled kernels on disk (``__pycache__``), which brings a warm run's
compile cost from ~1 s to ~0.1 s; ``ATTRIB_NUMBA_CACHE=0`` turns it off. A process's first
kernel call also sets numba itself up (``set_up_in_background``).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from functools import partial
from typing import Any

from numba import njit as _njit

from attrib._threads import in_background

CACHE = os.environ.get("ATTRIB_NUMBA_CACHE", "1") != "0"


def njit(fn: Callable[..., Any]) -> Any:
    """numba.njit with the project's options (nogil, cached); a numba dispatcher (untyped)."""
    return _njit(cache=CACHE, nogil=True)(fn)


@njit
def _first_kernel(n: int) -> int:
    return n + 1


def set_up_in_background(then: Callable[[], object] | None = None) -> threading.Thread:
    """Start numba's one-time set-up in a daemon thread and return it.

    The first kernel call of a process, cached or not, installs numba's typing and lowering
    registries (~0.4 s here; a third of it imports scipy.linalg). Started before the inputs
    are read, that overlaps Polars' reading, which releases the GIL, instead of delaying the
    first journey kernel: a sample run ~0.1 s faster; at 10M the read keeps both cores busy
    and it neither gains nor loses. Later kernel calls wait on numba's compiler lock until
    it is done, so nothing depends on the thread having finished. ``then`` runs next in the
    same thread (``run`` passes the chosen models' imports). The process waits for the thread
    before it exits (``attrib._threads.in_background``): torn down under it, it can crash.
    """
    return in_background(partial(_set_up, then), name="attrib-numba-set-up")


def _set_up(then: Callable[[], object] | None) -> None:
    """The set-up thread: numba's first kernel call, then ``then`` (more imports to take off
    the critical path). A failure here is left for the main thread to meet and report."""
    try:
        _first_kernel(0)
    finally:
        _first_called.set()
    if then is not None:
        with contextlib.suppress(Exception):  # the main thread's own import raises it
            then()


#: set once the set-up thread's first kernel call returned (loaded or compiled)
_first_called = threading.Event()
#: whether this process has said ``compile_note`` already
_noted = False


def compile_note(set_up: threading.Thread) -> str | None:
    """What to tell the user, before the first kernel runs, when this process will compile
    its kernels rather than load them (~20 s on 2 cores, more on a busy machine: the first
    run after an install or an upgrade, or ``ATTRIB_NUMBA_CACHE=0``), so that the run does
    not look hung; None otherwise, and after the first call of a process (a notebook's later
    runs reuse the compiled kernels). Waits for the set-up thread's first kernel (``set_up``
    started it; later kernel calls would wait for numba's set-up anyway)."""
    global _noted
    while not _first_called.wait(0.05) and set_up.is_alive():
        pass
    if _noted:
        return None
    _noted = True
    if not CACHE:
        return "compiling the numba kernels (ATTRIB_NUMBA_CACHE=0: every process compiles, ~20 s)"
    if _first_kernel.stats.cache_misses:
        return (
            "compiling the numba kernels: ~20 s once after an install (more on a busy machine);"
            " later runs load them from the cache"
        )
    return None
