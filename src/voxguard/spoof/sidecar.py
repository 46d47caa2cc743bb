"""The spoof model's JSON sidecar: what the ONNX file expects, checked once at load."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voxguard.audio.types import CHANNELS
from voxguard.errors import ModelMismatch, ModelUnavailable
from voxguard.spoof.classical_head import HEAD_KEY, ClassicalHeadSpec, parse_head
from voxguard.spoof.features import FeatureParams

SIDECAR_FORMAT = "voxguard-spoof-detector/2"
# Format 1 named a single ``input``; format 2 lists ``inputs`` (a model may take several).
READABLE_FORMATS = ("voxguard-spoof-detector/1", SIDECAR_FORMAT)
INPUT_KINDS = (
    "log_spectrogram",
    "spectral_statistics",
    "power_spectrogram",
    "summary_features",  # the named librosa + RandomForest baseline (needs the train extra)
)


@dataclass(frozen=True)
class ModelInput:
    name: str
    kind: str


@dataclass(frozen=True)
class Calibration:
    """probability = sigmoid(scale * aggregated_logit + offset).

    ``narrowband``, when the model has one, replaces it for speech heard through a phone
    line (``high_band_db`` below its ``below_high_band_db``): a phone line shifts the
    scores of both classes, so one mapping cannot put the threshold right for both.
    ``band_limited``, when the model has one, replaces it for wideband speech with an empty
    top band (``top_band_db`` below its ``below_top_band_db``): MP3 at 16 kHz and low-pass
    filters shift the scores of genuine speech towards synthesis, as a phone line does.
    ``short_speech``, when the model has one, replaces all of them for speech shorter than
    its ``below_speech_s``: a short clip carries less evidence, so its scores separate the
    classes less well and deserve a flatter mapping, whatever the channel.
    """

    scale: float
    offset: float
    narrowband: NarrowbandCalibration | None = None
    short_speech: ShortSpeechCalibration | None = None
    band_limited: BandLimitedCalibration | None = None


@dataclass(frozen=True)
class NarrowbandCalibration:
    scale: float
    offset: float
    below_high_band_db: float


@dataclass(frozen=True)
class BandLimitedCalibration:
    scale: float
    offset: float
    below_top_band_db: float


@dataclass(frozen=True)
class ShortSpeechCalibration:
    scale: float
    offset: float
    below_speech_s: float


@dataclass(frozen=True)
class OperatingPoint:
    """At ``threshold`` of P(synthetic): genuine clips flagged and spoofs missed (fractions)."""

    threshold: float
    false_alarm: float
    miss: float


@dataclass(frozen=True)
class Sidecar:
    version: str
    model_file: str
    sha256: str
    inputs: tuple[ModelInput, ...]
    output_name: str
    labels: tuple[str, ...]
    features: FeatureParams
    aggregation: str
    calibration: Calibration
    threshold: float
    raw: dict[str, Any]
    # Measured on the protocol ``metrics["protocol"]`` names; empty when the sidecar has none.
    operating_points: tuple[OperatingPoint, ...] = ()
    # The decision threshold of each calibration block that has its own ("wideband",
    # "band_limited", "narrowband"), set from a false-alarm target on genuine speech heard
    # through that block's channels; a block without one (and short speech) uses ``threshold``.
    thresholds: dict[str, float] = field(default_factory=dict)
    # The optional classical-TTS head (``voxguard.spoof.classical_head``); None: the main
    # model alone, as before the head existed.
    classical_head: ClassicalHeadSpec | None = None


def _require(data: dict[str, Any], key: str, path: Path) -> Any:
    if key not in data:
        raise ModelMismatch(f"spoof model sidecar {path} lacks the field '{key}'", field=key)
    return data[key]


def load_sidecar(path: Path) -> Sidecar:
    """Parse and validate a sidecar; raises ModelUnavailable / ModelMismatch with the reason."""
    if not path.is_file():
        raise ModelUnavailable(f"spoof model sidecar missing at {path}; reinstall voxguard.")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ModelMismatch(f"spoof model sidecar {path} is not valid JSON: {exc}") from exc
    if data.get("format") not in READABLE_FORMATS:
        raise ModelMismatch(
            f"spoof model sidecar {path} has format {data.get('format')!r}; "
            f"accepted: {', '.join(READABLE_FORMATS)}"
        )
    if data["format"] == READABLE_FORMATS[0]:
        entries = [_require(data, "input", path)]
    else:
        entries = list(_require(data, "inputs", path))
    if not entries:
        raise ModelMismatch(f"spoof model sidecar {path} lists no inputs")
    inputs = []
    for entry in entries:
        kind = entry.get("kind")
        if kind not in INPUT_KINDS or not entry.get("name"):
            raise ModelMismatch(
                f"spoof model input {entry!r} has an unknown kind or no name; "
                f"accepted kinds: {', '.join(INPUT_KINDS)}"
            )
        inputs.append(ModelInput(name=str(entry["name"]), kind=str(kind)))
    labels = tuple(_require(data, "labels", path))
    if labels != ("bonafide", "spoof"):
        raise ModelMismatch(f"spoof model labels {labels} are not ('bonafide', 'spoof')")
    feats = _require(data, "features", path)
    try:
        params = FeatureParams(**feats)
    except TypeError as exc:
        raise ModelMismatch(
            f"spoof model feature parameters do not match this code: {exc}"
        ) from exc
    if params.sample_rate != 16000:
        raise ModelMismatch(
            f"spoof model expects {params.sample_rate} Hz; the front end gives 16000"
        )
    aggregation = _require(data, "aggregation", path)
    if aggregation != "mean_window_logit":
        raise ModelMismatch(f"unknown aggregation {aggregation!r}; accepted: mean_window_logit")
    cal = _require(data, "calibration", path)
    return Sidecar(
        version=str(_require(data, "version", path)),
        model_file=str(_require(data, "model_file", path)),
        sha256=str(_require(data, "sha256", path)),
        inputs=tuple(inputs),
        output_name=str(_require(data, "output", path)["name"]),
        labels=labels,
        features=params,
        aggregation=aggregation,
        calibration=_calibration(cal, path),
        threshold=float(_require(data, "threshold", path)),
        raw=data,
        operating_points=_operating_points(data.get("metrics", {}), path),
        thresholds=_thresholds(data.get("thresholds", {}), path),
        classical_head=parse_head(data.get(HEAD_KEY), path),
    )


# The threshold of clips scored by the short-speech calibration (on any channel).
SHORT_SPEECH_BLOCK = "short_speech"
# The calibration blocks that may carry their own threshold: every channel the detector routes
# to, and short speech.
THRESHOLD_BLOCKS: tuple[str, ...] = (*CHANNELS, SHORT_SPEECH_BLOCK)


def _thresholds(entries: Any, path: Path) -> dict[str, float]:
    """The optional per-block thresholds: block name -> a probability strictly inside (0, 1)."""
    if not isinstance(entries, dict):
        raise ModelMismatch(
            f"spoof model sidecar {path}: 'thresholds' must map blocks "
            f"({', '.join(THRESHOLD_BLOCKS)}) to probabilities",
            field="thresholds",
        )
    thresholds = {}
    for block, value in entries.items():
        if block not in THRESHOLD_BLOCKS:
            raise ModelMismatch(
                f"spoof model sidecar {path}: unknown threshold block {block!r}; "
                f"accepted: {', '.join(THRESHOLD_BLOCKS)}",
                field="thresholds",
            )
        try:
            number = float(value)
        except (TypeError, ValueError) as exc:
            raise ModelMismatch(
                f"spoof model sidecar {path}: thresholds.{block} is not a number ({value!r})",
                field="thresholds",
            ) from exc
        if not 0.0 < number < 1.0:
            raise ModelMismatch(
                f"spoof model sidecar {path}: thresholds.{block} = {number} lies outside (0, 1)",
                field="thresholds",
            )
        thresholds[block] = number
    return thresholds


def _operating_points(metrics: dict[str, Any], path: Path) -> tuple[OperatingPoint, ...]:
    points = []
    for entry in metrics.get("operating_points", []):
        try:
            point = OperatingPoint(
                threshold=float(entry["threshold"]),
                false_alarm=float(entry["false_alarm"]),
                miss=float(entry["miss"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelMismatch(
                f"spoof model sidecar {path}: bad operating point {entry!r}"
            ) from exc
        if not all(0.0 <= v <= 1.0 for v in (point.threshold, point.false_alarm, point.miss)):
            raise ModelMismatch(
                f"spoof model sidecar {path}: operating point {entry!r} is outside [0, 1]"
            )
        points.append(point)
    return tuple(sorted(points, key=lambda p: p.threshold))


def _calibration(cal: dict[str, Any], path: Path) -> Calibration:
    scale, offset = float(_require(cal, "scale", path)), float(_require(cal, "offset", path))
    narrow = _numbers(cal, "narrowband", ("scale", "offset", "below_high_band_db"), path)
    short = _numbers(cal, "short_speech", ("scale", "offset", "below_speech_s"), path)
    limited = _numbers(cal, "band_limited", ("scale", "offset", "below_top_band_db"), path)
    return Calibration(
        scale,
        offset,
        NarrowbandCalibration(*narrow) if narrow else None,
        ShortSpeechCalibration(*short) if short else None,
        BandLimitedCalibration(*limited) if limited else None,
    )


def _numbers(
    cal: dict[str, Any], block: str, names: tuple[str, ...], path: Path
) -> tuple[float, ...] | None:
    """The named numbers of an optional calibration block, or None when it is absent."""
    values = cal.get(block)
    if values is None:
        return None
    try:
        return tuple(float(values[name]) for name in names)
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelMismatch(
            f"spoof model sidecar {path}: calibration.{block} needs numbers "
            f"{', '.join(names[:-1])} and {names[-1]} ({exc!r})",
            field=f"calibration.{block}",
        ) from exc
