import numpy as np

from voxguard.spoof.features import (
    PHASE_BANDS,
    PHASE_DIMS,
    FeatureParams,
    log_spectrogram,
    make_windows,
    normalize_level,
    phase_statistics,
    spectral_statistics,
)

P = FeatureParams()


def _noise(seconds: float, seed: int = 0) -> np.ndarray:
    return (0.1 * np.random.default_rng(seed).standard_normal(int(seconds * 16000))).astype(
        np.float32
    )


def test_short_speech_is_wrapped_to_one_window() -> None:
    windows = make_windows(_noise(1.5), P)
    assert len(windows) == 1
    assert windows[0][1].size == P.window_samples


def test_too_little_speech_gives_no_window() -> None:
    assert make_windows(_noise(0.3), P) == []


def test_long_speech_hops_and_covers_the_tail() -> None:
    windows = make_windows(_noise(11.5), P)
    starts = [s for s, _ in windows]
    assert starts[:4] == [0.0, 2.0, 4.0, 6.0]
    assert starts[-1] + P.window_s == 11.5
    assert all(w.size == P.window_samples for _, w in windows)


def test_spectrogram_shape_and_level_invariance() -> None:
    x = _noise(4.0)
    spec = log_spectrogram(x, P)
    assert spec.shape == (P.bands, P.frames)
    np.testing.assert_allclose(spec, log_spectrogram(10 * x, P), atol=1e-3)
    assert spectral_statistics(spec).shape == (892,)


def test_normalize_level_hits_target_and_keeps_silence() -> None:
    y = normalize_level(_noise(1.0), -26.0)
    assert abs(20 * np.log10(np.sqrt(np.mean(y**2))) + 26.0) < 0.01
    assert not normalize_level(np.zeros(100, np.float32), -26.0).any()


def test_too_little_vad_speech_falls_back_to_the_non_silent_samples() -> None:
    from voxguard.spoof.features import speech_or_fallback

    p = FeatureParams()
    clip = np.r_[np.zeros(8000), np.full(12000, 0.1), np.zeros(8000)].astype(np.float32)
    enough = clip[8000:20000]  # 0.75 s of "speech": kept as the VAD found it
    speech, used_vad = speech_or_fallback(clip, enough, p)
    assert used_vad and speech is enough
    speech, used_vad = speech_or_fallback(clip, enough[:4000], p)  # 0.25 s: too little
    assert not used_vad and speech.size == 12000


def test_high_band_level_tells_a_phone_line_from_wideband_audio() -> None:
    from scipy.signal import butter, sosfilt

    from voxguard.spoof.features import high_band_db

    noise = np.random.default_rng(0).standard_normal(16000 * 2).astype(np.float32)
    assert high_band_db(noise, 16000) > -3.0  # white noise: as much above 4 kHz as below
    # A phone line's band limit (the detector test runs real speech through 8 kHz).
    phone = sosfilt(butter(12, 3400, fs=16000, output="sos"), noise)
    assert high_band_db(phone, 16000) < -40.0
    assert high_band_db(noise[:100], 16000) == 0.0  # shorter than one frame: no reading


def test_top_band_level_tells_an_mp3_at_16_khz_from_full_band_audio() -> None:
    from voxguard.spoof.features import top_band_db
    from voxguard.training.detector.augment import TEST_CHANNELS, quantize_16bit

    noise = np.random.default_rng(0).standard_normal(16000 * 2).astype(np.float32) * 0.1
    assert top_band_db(noise, 16000) > -3.0  # white noise: as much at the top as below
    # MP3 at 16 kHz and a 7 kHz low-pass, stored as 16-bit files: only the rounding floor
    # is left at the top.
    for channel in ("mp3-64k", "lowpass-7k"):
        limited = quantize_16bit(TEST_CHANNELS[channel](noise))
        assert top_band_db(limited, 16000) < -40.0, channel
    # AAC keeps the top of the band: not band-limited.
    assert top_band_db(quantize_16bit(TEST_CHANNELS["aac-64k"](noise)), 16000) > -20.0
    assert top_band_db(noise[:100], 16000) == 0.0  # shorter than one frame: no reading


def _tone_plus_noise(noise: float, seed: int) -> np.ndarray:
    t = np.arange(64000) / 16000
    rng = np.random.default_rng(seed)
    return (np.sin(2 * np.pi * 1003 * t) + noise * rng.normal(size=t.size)).astype(np.float32)


def test_phase_statistics_see_a_steady_tone_and_ignore_level() -> None:
    tone = phase_statistics(_tone_plus_noise(0.01, 0))
    noise = phase_statistics(_tone_plus_noise(100.0, 0))
    assert tone.shape == noise.shape == (PHASE_DIMS,)
    assert np.isfinite(tone).all()
    # 1003 Hz is bin 32 of 512 at 16 kHz: band 1 (bins 17-32). A steady tone advances its
    # phase as expected frame after frame; noise does not.
    resultant = tone[:PHASE_BANDS]
    assert resultant[1] > 0.95 > noise[1]
    np.testing.assert_allclose(phase_statistics(0.01 * _tone_plus_noise(0.01, 0)), tone, atol=1e-4)


def test_phase_statistics_find_spectral_lines_in_the_long_term_spectrum() -> None:
    rng = np.random.default_rng(1)
    noise = rng.normal(size=64000)
    t = np.arange(64000) / 16000
    # Lines every 250 Hz (32 bins of a 2048-point FFT), as an up-sampling layer leaves them.
    lines = sum(0.3 * np.sin(2 * np.pi * 250 * m * t) for m in range(1, 32))
    acf = slice(5 * PHASE_BANDS, None)
    plain = phase_statistics(noise.astype(np.float32))[acf]
    lined = phase_statistics((noise + lines).astype(np.float32))[acf]
    assert lined[31] > 0.3 > abs(plain[31])  # lag 32 bins, stored at index 31
