"""voxguard.malloc: the arena cap and the periodic trim of serving processes."""

from __future__ import annotations

import threading
import time

import pytest

from voxguard import malloc


def test_no_trimming_when_the_interval_is_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(malloc, "_glibc", lambda name: pytest.fail("looked up " + name))
    assert malloc.trim_periodically(0) is None


def test_no_trimming_without_glibc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(malloc, "_glibc", lambda name: None)
    assert malloc.trim_periodically(0.01) is None


def test_trims_every_interval_until_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    three = threading.Event()

    def fake_trim(pad: int) -> int:
        calls.append(pad)
        if len(calls) >= 3:
            three.set()
        return 1

    monkeypatch.setattr(malloc, "_glibc", lambda name: fake_trim if name == "malloc_trim" else None)
    stop = malloc.trim_periodically(0.01)
    assert stop is not None
    assert three.wait(5), "malloc_trim was not called three times"
    stop.set()
    settled = len(calls)
    time.sleep(0.1)
    assert len(calls) <= settled + 1  # at most the call already under way
    assert set(calls) == {0}  # malloc_trim(0): keep no padding at the top of the heap


def _trimmers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "malloc-trim"]


def test_the_real_glibc_trim_runs_in_its_thread_until_stopped() -> None:
    if malloc._glibc("malloc_trim") is None:
        pytest.skip("not glibc: there is no malloc_trim to call")
    before = len(_trimmers())
    stop = malloc.trim_periodically(0.01)
    assert stop is not None
    time.sleep(0.05)  # a few real malloc_trim(0) calls
    assert len(_trimmers()) == before + 1
    stop.set()
    deadline = time.monotonic() + 5
    while len(_trimmers()) > before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(_trimmers()) == before


def test_the_arena_cap_yields_to_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert malloc.limit_arenas() is False
