"""Two calls side by side: the one way attrib splits a step over the machine's two cores.

For calls that release the GIL (numba ``nogil`` kernels, Polars): the second runs in a worker
thread while the caller runs the first.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

A = TypeVar("A")
B = TypeVar("B")


def side_by_side(
    first: Callable[[], A], second: Callable[[], B], *, parallel: bool = True
) -> tuple[A, B]:
    """``(first(), second())``, the two at once unless ``parallel`` is False (small inputs:
    a thread costs more than it saves). An exception in either is raised here."""
    if not parallel:
        return first(), second()
    with ThreadPoolExecutor(max_workers=1) as pool:
        later = pool.submit(second)
        return first(), later.result()
