"""``cli._malloc``: glibc told to serve big blocks from the heap and keep them for reuse;
numpy told not to advise transparent huge pages."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from cli import _malloc

glibc = pytest.mark.skipif(
    not sys.platform.startswith("linux") or not os.confstr("CS_GNU_LIBC_VERSION"),
    reason="glibc's malloc only (Linux with glibc)",
)

# In a child process (the settings are process-wide): a 64 MiB block, then glibc's count of
# blocks it serves by mmap (mallinfo2's hblks) grows by 1 by default, by 0 once tuned.
_CHILD = textwrap.dedent(
    """
    import ctypes, sys
    from cli._malloc import keep_freed_memory

    class MallInfo2(ctypes.Structure):
        _fields_ = [(n, ctypes.c_size_t) for n in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
            "uordblks", "fordblks", "keepcost")]

    libc = ctypes.CDLL(None)
    libc.mallinfo2.restype = MallInfo2
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = (ctypes.c_void_p,)
    tuned = keep_freed_memory() if sys.argv[1] == "tune" else False
    before = libc.mallinfo2().hblks
    block = libc.malloc(64 << 20)
    print(tuned, libc.mallinfo2().hblks - before)
    libc.free(block)
    """
)


def _run(script: str, mode: str, env: dict[str, str], own_settings) -> str:
    """``script`` in a child process with ``mode`` as its argument; the environment's own
    settings (names ``own_settings`` picks) replaced by ``env``."""
    environ = {k: v for k, v in os.environ.items() if not own_settings(k)}
    done = subprocess.run(
        [sys.executable, "-c", script, mode],
        env={**environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def _child(mode: str, **env: str) -> str:
    return _run(_CHILD, mode, env, lambda k: k.startswith("MALLOC_") or k == "GLIBC_TUNABLES")


@glibc
def test_tuned_malloc_serves_big_blocks_from_the_heap():
    assert _child("plain") == "False 1"
    assert _child("tune") == "True 0"


@glibc
def test_a_users_own_malloc_settings_win():
    assert _child("tune", MALLOC_MMAP_THRESHOLD_="1048576") == "False 1"
    assert _child("tune", MALLOC_ARENA_MAX="2") == "False 1"
    assert _child("tune", GLIBC_TUNABLES="glibc.malloc.trim_threshold=1048576") == "False 1"


def test_nothing_changes_off_linux(monkeypatch):
    monkeypatch.setattr(sys, "platform", "darwin")
    assert _malloc.keep_freed_memory() is False


# In a child process: numpy's huge-page advice, and the huge pages a fresh 64 MiB array got
# (smaps_rollup's AnonHugePages, kB), plain or after ``small_pages_for_numpy``.
_NUMPY_CHILD = textwrap.dedent(
    """
    import sys
    import numpy as np
    from cli._malloc import small_pages_for_numpy

    def huge_kb():
        with open("/proc/self/smaps_rollup") as f:
            return next(int(l.split()[1]) for l in f if l.startswith("AnonHugePages:"))

    changed = small_pages_for_numpy() if sys.argv[1] == "tune" else False
    from numpy._core.multiarray import _get_madvise_hugepage
    before = huge_kb()
    block = np.ones(8 << 20)  # 64 MiB, touched
    print(changed, _get_madvise_hugepage(), huge_kb() - before)
    """
)


def _numpy_child(mode: str, **env: str) -> tuple[str, str, int]:
    out = _run(_NUMPY_CHILD, mode, env, lambda k: k == "NUMPY_MADVISE_HUGEPAGE")
    changed, advice, huge = out.split()
    return changed, advice, int(huge)


def _thp_on_advice() -> bool:
    try:
        with open("/sys/kernel/mm/transparent_hugepage/enabled") as f:
            return "[madvise]" in f.read()
    except OSError:
        return False


@pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="/proc/self/smaps_rollup is Linux's"
)
def test_numpy_asks_for_small_pages_once_told():
    assert _numpy_child("tune")[:2] == ("True", "False")
    changed, advice, huge = _numpy_child("plain")
    assert (changed, advice) == ("False", "True")
    if not _thp_on_advice() or huge == 0:
        pytest.skip("the kernel gives no huge pages on numpy's advice here: nothing to compare")
    assert _numpy_child("tune")[2] == 0


def test_a_users_own_huge_page_setting_wins():
    assert _numpy_child("tune", NUMPY_MADVISE_HUGEPAGE="1")[:2] == ("False", "True")
    assert _numpy_child("tune", NUMPY_MADVISE_HUGEPAGE="0")[:2] == ("False", "False")
