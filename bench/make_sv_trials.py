"""Write the four evaluation conditions as audio files + trial CSVs for ``voxguard eval sv``.

    .venv/bin/python bench/make_sv_trials.py --out artifacts/sv_trials [--readers 80]
    .venv/bin/voxguard eval sv --trials artifacts/sv_trials/phone.csv

Same construction as bench/speaker_accuracy.py (seeded): enroll = first half of a reader's
utterance, test = second half, clean / cut to 2 s / phone (written as 8 kHz WAV after GSM or
AMR-NB) / babble at 5 dB. Everything goes through the engine end to end (decode, VAD, condition
and duration detection), unlike the bench's oracle conditions. The generated audio is for
local checks only: it lives under artifacts/ (git-ignored) and is never committed.
Note: the shipped back end was fitted on these readers, so these numbers are optimistic; the
two-fold numbers of bench/speaker_accuracy.py are the honest ones.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from scipy import signal

from voxguard.audio.wav import write_wav
from voxguard.speaker.training.views import (
    MIN_TRIAL_SECONDS,
    load_readers,
    make_trial_views,
    split_halves,
    test_phone_channel,
)

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "librispeech"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "artifacts" / "sv_trials")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--readers", type=int, default=80)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    readers = load_readers(args.data)
    eligible = sorted(s for s, w in readers.items() if w.size >= MIN_TRIAL_SECONDS * 16000)
    rng = np.random.default_rng(args.seed)
    chosen = sorted(rng.choice(eligible, size=min(args.readers, len(eligible)), replace=False))
    phone, codec = test_phone_channel()
    audio = args.out / "audio"
    audio.mkdir(parents=True, exist_ok=True)
    for speaker in chosen:
        write_wav(audio / f"{speaker}_enroll.wav", split_halves(readers[speaker])[0], 16000)
        views = make_trial_views(speaker, readers, eligible, args.seed, phone=phone)
        for name, samples in views.items():
            if name == "phone":
                narrow = signal.resample_poly(samples, 1, 2).astype(np.float32)
                write_wav(audio / f"{speaker}_{name}.wav", narrow, 8000)
            else:
                write_wav(audio / f"{speaker}_{name}.wav", samples, 16000)
    for condition in ("clean", "cut2", "phone", "babble"):
        lines = ["enroll,test,label"]
        for enrolled in chosen:
            for tested in chosen:
                lines.append(
                    f"audio/{enrolled}_enroll.wav,audio/{tested}_{condition}.wav,"
                    f"{int(enrolled == tested)}"
                )
        (args.out / f"{condition}.csv").write_text("\n".join(lines) + "\n")
    print(f"wrote {len(chosen)} readers x 4 conditions to {args.out} (phone: {codec})")


if __name__ == "__main__":
    main()
