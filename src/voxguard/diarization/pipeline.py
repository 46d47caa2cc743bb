"""``Diarizer``: who spoke when in a recording.

decode -> Silero VAD -> GE2E embeddings of 1.6 s windows every 0.25 s over the speech, and
CAM++ embeddings of the same windows (``cluster_embedder``) -> clustering of the CAM++
windows, centred on the recording's mean, with the number of speakers estimated
(``clustering``; on GE2E's windows after the speaker back end's noisy-path whitening when
``cluster_embedder`` is off, ``cluster_wccn``), a cluster that the background detector takes
for a crowd given to the other speakers (and, when ``same_speaker_llr`` is set, clusters the
speaker back end takes for one voice merged) -> per speaker, the GE2E centroid of its windows ->
a speaker score per 10 ms frame from the windows covering it, smoothed -> overlapping speech
where the trained detector (``overlap``) finds it (with hysteresis; on a narrowband line at
its own threshold when ``narrowband_overlap_threshold`` is set) or where the two best
speakers score alike, given to the speakers heard just before and just after it (when one
speaker is heard on both sides and ``overlap_other_s`` is set, to that one and the other
speaker heard most around it) -> frames
that the background detector takes for background speech (a crowd) dropped -> turns on the
recording's own time axis, a speaker's pauses under 0.3 s bridged (``min_gap_s``). A VBx
resegmentation of the partition (``vbx``, ``vbx_fa``) is available and off by default
(Round 15, docs/diarization-experiments/2026-12-06-vbx-resegmentation.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.ndimage import uniform_filter1d

from voxguard.audio.analysis import AnalyzedAudio, AudioFrontEnd
from voxguard.audio.quality import QualityCode, QualityReport
from voxguard.audio.types import AudioSource, FloatArray
from voxguard.config import Settings, get_settings
from voxguard.diarization.clustering import (
    ClusteringParams,
    cluster_embeddings,
    merged_while_alike,
    without_clusters,
)
from voxguard.diarization.count import load_count_model
from voxguard.diarization.overlap import (
    BackgroundDetector,
    OverlapDetector,
    acoustic_features,
    score_features,
)
from voxguard.diarization.types import Diarization, Turn
from voxguard.diarization.vbx import Plda, VbxParams, load_plda, resegment
from voxguard.speaker.backend import SpeakerBackend, load_backend, score_pair
from voxguard.speaker.campplus import CamppEncoder, kaldi_fbank
from voxguard.speaker.encoder import Ge2eEncoder, volume_gain
from voxguard.speaker.features import mel_spectrogram_chunked
from voxguard.speaker.scoring import unit_rows

_BATCH = 64


@dataclass(frozen=True)
class DiarizationParams:
    window_frames: int = 160  # GE2E's partial window: 1.6 s of 10 ms mel frames
    step_frames: int = 25  # 0.25 s
    min_speech_share: float = 0.5  # of a window, for it to be embedded
    smooth_s: float = 0.5  # label smoothing over the frame grid
    # A frame is overlapped speech when its second-best speaker scores at least
    # ``overlap_min_similarity`` and within ``overlap_margin`` of the best one.
    overlap_min_similarity: float = 0.65
    overlap_margin: float = 0.04
    # When set, the trained overlap detector (``models/overlap``) decides instead: a frame is
    # overlapped when its probability is at least this. None: the similarity rule above.
    # 0.7: chosen on the development set (Round 3,
    # docs/diarization-experiments/2026-12-05-overlap-detector.md). Both bundled detectors are
    # three networks averaged, trained on 180 conversations per condition (Round 18,
    # docs/diarization-experiments/2026-12-07-frame-detector-seed-ensembles.md).
    overlap_threshold: float | None = 0.7
    # Hysteresis for the detector: a stretch at or over ``overlap_threshold`` goes on over the
    # frames next to it whose probability is at least this (the end of an interruption, where
    # the probability fades). None: off.
    overlap_offset: float | None = 0.6
    # On a recording the quality report flags narrowband (a phone line), the detector's onset
    # is this instead, and the offset moves down by as much: on a narrowband line the detector
    # gives the same overlaps lower probabilities. None: off.
    narrowband_overlap_threshold: float | None = None
    # Who is heard in an overlapped stretch. None: each frame's best and second-best speaker.
    # Else the speaker heard most in this many seconds of speech before the stretch and the one
    # after it, when they differ: an overlap is mostly one talker cutting in on another, and
    # in three- and four-speaker calls the second-best score often names a third.
    # 0.6 and 0.5 s: chosen on the development set (Round 7,
    # docs/diarization-experiments/2026-12-05-overlapped-stretches.md).
    overlap_pair_s: float | None = 0.5
    # With ``overlap_pair_s``: a stretch with the same speaker (A) heard most before and after
    # it is A's, with someone cutting in; it goes to A and the speaker other than A heard most
    # within this many seconds either side, not to each frame's second-best speaker (which
    # names the interrupter on only about half of such frames). None: off.
    overlap_other_s: float | None = None
    min_overlap_s: float = 0.3
    min_turn_s: float = 0.1
    # A pause shorter than this where nobody is heard, between two turns of the same speaker,
    # is that speaker's (the reference bridges a talker's short pauses); the frames the
    # background detector (or ``min_speaker_similarity``) dropped stay dropped. None: off.
    # 0.3 s: chosen on the development set (Round 8,
    # docs/diarization-experiments/2026-12-05-short-pauses.md).
    min_gap_s: float | None = 0.3
    # A change of speaker with no pause between is an interruption: both speakers are heard
    # this long on each side of it. None: off.
    change_overlap_s: float | None = None
    # Speech this many dB under the loudest speech (90th percentile, over ``level_smooth_s``)
    # is background, not a turn; None keeps all the VAD's speech.
    background_db: float | None = None
    level_smooth_s: float = 0.3
    # When set, the trained background detector (``models/background``) drops the frames whose
    # probability of background speech only (a crowd, no talker) is at least this. None: off.
    # 0.8: chosen on the development set (Round 4,
    # docs/diarization-experiments/2026-12-05-background-speech.md).
    background_threshold: float | None = 0.8
    # With the number of speakers estimated: a cluster over whose frames (those it scores best
    # on) the background detector's mean probability is at least this is the crowd, not a
    # speaker; its windows go to the nearest other cluster. Over a crowd, the crowd's windows
    # can hold together as one more "speaker". None: off. 0.45: chosen with the clustering's
    # ``silhouette_share`` on development seeds 4-6 pooled (Round 10,
    # docs/diarization-experiments/2026-12-06-count-adds-and-removes.md).
    crowd_threshold: float | None = 0.45
    # With the number of speakers estimated: after the crowd guard, the two clusters whose
    # centroids the speaker back end scores highest (the recording's channel path, as
    # verification scores a trial: WCCN, AS-norm, calibration) are one speaker while that
    # LLR is at least this. A talkative voice can be split in two that the raw cosine and
    # ``clustering.merge_gap`` keep apart. None: off. 10: chosen on development seeds 4-6
    # pooled (Round 11, docs/diarization-experiments/2026-12-06-split-talkative-voice.md); over
    # a crowd or a phone line two talkers can reach LLR 6, which is why the threshold is high.
    # Off since Round 19 (clustering on CAM++ windows): there it cost babble 1.7 points on the
    # screening seeds (docs/diarization-experiments/2026-12-07-campplus-clustering.md).
    same_speaker_llr: float | None = None
    # When the clustering is on GE2E's windows (``cluster_embedder`` None, or windows without CAM++
    # embeddings) and this is set, the windows are clustered after the speaker back end's
    # within-speaker whitening (WCCN, fitted on LibriSpeech readers in clean, short, phone and
    # babble copies): a back end path's name ("short", "clean", "noisy") takes that path's WCCN for
    # every recording; "channel" takes the noisy path's except on a phone line (the quality report's
    # condition), where the raw embeddings are kept. Only the partition changes: the speaker scores
    # per frame, the centroids and every later step stay on the raw GE2E embeddings. None: the raw
    # embeddings. "noisy": chosen on development seeds 7-12 with a back end that never heard their
    # readers (Rounds 14 and 14b, docs/diarization-experiments/2026-12-06-whitened-clustering.md,
    # docs/diarization-experiments/2026-12-06-whitened-clustering-larger-pool.md). "plda": the
    # windows centred on the recording's mean and projected on the leading ``cluster_dims``
    # directions of the diarization PLDA (``vbx_plda``, else the bundled one): a within-speaker
    # whitening fitted on the diarizer's own windows of clean, phone and babble conversations rather
    # than on whole utterances (Round 16).
    cluster_wccn: str | None = "noisy"
    cluster_dims: int | None = 128  # with cluster_wccn="plda"; None: every direction
    # With cluster_wccn="plda": False projects the windows as they are, without centring them
    # on the recording's mean first (Round 16b).
    cluster_centre: bool = True
    # When "campplus": the windows are clustered on the bundled CAM++ encoder's embeddings of
    # the same windows (``voxguard.speaker.campplus``: a stronger encoder, trained on about
    # 200k speakers) instead of GE2E's, and ``cluster_wccn`` is not used. Only the partition
    # changes, as with ``cluster_wccn``: the frame scores, the detectors' inputs and the
    # centroids handed to identification stay GE2E's. None: GE2E's. "campplus" (centred,
    # ``clustering.eigengap_share`` 1.0, no same-speaker merge): fresh half-B seeds 28-29
    # 9.22 -> 5.58 pooled, every condition and seed lower (Round 19,
    # docs/diarization-experiments/2026-12-07-campplus-clustering.md).
    cluster_embedder: str | None = "campplus"
    # With ``cluster_embedder``: each window the clustering's encoder embeds reaches this many
    # 10 ms frames further on each side (clipped at the recording's ends); a longer stretch
    # gives a steadier embedding, the frame scores keep GE2E's 1.6 s windows. 0: the same
    # windows.
    cluster_context_frames: int = 0
    # With ``cluster_embedder``: the windows' embeddings centred on the recording's mean (then
    # L2-normalised) before clustering: what every window shares (the channel, the crowd
    # underneath) goes. True: Round 19's screening 2.
    cluster_embedder_centre: bool = True
    # With ``cluster_embedder`` and the number of speakers estimated: at the end, the two
    # clusters whose centroids of the clustering encoder's own (uncentred) embeddings are most
    # alike are one speaker while their cosine is at least this. Centring spreads one voice's
    # windows apart when only two voices share a call, so a voice can be split in two that the
    # encoder's raw embeddings still hold together. Not on a narrowband recording (the quality
    # report's NARROWBAND): on a phone line different talkers' raw CAM++ centroids reach 0.8
    # and more (Round 20's screening). None: off. 0.8 lowered clean DER on fresh seeds 31-32
    # (2.84 -> 2.39) but pooled only 5.98 -> 5.83, short of the rule's 0.3: not adopted (Round
    # 20, docs/diarization-experiments/2026-12-07-campplus-merge.md).
    cluster_merge_cosine: float | None = None
    # A frame whose best smoothed speaker similarity is under this resembles no talker and is
    # dropped. None: off.
    min_speaker_similarity: float | None = None
    # When set, the clustering's partition is resegmented by VBx (``vbx``): a Bayesian HMM over
    # the windows in a PLDA space fitted on diarization windows (``models/diar_plda``, or the
    # folder ``vbx_plda``), which moves windows between speakers and drops a speaker that
    # explains nothing; this is its acoustic scaling (Fa). None: off. With the number of
    # speakers given, a resegmentation that loses a speaker is not kept.
    vbx_fa: float | None = None
    vbx_fb: float = 17.0  # the speaker prior's scaling (Fb)
    vbx_loop_p: float = 0.99  # probability that the next window (0.25 s on) is the same speaker
    vbx_dims: int = 128  # the PLDA's leading directions used (Round 15 screening)
    vbx_plda: str | None = None
    clustering: ClusteringParams = field(default_factory=ClusteringParams)


@dataclass(frozen=True)
class Windows:
    """A recording's foreground speech per 10 ms frame and its window embeddings."""

    speech: np.ndarray  # bool (frames,)
    starts: np.ndarray  # first frame of each embedded window
    embeddings: FloatArray  # (windows, dim), L2-normalised
    hop_s: float
    duration_s: float
    # (frames, overlap.ACOUSTIC_FEATURES) when the overlap detector is used, else None
    acoustic: FloatArray | None = None
    # The recording's quality report: its channel picks the speaker back end's scoring path.
    quality: QualityReport | None = None
    # (windows, dim) L2-normalised embeddings of the same windows from the clustering's own
    # encoder (``DiarizationParams.cluster_embedder``), else None.
    clustering_embeddings: FloatArray | None = None


@dataclass(frozen=True)
class FrameGrid:
    """The 10 ms frames of a recording: where the speech is and who scores how per frame."""

    speech: np.ndarray  # bool (frames,)
    scores: FloatArray  # (frames, speakers): mean similarity of the covering windows
    hop_s: float


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) frame indices of the True runs of ``mask``."""
    padded = np.concatenate([[False], mask.astype(bool), [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def _drop_short(mask: np.ndarray, min_frames: int) -> np.ndarray:
    out = mask.copy()
    for start, stop in _runs(mask):
        if stop - start < min_frames:
            out[start:stop] = False
    return out


def _hysteresis(probability: FloatArray, onset: float, offset: float) -> np.ndarray:
    """Frames in a run at or over ``offset`` that reaches ``onset`` somewhere."""
    high = probability >= onset
    out = np.zeros(probability.size, dtype=bool)
    for start, stop in _runs(probability >= min(onset, offset)):
        if high[start:stop].any():
            out[start:stop] = True
    return out


def _most_heard(best: np.ndarray, speech: np.ndarray) -> int | None:
    heard = best[speech]
    return int(np.bincount(heard).argmax()) if heard.size else None


def _neighbour_pairs(
    best: np.ndarray,
    speech: np.ndarray,
    overlap: np.ndarray,
    context: int,
    other_context: int | None = None,
) -> list[tuple[int, int, int, int]]:
    """(start, stop, one, other) per overlapped run whose speaker most heard in the
    ``context`` frames before it differs from the one most heard in those after it (the
    two). With ``other_context``, also per run with the same speaker most heard on both
    sides: that speaker and the other one most heard in ``other_context`` frames either
    side, when anyone else is heard there."""
    pairs = []
    for start, stop in _runs(overlap):
        low, high = max(0, start - context), min(best.size, stop + context)
        before = _most_heard(best[low:start], speech[low:start])
        after = _most_heard(best[stop:high], speech[stop:high])
        if before is None or after is None:
            continue
        if before != after:
            pairs.append((start, stop, before, after))
        elif other_context is not None:
            around = np.r_[
                max(0, start - other_context) : start, stop : min(best.size, stop + other_context)
            ]
            heard = best[around][speech[around]]
            heard = heard[heard != before]
            if heard.size:
                pairs.append((start, stop, before, int(np.bincount(heard).argmax())))
    return pairs


def _bridge(active: np.ndarray, keep_out: np.ndarray, max_frames: int) -> np.ndarray:
    """``active`` (frames, speakers) with each run of frames where nobody is active, shorter
    than ``max_frames`` and with the same speaker active on the frames either side of it,
    given to that speaker, except the frames in ``keep_out``."""
    out = active.copy()
    for start, stop in _runs(np.logical_not(active.any(axis=1))):
        if start == 0 or stop == active.shape[0] or stop - start >= max_frames:
            continue
        both = active[start - 1] & active[stop]
        out[start:stop] |= both[None, :] & ~keep_out[start:stop, None]
    return out


def _interruptions(
    best: np.ndarray, speech: np.ndarray, active: np.ndarray, half_s: float, hop_s: float
) -> np.ndarray:
    """Mark both speakers active around each change of speaker inside a run of speech (no
    pause between them); returns the frames so marked."""
    half = max(1, round(half_s / hop_s))
    marked = np.zeros(speech.size, dtype=bool)
    for start, stop in _runs(speech):
        for change in (np.flatnonzero(np.diff(best[start:stop])) + 1 + start).tolist():
            before, after = int(best[change - 1]), int(best[change])
            low, high = max(start, change - half), min(stop, change + half)
            active[low:change, after] = True
            active[change:high, before] = True
            marked[low:high] = True
    return marked


class Diarizer:
    """Loads the VAD and the speaker encoder once; safe to share between threads."""

    def __init__(
        self,
        settings: Settings | None = None,
        encoder: Ge2eEncoder | None = None,
        front_end: AudioFrontEnd | None = None,
        params: DiarizationParams | None = None,
        overlap_detector: OverlapDetector | None = None,
        background_detector: BackgroundDetector | None = None,
        speaker_backend: SpeakerBackend | None = None,
        campplus: CamppEncoder | None = None,
    ) -> None:
        self.settings = settings or get_settings()
        threads = self.settings.inference_threads
        self.encoder = encoder or Ge2eEncoder(threads=threads)
        self.front_end = front_end or AudioFrontEnd(self.settings)
        self.params = params or DiarizationParams()
        self.overlap_detector: OverlapDetector | None = None
        if self.params.overlap_threshold is not None:
            self.overlap_detector = overlap_detector or OverlapDetector(threads=threads)
        self.background_detector: BackgroundDetector | None = None
        if self.params.background_threshold is not None:
            self.background_detector = background_detector or BackgroundDetector(threads=threads)
        # The back end serves the merge and the whitening of GE2E's windows, which a clustering
        # on CAM++ windows does not use: it is loaded only when needed (one given is kept, for
        # windows that come without CAM++ embeddings).
        self.speaker_backend: SpeakerBackend | None = speaker_backend
        whitened = self.params.cluster_wccn is not None and self.params.cluster_embedder is None
        if speaker_backend is None and (self.params.same_speaker_llr is not None or whitened):
            self.speaker_backend = load_backend()
        if self.params.clustering.speaker_count == "learned":
            load_count_model(self.params.clustering.count_model)  # read and checked at start-up
        self.campplus: CamppEncoder | None = None
        if self.params.cluster_embedder is not None:
            if self.params.cluster_embedder != "campplus":
                raise ValueError(
                    f"cluster_embedder {self.params.cluster_embedder!r}: use 'campplus' or None"
                )
            self.campplus = campplus or CamppEncoder(threads=threads)
        self.plda: Plda | None = None
        if self.params.vbx_fa is not None or self.params.cluster_wccn == "plda":
            self.plda = load_plda(self.params.vbx_plda)

    def diarize(self, source: AudioSource, num_speakers: int | None = None) -> Diarization:
        return self.diarize_analyzed(self.front_end.analyze(source), num_speakers)

    def diarize_analyzed(
        self, analyzed: AnalyzedAudio, num_speakers: int | None = None
    ) -> Diarization:
        """``num_speakers``: the number of speakers when known (else estimated)."""
        windows = self.windows(analyzed)
        if windows.embeddings.shape[0] == 0:
            return Diarization(turns=[], duration_s=windows.duration_s)
        return self.segment(windows, num_speakers)

    def voiced(
        self, analyzed: AnalyzedAudio, turns: Sequence[Turn]
    ) -> dict[Turn, list[tuple[float, float]]]:
        """Each turn's stretches where the VAD hears speech, on the frame grid the turns are cut
        on: without the pauses the diarizer bridged (``min_gap_s``), which hold no voice to
        identify or check. A turn with none bridged is one stretch, the turn itself."""
        speech, hop_s = self._vad_frames(analyzed)
        stretches: dict[Turn, list[tuple[float, float]]] = {}
        for turn in turns:
            first, stop = round(turn.start_s / hop_s), round(turn.end_s / hop_s)
            stretches[turn] = [
                (round((first + a) * hop_s, 3), round((first + b) * hop_s, 3))
                for a, b in _runs(speech[first:stop])
            ]
        return stretches

    def _vad_frames(self, analyzed: AnalyzedAudio) -> tuple[np.ndarray, float]:
        """The VAD's speech segments as one flag per encoder hop, and the hop in seconds."""
        hop = self.encoder.spec.hop_length
        hop_s = hop / analyzed.clip.sample_rate
        speech = np.zeros(1 + analyzed.clip.samples.size // hop, dtype=bool)
        for segment in analyzed.segments:
            speech[int(segment.start_s / hop_s) : int(np.ceil(segment.end_s / hop_s))] = True
        return speech, hop_s

    def windows(self, analyzed: AnalyzedAudio, with_acoustic: bool = False) -> Windows:
        """Where the foreground speech is, and the embedding of each window over it; with the
        detectors' acoustic features when one is used (or ``with_acoustic``)."""
        samples = analyzed.clip.samples
        duration = round(samples.size / analyzed.clip.sample_rate, 3)
        speech, hop_s = self._vad_frames(analyzed)
        n_frames = speech.size
        empty = np.zeros((0, self.encoder.embedding_size), np.float32)
        if not speech.any():
            return Windows(speech, np.zeros(0, np.int64), empty, hop_s, duration)
        speech_samples = analyzed.speech
        rms = float(np.sqrt(np.mean(np.square(speech_samples, dtype=np.float64))))
        gain = volume_gain(rms, self.encoder.spec.norm_target_dbfs)
        mel = mel_spectrogram_chunked(samples * np.float32(gain), self.encoder.mel_config)
        speech &= self._foreground(mel[:n_frames], speech, hop_s)
        if not speech.any():
            return Windows(speech, np.zeros(0, np.int64), empty, hop_s, duration)
        starts = self._window_starts(speech)
        acoustic = None
        detectors = (self.overlap_detector, self.background_detector)
        if with_acoustic or any(d is not None for d in detectors):
            acoustic = acoustic_features(mel, speech)
        embeddings = self._embed(mel, starts)
        return Windows(
            speech,
            starts,
            embeddings,
            hop_s,
            duration,
            acoustic,
            analyzed.quality,
            self.clustering_embeddings(samples, starts),
        )

    def clustering_embeddings(self, samples: FloatArray, starts: np.ndarray) -> FloatArray | None:
        """The clustering encoder's embeddings of the windows at ``starts`` (frames of 10 ms)
        of ``samples`` (16 kHz); None when the clustering uses GE2E's (``cluster_embedder``)."""
        if self.campplus is None:
            return None
        p = self.params
        context = p.cluster_context_frames
        return self.campplus.embed_windows(
            kaldi_fbank(samples), np.maximum(starts - context, 0), p.window_frames + 2 * context
        )

    def _foreground(self, mel: FloatArray, speech: np.ndarray, hop_s: float) -> np.ndarray:
        """Frames within ``background_db`` of the loud speech: speech far quieter than the
        talkers (babble in the room, a television) is not a speaker's turn."""
        if self.params.background_db is None:
            return np.ones_like(speech)
        level = 10 * np.log10(mel.sum(axis=1) + 1e-10)
        size = max(1, round(self.params.level_smooth_s / hop_s))
        level = uniform_filter1d(level, size=size, mode="nearest")
        loud = float(np.percentile(level[speech], 90))
        return np.asarray(level >= loud - self.params.background_db)

    def segment(self, windows: Windows, num_speakers: int | None = None) -> Diarization:
        """Cluster the windows and turn their speaker scores into turns."""
        grid, centroids = self.frame_grid(windows, num_speakers)
        turns = self._turns(
            grid,
            self.overlap_probabilities(windows, grid),
            self.background_probabilities(windows, grid),
            self._overlap_thresholds(windows.quality),
        )
        return Diarization(
            turns=turns,
            duration_s=windows.duration_s,
            centroids={f"S{c + 1}": row.astype(float).tolist() for c, row in enumerate(centroids)},
        )

    def frame_grid(
        self, windows: Windows, num_speakers: int | None = None
    ) -> tuple[FrameGrid, FloatArray]:
        """Cluster the windows: each frame's score per speaker, and the speakers' centroids."""
        space = self._clustering_space(windows)
        labels = self._resegmented(
            windows, cluster_embeddings(space, num_speakers, self.params.clustering), num_speakers
        )
        grid, centroids = self._grid(windows, labels)
        if num_speakers is not None:
            return grid, centroids
        threshold = self.params.crowd_threshold
        if threshold is not None:
            crowd = self._crowd_clusters(windows, grid, threshold)
            if crowd is not None and crowd.any():
                labels = without_clusters(windows.embeddings, labels, crowd)
                grid, centroids = self._grid(windows, labels)
        merged = self._same_speaker_merged(windows, labels)
        merged = self._same_voice_merged(windows, merged)
        if merged.max() < labels.max():
            grid, centroids = self._grid(windows, merged)
        return grid, centroids

    def _same_voice_merged(self, windows: Windows, labels: np.ndarray) -> np.ndarray:
        """``labels`` with the clusters merged whose raw clustering-encoder centroids have a
        cosine of at least ``cluster_merge_cosine``; as they were when that is off or the
        recording is narrowband."""
        own, threshold = windows.clustering_embeddings, self.params.cluster_merge_cosine
        if own is None or threshold is None:
            return labels
        if windows.quality is not None and QualityCode.NARROWBAND in windows.quality.codes:
            return labels

        def cosine(a: FloatArray, b: FloatArray, _: int) -> float:
            return float(a @ b)

        return merged_while_alike(own, labels, cosine, threshold)

    def _resegmented(
        self, windows: Windows, labels: np.ndarray, num_speakers: int | None
    ) -> np.ndarray:
        """``labels`` after VBx (``vbx_fa``); as they are when it is off, when the PLDA is
        missing, or when the number of speakers is given and VBx would lose one."""
        p = self.params
        if self.plda is None or p.vbx_fa is None or labels.max() < 1:
            return labels
        vbx = VbxParams(fa=p.vbx_fa, fb=p.vbx_fb, loop_p=p.vbx_loop_p, dims=p.vbx_dims)
        found = resegment(windows.embeddings, labels, self.plda, vbx)
        if num_speakers is not None and found.max() < labels.max():
            return labels
        return found

    def _clustering_space(self, windows: Windows) -> FloatArray:
        """The window embeddings the clustering sees (``cluster_embedder``, ``cluster_wccn``)."""
        own = windows.clustering_embeddings
        if own is not None:
            if self.params.cluster_embedder_centre and own.shape[0] > 1:
                return unit_rows(own - own.mean(axis=0, keepdims=True))
            return own
        backend, name = self.speaker_backend, self.params.cluster_wccn
        if name == "plda":
            if self.plda is None:
                return windows.embeddings
            projected = self.plda.project(
                windows.embeddings, self.params.cluster_dims, centre=self.params.cluster_centre
            )
            return unit_rows(projected.astype(np.float32))
        if backend is None or name is None:
            return windows.embeddings
        if name == "channel":
            quality = windows.quality
            if quality is None:
                return windows.embeddings
            if backend.condition_of(quality.bandwidth_hz, quality.snr_db) == "phone":
                return windows.embeddings
            name = "noisy"
        wccn = backend.path(name).wccn
        return windows.embeddings if wccn is None else wccn.apply(windows.embeddings)

    def _same_speaker_merged(self, windows: Windows, labels: np.ndarray) -> np.ndarray:
        """``labels`` with the clusters the speaker back end takes for one voice merged
        (``same_speaker_llr``); as they were when that is off or the quality is unknown."""
        backend, threshold = self.speaker_backend, self.params.same_speaker_llr
        if backend is None or threshold is None or windows.quality is None:
            return labels
        condition = backend.condition_of(windows.quality.bandwidth_hz, windows.quality.snr_db)
        window_s = self.params.window_frames * windows.hop_s
        step_s = self.params.step_frames * windows.hop_s

        def llr(a: FloatArray, b: FloatArray, windows_in_smaller: int) -> float:
            speech_s = window_s + (windows_in_smaller - 1) * step_s  # at most: the windows overlap
            path = backend.path(backend.path_for(condition, speech_s))
            return path.calibration.llr(score_pair(path, a, b)[1])

        return merged_while_alike(windows.embeddings, labels, llr, threshold)

    def _overlap_thresholds(self, quality: QualityReport | None) -> tuple[float, float] | None:
        """The overlap detector's (onset, offset) on this recording; None when it is not used."""
        p = self.params
        if p.overlap_threshold is None:
            return None
        onset = p.overlap_threshold
        offset = onset if p.overlap_offset is None else p.overlap_offset
        narrow = p.narrowband_overlap_threshold
        if narrow is not None and quality is not None and QualityCode.NARROWBAND in quality.codes:
            offset -= onset - narrow
            onset = narrow
        return onset, offset

    def _grid(self, windows: Windows, labels: np.ndarray) -> tuple[FrameGrid, FloatArray]:
        embeddings = windows.embeddings
        k = int(labels.max()) + 1
        centroids = np.stack([embeddings[labels == c].mean(axis=0) for c in range(k)])
        centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-12)
        similarity = embeddings @ centroids.T
        return self._frame_scores(
            windows.speech, similarity, windows.starts, windows.hop_s
        ), centroids

    def _crowd_clusters(
        self, windows: Windows, grid: FrameGrid, threshold: float
    ) -> np.ndarray | None:
        """One flag per speaker: the background detector's mean probability over the speech
        frames the speaker scores best on is at least ``threshold``; None when the detector
        is not run (no detector, or one speaker)."""
        probability = self.background_probabilities(windows, grid)
        if probability is None:
            return None
        best = grid.scores.argmax(axis=1)
        crowd = np.zeros(grid.scores.shape[1], dtype=bool)
        for c in range(crowd.size):
            frames = grid.speech & (best == c)
            crowd[c] = bool(frames.any()) and float(probability[frames].mean()) >= threshold
        return crowd

    def overlap_probabilities(self, windows: Windows, grid: FrameGrid) -> FloatArray | None:
        """The trained detector's overlap probability per frame; None when it is not used or
        there is only one speaker to hear."""
        features = self._detector_features(windows, grid)
        if self.overlap_detector is None or features is None:
            return None
        return self.overlap_detector.probabilities(features)

    def background_probabilities(self, windows: Windows, grid: FrameGrid) -> FloatArray | None:
        """The background detector's probability per frame that the speech there is no
        talker's; None when it is not used or there is only one speaker (trained on two or
        more, like the overlap detector)."""
        features = self._detector_features(windows, grid)
        if self.background_detector is None or features is None:
            return None
        return self.background_detector.probabilities(features)

    @staticmethod
    def _detector_features(windows: Windows, grid: FrameGrid) -> FloatArray | None:
        if windows.acoustic is None or grid.scores.shape[1] < 2:
            return None
        return np.concatenate([windows.acoustic, score_features(grid.speech, grid.scores)], axis=1)

    def _window_starts(self, speech: np.ndarray) -> np.ndarray:
        p = self.params
        w = p.window_frames
        if speech.size <= w:
            return np.array([0])
        starts = np.arange(0, speech.size - w + 1, p.step_frames)
        if starts[-1] != speech.size - w:
            starts = np.append(starts, speech.size - w)
        share = np.convolve(speech.astype(np.float32), np.ones(w, np.float32), "valid")[starts] / w
        kept = starts[share >= p.min_speech_share]
        if kept.size == 0:  # only short bursts of speech: embed the window around the most
            kept = starts[[int(np.argmax(share))]]
        return kept

    def _embed(self, mel: FloatArray, starts: np.ndarray) -> FloatArray:
        w = self.params.window_frames
        if mel.shape[0] < w:
            mel = np.pad(mel, ((0, w - mel.shape[0]), (0, 0)))
        pieces = []
        for first in range(0, starts.size, _BATCH):
            batch = np.stack([mel[s : s + w] for s in starts[first : first + _BATCH]])
            pieces.append(self.encoder.embed_mels(batch))
        out = np.concatenate(pieces)
        normalized: FloatArray = out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return normalized

    def _frame_scores(
        self,
        speech: np.ndarray,
        similarity: FloatArray,
        starts: np.ndarray,
        hop_s: float,
    ) -> FrameGrid:
        w = self.params.window_frames
        n, k = speech.size, similarity.shape[1]
        total = np.zeros((n + 1, k), dtype=np.float64)
        count = np.zeros(n + 1, dtype=np.float64)
        # Difference arrays: each window adds its similarities over the frames it covers.
        for start, row in zip(starts.tolist(), similarity, strict=True):
            stop = min(start + w, n)
            total[start] += row
            total[stop] -= row
            count[start] += 1
            count[stop] -= 1
        total, count = np.cumsum(total, axis=0)[:n], np.cumsum(count)[:n]
        scores = np.zeros((n, k), dtype=np.float32)
        covered = count > 0
        scores[covered] = (total[covered] / count[covered, None]).astype(np.float32)
        if not covered.all():
            # Frames no window covers take the scores of the nearest window's centre.
            centres = starts + w // 2
            nearest = np.abs(np.arange(n)[:, None] - centres[None, :]).argmin(axis=1)
            scores[~covered] = similarity[nearest[~covered]]
        return FrameGrid(speech=speech, scores=scores, hop_s=hop_s)

    def _turns(
        self,
        grid: FrameGrid,
        overlap_probability: FloatArray | None,
        background_probability: FloatArray | None = None,
        overlap_thresholds: tuple[float, float] | None = None,
    ) -> list[Turn]:
        """``overlap_thresholds``: the detector's (onset, offset) (``_overlap_thresholds``);
        None: from the parameters, whatever the recording's channel."""
        p = self.params
        k = grid.scores.shape[1]
        smooth = max(1, round(p.smooth_s / grid.hop_s))
        scores = uniform_filter1d(grid.scores, size=smooth, axis=0, mode="nearest")
        order = np.argsort(-scores, axis=1)
        best = order[:, 0]
        speech = grid.speech.copy()
        if background_probability is not None and p.background_threshold is not None:
            speech &= background_probability < p.background_threshold
        if p.min_speaker_similarity is not None:
            speech &= scores[np.arange(best.size), best] >= p.min_speaker_similarity
        active = np.zeros((grid.speech.size, k), dtype=bool)
        active[np.arange(best.size), best] = True
        overlap = np.zeros(grid.speech.size, dtype=bool)
        if k > 1:
            rows = np.arange(best.size)
            second = order[:, 1]
            top, runner = scores[rows, best], scores[rows, second]
            thresholds = overlap_thresholds or self._overlap_thresholds(None)
            if overlap_probability is not None and thresholds is not None:
                overlap = _hysteresis(overlap_probability, *thresholds)
            else:
                overlap = (runner >= p.overlap_min_similarity) & (top - runner <= p.overlap_margin)
            overlap = _drop_short(overlap & speech, round(p.min_overlap_s / grid.hop_s))
            active[rows[overlap], second[overlap]] = True
            if p.overlap_pair_s is not None:
                context = max(1, round(p.overlap_pair_s / grid.hop_s))
                other = None
                if p.overlap_other_s is not None:
                    other = max(1, round(p.overlap_other_s / grid.hop_s))
                for start, stop, one, two in _neighbour_pairs(
                    best, speech, overlap, context, other
                ):
                    active[start:stop] = False
                    active[start:stop, [one, two]] = True
            if p.change_overlap_s:
                overlap |= _interruptions(best, speech, active, p.change_overlap_s, grid.hop_s)
        active &= speech[:, None]
        min_frames = max(1, round(p.min_turn_s / grid.hop_s))
        active = np.stack([_drop_short(active[:, c], min_frames) for c in range(k)], axis=1)
        if p.min_gap_s is not None:
            dropped = grid.speech & ~speech  # the background detector's: they stay dropped
            active = _bridge(active, dropped, round(p.min_gap_s / grid.hop_s))
        turns = []
        for c in range(k):
            for start, stop in _runs(active[:, c]):
                turns.append(
                    Turn(
                        start_s=round(start * grid.hop_s, 3),
                        end_s=round(stop * grid.hop_s, 3),
                        speaker=f"S{c + 1}",
                        overlap=bool(overlap[start:stop].any()),
                    )
                )
        return sorted(turns, key=lambda t: (t.start_s, t.speaker))
