"""Value types shared by the audio stages."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal, get_args

import numpy as np
import numpy.typing as npt

AudioSource = str | Path | bytes | bytearray | memoryview | BinaryIO | io.BytesIO
FloatArray = npt.NDArray[np.float32]

# The telephone band (300-3400 Hz): all a narrowband call carries. Channel simulation
# (speaker.augment) and phone-line detection (spoof.features) share it.
PHONE_BAND_HZ = (300.0, 3400.0)

# How a recording reached us: "narrowband" = through a phone line (nothing above the
# telephone band), "band_limited" = wideband with an empty top band (MP3 at 16 kHz, a
# low-pass near 7 kHz), "wideband" = anything else. The spoof detector calibrates each its
# own way.
Channel = Literal["wideband", "narrowband", "band_limited"]
# Every channel, in that order: the spoof detector's calibration blocks.
CHANNELS: tuple[Channel, ...] = get_args(Channel)


@dataclass(frozen=True)
class AudioMetadata:
    container: str
    codec: str
    original_sample_rate: int
    channels: int
    duration_s: float
    size_bytes: int


@dataclass(frozen=True)
class AudioClip:
    """16 kHz mono float32 samples in [-1, 1] plus what the input was."""

    samples: FloatArray
    sample_rate: int
    metadata: AudioMetadata

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate
