"""The process-level helpers: numba's set-up in the background, two calls side by side."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from attrib._numba import set_up_in_background
from attrib._threads import side_by_side


def test_numba_set_up_in_background_finishes_beside_kernel_calls():
    """A kernel called while the set-up thread runs waits for numba, then computes as usual."""
    from attrib._journey_kernels import _journey_stats

    thread = set_up_in_background()
    assert thread.daemon
    offsets = np.array([0, 2, 2, 5], dtype=np.int64)
    channel = np.array([1, 2, 2, 1, 3], dtype=np.int32)
    marketing = np.array([False, True, False, True])
    first, last, influenced = _journey_stats(offsets[:-1], offsets[1:], channel, marketing)
    thread.join(timeout=120)
    assert not thread.is_alive()
    assert first.tolist() == [1, 0, 2]
    assert last.tolist() == [2, 0, 3]
    assert influenced.tolist() == [True, False, True]


def test_the_set_up_thread_imports_the_chosen_models_and_survives_bad_names():
    """``then`` runs after numba's set-up; a name it cannot import is left for the main
    thread to report (resolve_models), not raised in the thread."""
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "from functools import partial\n"
        "from attrib._numba import set_up_in_background\n"
        "from attrib.models import import_models\n"
        "t = set_up_in_background(partial(import_models, ['markov', 'no_such_model']))\n"
        "t.join()\n"
        "print('attrib.models.markov' in sys.modules, 'attrib.models.shapley' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["True", "False"]
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("parallel", [True, False])
def test_side_by_side_returns_both_results_in_order(parallel):
    names = []

    def who(tag: str) -> str:
        names.append(threading.current_thread().name)
        return tag

    assert side_by_side(lambda: who("a"), lambda: who("b"), parallel=parallel) == ("a", "b")
    assert (len(set(names)) == 2) is parallel  # the second ran in a worker thread


@pytest.mark.parametrize("parallel", [True, False])
@pytest.mark.parametrize("failing", ["first", "second"])
def test_side_by_side_raises_either_calls_error(parallel, failing):
    def boom() -> None:
        raise ValueError(failing)

    calls = (boom, lambda: 1) if failing == "first" else (lambda: 1, boom)
    with pytest.raises(ValueError, match=failing):
        side_by_side(*calls, parallel=parallel)


def test_join_background_waits_for_the_background_threads_within_its_timeout():
    """The end of a process waits for the threads started in the background (an interpreter
    torn down under numba's set-up can crash), but no longer than its timeout."""
    from attrib._threads import in_background, join_background

    release = threading.Event()
    thread = in_background(release.wait, name="attrib-test-blocked")
    assert thread.daemon
    assert join_background(timeout=0.05) is False  # still blocked: the wait gave up
    assert thread.is_alive()
    release.set()
    assert join_background(timeout=60) is True
    assert not thread.is_alive()
    assert join_background(timeout=0) is True  # nothing left to wait for
