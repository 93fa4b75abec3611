"""The ``attrib`` process's memory settings: glibc's malloc told to keep freed memory for
reuse, and numpy told not to ask for transparent huge pages.

A run allocates and frees arrays of tens to hundreds of MB (a column of 10M touches is
80 MB). By default glibc serves each block over 32 MB with its own ``mmap`` and unmaps it on
``free``, so the next array gets fresh pages that the kernel must fault in and zero. On a
VM, where a first touch of memory is dearest, the kernel's share of a 10M-touch run's CPU
was 25-35%, zeroing pages the largest part. Served from the heap and kept there, freed
blocks are reused instead: the kernel's time drops by ~1.5 s and the run by ~10%, for
~0.2 GB more peak memory.

Only an in-memory ``attrib run`` in the console script's own process does this
(``cli.main.main``): the bucketed engine exists to bound its peak, which kept memory would
raise (+0.4 GB at 10M touches in 8 buckets); a process that imports attrib or calls the CLI
in-process (a notebook, ``CliRunner``) keeps its allocator settings, as do users who tune
glibc themselves through ``MALLOC_*`` environment variables or ``GLIBC_TUNABLES``.

Blocks a worker thread asks for come from that thread's arena, whose heaps glibc caps at
64 MiB: larger ones are still mapped and unmapped. Most of a run's large arrays are made by
the main thread (and Polars' buffers by its own allocator, jemalloc, untouched here).

numpy marks every array of 4 MiB or more for transparent huge pages (``madvise``), and
numba's arrays then share those heap ranges. Where the kernel hands out huge pages only on
such advice (``transparent_hugepage/enabled = madvise``, the common default), a fault takes a
whole free 2 MiB block; on a VM whose host reclaims the guest's free memory (a balloon's free
page reporting, as on this project's machines), such blocks are the ones given back, so each
is faulted in from the host: a first touch of 1 GiB of new arrays cost ~2 s in huge pages
against ~0.45 s in 4 KiB pages here, and 0.9 GB of huge pages were ~12% of a 10M-touch run's
CPU. Every ``attrib run`` in the console script's process (any engine: it costs no memory)
therefore asks numpy for small pages; ``NUMPY_MADVISE_HUGEPAGE`` set in the environment (``1``
restores numpy's default, for machines where huge pages are cheap) is left to decide.
"""

from __future__ import annotations

import ctypes
import importlib
import os
import sys

# mallopt(3) parameter numbers (glibc's malloc.h)
_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_MAX = -4

#: free heap top kept rather than given back (mallopt takes an int: 2 GiB at most)
_TRIM_THRESHOLD = 2**31 - 1
#: extra heap asked of the kernel per extension (virtual until touched): fewer brk calls
_TOP_PAD = 256 << 20


def _user_tuned() -> bool:
    """Whether the environment sets glibc's malloc options (``MALLOC_*``, ``GLIBC_TUNABLES``)."""
    return any(k.startswith("MALLOC_") or k == "GLIBC_TUNABLES" for k in os.environ)


def small_pages_for_numpy() -> bool:
    """Turn off numpy's huge-page advice for arrays made from now on (module docstring); False
    (nothing changed) where ``NUMPY_MADVISE_HUGEPAGE`` is set or numpy lacks the switch."""
    if "NUMPY_MADVISE_HUGEPAGE" in os.environ:
        return False
    # numpy's documented variable is read at import; this is its run-time switch (numpy 2
    # moved it from numpy.core to numpy._core)
    for module in ("numpy._core.multiarray", "numpy.core.multiarray"):
        try:
            switch = importlib.import_module(module)._set_madvise_hugepage
        except (ImportError, AttributeError):
            continue
        switch(False)
        return True
    return False


def keep_freed_memory() -> bool:
    """Tune glibc's malloc as the module docstring says; False (nothing changed) on another
    C library or platform, or where the user set glibc's malloc options themselves."""
    if not sys.platform.startswith("linux") or _user_tuned():
        return False
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION"):
            return False
        mallopt = ctypes.CDLL(None).mallopt
    except (AttributeError, OSError, ValueError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    settings = ((_M_MMAP_MAX, 0), (_M_TRIM_THRESHOLD, _TRIM_THRESHOLD), (_M_TOP_PAD, _TOP_PAD))
    return all(mallopt(param, value) == 1 for param, value in settings)
