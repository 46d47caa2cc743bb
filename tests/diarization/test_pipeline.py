"""The diarizer on conversations composed from LibriSpeech readers (real models)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from tests.api.audio import wav
from tests.diarization.conversation import frame_accuracy, readers
from tests.diarization.test_vbx import write_plda
from voxguard.audio.quality import QualityCode, QualityReport
from voxguard.audio.vad import SpeechSegment
from voxguard.diarization import Diarization, Turn
from voxguard.diarization.overlap import ACOUSTIC_FEATURES
from voxguard.diarization.pipeline import DiarizationParams, Diarizer, Windows
from voxguard.diarization.vbx import Plda
from voxguard.speaker.backend import ScoringPath, SpeakerBackend, Wccn
from voxguard.speaker.calibration import LinearCalibration
from voxguard.speaker.campplus import kaldi_fbank


@pytest.fixture(scope="module")
def diarizer() -> Diarizer:
    return Diarizer()


@pytest.mark.parametrize("speakers", [2, 3])
def test_who_spoke_when(diarizer: Diarizer, speakers: int) -> None:
    conversation = readers(speakers, turn_s=4.0)
    result = diarizer.diarize(wav(conversation.samples))
    assert len(result.speakers) == speakers
    duration = conversation.samples.size / 16000
    assert frame_accuracy(conversation.reference, result.turns, duration) > 0.85
    # On the recording's own time axis, in order, inside the file.
    starts = [t.start_s for t in result.turns]
    assert starts == sorted(starts) and starts[0] >= 0 and result.turns[-1].end_s <= duration + 0.01
    assert set(result.centroids) == set(result.speakers)


def test_one_voice_is_one_speaker_and_silence_is_nobody(diarizer: Diarizer) -> None:
    conversation = readers(1)
    assert diarizer.diarize(wav(conversation.samples)).speakers == ["S1"]
    assert diarizer.diarize(wav(np.zeros(16000 * 3, np.float32))).turns == []


def test_a_known_number_of_speakers_is_used(diarizer: Diarizer) -> None:
    conversation = readers(2)
    assert len(diarizer.diarize(wav(conversation.samples), num_speakers=2).speakers) == 2


def _windows(directions: list[tuple[int, int, np.ndarray]], frames: int) -> Windows:
    """Windows every 0.25 s over ``frames`` of speech, each embedding the direction of the
    stretch (first frame, stop frame, unit vector) that holds its centre, plus a little noise."""
    rng = np.random.default_rng(0)
    starts = np.arange(0, frames - 160 + 1, 25)
    rows = []
    for start in starts:
        centre = start + 80
        direction = next(d for first, stop, d in directions if first <= centre < stop)
        row = direction + 0.05 * rng.normal(size=direction.size)
        rows.append(row / np.linalg.norm(row))
    return Windows(
        speech=np.ones(frames, bool),
        starts=starts,
        embeddings=np.asarray(rows, np.float32),
        hop_s=0.01,
        duration_s=frames / 100,
        acoustic=np.zeros((frames, len(ACOUSTIC_FEATURES)), np.float32),
    )


def _axis(index: int) -> np.ndarray:
    vector = np.zeros(256)
    vector[index] = 1.0
    return vector


def _heard(turns: list[Turn], frames: int) -> np.ndarray:
    heard = np.zeros(frames, bool)
    for turn in turns:
        heard[round(turn.start_s * 100) : round(turn.end_s * 100)] = True
    return heard


class _Crowd:
    """A stand-in background detector: frames 1200-1500 are the crowd."""

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        out = np.zeros(features.shape[0], np.float32)
        out[1200:1500] = 0.9
        return out


def test_frames_the_background_detector_flags_are_nobodys(diarizer: Diarizer) -> None:
    windows = _windows([(0, 1000, _axis(0)), (1000, 3000, _axis(1))], 3000)
    params = replace(DiarizationParams(), overlap_threshold=None, background_threshold=None)
    kept = Diarizer(encoder=diarizer.encoder, front_end=diarizer.front_end, params=params)
    assert kept.background_detector is None
    assert _heard(kept.segment(windows).turns, 3000)[1200:1500].all()
    dropped = Diarizer(
        encoder=diarizer.encoder,
        front_end=diarizer.front_end,
        params=replace(params, background_threshold=0.5),
        background_detector=_Crowd(),  # type: ignore[arg-type]
    )
    heard = _heard(dropped.segment(windows).turns, 3000)
    assert not heard[1200:1500].any()
    assert heard[:1200].mean() > 0.95 and heard[1500:].mean() > 0.95
    # At 0.95 the same probabilities drop nothing.
    strict = replace(dropped.params, background_threshold=0.95)
    kept_again = Diarizer(
        encoder=diarizer.encoder,
        front_end=diarizer.front_end,
        params=strict,
        background_detector=_Crowd(),  # type: ignore[arg-type]
    )
    assert _heard(kept_again.segment(windows).turns, 3000)[1200:1500].all()


def test_frames_that_resemble_no_speaker_are_dropped(diarizer: Diarizer) -> None:
    # Two speakers, and 6 s in the middle that sound like neither of them.
    stretches = [(0, 1000, _axis(0)), (1000, 2000, _axis(1)), (2000, 2600, _axis(2))]
    windows = _windows([*stretches, (2600, 3600, _axis(0))], 3600)
    params = replace(DiarizationParams(), overlap_threshold=None, background_threshold=None)
    plain = Diarizer(encoder=diarizer.encoder, front_end=diarizer.front_end, params=params)
    assert _heard(plain.segment(windows, num_speakers=2).turns, 3600)[2200:2400].all()
    strict = Diarizer(
        encoder=diarizer.encoder,
        front_end=diarizer.front_end,
        params=replace(params, min_speaker_similarity=0.5),
    )
    heard = _heard(strict.segment(windows, num_speakers=2).turns, 3600)
    assert not heard[2200:2400].any()
    assert heard[:1900].mean() > 0.95 and heard[2700:].mean() > 0.95


def test_the_background_detector_is_on_by_default(diarizer: Diarizer) -> None:
    # 0.8: Round 4, docs/diarization-experiments/2026-12-05-background-speech.md; the
    # similarity floor did nothing there, so off.
    params = DiarizationParams()
    assert params.background_threshold == 0.8 and params.min_speaker_similarity is None
    assert diarizer.background_detector is not None


class _CrowdLike:
    """A stand-in background detector: frames 1000-1600 are likely the crowd, at a probability
    under the frame-drop threshold (0.8), so only the crowd guard acts on them."""

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        out = np.full(features.shape[0], 0.1, np.float32)
        out[1000:1600] = 0.6
        return out


def _crowd_windows() -> Windows:
    """Two talkers, and 6 s of a third direction (the crowd) between their turns."""
    stretches = [(0, 1000, _axis(0)), (1000, 1600, _axis(2)), (1600, 2600, _axis(1))]
    return _windows([*stretches, (2600, 3600, _axis(0)), (3600, 4600, _axis(1))], 4600)


@pytest.mark.parametrize("threshold", [None, 0.5, 0.7])
def test_a_cluster_the_background_detector_takes_for_the_crowd_is_no_speaker(
    diarizer: Diarizer, threshold: float | None
) -> None:
    guarded = Diarizer(
        encoder=diarizer.encoder,
        front_end=diarizer.front_end,
        params=replace(DiarizationParams(), overlap_threshold=None, crowd_threshold=threshold),
        background_detector=_CrowdLike(),  # type: ignore[arg-type]
    )
    windows = _crowd_windows()
    result = guarded.segment(windows)
    # Off, or over the crowd's mean probability (0.6): the crowd stays a third "speaker".
    is_crowd = threshold is not None and threshold <= 0.6
    assert len(result.speakers) == (2 if is_crowd else 3)
    by_axis = _by_axis(result, 4600)
    assert set(by_axis) == ({0, 1} if is_crowd else {0, 1, 2})
    assert by_axis[0][200:800].all() and by_axis[1][1800:2400].all()
    # A given number of speakers is kept.
    assert len(guarded.segment(windows, num_speakers=3).speakers) == 3


def test_the_crowd_guard_is_on_by_default(diarizer: Diarizer) -> None:
    # 0.45: Round 10, docs/diarization-experiments/2026-12-06-count-adds-and-removes.md (with
    # the clustering's silhouette_share 0.4).
    assert DiarizationParams().crowd_threshold == 0.45
    guarded = Diarizer(
        encoder=diarizer.encoder,
        front_end=diarizer.front_end,
        params=replace(DiarizationParams(), overlap_threshold=None),
        background_detector=_CrowdLike(),  # type: ignore[arg-type]
    )
    assert len(guarded.segment(_crowd_windows()).speakers) == 2


def test_the_crowd_guard_needs_the_background_detector(diarizer: Diarizer) -> None:
    params = replace(DiarizationParams(), background_threshold=None, crowd_threshold=0.5)
    plain = Diarizer(encoder=diarizer.encoder, front_end=diarizer.front_end, params=params)
    assert plain.background_detector is None
    assert len(plain.segment(_crowd_windows()).speakers) == 3


def _backend() -> SpeakerBackend:
    """A speaker back end scoring the raw cosine (no WCCN, no cohort): LLR 10 cos - 5 on the
    clean paths, 10 cos - 8 on the phone ones (a phone line makes voices alike)."""
    clean = ScoringPath(None, None, LinearCalibration(scale=10.0, offset=-5.0))
    phone = ScoringPath(None, None, LinearCalibration(scale=10.0, offset=-8.0))
    paths = {"clean": clean, "noisy": clean, "mid": clean, "short": clean}
    return SpeakerBackend(
        version="test",
        model_version="test",
        paths={**paths, "phone": phone, "short_phone": phone},
        narrowband_below_hz=4500.0,
        noisy_below_snr_db=22.0,
        short_below_s=1.0,
        mid_below_s=3.0,
        metadata={},
    )


def _quality(bandwidth_hz: float) -> QualityReport:
    return QualityReport(
        duration_s=50.0,
        speech_s=50.0,
        clipping_ratio=0.0,
        level_dbfs=-20.0,
        snr_db=30.0,
        bandwidth_hz=bandwidth_hz,
    )


def _split_voice_windows(bandwidth_hz: float) -> Windows:
    """Speaker B (axis 1) between the two halves of speaker A, which sound apart (cosine
    0.71: axis 0, then axis 0 and 3), as a talkative voice the clustering splits."""
    half = (_axis(0) + _axis(3)) / np.sqrt(2)
    stretches = [(0, 1000, _axis(0)), (1000, 2000, _axis(1)), (2000, 3000, half)]
    stretches += [(3000, 4000, _axis(1)), (4000, 5000, _axis(0)), (5000, 6000, half)]
    return replace(_windows(stretches, 6000), quality=_quality(bandwidth_hz))


def _without_detectors(diarizer: Diarizer, backend: SpeakerBackend, **changes: object) -> Diarizer:
    """The diarizer on stand-in windows: no overlap, background or crowd step; ``backend``."""
    params = replace(
        DiarizationParams(),
        overlap_threshold=None,
        background_threshold=None,
        crowd_threshold=None,
        **changes,  # type: ignore[arg-type]
    )
    return Diarizer(
        encoder=diarizer.encoder,
        front_end=diarizer.front_end,
        params=params,
        speaker_backend=backend,
    )


@pytest.mark.parametrize(
    ("llr", "bandwidth_hz", "speakers"),
    [(None, 8000.0, 3), (1.0, 8000.0, 2), (3.0, 8000.0, 3), (1.0, 3400.0, 3)],
)
def test_clusters_the_speaker_back_end_takes_for_one_voice_are_merged(
    diarizer: Diarizer, llr: float | None, bandwidth_hz: float, speakers: int
) -> None:
    merging = _without_detectors(diarizer, _backend(), same_speaker_llr=llr)
    windows = _split_voice_windows(bandwidth_hz)
    # The halves score LLR 10 * 0.71 - 5 = 2.1 on the clean path: merged at 1, not at 3; on a
    # phone line (narrowband) the phone path's 10 * 0.71 - 8 = -0.9 keeps them apart.
    result = merging.segment(windows)
    assert len(result.speakers) == speakers
    if speakers == 2:
        heard = _heard([t for t in result.turns if t.speaker == "S1"], 6000)
        assert heard[200:800].all() and heard[2200:2800].all() and not heard[1200:1800].any()
    # A given number of speakers is kept.
    assert len(merging.segment(windows, num_speakers=3).speakers) == 3


def test_the_same_speaker_merge_is_off_by_default_and_the_back_end_loads_only_when_used(
    diarizer: Diarizer,
) -> None:
    # LLR 10 from Round 11 (docs/diarization-experiments/2026-12-06-split-talkative-voice.md)
    # to Round 19 (docs/diarization-experiments/2026-12-07-campplus-clustering.md). The back
    # end serves the whitening of GE2E's windows, so it loads only when the clustering is on
    # them (``cluster_embedder`` None) or the merge is on.
    assert DiarizationParams().same_speaker_llr is None
    assert diarizer.speaker_backend is None

    def with_params(**changes: object) -> Diarizer:
        params = replace(DiarizationParams(), **changes)  # type: ignore[arg-type]
        return Diarizer(encoder=diarizer.encoder, front_end=diarizer.front_end, params=params)

    on_ge2e = with_params(cluster_embedder=None)
    assert on_ge2e.speaker_backend is not None
    assert set(on_ge2e.speaker_backend.paths) >= {"clean", "noisy", "phone"}
    assert with_params(same_speaker_llr=10.0).speaker_backend is not None
    assert with_params(same_speaker_llr=None, cluster_wccn=None).speaker_backend is None
    # The windows keep the recording's quality report: its channel picks the scoring path.
    analyzed = diarizer.front_end.analyze(wav(readers(2).samples))
    assert diarizer.windows(analyzed).quality is analyzed.quality


def _nuisance_backend(axis: int) -> SpeakerBackend:
    """``_backend()`` whose noisy path's WCCN takes out one axis (a within-speaker nuisance)."""
    base = _backend()
    transform = np.eye(256, dtype=np.float32)
    transform[axis, axis] = 0.0
    wccn = Wccn(np.zeros(256, np.float32), transform)
    noisy = replace(base.paths["noisy"], wccn=wccn)
    return replace(base, paths={**base.paths, "noisy": noisy})


@pytest.mark.parametrize(
    ("space", "bandwidth_hz", "speakers"),
    [(None, 8000.0, 3), ("noisy", 8000.0, 2), ("channel", 8000.0, 2), ("channel", 3400.0, 3)],
)
def test_the_partition_can_be_made_after_the_back_ends_whitening(
    diarizer: Diarizer, space: str | None, bandwidth_hz: float, speakers: int
) -> None:
    # Speaker A's second half leans along axis 3, which the noisy WCCN takes out: after it
    # the halves are one voice. "channel" keeps the raw embeddings on a phone line.
    whitening = _without_detectors(
        diarizer, _nuisance_backend(3), same_speaker_llr=None, cluster_wccn=space
    )
    windows = _split_voice_windows(bandwidth_hz)
    result = whitening.segment(windows)
    assert len(result.speakers) == speakers
    # The centroids (identification's input) stay raw GE2E directions: A's still holds axis 3.
    if speakers == 2:
        a = next(c for c in result.centroids.values() if np.argmax(c) == 0)
        assert a[3] > 0.2
    # Off, no back end is loaded for it.
    plain = replace(whitening.params, cluster_wccn=None)
    assert Diarizer(encoder=diarizer.encoder, params=plain).speaker_backend is None


@pytest.mark.parametrize(("dims", "speakers"), [(None, 2), (3, 3)])
def test_the_partition_can_be_made_in_the_diarization_pldas_whitening(
    diarizer: Diarizer, tmp_path: Path, dims: int | None, speakers: int
) -> None:
    # A PLDA space without axis 3 (speaker A's within-speaker nuisance): there A's halves are
    # one voice. One that ranks axis 3 first, cut to its 3 leading directions
    # (``cluster_dims``), keeps the nuisance, and A stays split.
    keep = [a for a in range(256) if a != 3] if speakers == 2 else [3, 0, 1, *range(4, 256)]
    plda = Plda(np.eye(256)[:, keep], np.linspace(2.0, 1.0, len(keep)))
    folder = write_plda(tmp_path / "plda", plda)
    space = _without_detectors(
        diarizer,
        _backend(),
        same_speaker_llr=None,
        cluster_wccn="plda",
        cluster_dims=dims,
        vbx_plda=str(folder),
    )
    assert space.plda is not None
    result = space.segment(_split_voice_windows(8000.0))
    assert len(result.speakers) == speakers
    # Without its PLDA the clustering sees the raw windows (and splits A).
    missing = _without_detectors(
        diarizer, _backend(), cluster_wccn="plda", vbx_plda=str(tmp_path / "none")
    )
    assert len(missing.segment(_split_voice_windows(8000.0)).speakers) == 3


def test_a_clustering_on_ge2e_sees_the_noisy_paths_whitening_by_default(
    diarizer: Diarizer,
) -> None:
    # Round 14b, docs/diarization-experiments/2026-12-06-whitened-clustering-larger-pool.md.
    assert DiarizationParams().cluster_wccn == "noisy"
    params = replace(DiarizationParams(), cluster_embedder=None)
    on_ge2e = Diarizer(encoder=diarizer.encoder, front_end=diarizer.front_end, params=params)
    assert on_ge2e.speaker_backend is not None
    assert on_ge2e.speaker_backend.path("noisy").wccn is not None


class _Overlaps:
    """A stand-in overlap detector: the given probability over [start, stop) frame ranges."""

    def __init__(self, *spans: tuple[int, int, float]) -> None:
        self.spans = spans

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        out = np.zeros(features.shape[0], np.float32)
        for start, stop, probability in self.spans:
            out[start:stop] = probability
        return out


def _by_axis(result: Diarization, frames: int) -> dict[int, np.ndarray]:
    """Where each speaker is heard, keyed by the axis its centroid points along."""
    heard = {}
    for label, centroid in result.centroids.items():
        turns = [t for t in result.turns if t.speaker == label]
        heard[int(np.argmax(centroid))] = _heard(turns, frames)
    return heard


def _overlap_diarizer(diarizer: Diarizer, detector: _Overlaps, **changes: object) -> Diarizer:
    params = replace(DiarizationParams(), background_threshold=None, **changes)  # type: ignore[arg-type]
    return Diarizer(
        encoder=diarizer.encoder,
        front_end=diarizer.front_end,
        params=params,
        overlap_detector=detector,  # type: ignore[arg-type]
    )


def test_a_detected_overlap_goes_on_while_its_probability_stays_over_the_offset(
    diarizer: Diarizer,
) -> None:
    # A talks, then B; the detector is sure over 1150-1250 and fading (0.65) over 1250-1350.
    windows = _windows([(0, 1200, _axis(0)), (1200, 2400, _axis(1))], 2400)
    detector = _Overlaps((1150, 1250, 0.9), (1250, 1350, 0.65), (1800, 1900, 0.65))
    plain = _overlap_diarizer(diarizer, detector, overlap_offset=None, overlap_pair_s=None)
    heard = _by_axis(plain.segment(windows, num_speakers=2), 2400)
    assert (heard[0] & heard[1])[1160:1240].all()
    assert not (heard[0] & heard[1])[1260:1350].any()
    held = _overlap_diarizer(diarizer, detector, overlap_offset=0.6, overlap_pair_s=None)
    heard = _by_axis(held.segment(windows, num_speakers=2), 2400)
    assert (heard[0] & heard[1])[1160:1340].all()
    # A stretch at 0.65 that never reaches the threshold stays one speaker's.
    assert not (heard[0] & heard[1])[1800:1900].any()


def _channel(windows: Windows, *codes: QualityCode) -> Windows:
    """``windows`` with a quality report carrying ``codes`` (bandwidth to match)."""
    bandwidth = 3800.0 if QualityCode.NARROWBAND in codes else 8000.0
    report = QualityReport(10.0, 9.0, 0.0, -26.0, 30.0, bandwidth, list(codes))
    return replace(windows, quality=report)


def test_on_a_narrowband_line_the_overlap_detector_is_trusted_at_a_lower_probability(
    diarizer: Diarizer,
) -> None:
    # A talks, then B; the detector gives an overlap 0.55 over 1150-1250, fading to 0.45
    # over 1250-1350 (on a phone line it gives the same overlaps lower probabilities).
    frames = 2400
    windows = _windows([(0, 1200, _axis(0)), (1200, frames, _axis(1))], frames)
    detector = _Overlaps((1150, 1250, 0.55), (1250, 1350, 0.45))
    narrow = _overlap_diarizer(
        diarizer, detector, narrowband_overlap_threshold=0.5, overlap_pair_s=None
    )
    phone = _by_axis(narrow.segment(_channel(windows, QualityCode.NARROWBAND), 2), frames)
    # Onset 0.5 and the offset moved down by as much (0.6 to 0.4): both heard to 1350.
    assert (phone[0] & phone[1])[1160:1340].all()
    assert not (phone[0] & phone[1])[1400:].any()
    # The same probabilities on a wideband recording stay under the default onset (0.7).
    wide = _by_axis(narrow.segment(_channel(windows), 2), frames)
    assert not (wide[0] & wide[1]).any()
    # And on a narrowband one when the parameter is off (the default), or the channel unknown.
    off = _overlap_diarizer(diarizer, detector, overlap_pair_s=None)
    assert DiarizationParams().narrowband_overlap_threshold is None
    for heard in (
        _by_axis(off.segment(_channel(windows, QualityCode.NARROWBAND), 2), frames),
        _by_axis(narrow.segment(windows, 2), frames),
    ):
        assert not (heard[0] & heard[1]).any()


def test_an_overlap_goes_to_the_speakers_before_and_after_it(diarizer: Diarizer) -> None:
    # A, then B, then C; where A hands over to B the windows sound like A with a little of C,
    # so C scores second there.
    like_c = (_axis(0) + 0.9 * _axis(2)) / np.linalg.norm(_axis(0) + 0.9 * _axis(2))
    stretches = [(0, 1150, _axis(0)), (1150, 1250, like_c), (1250, 2400, _axis(1))]
    windows = _windows([*stretches, (2400, 3600, _axis(2))], 3600)
    detector = _Overlaps((1100, 1300, 0.9))
    runner_up = _overlap_diarizer(diarizer, detector, overlap_offset=None, overlap_pair_s=None)
    heard = _by_axis(runner_up.segment(windows, num_speakers=3), 3600)
    assert heard[2][1100:1300].any()  # the second-best speaker: C, who is not talking there
    paired = _overlap_diarizer(diarizer, detector, overlap_offset=None, overlap_pair_s=0.5)
    heard = _by_axis(paired.segment(windows, num_speakers=3), 3600)
    assert heard[0][1100:1300].all() and heard[1][1100:1300].all()
    assert not heard[2][1100:1300].any()
    # Away from the overlap nothing changes: C is heard in its own turn only.
    assert heard[2][2500:3600].mean() > 0.95 and not heard[2][:1100].any()


def test_an_overlap_inside_one_speakers_turn_keeps_the_second_best_speaker(
    diarizer: Diarizer,
) -> None:
    # The same speaker before and after the flagged stretch: there is no pair to give it to.
    windows = _windows([(0, 1200, _axis(0)), (1200, 2400, _axis(1))], 2400)
    detector = _Overlaps((500, 600, 0.9))
    paired = _overlap_diarizer(diarizer, detector, overlap_offset=None, overlap_pair_s=0.5)
    runner_up = _overlap_diarizer(diarizer, detector, overlap_offset=None, overlap_pair_s=None)
    assert paired.segment(windows, 2).turns == runner_up.segment(windows, 2).turns
    assert (_by_axis(paired.segment(windows, 2), 2400)[1])[500:600].all()


def test_an_overlap_inside_one_speakers_turn_goes_to_the_other_speaker_heard_around_it(
    diarizer: Diarizer,
) -> None:
    # A talks, B cuts in for 2.5 s, A again; in A's turn the flagged stretch sounds like A with
    # a little of C (C scores second there), but the one heard near it is B. C talks last.
    like_c = (_axis(0) + 0.9 * _axis(2)) / np.linalg.norm(_axis(0) + 0.9 * _axis(2))
    stretches = [(0, 800, _axis(0)), (800, 1050, _axis(1)), (1050, 1150, _axis(0))]
    stretches += [(1150, 1250, like_c), (1250, 2000, _axis(0)), (2000, 3200, _axis(2))]
    windows = _windows(stretches, 3200)
    detector = _Overlaps((1150, 1250, 0.9))
    runner_up = _overlap_diarizer(diarizer, detector, overlap_offset=None)
    assert runner_up.params.overlap_other_s is None
    heard = _by_axis(runner_up.segment(windows, num_speakers=3), 3200)
    assert heard[2][1150:1250].any()  # each frame's second-best: C, who is not talking there
    around = _overlap_diarizer(diarizer, detector, overlap_offset=None, overlap_other_s=2.0)
    heard = _by_axis(around.segment(windows, num_speakers=3), 3200)
    assert heard[0][1150:1250].all() and heard[1][1150:1250].all()
    assert not heard[2][:1800].any()
    # Away from the overlap nothing changes.
    assert heard[2][2100:3200].all() and not heard[1][1300:].any()
    # Nobody but A within reach (0.5 s either side): each frame's best two, as before.
    near = _overlap_diarizer(diarizer, detector, overlap_offset=None, overlap_other_s=0.5)
    assert near.segment(windows, 3).turns == runner_up.segment(windows, 3).turns


def test_the_overlap_hysteresis_and_pair_are_on_by_default() -> None:
    # 0.6 and 0.5 s: Round 7, docs/diarization-experiments/2026-12-05-overlapped-stretches.md.
    params = DiarizationParams()
    assert params.overlap_threshold == 0.7
    assert params.overlap_offset == 0.6 and params.overlap_pair_s == 0.5


def _gap_diarizer(diarizer: Diarizer, **changes: object) -> Diarizer:
    params = replace(DiarizationParams(), overlap_threshold=None, background_threshold=None)
    params = replace(params, **changes)  # type: ignore[arg-type]
    return Diarizer(encoder=diarizer.encoder, front_end=diarizer.front_end, params=params)


def _with_pauses(windows: Windows, *pauses: tuple[int, int]) -> Windows:
    """``windows`` with the VAD hearing nobody over the [start, stop) frame ranges."""
    speech = windows.speech.copy()
    for start, stop in pauses:
        speech[start:stop] = False
    return replace(windows, speech=speech)


def test_a_short_pause_inside_one_speakers_turn_is_bridged(diarizer: Diarizer) -> None:
    # A talks to frame 1200, then B; A pauses 0.2 s at 500 and 0.4 s at 800.
    windows = _with_pauses(
        _windows([(0, 1200, _axis(0)), (1200, 2400, _axis(1))], 2400), (500, 520), (800, 840)
    )
    plain = _gap_diarizer(diarizer, min_gap_s=None)
    heard = _by_axis(plain.segment(windows, num_speakers=2), 2400)
    assert not heard[0][500:520].any() and not heard[0][800:840].any()
    bridged = _gap_diarizer(diarizer, min_gap_s=0.3)
    result = bridged.segment(windows, num_speakers=2)
    heard = _by_axis(result, 2400)
    assert heard[0][500:520].all()  # shorter than 0.3 s: A's
    assert not heard[0][800:840].any() and not heard[1][800:840].any()  # 0.4 s: nobody's
    assert not heard[1][500:520].any()  # given to A only
    # One turn of A from the start to the longer pause, not two.
    assert [t.start_s for t in result.turns if t.end_s <= 8.0] == [0.0]


def test_a_pause_between_two_speakers_is_not_bridged(diarizer: Diarizer) -> None:
    # A hands over to B at frame 1200 with 0.2 s of silence between them.
    windows = _with_pauses(
        _windows([(0, 1200, _axis(0)), (1200, 2400, _axis(1))], 2400), (1190, 1210)
    )
    plain = _gap_diarizer(diarizer, min_gap_s=None).segment(windows, num_speakers=2)
    bridged = _gap_diarizer(diarizer, min_gap_s=0.5).segment(windows, num_speakers=2)
    assert bridged.turns == plain.turns
    heard = _by_axis(bridged, 2400)
    assert not (heard[0] | heard[1])[1190:1210].any()
    assert heard[0][:1180].mean() > 0.95 and heard[1][1220:].mean() > 0.95


class _ShortCrowd:
    """A stand-in background detector: 0.2 s of crowd at frames 1500-1520 and 1800-1820."""

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        out = np.zeros(features.shape[0], np.float32)
        out[1500:1520] = 0.9
        out[1800:1820] = 0.9
        return out


def test_frames_the_background_detector_removed_are_not_bridged(diarizer: Diarizer) -> None:
    # A, then B from frame 1200; inside B's turn the detector removes 1500-1520 and
    # 1800-1820, and the VAD hears nobody over 1820-1830, next to the second stretch.
    windows = _with_pauses(
        _windows([(0, 1200, _axis(0)), (1200, 2400, _axis(1))], 2400), (500, 520), (1820, 1830)
    )
    params = replace(
        DiarizationParams(), overlap_threshold=None, background_threshold=0.5, min_gap_s=0.5
    )
    crowd = Diarizer(
        encoder=diarizer.encoder,
        front_end=diarizer.front_end,
        params=params,
        background_detector=_ShortCrowd(),  # type: ignore[arg-type]
    )
    heard = _by_axis(crowd.segment(windows, num_speakers=2), 2400)
    assert heard[0][500:520].all()  # the VAD's pause inside A's turn is bridged
    # B is heard on both sides of the removed stretches, which stay nobody's; the VAD's
    # pause next to one of them is bridged.
    assert not (heard[0] | heard[1])[1500:1520].any()
    assert not (heard[0] | heard[1])[1800:1820].any()
    assert heard[1][1820:1830].all()
    assert heard[1][1220:1500].all() and heard[1][1520:1800].all()


def test_short_pauses_are_bridged_by_default() -> None:
    # 0.3 s: Round 8, docs/diarization-experiments/2026-12-05-short-pauses.md.
    assert DiarizationParams().min_gap_s == 0.3


def test_the_voiced_stretches_of_a_turn_leave_out_the_bridged_pauses(diarizer: Diarizer) -> None:
    # What a speaker is identified and checked on: the VAD's speech inside its turns, on the
    # 10 ms grid the turns are cut on (services/analysis.py).
    segments = [SpeechSegment(0.503, 2.004), SpeechSegment(2.2, 3.0), SpeechSegment(5.0, 6.0)]
    clip = SimpleNamespace(sample_rate=16000, samples=np.zeros(16000 * 7, np.float32))
    analyzed = SimpleNamespace(clip=clip, segments=segments)
    alone, bridged, silent = Turn(0.5, 2.01, "S1"), Turn(0.5, 3.0, "S1"), Turn(3.5, 4.5, "S1")
    voiced = diarizer.voiced(analyzed, [alone, bridged, silent])  # type: ignore[arg-type]
    # A turn cut from the first segment alone is the turn itself.
    assert voiced[alone] == [(0.5, 2.01)]
    # One with the 0.19 s pause bridged is two stretches, without the pause.
    assert voiced[bridged] == [(0.5, 2.01), (2.2, 3.0)]
    assert voiced[silent] == []


def test_vbx_resegmentation_merges_a_split_voice_when_turned_on(
    diarizer: Diarizer, tmp_path: Path
) -> None:
    windows = _windows([(0, 2000, _axis(0)), (2000, 4000, _axis(1)), (4000, 6000, _axis(0))], 6000)
    labels = np.where(windows.starts + 80 < 2000, 0, np.where(windows.starts + 80 < 4000, 1, 2))
    # a PLDA space where the stand-in noise (0.05 per dimension) is the within-speaker spread
    order = [0, 1, *range(2, 32)]
    plda = Plda(np.eye(256)[:, order] / 0.05, np.array([400.0, 400.0, *[1.0] * 30]))
    folder = write_plda(tmp_path / "plda", plda)
    on = _without_detectors(diarizer, _backend(), vbx_fa=0.3, vbx_plda=str(folder))
    merged = on._resegmented(windows, labels, None)
    np.testing.assert_array_equal(merged, np.where(labels == 2, 0, labels))
    # a given number of speakers is kept, and VBx is off by default or without its PLDA
    np.testing.assert_array_equal(on._resegmented(windows, labels, 3), labels)
    assert DiarizationParams().vbx_fa is None
    missing = _without_detectors(diarizer, _backend(), vbx_fa=0.3, vbx_plda=str(tmp_path / "x"))
    np.testing.assert_array_equal(missing._resegmented(windows, labels, None), labels)


def test_the_partition_can_be_made_on_campplus_windows(diarizer: Diarizer) -> None:
    campplus = Diarizer(
        encoder=diarizer.encoder, params=DiarizationParams(cluster_embedder="campplus")
    )
    conversation = readers(3, turn_s=4.0)
    analyzed = campplus.front_end.analyze(wav(conversation.samples))
    windows = campplus.windows(analyzed)
    assert windows.clustering_embeddings is not None
    assert windows.clustering_embeddings.shape == (windows.starts.size, 192)
    result = campplus.segment(windows)
    assert len(result.speakers) == 3
    duration = conversation.samples.size / 16000
    assert frame_accuracy(conversation.reference, result.turns, duration) > 0.85
    # Only the partition changes: the centroids stay GE2E's (256 numbers, for identification).
    assert {len(c) for c in result.centroids.values()} == {256}
    # With ``cluster_embedder`` off, no CAM++ windows are embedded.
    ge2e = Diarizer(
        encoder=diarizer.encoder, params=replace(DiarizationParams(), cluster_embedder=None)
    )
    assert ge2e.campplus is None and ge2e.windows(analyzed).clustering_embeddings is None


def test_the_clustering_sees_centred_campplus_windows_by_default(diarizer: Diarizer) -> None:
    # Round 19, docs/diarization-experiments/2026-12-07-campplus-clustering.md.
    params = DiarizationParams()
    assert params.cluster_embedder == "campplus" and params.cluster_embedder_centre
    assert params.cluster_context_frames == 0 and params.clustering.eigengap_share == 1.0
    assert diarizer.campplus is not None


def test_an_unknown_clustering_encoder_is_refused(diarizer: Diarizer) -> None:
    with pytest.raises(ValueError, match="campplus"):
        Diarizer(encoder=diarizer.encoder, params=DiarizationParams(cluster_embedder="xvector"))


def test_campplus_windows_can_reach_further_and_be_centred(diarizer: Diarizer) -> None:
    params = DiarizationParams(
        cluster_embedder="campplus", cluster_context_frames=40, cluster_embedder_centre=False
    )
    wide = Diarizer(encoder=diarizer.encoder, params=params)
    assert wide.campplus is not None
    samples = readers(2, turn_s=3.0).samples
    starts = np.array([0, 100, 300])
    got = wide.clustering_embeddings(samples, starts)
    # Each window reaches 40 frames further on each side; the first one cannot start earlier.
    fbank = kaldi_fbank(samples)
    want = wide.campplus.embed_windows(fbank, np.array([0, 60, 260]), 240)
    assert got is not None and np.allclose(got, want, atol=1e-5)
    # Centred: the clustering sees each window less the recording's mean, unit length.
    centred = Diarizer(
        encoder=diarizer.encoder,
        params=replace(params, cluster_embedder_centre=True),
        campplus=wide.campplus,
    )
    windows = replace(_windows([(0, 210, np.eye(256)[0])], 210), clustering_embeddings=got)
    assert windows.starts.size == got.shape[0]
    space = centred._clustering_space(windows)
    expected = got - got.mean(axis=0)
    assert np.allclose(space, expected / np.linalg.norm(expected, axis=1, keepdims=True))
    assert np.allclose(wide._clustering_space(windows), got)


@pytest.mark.parametrize(("threshold", "clusters"), [(None, 3), (0.7, 2), (0.9, 3)])
def test_clusters_whose_raw_campplus_centroids_are_alike_are_one_voice(
    diarizer: Diarizer, threshold: float | None, clusters: int
) -> None:
    # Round 20, docs/diarization-experiments/2026-12-07-campplus-merge.md.
    assert DiarizationParams().cluster_merge_cosine is None
    merging = _without_detectors(diarizer, _backend(), cluster_merge_cosine=threshold)
    windows = _windows([(0, 210, np.eye(256)[0])], 210)
    n = windows.starts.size
    labels = np.arange(n) % 3
    # Raw CAM++ rows: clusters 0 and 2 at cosine 0.8 of each other, cluster 1 far from both.
    a, b = np.eye(192)[0], np.eye(192)[1]
    rows = {0: a, 1: b, 2: 0.8 * a + 0.6 * np.eye(192)[2]}
    raw = np.stack([rows[int(c)] for c in labels]).astype(np.float32)
    merged = merging._same_voice_merged(replace(windows, clustering_embeddings=raw), labels)
    assert int(merged.max()) + 1 == clusters
    if clusters == 2:
        assert (merged[labels == 0] == merged[labels == 2][0]).all()
    # Without the clustering encoder's windows nothing is merged, nor on a narrowband line.
    np.testing.assert_array_equal(merging._same_voice_merged(windows, labels), labels)
    narrow = QualityReport(50.0, 50.0, 0.0, -20.0, 30.0, 3400.0, [QualityCode.NARROWBAND])
    phone = replace(windows, clustering_embeddings=raw, quality=narrow)
    np.testing.assert_array_equal(merging._same_voice_merged(phone, labels), labels)
