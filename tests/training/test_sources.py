from __future__ import annotations

from pathlib import Path

import numpy as np

from voxguard.training.sources import cut_points, load_sources


def test_cuts_fall_at_quiet_frames_between_three_and_six_seconds() -> None:
    rate = 16000
    rng = np.random.default_rng(0)
    x = (0.1 * rng.standard_normal(20 * rate)).astype(np.float32)
    x[int(4.5 * rate) : int(4.6 * rate)] = 0.0  # a pause
    cuts = cut_points(x, np.random.default_rng(1))
    assert cuts
    gaps = np.diff([0, *cuts])
    assert np.all(gaps >= 3 * rate - 512) and np.all(gaps <= 6 * rate + 512)


def test_units_are_reproducible_and_comparable_in_length(tiny_data: Path) -> None:
    units = load_sources(tiny_data, seed=0)
    again = load_sources(tiny_data, seed=0)
    assert [u.unit_id for u in units] == [u.unit_id for u in again]
    assert {u.corpus for u in units} == {"librispeech", "fsdd"}
    fsdd = [u for u in units if u.corpus == "fsdd"]
    lengths = [len(u.text_id.removeprefix("digits:")) for u in fsdd]
    assert all(u.text_id.startswith("digits:") for u in fsdd)
    assert sum(lengths) == 20  # every file used once
    assert all(1 <= n <= 8 for n in lengths) and sum(n >= 4 for n in lengths) >= len(fsdd) - 2
    libri = [u for u in units if u.corpus == "librispeech"]
    assert max(u.samples.size for u in libri) <= 9.5 * 16000
