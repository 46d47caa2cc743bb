"""Genuine speech from ``shared/data``, cut into units of comparable length to the TTS clips.

LibriSpeech utterances (1.6-17 s) are cut at their quietest 32 ms frame between 3 and 6 s
from the last cut. FSDD digits (0.1-1 s) are joined, untrimmed, into strings of 4-8 digits of
one speaker, so their own pauses and room noise sit between the digits. Both keep genuine
clips from being told apart by duration alone.
"""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from pathlib import Path

import numpy as np

from voxguard.audio import load_audio
from voxguard.training.generators.base import SourceUnit
from voxguard.training.signal import cut_points

LIBRISPEECH_LICENSE = "CC-BY-4.0 (LibriSpeech, Panayotov et al.)"
FSDD_LICENSE = "CC-BY-SA-4.0 (Free Spoken Digit Dataset, Jackson et al.)"
_FSDD_NAME = re.compile(r"(?P<digit>\d)_(?P<speaker>[a-z]+)_(?P<index>\d+)\.wav")


def librispeech_units(folder: Path, rng: np.random.Generator) -> list[SourceUnit]:
    units = []
    for path in sorted(folder.glob("*.flac")):
        samples = load_audio(path).samples
        speaker = path.stem.split("-")[0]
        bounds = [0, *cut_points(samples, rng), samples.size]
        for part, (a, b) in enumerate(itertools.pairwise(bounds)):
            units.append(
                SourceUnit(
                    unit_id=f"{path.stem}_{part}",
                    corpus="librispeech",
                    speaker=f"libri-{speaker}",
                    text_id=f"libri:{path.stem}#{part}",
                    samples=samples[a:b],
                )
            )
    return units


def fsdd_units(folder: Path, rng: np.random.Generator) -> list[SourceUnit]:
    by_speaker: dict[str, list[Path]] = defaultdict(list)
    for path in sorted(folder.glob("*.wav")):
        match = _FSDD_NAME.fullmatch(path.name)
        if match:
            by_speaker[match["speaker"]].append(path)
    units = []
    for speaker, paths in sorted(by_speaker.items()):
        order = [paths[int(i)] for i in rng.permutation(len(paths))]
        part = 0
        while order:
            take = int(rng.integers(4, 9))
            group, order = order[:take], order[take:]
            digits = "".join(p.name[0] for p in group)
            samples = np.concatenate([load_audio(p).samples for p in group])
            units.append(
                SourceUnit(
                    unit_id=f"{speaker}_{part:03d}",
                    corpus="fsdd",
                    speaker=f"fsdd-{speaker}",
                    text_id=f"digits:{digits}",
                    samples=samples,
                )
            )
            part += 1
    return units


def load_sources(data_dir: Path, seed: int) -> list[SourceUnit]:
    """All genuine units, the same for the same seed."""
    rng = np.random.default_rng([seed, 0x50C])
    return librispeech_units(data_dir / "librispeech", rng) + fsdd_units(data_dir / "fsdd", rng)
