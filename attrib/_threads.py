"""The process's threads: two calls side by side (the one way attrib splits a step over the
machine's two cores) and work started in the background, which the process waits for before
it exits.

For calls that release the GIL (numba ``nogil`` kernels, Polars): the second runs in a worker
thread while the caller runs the first.
"""

from __future__ import annotations

import atexit
import threading
import time
from collections.abc import Callable
from typing import TypeVar

A = TypeVar("A")
B = TypeVar("B")

#: how long the end of a process waits for its background threads (seconds, all together)
BACKGROUND_WAIT_S = 30.0

#: the threads ``in_background`` started that may still run (finished ones are dropped)
_background: list[threading.Thread] = []
_background_lock = threading.Lock()


def side_by_side(
    first: Callable[[], A], second: Callable[[], B], *, parallel: bool = True
) -> tuple[A, B]:
    """``(first(), second())``, the two at once unless ``parallel`` is False (small inputs:
    a thread costs more than it saves). An exception in either is raised here."""
    if not parallel:
        return first(), second()
    from concurrent.futures import ThreadPoolExecutor  # (here: the CLI imports this module)

    with ThreadPoolExecutor(max_workers=1) as pool:
        later = pool.submit(second)
        return first(), later.result()


def in_background(target: Callable[[], object], *, name: str) -> threading.Thread:
    """Start ``target`` in a daemon thread (nothing waits for its result) and return it.

    The process must not end under it: an interpreter torn down while the thread is inside
    numba or LLVM (importing, loading cached kernels) can die with SIGSEGV or SIGABRT after
    its work is done (exit 139 or 134 instead of the command's own code). The console
    script's exit joins it (``join_background`` in ``cli.main.main``, before it freezes the
    process's objects); in any other process an ``atexit`` hook does, registered anew at each
    start so that it runs before the hooks of what was imported earlier (numba's, llvmlite's).
    """
    thread = threading.Thread(target=target, name=name, daemon=True)
    with _background_lock:
        atexit.unregister(join_background)  # registered anew: runs before what came earlier
        atexit.register(join_background)
        _background[:] = [t for t in _background if t.is_alive()]
        _background.append(thread)
    thread.start()
    return thread


def join_background(timeout: float = BACKGROUND_WAIT_S) -> bool:
    """Wait for the threads ``in_background`` started, ``timeout`` seconds at most in all:
    True when none of them still runs. A Ctrl-C while it waits stops the wait (False), so a
    second Ctrl-C still ends the process."""
    with _background_lock:
        threads = list(_background)
    deadline = time.monotonic() + timeout
    try:
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
    except KeyboardInterrupt:
        return False
    with _background_lock:
        _background[:] = [t for t in _background if t.is_alive()]
        return not _background
