from __future__ import annotations

import numpy as np

from voxguard.training.audit import clip_stats


def test_clip_stats_sees_lead_silence_and_bandwidth() -> None:
    rate = 16000
    t = np.arange(rate) / rate
    low = np.concatenate([np.zeros(rate // 2), 0.1 * np.sin(2 * np.pi * 300 * t)])
    high = np.concatenate([np.zeros(rate // 2), 0.1 * np.sin(2 * np.pi * 6000 * t)])
    stats_low, stats_high = clip_stats(low.astype(np.float32)), clip_stats(high.astype(np.float32))
    assert abs(stats_low["lead_s"] - 0.5) < 0.05
    assert stats_low["duration_s"] == 1.5
    assert stats_low["hf_share_pct"] < 1 < 99 < stats_high["hf_share_pct"]
