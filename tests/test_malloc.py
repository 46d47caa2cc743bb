"""voxguard.malloc: the arena cap and the periodic trim of serving processes."""

from __future__ import annotations

import threading

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
    assert not threading.Event().wait(0.1) and len(calls) <= settled + 1
    assert set(calls) == {0}  # malloc_trim(0): keep no padding at the top of the heap


def test_the_real_glibc_trim_runs() -> None:
    if malloc._glibc("malloc_trim") is None:
        pytest.skip("not glibc")
    stop = malloc.trim_periodically(0.01)
    assert stop is not None
    assert not threading.Event().wait(0.05)
    stop.set()


def test_the_arena_cap_yields_to_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert malloc.limit_arenas() is False
