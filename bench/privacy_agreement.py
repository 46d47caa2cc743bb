"""Privacy mode against the audio path: the same trials scored from features and from audio.

    OMP_NUM_THREADS=1 .venv/bin/python bench/privacy_agreement.py [--model campplus] [--limit N]

For every LibriSpeech reader with at least 6 s (``../shared/data/librispeech``): a voiceprint
from the first half of its recording (audio, as enrollment is), then two probes, its own
second half and the next reader's second half, each scored twice: from the audio
(``SpeakerEngine.embed``: Silero VAD) and from what a privacy-mode client sends
(``voxguard.speaker.frames.features_of``, energy VAD on frames). Prints how far the raw
similarities differ and how many accept/reject decisions agree. No timing.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from voxguard.audio.types import AudioClip, AudioMetadata
from voxguard.config import Settings
from voxguard.speaker.engine import SPEAKER_MODELS, SpeakerEngine
from voxguard.speaker.frames import analyze_frames, features_of
from voxguard.speaker.training.views import MIN_TRIAL_SECONDS, load_readers, split_halves

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "librispeech"


def _clip(samples: np.ndarray) -> AudioClip:
    meta = AudioMetadata("array", "pcm", 16000, 1, samples.size / 16000, 0)
    return AudioClip(samples, 16000, meta)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", choices=SPEAKER_MODELS, default=Settings().speaker_model)
    parser.add_argument("--limit", type=int, default=0, help="use only this many readers")
    args = parser.parse_args()
    settings = Settings(speaker_model=args.model)
    engine = SpeakerEngine(settings)
    readers = load_readers(DATA)
    speakers = sorted(s for s, w in readers.items() if w.size >= MIN_TRIAL_SECONDS * 16000)
    if args.limit:
        speakers = speakers[: args.limit]
    diffs, agree, total = [], 0, 0
    for i, speaker in enumerate(speakers):
        first, _ = split_halves(readers[speaker])
        enrolled = engine.embed(engine.front_end.analyze_clip(_clip(first)), variants=True)
        voiceprint = engine.enroll([enrolled])
        for other in (speaker, speakers[(i + 1) % len(speakers)]):
            probe = split_halves(readers[other])[1]
            by_audio = engine.verify(
                voiceprint, engine.embed(engine.front_end.analyze_clip(_clip(probe)))
            )
            frames = analyze_frames(features_of(probe), settings)
            by_frames = engine.verify(voiceprint, engine.embed_frames(frames))
            diffs.append(abs(by_audio.score - by_frames.score))
            agree += by_audio.accepted == by_frames.accepted
            total += 1
    d = np.array(diffs)
    print(
        f"{args.model} ({engine.model_version}), {len(speakers)} readers, {total} trials: "
        f"similarity differs by {d.mean():.3f} on average (max {d.max():.3f}); "
        f"{agree} of {total} decisions agree ({100 * agree / total:.1f} %)"
    )


if __name__ == "__main__":
    main()
