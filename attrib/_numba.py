"""The one place JIT options are set: every kernel uses ``njit`` from here.

``cache=True`` keeps compiled kernels on disk (``__pycache__``), which brings a warm run's
compile cost from ~1 s to ~0.1 s; ``ATTRIB_NUMBA_CACHE=0`` turns it off.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from numba import njit as _njit

CACHE = os.environ.get("ATTRIB_NUMBA_CACHE", "1") != "0"


def njit(fn: Callable[..., Any]) -> Callable[..., Any]:
    """numba.njit with the project's options (nogil, cached)."""
    return _njit(cache=CACHE, nogil=True)(fn)
