"""The file lock between processes: a second process waits for the holder, and a holder that
is killed (kill -9) leaves no stale lock behind."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from voxguard.store.locks import FileLock

# Another process: takes the lock, says so, and holds it until its stdin is closed.
_HOLDER = """
import sys
from pathlib import Path
from voxguard.store.locks import FileLock
FileLock(Path(sys.argv[1])).acquire()
print("held", flush=True)
sys.stdin.read()
"""


def hold(path: Path) -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    return holder


def test_another_process_holding_the_lock_makes_this_one_wait(tmp_path: Path) -> None:
    path = tmp_path / "index" / "gallery.lock"
    holder = hold(path)
    lock = FileLock(path)
    try:
        assert not lock.acquire(wait=False) and not lock.held
        taken = threading.Event()
        waiter = threading.Thread(target=lambda: lock.acquire() and taken.set())
        waiter.start()
        assert not taken.wait(0.5)  # blocked for as long as the other process holds it
        assert holder.stdin is not None
        holder.stdin.close()  # the holder exits, releasing it
        assert taken.wait(10) and lock.held
        waiter.join(10)
    finally:
        holder.kill()
        holder.wait(10)
        lock.release()
    assert path.exists()  # the lock file stays: removing it would let two holders in


def test_a_holder_killed_outright_frees_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "gallery.lock"
    holder = hold(path)
    assert not FileLock(path).acquire(wait=False)
    holder.kill()  # SIGKILL: no clean-up code runs; the kernel drops the lock
    holder.wait(10)
    lock = FileLock(path)
    assert lock.acquire(wait=False)
    lock.release()


def test_two_locks_in_one_process_exclude_each_other(tmp_path: Path) -> None:
    path = tmp_path / "gallery.lock"
    with FileLock(path) as first:
        second = FileLock(path)
        assert not second.acquire(wait=False)
        with pytest.raises(RuntimeError, match="already held"):
            first.acquire()
    assert second.acquire(wait=False)
    second.release()
    second.release()  # releasing twice is harmless
