"""``cli._malloc``: glibc told to serve big blocks from the heap and keep them for reuse."""

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


def _child(mode: str, **env: str) -> str:
    environ = {
        k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k != "GLIBC_TUNABLES"
    }
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, mode],
        env={**environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


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
